"""The bulk lane's cost against the free minutes and a hosted job service, computed by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from ghcapture.config import Settings
from ghcapture.monitor.billing import ActionsPlan, HostedPriceModel, cost_overview, plans_from_settings
from ghcapture.store.database import open_database
from monitor_support import add_job

PLAN = ActionsPlan(free_minutes=10, price_per_minute=0.01)
HOSTED = HostedPriceModel(monthly_fee=1.0, included_usd=0.5, per_run=0.01, per_second=0.001)
MARCH_1 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


def actions_job(engine: Engine, at: datetime, minutes: int, seconds: int, prs: int, repo: str) -> None:
    add_job(
        engine,
        processor="github_actions",
        lane="bulk",
        repository=repo,
        created_at=at - timedelta(hours=1),
        started_at=at - timedelta(seconds=seconds),
        completed_at=at,
        billable_ms=minutes * 60_000,
        items_done=prs,
    )


def seeded(url: str) -> Engine:
    engine = open_database(url)
    actions_job(engine, MARCH_1, 6, 300, 100, "acme/widgets")
    actions_job(engine, MARCH_1 + timedelta(days=1), 6, 400, 200, "acme/gadgets")
    actions_job(engine, datetime(2026, 4, 1, 9, 0, tzinfo=UTC), 3, 100, 50, "acme/widgets")
    # Local jobs cost nothing on Actions and are not the bulk lane's.
    add_job(engine, processor="local", lane="realtime", items_done=999, completed_at=MARCH_1)
    return engine


@pytest.fixture
def engine(sqlite_url: str) -> Engine:
    return seeded(sqlite_url)


@pytest.fixture
def any_engine(database_url: str) -> Engine:
    """On both dialects, for the tests whose figures the database computes (seconds, billing order)."""
    return seeded(database_url)


def test_months_use_the_free_minutes_first(any_engine: Engine) -> None:
    march, april = cost_overview(any_engine, PLAN, HOSTED).by_month

    # March: 6 + 6 = 12 minutes, 10 free, 2 paid at $0.01; listed, 12 x $0.01 = $0.12 for 300 PRs.
    assert (march.key, march.jobs, march.pull_requests) == ("2026-03", 2, 300)
    assert march.billable_minutes == pytest.approx(12)
    assert march.free_minutes_used == pytest.approx(10)
    assert march.actions_usd == pytest.approx(0.02)
    assert march.actions_list_usd == pytest.approx(0.12)
    assert march.actions_usd_per_1000_prs == pytest.approx(0.40)
    # April starts afresh: 3 minutes, all free.
    assert (april.free_minutes_used, april.actions_usd) == (pytest.approx(3), 0.0)


def test_the_hosted_service_bills_runs_and_seconds_beyond_what_its_fee_includes(engine: Engine) -> None:
    march, april = cost_overview(engine, PLAN, HOSTED).by_month

    # March: runs 2 x $0.01 + 700 s x $0.001 = $0.72 of usage; $0.50 included, so $1 fee + $0.22.
    assert march.hosted_list_usd == pytest.approx(0.72)
    assert march.hosted_usd == pytest.approx(1.22) == pytest.approx(HOSTED.month_usd(2, 700))
    assert march.hosted_usd_per_1000_prs == pytest.approx(2.40)
    # April: $0.01 + 100 s x $0.001 = $0.11, within the included $0.50: the fee alone.
    assert april.hosted_usd == pytest.approx(1.0)


def test_days_take_the_minutes_beyond_the_free_ones_in_order(engine: Engine) -> None:
    first, second, april_first = cost_overview(engine, PLAN, HOSTED).by_day

    assert [d.key for d in (first, second, april_first)] == ["2026-03-01", "2026-03-02", "2026-04-01"]
    # The second day's 6 minutes: 4 of the 10 free remain, so 2 are paid; its usage $0.41 passes the
    # included $0.50 by $0.22 (the first day used $0.31).
    assert (first.free_minutes_used, first.actions_usd) == (pytest.approx(6), 0.0)
    assert (second.free_minutes_used, second.actions_usd) == (pytest.approx(4), pytest.approx(0.02))
    assert (first.hosted_usd, second.hosted_usd) == (0.0, pytest.approx(0.22))


def test_repositories_and_the_total(any_engine: Engine) -> None:
    overview = cost_overview(any_engine, PLAN, HOSTED)
    gadgets, widgets = overview.by_repository

    # widgets: 6 + 3 minutes, 150 PRs: $0.09 listed, $0.60 per 1,000 PRs; hosted 2 runs, 400 s: $0.42.
    assert (widgets.key, widgets.jobs, widgets.pull_requests) == ("acme/widgets", 2, 150)
    assert widgets.actions_list_usd == pytest.approx(0.09)
    assert widgets.actions_usd_per_1000_prs == pytest.approx(0.60)
    assert widgets.hosted_usd == pytest.approx(0.42)
    assert gadgets.actions_usd == pytest.approx(0.02)  # its minutes came after the free ones ran out
    total = overview.total
    assert (total.jobs, total.pull_requests) == (3, 350)
    assert total.actions_usd == pytest.approx(0.02) and total.billable_minutes == pytest.approx(15)
    assert total.hosted_usd == pytest.approx(2.22)  # March $1.22 and April $1.00


def test_since_keeps_the_months_allowance_spent_before_it(engine: Engine) -> None:
    overview = cost_overview(engine, PLAN, HOSTED, since=MARCH_1 + timedelta(hours=12))

    march = overview.by_month[0]
    assert (march.jobs, march.free_minutes_used, march.actions_usd) == (
        1,
        pytest.approx(4),
        pytest.approx(0.02),
    )
    assert overview.total.jobs == 2


def test_plans_come_from_the_settings() -> None:
    settings = Settings(
        extra={
            "actions_free_minutes": 3000.0,
            "actions_price_per_minute": 0.008,
            "hosted_monthly_fee": 10.0,
            "hosted_included_usd": 10.0,
            "hosted_price_per_run": 0.00005,
            "hosted_price_per_second": 0.0000338,
        }
    )

    plan, hosted = plans_from_settings(settings)

    assert (plan.free_minutes, plan.price_per_minute) == (3000.0, 0.008)
    assert (hosted.monthly_fee, hosted.included_usd, hosted.per_run, hosted.per_second) == (
        10.0,
        10.0,
        0.00005,
        0.0000338,
    )
    assert plans_from_settings(Settings()) == (ActionsPlan(), HostedPriceModel())
