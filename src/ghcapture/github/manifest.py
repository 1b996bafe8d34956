"""ghcapture's GitHub App, described as a manifest GitHub registers an App from
(https://docs.github.com/apps/sharing-github-apps/registering-a-github-app-from-a-manifest): the least
privileges the capture needs and the webhook events the receiver applies.

`installation` and `installation_repositories` are not listed: GitHub sends them to every App.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from ghcapture.errors import InputError

# What the capture reads: pull requests (and their reviews, review comments, files and commits), the comments
# GitHub keeps on a pull request's issue, and the repository itself.
READ_PERMISSIONS = {"metadata": "read", "pull_requests": "read", "contents": "read", "issues": "read"}
EVENTS = (
    "pull_request",
    "pull_request_review",
    "pull_request_review_comment",
    "pull_request_review_thread",
    "issue_comment",
    "repository",
)


def app_manifest(
    webhook_url: str,
    *,
    name: str = "ghcapture",
    homepage: str = "https://github.com",
    bulk_lane: bool = False,
    public: bool = False,
) -> dict[str, Any]:
    """The manifest. With `bulk_lane`, the App may also dispatch workflows (actions: write) and hears of
    their runs (workflow_run)."""
    parsed = urlparse(webhook_url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise InputError(
            f"--webhook-url {webhook_url!r}: expected an http(s) URL, e.g. https://ci.example.com/webhooks/github"
        )
    if parsed.scheme != "https" and parsed.hostname not in ("localhost", "127.0.0.1"):
        raise InputError(f"--webhook-url {webhook_url!r}: GitHub delivers to https:// URLs; use https")
    permissions = dict(READ_PERMISSIONS)
    events = list(EVENTS)
    if bulk_lane:
        permissions["actions"] = "write"
        events.append("workflow_run")
    return {
        "name": name,
        "url": homepage,
        "description": "Keeps a database of pull requests, reviews and comments current (ghcapture).",
        "hook_attributes": {"url": webhook_url, "active": True},
        "public": public,
        "default_permissions": permissions,
        "default_events": events,
    }
