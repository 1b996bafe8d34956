"""A real capture against the simulator records what GitHub said of its budgets, and prunes old readings."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from capture_support import settings_for
from ghcapture.capture.engine import capture
from ghcapture.github.http import GitHubClient
from ghcapture.monitor.budgets import budget_history, latest_budgets
from ghcapture.store.database import open_database
from ghcapture.store.tables import rate_limit_samples
from monitor_support import add_sample


def test_a_capture_records_both_budgets_and_prunes_old_samples(simulator, sqlite_url):
    engine = open_database(sqlite_url)
    long_ago = datetime.now(UTC) - timedelta(days=30)
    add_sample(engine, "token-old", "core", remaining=1, at=long_ago)
    settings = settings_for(simulator)
    budget = "token-" + hashlib.sha256(b"ghp_testtoken").hexdigest()[:10]

    async def go():
        async with GitHubClient(settings, retry_wait_initial=0.01) as client:
            return await capture(client, engine, "acme/widgets")

    result = asyncio.run(go())

    with engine.connect() as connection:
        latest = {s.resource: s for s in latest_budgets(connection)}
        history = budget_history(connection, long_ago - timedelta(days=1))
    assert set(latest) == {"core", "graphql"}
    assert {s.budget for s in history} == {budget}  # the 30-day-old sample of another budget is gone
    graphql, core = latest["graphql"], latest["core"]
    # A fresh simulator's budgets: what the capture spent is all that was used of them.
    assert (graphql.limit, graphql.used, graphql.remaining) == (
        5000,
        result.points_used,
        5000 - result.points_used,
    )
    assert (core.limit, core.used) == (5000, result.rest_requests)
    # One reading per resource on arrival and the last on the way out, not one per response.
    assert len(history) <= 4 < result.requests_made


def test_the_sampling_interval_and_retention_come_from_the_settings(simulator, sqlite_url):
    engine = open_database(sqlite_url)
    add_sample(engine, "token-x", "core", remaining=1, at=datetime.now(UTC) - timedelta(hours=3))
    settings = settings_for(simulator)
    settings = replace(
        settings, extra={"rate_limit_sample_seconds": 0.0, "rate_limit_samples_keep_days": 0.1}
    )

    async def go():
        async with GitHubClient(settings, retry_wait_initial=0.01) as client:
            return await capture(client, engine, "acme/widgets")

    result = asyncio.run(go())

    with engine.connect() as connection:
        rows = connection.execute(select(func.count()).select_from(rate_limit_samples)).scalar_one()
        budgets = {s.budget for s in latest_budgets(connection)}
    # Every reading was kept (interval 0): a REST answer's headers, and a GraphQL answer's headers and its
    # rateLimit field; the 3-hour-old sample was pruned (kept: 2.4 h).
    assert rows == result.rest_requests + 2 * result.graphql_requests and "token-x" not in budgets
