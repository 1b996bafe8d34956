"""The GitHub Actions workflows of the bulk lane: their generator and the check of their dispatch inputs."""
