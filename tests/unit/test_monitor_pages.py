"""The dashboard's figures against a store seeded with known jobs, events and repositories; every expected
number is worked out by hand in the test."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, insert, update
from starlette.testclient import TestClient

from ghcapture.monitor.billing import ActionsPlan, HostedPriceModel, cost_overview
from ghcapture.monitor.cost_page import cost_by_day
from ghcapture.monitor.dashboard import DashboardOptions, create_app
from ghcapture.monitor.overview import overview, percentile
from ghcapture.monitor.rate_limits import rate_limits
from ghcapture.monitor.repositories import latest_pull_requests, next_refresh, repository_statuses
from ghcapture.store.database import open_database
from ghcapture.store.tables import contributors, pull_requests, tracked_repositories, webhook_deliveries
from monitor_support import NOW, add_job, add_repository, add_sample, add_worker


@pytest.fixture
def engine(database_url: str) -> Engine:
    """SQLite and PostgreSQL: the pages group by hour, day and month and measure durations in SQL."""
    return open_database(database_url)


def ago(**delta: float) -> datetime:
    return NOW - timedelta(**delta)


def test_percentile_is_the_nearest_rank() -> None:
    assert percentile([], 0.5) is None
    assert percentile([7.0], 0.95) == 7.0
    assert percentile([400.0, 100.0, 300.0, 200.0, 1000.0], 0.5) == 300.0  # rank ceil(2.5) = 3
    assert percentile([400.0, 100.0, 300.0, 200.0, 1000.0], 0.95) == 1000.0  # rank ceil(4.75) = 5
    assert percentile([float(v) for v in range(1, 21)], 0.95) == 19.0  # rank ceil(19) = 19


def seed_overview(engine: Engine) -> None:
    # Completed in the last 24 h: durations 100, 200, 300, 400, 1000 s; 1, 2, 3, 4, 10 PRs.
    for seconds, prs, lane in (
        (100, 1, "realtime"),
        (200, 2, "realtime"),
        (300, 3, "bulk"),
        (400, 4, "bulk"),
        (1000, 10, "bulk"),
    ):
        add_job(
            engine,
            lane=lane,
            processor="local" if lane == "realtime" else "github_actions",
            created_at=ago(hours=2),
            started_at=ago(minutes=90),
            completed_at=ago(minutes=90, seconds=-seconds),
            items_done=prs,
            points_used=prs * 2,
        )
    add_job(
        engine,
        lane="realtime",
        processor="local",
        status="failed",
        created_at=ago(hours=1),
        completed_at=ago(minutes=30),
        items_done=0,
    )
    # Three days ago: 50 s, 5 PRs (the week only); eight days ago: outside both windows.
    add_job(
        engine,
        lane="bulk",
        processor="github_actions",
        created_at=ago(days=3),
        started_at=ago(days=3),
        completed_at=ago(days=3, seconds=-50),
        items_done=5,
    )
    add_job(
        engine,
        lane="bulk",
        processor="github_actions",
        created_at=ago(days=8),
        started_at=ago(days=8),
        completed_at=ago(days=8, seconds=-10),
        items_done=99,
    )
    # Waiting and running now: two pending realtime (since 5 and 7 min ago), one queued bulk; an Actions job
    # silent for an hour (stuck past the 30 min threshold), a local one silent for 3 min (not).
    add_job(engine, lane="realtime", processor="local", status="pending", created_at=ago(minutes=5))
    add_job(engine, lane="realtime", processor="local", status="pending", created_at=ago(minutes=7))
    add_job(engine, lane="bulk", processor="github_actions", status="queued", created_at=ago(minutes=5))
    add_job(
        engine,
        lane="realtime",
        processor="local",
        status="running",
        created_at=ago(minutes=10),
        started_at=ago(minutes=10),
        heartbeat_at=ago(minutes=3),
    )
    add_job(
        engine,
        id="stuck-bulk",
        lane="bulk",
        processor="github_actions",
        status="running",
        created_at=ago(hours=2),
        started_at=ago(hours=2),
        heartbeat_at=ago(hours=1),
    )


def test_overview_figures(engine: Engine) -> None:
    seed_overview(engine)
    with engine.connect() as connection:
        figures = overview(connection, NOW)

    day, week = figures.windows
    assert day.total == 11  # 5 completed, 1 failed, 3 waiting, 2 running
    assert {lane.lane: lane.by_status for lane in day.lanes} == {
        "bulk": {"completed": 3, "queued": 1, "running": 1},
        "realtime": {"completed": 2, "failed": 1, "pending": 2, "running": 1},
    }
    assert (day.completed, day.failed, day.prs_captured) == (5, 1, 20)
    assert day.success_rate == pytest.approx(5 / 6)
    assert day.prs_per_hour == pytest.approx(20 / 24)
    assert (day.p50_seconds, day.p95_seconds) == (300.0, 1000.0)
    assert week.total == 12 and (week.completed, week.failed, week.prs_captured) == (6, 1, 25)
    assert week.prs_per_hour == pytest.approx(25 / 168)
    assert (week.p50_seconds, week.p95_seconds) == (200.0, 1000.0)  # 50, 100, 200, 300, 400, 1000
    assert [(q.lane, q.processor, q.waiting, q.oldest_created_at) for q in figures.queues] == [
        ("bulk", "github_actions", 1, ago(minutes=5)),
        ("realtime", "local", 2, ago(minutes=7)),
    ]
    assert figures.backlog == 3
    assert [(s.id, s.silent_seconds) for s in figures.stuck] == [("stuck-bulk", 3600.0)]
    assert figures.stuck_after_seconds == 1800.0
    by_hour = {h.hour.hour: (h.prs, h.points, h.failed) for h in figures.hours if h.prs or h.failed}
    # Ended at 10:31:40, 10:33:20, 10:35, 10:36:40 and 10:46:40; failed at 11:30.
    assert by_hour == {10: (20, 40, 0), 11: (0, 0, 1)}
    assert len(figures.hours) == 24 and figures.hours[-1].hour == NOW


def test_the_cost_page_by_month_day_and_repository_against_free_minutes(engine: Engine) -> None:
    actions = {"processor": "github_actions", "lane": "bulk"}
    # March (NOW is 2026-03-01 12:00): widgets, 2 + 1 min, 500 + 500 PRs.
    add_job(
        engine,
        repository="acme/widgets",
        completed_at=ago(hours=1),
        billable_ms=120_000,
        items_done=500,
        **actions,
    )
    add_job(
        engine,
        repository="acme/widgets",
        completed_at=ago(hours=2),
        billable_ms=60_000,
        items_done=500,
        **actions,
    )
    # February 27: gadgets, 10 min, no PR. January 20: 5 min, outside the 30 days but within the 12 months.
    add_job(engine, repository="acme/gadgets", completed_at=ago(days=2), billable_ms=600_000, **actions)
    add_job(engine, repository="acme/gadgets", completed_at=ago(days=40), billable_ms=300_000, **actions)
    add_job(engine, repository="acme/widgets", completed_at=ago(hours=1), items_done=7, processor="local")
    options = DashboardOptions(plan=ActionsPlan(free_minutes=4, price_per_minute=0.006))

    page = TestClient(create_app(engine, clock=lambda: NOW, options=options)).get("/cost.json").json()

    month = page["this_month"]
    assert (month["key"], month["billable_minutes"], month["actions_usd"]) == (
        "2026-03",
        3.0,
        0.0,
    )  # 3 < 4 free
    assert month["actions_list_usd"] == pytest.approx(3 * 0.006)
    months = {m["key"]: (m["billable_minutes"], m["actions_usd"]) for m in page["cost"]["by_month"]}
    assert months == {
        "2026-01": (5.0, pytest.approx(1 * 0.006)),  # one minute past the four free
        "2026-02": (10.0, pytest.approx(6 * 0.006)),
        "2026-03": (3.0, 0.0),
    }
    assert len(page["days"]) == 30 and page["days"][-1]["key"] == "2026-03-01"
    assert {d["key"]: d["billable_minutes"] for d in page["days"] if d["jobs"]} == {
        "2026-02-27": 10.0,
        "2026-03-01": 3.0,
    }
    repositories = {r["key"]: r for r in page["cost"]["by_repository"]}
    assert repositories["acme/widgets"]["pull_requests"] == 1000
    assert repositories["acme/widgets"]["actions_usd_per_1000_prs"] == pytest.approx(3 * 0.006)
    assert repositories["acme/gadgets"]["actions_usd_per_1000_prs"] is None


def test_next_refresh_follows_the_tracked_schedule() -> None:
    at = datetime(2026, 3, 1, 12, 7, 30, tzinfo=UTC)
    assert next_refresh(900, at) == datetime(2026, 3, 1, 12, 15, tzinfo=UTC)
    assert next_refresh(6 * 3600, at) == datetime(2026, 3, 1, 18, tzinfo=UTC)
    assert next_refresh(30, at) == datetime(2026, 3, 1, 12, 8, tzinfo=UTC)
    assert next_refresh(86400, at) == datetime(2026, 3, 2, tzinfo=UTC)
    assert next_refresh(2 * 86400, at) == datetime(2026, 3, 3, tzinfo=UTC)  # days 1, 3, 5...
    assert next_refresh(6 * 3600, datetime(2026, 3, 1, 18, tzinfo=UTC)) == datetime(2026, 3, 2, tzinfo=UTC)


def test_repositories_held_against_github_synced_scheduled_and_open(engine: Engine) -> None:
    repo_id = add_repository(engine, "acme/widgets", prs=3, github_total=4, synced=ago(hours=2))
    with engine.begin() as connection:
        connection.execute(
            update(pull_requests)
            .where(pull_requests.c.number == 1, pull_requests.c.repository_id == repo_id)
            .values(changed_files=3500, files_truncated=True)
        )
        connection.execute(
            insert(tracked_repositories).values(repository="acme/widgets", every_seconds=21600)
        )
        connection.execute(insert(tracked_repositories).values(repository="acme/new", every_seconds=86400))
        for delivery, minutes in (("d-1", 30), ("d-2", 5)):
            connection.execute(
                insert(webhook_deliveries).values(
                    delivery_id=delivery,
                    event="issue_comment",
                    repository="acme/widgets",
                    outcome="applied",
                    received_at=ago(minutes=minutes),
                )
            )
    add_job(engine, repository="acme/widgets", status="completed", completed_at=ago(hours=1))
    add_job(engine, repository="acme/widgets", status="pending")
    add_job(engine, repository="acme/widgets", status="running")
    add_job(engine, repository="acme/widgets", status="failed", completed_at=ago(minutes=1))

    with engine.connect() as connection:
        statuses = {s.full_name: s for s in repository_statuses(connection, NOW)}

    widgets, new = statuses["acme/widgets"], statuses["acme/new"]
    assert (widgets.pull_requests, widgets.github_pr_total, widgets.missing) == (3, 4, 1)
    assert widgets.completeness == 75.0 and widgets.truncated_file_lists == 1
    assert widgets.last_synced_at == ago(hours=1)  # the completed job ended after the capture's own record
    assert widgets.last_delivery_at == ago(minutes=5) and new.last_delivery_at is None
    assert widgets.open_jobs == 2
    assert widgets.next_refresh_at == datetime(2026, 3, 1, 18, tzinfo=UTC)
    assert (new.pull_requests, new.completeness, new.last_synced_at) == (0, None, None)
    assert new.next_refresh_at == datetime(2026, 3, 2, tzinfo=UTC)


def test_latest_pull_requests_carry_their_authors(engine: Engine) -> None:
    repo_id = add_repository(engine, "acme/widgets", prs=2)
    with engine.begin() as connection:
        connection.execute(insert(contributors).values(github_id=7, login="octocat"))
        for number, updated in ((1, ago(hours=3)), (2, ago(hours=1))):
            connection.execute(
                update(pull_requests)
                .where(pull_requests.c.repository_id == repo_id, pull_requests.c.number == number)
                .values(title=f"PR {number}", author_id=7 if number == 1 else None, updated_at=updated)
            )

    with engine.connect() as connection:
        held = latest_pull_requests(connection, "acme/widgets")
        unknown = latest_pull_requests(connection, "acme/nothing")

    assert held is not None and [(p.number, p.title, p.author) for p in held] == [
        (2, "PR 2", None),
        (1, "PR 1", "octocat"),
    ]
    assert unknown is None


def test_rate_limits_now_and_the_least_left_each_hour(engine: Engine) -> None:
    # An installation's GraphQL budget: 4,000 left at 09:10, 3,000 at 09:50, 600 at 11:40 (above the 10%
    # reserve, 500). Its core budget: 100 left at 11:50, in a window that reset at 11:55. A token's core: 20.
    add_sample(engine, "app-42", "graphql", remaining=4000, at=ago(hours=2, minutes=50))
    add_sample(engine, "app-42", "graphql", remaining=3000, at=ago(hours=2, minutes=10))
    add_sample(engine, "app-42", "graphql", remaining=600, at=ago(minutes=20), reset_at=ago(minutes=-30))
    add_sample(engine, "app-42", "core", remaining=100, at=ago(minutes=10), reset_at=ago(minutes=5))
    add_sample(engine, "token-1", "core", remaining=20, at=ago(minutes=1), reset_at=ago(minutes=-50))
    add_sample(engine, "token-1", "core", remaining=4999, at=ago(days=2))  # older than the day shown

    with engine.connect() as connection:
        figures = rate_limits(connection, NOW, reserve=0.1)

    now = {(b.sample.budget, b.sample.resource): (b.remaining_now, b.low) for b in figures.budgets}
    assert now == {
        ("app-42", "core"): (5000, False),  # its window reset after the reading: whole again
        ("app-42", "graphql"): (600, False),
        ("token-1", "core"): (20, True),  # 20 < 500
    }
    graphql = next(h for h in figures.history if (h.budget, h.resource) == ("app-42", "graphql"))
    lowest = {
        hour.hour: left for hour, left in zip(graphql.hours, graphql.lowest, strict=True) if left is not None
    }
    assert lowest == {9: 3000, 11: 600} and len(graphql.hours) == 24
    assert [(h.budget, h.resource) for h in figures.history] == [
        ("app-42", "core"),
        ("app-42", "graphql"),
        ("token-1", "core"),
    ]


def test_the_workers_page_tells_alive_silent_and_stopped_apart(engine: Engine) -> None:
    add_worker(engine, "host-1-aaa", beat=ago(seconds=5), running=["r1"])
    add_worker(engine, "host-2-bbb", beat=ago(minutes=10), running=["r2"])
    add_worker(engine, "host-3-ccc", beat=ago(minutes=30), stopped=ago(minutes=30))
    add_job(engine, status="queued", lane="bulk", processor="local", created_at=ago(minutes=4))
    client = TestClient(create_app(engine, clock=lambda: NOW))

    page = client.get("/workers.json").json()

    assert {w["worker"]["id"]: w["alive"] for w in page["workers"]} == {
        "host-1-aaa": True,
        "host-2-bbb": False,
        "host-3-ccc": False,
    }
    assert page["silent_after_seconds"] == 30.0  # three 10 s heartbeats
    assert [(q["lane"], q["waiting"]) for q in page["queues"]] == [("bulk", 1)]
    html = client.get("/workers").text
    assert ">alive<" in html and ">silent<" in html and "stopped 2026-03-01 11:30:00" in html


def test_the_cost_page_sums_by_day_as_the_run_by_run_report_prices(engine: Engine) -> None:
    """Days that cross the free minutes and the hosted service's included usage, runs without an end
    (billed when created) or a start (priced by their billable time): the same figures both ways."""
    actions = {"processor": "github_actions", "lane": "bulk"}
    for day, minutes, repository in (
        (3, 3, "a/x"),
        (3, 2, "b/y"),
        (2, 4, "a/x"),
        (2, 1, "b/y"),
        (1, 6, "a/x"),
    ):
        add_job(
            engine,
            repository=repository,
            started_at=ago(days=day, minutes=minutes * 2),
            completed_at=ago(days=day),
            billable_ms=minutes * 60_000,
            items_done=minutes * 10,
            **actions,
        )
    add_job(engine, repository="a/x", created_at=ago(hours=3), billable_ms=90_000, items_done=5, **actions)
    add_job(engine, repository="b/y", completed_at=ago(hours=2), billable_ms=30_000, **actions)  # no start
    add_job(engine, repository="a/x", completed_at=ago(days=35), billable_ms=600_000, **actions)  # January
    plan = ActionsPlan(free_minutes=5, price_per_minute=0.008)
    hosted = HostedPriceModel(monthly_fee=1.0, included_usd=0.001, per_run=0.0001, per_second=0.00001)
    since = datetime(2025, 4, 1, tzinfo=UTC)

    with engine.connect() as connection:
        summed = cost_by_day(connection, plan, hosted, since).as_dict()
    walked = cost_overview(engine, plan, hosted, since).as_dict()

    for period in ("by_month", "by_day"):
        assert summed[period] == walked[period], period
    assert summed["total"] == walked["total"]
    list_prices = ("key", "jobs", "pull_requests", "billable_minutes", "actions_list_usd", "hosted_list_usd")
    assert [{k: r[k] for k in list_prices} for r in summed["by_repository"]] == [
        {k: r[k] for k in list_prices} for r in walked["by_repository"]
    ]
    # February's 16 minutes use up the 5 free ones on its first day; the days after it are paid in full.
    february = summed["by_day"][1]
    assert (february["key"], february["billable_minutes"]) == ("2026-02-26", 5.0)
    assert [d["free_minutes_used"] for d in summed["by_day"][1:4]] == [5.0, 0.0, 0.0]
