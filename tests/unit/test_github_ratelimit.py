"""RateLimitMonitor: budgets, owed waits, GitHub's secondary-limit rule and the reserve, on a fake clock."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from ghcapture.github.ratelimit import RateLimitMonitor
from github_support import START, FakeClock, anyio_backend, clock_fixture  # noqa: F401

pytestmark = pytest.mark.anyio


def monitor_for(clock: FakeClock, **kwargs: float) -> RateLimitMonitor:
    return RateLimitMonitor(clock=clock, sleep=clock.sleep, rng=random.Random(7), **kwargs)


def headers(
    remaining: int, *, limit: int = 5000, reset_in: float = 1800, resource: str = "core"
) -> dict[str, str]:
    return {
        "x-ratelimit-limit": str(limit),
        "x-ratelimit-remaining": str(remaining),
        "x-ratelimit-used": str(limit - remaining),
        "x-ratelimit-reset": str(int(START + reset_in)),
        "x-ratelimit-resource": resource,
    }


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


async def test_headers_update_the_budget_of_their_resource(clock: FakeClock) -> None:
    monitor = monitor_for(clock)
    monitor.observe_headers(headers(4200))
    monitor.observe_headers(headers(12000, limit=12500, resource="graphql"))
    snapshot = monitor.snapshot()
    assert snapshot["core"]["remaining"] == 4200
    assert snapshot["core"]["limit"] == 5000
    assert snapshot["core"]["reset_at"] == START + 1800
    assert snapshot["graphql"]["remaining"] == 12000
    assert snapshot["graphql"]["used"] == 500


async def test_acquire_without_any_budget_known_does_not_wait(clock: FakeClock) -> None:
    monitor = monitor_for(clock)
    await monitor.acquire("core")
    assert clock.sleeps == []
    assert monitor.snapshot()["core"]["remaining"] is None


async def test_after_retry_after_30_the_next_acquire_sleeps_30_seconds(clock: FakeClock) -> None:
    monitor = monitor_for(clock)
    monitor.note_retry_after("core", 30)
    await monitor.acquire("core")
    assert clock.now >= START + 30
    assert sum(clock.sleeps) >= 30
    assert monitor.waits == 1
    assert monitor.waited_seconds == pytest.approx(30)
    # A different resource is not held back.
    before = clock.now
    await monitor.acquire("graphql")
    assert clock.now == before


async def test_secondary_limit_with_retry_after_waits_that_long(clock: FakeClock) -> None:
    monitor = monitor_for(clock)
    assert monitor.note_secondary_limit("core", 42) == 42
    await monitor.acquire("core")
    assert clock.now == pytest.approx(START + 42)


async def test_secondary_limit_with_budget_spent_waits_until_reset(clock: FakeClock) -> None:
    monitor = monitor_for(clock)
    monitor.observe_headers(headers(0, reset_in=600))
    monitor.note_secondary_limit("core", None)
    await monitor.acquire("core")
    assert clock.now >= START + 600


async def test_repeated_secondary_limits_back_off_exponentially_with_a_cap(clock: FakeClock) -> None:
    monitor = monitor_for(clock, secondary_max_wait=600)
    waits = [monitor.note_secondary_limit("core", None) for _ in range(6)]
    for wait, base in zip(waits, [60, 120, 240, 480], strict=False):
        assert base <= wait <= base * 1.1
    assert waits[4] == waits[5] == 600
    monitor.note_success("core")
    assert 60 <= monitor.note_secondary_limit("core", None) <= 66


async def test_graphql_rate_limited_waits_until_reset_at(clock: FakeClock) -> None:
    monitor = monitor_for(clock)
    reset_at = START + 1234
    monitor.observe_graphql(
        {"cost": 1, "limit": 5000, "remaining": 0, "used": 5000, "resetAt": iso(reset_at)}
    )
    monitor.note_primary_limit("graphql")
    await monitor.acquire("graphql", cost=3)
    assert clock.now >= reset_at
    assert clock.now <= reset_at + 2
    # After the reset the budget is assumed full until GitHub says otherwise.
    assert monitor.snapshot()["graphql"]["remaining"] == 5000 - 3


async def test_reserve_is_never_spent(clock: FakeClock) -> None:
    monitor = monitor_for(clock, reserve_fraction=0.02)
    monitor.observe_headers(headers(101, reset_in=900))
    await monitor.acquire("core")  # 101 - 1 = 100 = 2% of 5000: still allowed
    assert clock.sleeps == []
    await monitor.acquire("core")  # would leave 99 < 100
    assert clock.now >= START + 900


async def test_reserve_fraction_is_configurable(clock: FakeClock) -> None:
    monitor = monitor_for(clock, reserve_fraction=0.5)
    monitor.observe_headers(headers(2600, reset_in=300))
    await monitor.acquire("core", cost=101)
    assert clock.now >= START + 300


async def test_a_budget_past_its_reset_is_assumed_renewed(clock: FakeClock) -> None:
    monitor = monitor_for(clock)
    monitor.observe_headers(headers(0, reset_in=10))
    clock.now += 20
    await monitor.acquire("core")
    assert clock.sleeps == []


def test_reserve_fraction_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError):
        RateLimitMonitor(reserve_fraction=1.0)


async def test_observers_hear_what_github_said_not_what_was_counted_since(clock: FakeClock) -> None:
    monitor = monitor_for(clock)
    heard: list[tuple[str, int, int, float]] = []
    monitor.observers.append(lambda resource, b: heard.append((resource, b.limit, b.remaining, b.reset_at)))

    monitor.observe_headers(headers(4200))
    await monitor.acquire("core", 10)  # counted into the live budget, not into what GitHub said
    monitor.observe_graphql({"limit": 5000, "remaining": 4990, "used": 10, "resetAt": iso(START + 600)})

    assert heard == [("core", 5000, 4200, START + 1800), ("graphql", 5000, 4990, START + 600)]
    assert monitor.budgets["core"].remaining == 4190


async def test_a_failing_observer_does_not_stop_the_budget(clock: FakeClock) -> None:
    monitor = monitor_for(clock)

    def broken(resource: str, budget: object) -> None:
        raise RuntimeError("database gone")

    monitor.observers.append(broken)
    monitor.observe_headers(headers(4200))

    assert monitor.budgets["core"].remaining == 4200
