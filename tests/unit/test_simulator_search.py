"""The simulator's search qualifiers select and order pull requests as GitHub's search does."""

from __future__ import annotations

from ghcapture.simulator.generator import generate_repository
from ghcapture.simulator.model import format_time
from ghcapture.simulator.search import search_pull_requests
from ghcapture.simulator.world import World


def world_with(prs: int = 120) -> World:
    world = World()
    world.add_repository(generate_repository("acme", "widgets", prs))
    world.add_repository(generate_repository("acme", "other", 10))
    return world


def test_repo_and_updated_range_with_ascending_sort():
    world = world_with()
    repo = world.repository("acme", "widgets")
    times = sorted(p.updated_at for p in repo.pull_requests)
    low, high = times[20], times[60]
    found = search_pull_requests(
        world, f"repo:acme/widgets is:pr updated:{format_time(low)}..{format_time(high)} sort:updated-asc"
    )
    assert found == sorted(
        (p for p in repo.pull_requests if low <= p.updated_at <= high), key=lambda p: (p.updated_at, p.id)
    )
    assert all(p in repo.pull_requests for p in found)


def test_state_qualifiers_and_default_order():
    world = world_with()
    merged = search_pull_requests(world, "repo:acme/widgets is:pr is:merged")
    assert merged and all(p.merged for p in merged)
    assert [p.created_at for p in merged] == sorted((p.created_at for p in merged), reverse=True)
    open_prs = search_pull_requests(world, "repo:acme/widgets is:open")
    assert all(p.state == "open" for p in open_prs)


def test_issues_and_bad_dates_find_nothing():
    world = world_with(20)
    assert search_pull_requests(world, "repo:acme/widgets is:issue") == []
    assert search_pull_requests(world, "repo:acme/widgets updated:yesterday..today") == []
    assert len(search_pull_requests(world, "repo:acme/other")) == 10
