"""Adaptive GraphQL page size, paged execution on timeouts, and loading query documents."""

from __future__ import annotations

from pathlib import Path

import pytest

from ghcapture.errors import GhcaptureError
from ghcapture.github import graphql as graphql_module
from ghcapture.github.errors import GraphQLQueryError, GraphQLTimeoutError
from ghcapture.github.graphql import AdaptivePageSize, execute_paged, load_query
from github_support import anyio_backend  # noqa: F401


def test_page_size_halves_on_shrink_and_stops_at_the_minimum() -> None:
    pager = AdaptivePageSize()
    assert pager.size("acme/widgets") == 50
    assert [pager.shrink("acme/widgets") for _ in range(7)] == [25, 12, 6, 3, 1, 1, 1]
    assert pager.size("acme/other") == 50


def test_page_size_grows_after_three_successes_up_to_the_maximum() -> None:
    pager = AdaptivePageSize(initial=40)
    sizes = [pager.grow("r") for _ in range(9)]
    assert sizes == [40, 40, 60, 60, 60, 90, 90, 90, 100]
    pager.shrink("r")
    assert pager.grow("r") == 50
    assert pager.grow("r") == 50


def test_page_size_of_one_can_grow_again() -> None:
    pager = AdaptivePageSize(initial=1, grow_after=1)
    assert [pager.grow("r") for _ in range(3)] == [2, 3, 4]


def test_initial_size_is_clamped_to_githubs_bounds() -> None:
    assert AdaptivePageSize(initial=500).size("r") == 100
    assert AdaptivePageSize(initial=0).size("r") == 1


@pytest.mark.anyio
async def test_execute_paged_shrinks_on_timeouts_then_succeeds() -> None:
    pager = AdaptivePageSize()
    seen: list[int] = []

    async def run(size: int) -> str:
        seen.append(size)
        if size > 12:
            raise GraphQLTimeoutError("Something went wrong while executing your query")
        return f"page of {size}"

    assert await execute_paged(None, "acme/widgets", run, pager=pager) == "page of 12"
    assert seen == [50, 25, 12]
    assert pager.size("acme/widgets") == 12


@pytest.mark.anyio
async def test_execute_paged_gives_up_at_the_minimum_with_the_last_error() -> None:
    pager = AdaptivePageSize(initial=4)
    seen: list[int] = []

    async def run(size: int) -> None:
        seen.append(size)
        raise GraphQLTimeoutError(f"timeout #{len(seen)}")

    with pytest.raises(GraphQLTimeoutError, match="timeout #5"):
        await execute_paged(None, "r", run, pager=pager, max_shrinks=3)
    assert seen == [4, 2, 1, 1, 1]


@pytest.mark.anyio
async def test_execute_paged_does_not_shrink_for_other_errors() -> None:
    pager = AdaptivePageSize()

    async def run(size: int) -> None:
        raise GraphQLQueryError("NOT_FOUND")

    with pytest.raises(GraphQLQueryError):
        await execute_paged(None, "r", run, pager=pager)
    assert pager.size("r") == 50


def test_load_query_reads_a_document(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "queries").mkdir()
    (tmp_path / "queries" / "pull_requests.graphql").write_text("query PullRequests { viewer { login } }\n")
    monkeypatch.setattr("importlib.resources.files", lambda package: tmp_path)
    load_query.cache_clear()
    try:
        assert load_query("pull_requests") == "query PullRequests { viewer { login } }\n"
        assert load_query("pull_requests.graphql").startswith("query PullRequests")
        with pytest.raises(GhcaptureError, match="no GraphQL query named 'missing'"):
            load_query("missing")
        with pytest.raises(GhcaptureError, match="not a GraphQL query name"):
            load_query("../secrets")
    finally:
        load_query.cache_clear()


def test_load_query_finds_every_document_shipped() -> None:
    shipped = sorted(Path(graphql_module.__file__).parent.joinpath("queries").glob("*.graphql"))
    for document in shipped:
        assert load_query(document.stem) == document.read_text(encoding="utf-8")


def test_the_pager_remembers_what_worked_and_starts_there() -> None:
    pager = AdaptivePageSize(initial=100, grow_after=2)
    assert pager.worked("acme/widgets") is None
    pager.shrink("acme/widgets")  # 100 timed out
    pager.shrink("acme/widgets")  # 50 timed out
    pager.grow("acme/widgets")  # 25 worked
    assert pager.worked("acme/widgets") == 25
    fresh = AdaptivePageSize(initial=100)
    fresh.remember("acme/widgets", pager.worked("acme/widgets") or 0)
    assert fresh.size("acme/widgets") == 25
    fresh.remember("acme/other", 10_000)
    assert fresh.size("acme/other") == 100


def test_a_timeout_at_a_size_that_worked_is_retried_once_before_the_page_shrinks() -> None:
    pager = AdaptivePageSize(initial=100)
    pager.grow("r")  # 100 worked
    assert pager.shrink("r") == 100  # an unlucky answer: the same page again
    assert pager.shrink("r") == 50  # twice in a row: too large after all
    pager.grow("r")  # 50 worked
    assert pager.shrink("r") == 50
    pager.grow("r")  # the retry worked: the next timeout is a first one again
    assert pager.shrink("r") == 50


def test_what_is_remembered_is_the_largest_size_that_worked_not_the_smallest_tried() -> None:
    pager = AdaptivePageSize(initial=100)
    pager.grow("r")  # 100 worked
    pager.shrink("r")
    pager.shrink("r")  # 100 then timed out twice: 50
    pager.shrink("r")
    pager.shrink("r")  # and 50 twice: 25
    pager.grow("r")
    assert pager.size("r") == 25 and pager.worked("r") == 100


@pytest.mark.anyio
async def test_random_failures_do_not_wear_the_page_down() -> None:
    """Three answers in ten fail whatever the size (faults, not the query's size): the page stays large."""
    import random

    rng = random.Random(5)
    pager = AdaptivePageSize(initial=100)
    sizes: list[int] = []

    async def run(size: int) -> int:
        if rng.random() < 0.3:
            raise GraphQLTimeoutError("Something went wrong while executing your query")
        sizes.append(size)
        return size

    for _ in range(60):
        await execute_paged(None, "r", run, pager=pager, max_shrinks=50)
    assert pager.worked("r") == 100
    assert sum(sizes) / len(sizes) >= 50  # halving at every failure ends near the minimum instead
