"""A stand-in for GitHub's REST, GraphQL and Actions APIs, faithful enough that GitHub clients cannot
tell the difference. Every demo, test and benchmark of ghcapture runs against it."""
