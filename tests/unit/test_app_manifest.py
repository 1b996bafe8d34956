"""`ghcapture app manifest`: GitHub's manifest format, the least privileges the capture needs, Actions write
and `workflow_run` only for the bulk lane, and a bad webhook URL refused as a usage error."""

from __future__ import annotations

import json
import subprocess
import sys

from ghcapture.github.manifest import EVENTS, app_manifest

URL = "https://capture.example.com/webhooks/github"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ghcapture", "app", "manifest", *args],
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_manifest_asks_for_read_access_and_the_captured_events_only() -> None:
    answer = run("--webhook-url", URL, "--name", "capture-acme")

    assert answer.returncode == 0, answer.stderr
    manifest = json.loads(answer.stdout)
    assert manifest["name"] == "capture-acme"
    assert manifest["hook_attributes"] == {"url": URL, "active": True}
    assert manifest["default_permissions"] == {
        "metadata": "read",
        "pull_requests": "read",
        "contents": "read",
        "issues": "read",
    }
    assert manifest["default_events"] == list(EVENTS)
    assert "workflow_run" not in manifest["default_events"]


def test_the_bulk_lane_adds_actions_write_and_workflow_runs() -> None:
    manifest = app_manifest(URL, bulk_lane=True)

    assert manifest["default_permissions"]["actions"] == "write"
    assert manifest["default_events"][-1] == "workflow_run"
    assert {k: v for k, v in manifest["default_permissions"].items() if k != "actions"} == app_manifest(URL)[
        "default_permissions"
    ]


def test_a_webhook_url_github_cannot_deliver_to_is_a_usage_error() -> None:
    for url in ("ftp://example.com/hook", "not a url", "http://capture.example.com/webhooks/github"):
        answer = run("--webhook-url", url)
        assert answer.returncode == 2, url
        assert answer.stdout == "" and len(answer.stderr.strip().splitlines()) == 1, answer.stderr
        assert "--webhook-url" in answer.stderr and "Traceback" not in answer.stderr
