"""Figures a user reads: people counted once, the progress bar's end, and the README's demo sequence."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from types import SimpleNamespace
from typing import Any

from capture_support import settings_for
from ghcapture.capture.engine import CaptureResult, capture
from ghcapture.capture.progress import RichProgress
from ghcapture.capture.scope import CaptureScope
from ghcapture.github.http import GitHubClient
from ghcapture.store.counts import repository_counts
from ghcapture.store.database import open_database


def ghcapture(
    *args: str, env: dict[str, str] | None = None, cwd: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ghcapture", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        timeout=300,
    )


def simulator_env(server: Any, database_url: str) -> dict[str, str]:
    return {
        "GITHUB_TOKEN": "ghp_figures",
        "GITHUB_API_URL": server.url,
        "GITHUB_GRAPHQL_URL": server.url + "/graphql",
        "GHCAPTURE_DATABASE_URL": database_url,
    }


class Recorded:
    def __init__(self) -> None:
        self.total: int | None = -1
        self.done: list[int] = []
        self.finished: Any = None

    def start(self, repository: str, total: int | None) -> None:
        self.total = total

    def advance(self, done: int, *, points: int, requests: int, budget: dict[str, Any]) -> None:
        self.done.append(done)

    def finish(self, result: Any) -> None:
        self.finished = result

    def fail(self, message: str) -> None:
        raise AssertionError(message)


def captured(server: Any, engine: Any, scope: CaptureScope) -> tuple[Recorded, CaptureResult]:
    progress = Recorded()

    async def go() -> CaptureResult:
        async with GitHubClient(settings_for(server), retry_wait_initial=0.01, retry_wait_max=0.05) as client:
            return await capture(client, engine, "acme/widgets", scope=scope, progress=progress)

    return progress, asyncio.run(go())


def test_capture_json_counts_each_person_once(make_simulator, sqlite_url):
    # 250 PRs are three pages: the same reviewers and commenters appear on every page.
    server = make_simulator({"acme/widgets": 250})
    result = ghcapture("capture", "prs", "acme/widgets", "--json", env=simulator_env(server, sqlite_url))
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)

    with open_database(sqlite_url).connect() as conn:
        people = repository_counts(conn, "acme/widgets")["contributors"]
    assert summary["contributors"] == people


def test_a_first_capture_reports_each_object_once(make_simulator, sqlite_url):
    # The issue-comment listing is read beside the pull requests' own comments (to learn what it holds);
    # the figures count what was captured, not what was written twice.
    server = make_simulator({"acme/widgets": 120})
    result = ghcapture("capture", "prs", "acme/widgets", "--json", env=simulator_env(server, sqlite_url))
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)

    with open_database(sqlite_url).connect() as conn:
        held = repository_counts(conn, "acme/widgets")
    assert summary["issue_comments"] == held["issue_comments"] > 0
    assert summary["review_comments"] == held["review_comments"] > 0
    assert summary["reviews"] == held["reviews"] > 0


def test_the_progress_total_is_capped_by_max_items_and_the_run_ends_at_its_total(make_simulator, sqlite_url):
    server = make_simulator({"acme/widgets": 120})
    engine = open_database(sqlite_url)

    limited, result = captured(server, engine, CaptureScope.build(max_items=30))
    assert limited.total == 30 and result.pull_requests == 30 and limited.done[-1] == 30

    numbers, result = captured(server, engine, CaptureScope.build(pr_numbers="1-10", max_items=5))
    assert numbers.total == 5 and result.pull_requests == 5

    everything, result = captured(server, engine, CaptureScope.build())
    assert everything.total == 120 and everything.done[-1] == 120


def test_the_bar_ends_complete_when_fewer_were_found_than_its_total():
    bar = RichProgress()
    bar.start("acme/widgets", 50)
    bar.advance(37, points=1, requests=1, budget={})
    bar.finish(SimpleNamespace(pull_requests=37))

    task = bar._bar.tasks[0]
    assert task.total == task.completed == 37 and task.finished


def test_the_readme_demo_sequence_into_one_database(tmp_path):
    # `ghcapture demo`, then `ghcapture demo --prs 2000`, then the first again, into the same database.
    database = f"sqlite:///{tmp_path}/ghcapture.db"

    def demo(prs: int) -> str:
        result = ghcapture(
            "demo", "--profile", "fast", "--prs", str(prs), "--database", database, cwd=str(tmp_path)
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert "Compared with the simulator's ground truth: equal" in result.stdout, result.stdout
        return result.stdout

    first = demo(300)
    assert "serving acme/widgets-300 with 300 pull requests" in first
    # The stored figure and the comparison's figure count the same people (the ghost once in both).
    stored = re.search(r"Stored for acme/widgets-300: .*contributors (\d+)", first)
    compared = re.search(r"people (\d+)", first.split("ground truth")[1])
    summary = re.search(r"files, (\d+) people", first)
    assert stored and compared and summary
    assert stored.group(1) == compared.group(1) == summary.group(1)

    second = demo(200)
    assert "serving acme/widgets-200" in second and "acme/widgets-200: 200 pull requests" in second

    again = demo(300)
    assert "acme/widgets-300: 0 pull requests" in again  # the same demo again fetches only what changed
