from __future__ import annotations

import pytest
from sqlalchemy import Engine

from ghcapture.monitor.metrics import collect
from ghcapture.store.database import open_database
from monitor_support import NOW, known_store


@pytest.fixture
def engine(database_url: str) -> Engine:
    engine = open_database(database_url)
    known_store(engine)
    return engine


def test_snapshot_counts_jobs_repositories_and_spend(engine: Engine) -> None:
    snapshot = collect(engine, now=NOW)

    assert {(c.status, c.lane): c.count for c in snapshot.jobs} == {
        ("completed", "bulk"): 3, ("completed", "realtime"): 1, ("failed", "realtime"): 1,
        ("running", "realtime"): 1,
    }
    widgets = next(r for r in snapshot.repositories if r.full_name == "acme/widgets")
    assert (widgets.pull_requests, widgets.github_pr_total, widgets.missing) == (3, 5, 2)
    assert (widgets.reviews, widgets.comments, widgets.files) == (6, 3, 12)
    assert snapshot.spend.points == 645 and snapshot.spend.requests == 69
    assert snapshot.spend.items_done == 64 and snapshot.spend.billable_minutes == pytest.approx(3.0)
    assert snapshot.spend.cost_usd == pytest.approx(0.048)
    bulk = next(s for s in snapshot.spend_by_route if s.lane == "bulk")
    assert (bulk.processor, bulk.spend.jobs, bulk.spend.points_per_pr) == ("github_actions", 3, 10.0)
    [running] = snapshot.running
    assert running.id == "job-running" and running.heartbeat_age_s == 300.0
