"""Running a capture against a simulator from tests, and checking it against the simulator's ground truth."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from typing import Any

from sqlalchemy import Engine

from ghcapture.capture.engine import CaptureResult, capture
from ghcapture.capture.scope import CaptureScope
from ghcapture.capture.verify import Comparison, compare_repository
from ghcapture.config import Settings
from ghcapture.github.http import GitHubClient
from ghcapture.simulator.dataset import dump_repository
from ghcapture.simulator.server import SimulatorServer


def settings_for(server: SimulatorServer, token: str = "ghp_testtoken") -> Settings:
    return Settings(github_token=token, github_api_url=server.url, github_graphql_url=server.url + "/graphql")


def run_capture(
    server: SimulatorServer,
    engine: Engine,
    repository: str,
    *,
    kind: str = "prs",
    scope: CaptureScope | None = None,
    token: str = "ghp_testtoken",
    **client_options: Any,
) -> CaptureResult:
    async def go() -> CaptureResult:
        options = {"retry_wait_initial": 0.01, "retry_wait_max": 0.05, **client_options}
        async with GitHubClient(settings_for(server, token), **options) as client:
            return await capture(client, engine, repository, kind=kind, scope=scope)

    return asyncio.run(go())


def compare(server: SimulatorServer, engine: Engine, repository: str) -> Comparison:
    owner, name = repository.split("/")
    repo = server.simulator.world.repository(owner, name)
    assert repo is not None
    return compare_repository(engine, dump_repository(repo, server.url))


def requests_during_waits(log: list[tuple[float, str, int, float | None]]) -> int:
    """Requests that arrived while an earlier answer on the same API still had a wait owed."""
    owed: dict[str, float] = {}
    early = 0
    for arrived, api, _status, wait in log:
        if arrived < owed.get(api, 0.0) - 0.05:
            early += 1
        if wait is not None:
            owed[api] = max(owed.get(api, 0.0), arrived + wait)
    return early


# -- the command line, run as a user runs it -----------------------------------------------------------


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


def simulator_env(server, database_url: str, token: str = "ghp_clitoken") -> dict[str, str]:
    return {
        "GITHUB_TOKEN": token,
        "GITHUB_API_URL": server.url,
        "GITHUB_GRAPHQL_URL": server.url + "/graphql",
        "GHCAPTURE_DATABASE_URL": database_url,
    }


def assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
