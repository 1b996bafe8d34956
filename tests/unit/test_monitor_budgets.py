"""Rate-limit samples: the sampler's throttle and pruning, and the latest and historical readings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, func, select

from ghcapture.monitor.budgets import budget_history, latest_budgets
from ghcapture.store.database import open_database
from ghcapture.store.rate_limit_samples import RateLimitSampler, Sample
from ghcapture.store.tables import rate_limit_samples
from monitor_support import NOW, add_sample


def test_latest_is_the_newest_per_budget_and_resource_and_history_is_in_order(database_url: str) -> None:
    engine = open_database(database_url)
    add_sample(engine, "token-a", "core", remaining=4900, at=NOW - timedelta(minutes=30))
    add_sample(engine, "token-a", "core", remaining=4100, at=NOW - timedelta(minutes=5))
    add_sample(engine, "token-a", "graphql", remaining=4990, at=NOW - timedelta(minutes=20))
    add_sample(engine, "app1-7", "core", limit=12500, remaining=12000, at=NOW - timedelta(minutes=50))

    with engine.connect() as connection:
        latest = latest_budgets(connection)
        history = budget_history(connection, NOW - timedelta(minutes=25))

    assert [(s.budget, s.resource, s.limit, s.remaining, s.used) for s in latest] == [
        ("app1-7", "core", 12500, 12000, 500),
        ("token-a", "core", 5000, 4100, 900),
        ("token-a", "graphql", 5000, 4990, 10),
    ]
    assert [(s.resource, s.remaining, s.sampled_at) for s in history] == [
        ("graphql", 4990, NOW - timedelta(minutes=20)),
        ("core", 4100, NOW - timedelta(minutes=5)),
    ]


def count(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(rate_limit_samples)).scalar_one())


def test_sampler_writes_the_first_reading_one_per_interval_each_new_window_and_the_last(
    sqlite_url: str,
) -> None:
    engine = open_database(sqlite_url)
    now = [NOW]
    sampler = RateLimitSampler(engine, "token-a", every=timedelta(seconds=60), clock=lambda: now[0])
    reset = NOW + timedelta(minutes=40)

    for second, remaining in ((0, 4999), (10, 4998), (30, 4997), (61, 4996), (90, 4995)):
        now[0] = NOW + timedelta(seconds=second)
        sampler.observe("core", Sample(5000, remaining, 5000 - remaining, reset))
    assert count(engine) == 2  # at 0 s and at 61 s
    now[0] = NOW + timedelta(seconds=95)
    sampler.observe("core", Sample(5000, 5000, 0, reset + timedelta(hours=1)))  # a new window
    sampler.observe("graphql", Sample(5000, 4990, 10, reset))  # another resource's first reading
    assert count(engine) == 4
    now[0] = NOW + timedelta(seconds=100)
    sampler.observe("core", Sample(5000, 4990, 10, reset + timedelta(hours=1)))
    sampler.flush()

    with engine.connect() as connection:
        [core] = [s for s in latest_budgets(connection) if s.resource == "core"]
    assert count(engine) == 5 and core.remaining == 4990 and core.sampled_at == now[0]


def test_sampler_prunes_samples_older_than_it_keeps(sqlite_url: str) -> None:
    engine = open_database(sqlite_url)
    add_sample(engine, "token-a", "core", remaining=1, at=NOW - timedelta(days=8))
    add_sample(engine, "token-a", "core", remaining=2, at=NOW - timedelta(days=6))
    sampler = RateLimitSampler(engine, "token-a", keep=timedelta(days=7), clock=lambda: NOW)

    sampler.observe("core", Sample(5000, 3, 4997, NOW + timedelta(minutes=5)))

    with engine.connect() as connection:
        kept = [s.remaining for s in budget_history(connection, datetime(2000, 1, 1, tzinfo=UTC))]
    assert kept == [2, 3]


def test_a_failed_write_is_logged_once_and_retried_after_a_pause(tmp_path: object, caplog: object) -> None:
    engine = open_database(f"sqlite:///{tmp_path}/s.db")
    with engine.begin() as connection:
        connection.exec_driver_sql("ALTER TABLE rate_limit_samples RENAME TO gone")
    now = [NOW]
    sampler = RateLimitSampler(engine, "token-a", every=timedelta(0), clock=lambda: now[0])

    for remaining in (3, 2, 1):
        sampler.observe("core", Sample(5000, remaining, 0, NOW))
    sampler.observe("graphql", Sample(5000, 9, 0, NOW))
    with engine.begin() as connection:
        connection.exec_driver_sql("ALTER TABLE gone RENAME TO rate_limit_samples")
    now[0] = NOW + timedelta(seconds=20)  # still paused: kept in memory, no attempt
    sampler.observe("core", Sample(5000, 0, 0, NOW))
    paused = sampler.written
    now[0] = NOW + timedelta(seconds=31)
    sampler.observe("core", Sample(5000, 7, 0, NOW))

    lines = [r.getMessage() for r in caplog.records if "not recorded" in r.getMessage()]  # type: ignore[attr-defined]
    with engine.connect() as connection:
        latest = {s.resource: s.remaining for s in latest_budgets(connection)}
    assert len(lines) == 1 and paused == 0
    assert sampler.written == 2 and latest == {"core": 7, "graphql": 9}  # the latest of each, once back
