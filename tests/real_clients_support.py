"""What the tests of real GitHub clients share: a simulator on the realistic profile for each REST root,
and its ground truth."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ghcapture.simulator.app import Simulator, SimulatorConfig
from ghcapture.simulator.generator import Shape, generate_repository
from ghcapture.simulator.server import SimulatorServer
from ghcapture.simulator.world import World

REST_COMMIT_CAP = 250  # GitHub lists at most 250 commits of a pull request
LIST_KEYS = ("reviews", "review_comments", "issue_comments", "files", "commits")
# GitHub's server time and limits, on a clock 200 times faster than GitHub's.
TIME_SCALE = 0.005


@pytest.fixture(scope="module", params=["", "/api/v3"], ids=["github.com", "enterprise"])
def prefix(request: pytest.FixtureRequest) -> str:
    """The REST root under the simulator's address: GitHub's, or a GitHub Enterprise Server's /api/v3."""
    return str(request.param)


@pytest.fixture(scope="module")
def server(prefix: str) -> Iterator[SimulatorServer]:
    # One simulator for each REST root: GitHub's secondary limit (900 REST points a minute) is per user,
    # and all these requests together would pass it.
    world = World()
    # ~30 PRs, a few of them giants (hundreds of comments, 250+ commits), so clients must page.
    world.add_repository(generate_repository("acme", "widgets", 30, seed=11, shape=Shape(tail_rate=40)))
    running = SimulatorServer(Simulator(world, SimulatorConfig.realistic(TIME_SCALE, seed=11))).start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def truth(server: SimulatorServer) -> dict[int, dict[str, Any]]:
    """PR number -> the simulator's own record of it (its dataset dump)."""
    dump = httpx.get(f"{server.url}/_simulator/truth/acme/widgets", timeout=60).json()["repositories"][0]
    prs = {pr["number"]: pr for pr in dump["pull_requests"]}
    assert any(len(pr["issue_comments"]) > 100 for pr in prs.values())  # clients must page to get it all
    assert any(len(pr["review_comments"]) > 100 for pr in prs.values())
    assert any(len(pr["commits"]) > REST_COMMIT_CAP for pr in prs.values())
    return prs
