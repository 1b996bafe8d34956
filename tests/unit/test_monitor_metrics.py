from __future__ import annotations

from pathlib import Path

import pytest
from monitor_support import NOW, add_job, known_store
from sqlalchemy import Engine

from ghcapture.monitor.metrics import collect, prometheus_text
from ghcapture.store.database import open_database


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


def test_prometheus_text_has_help_type_and_the_inserted_numbers(engine: Engine) -> None:
    text = prometheus_text(collect(engine, now=NOW))
    lines = text.splitlines()

    assert "# TYPE ghcapture_jobs gauge" in lines
    assert 'ghcapture_jobs{status="completed",lane="bulk"} 3' in lines
    assert 'ghcapture_pull_requests_held{repository="acme/widgets"} 3' in lines
    assert 'ghcapture_github_pull_requests_total{repository="acme/widgets"} 5' in lines
    assert "ghcapture_graphql_points_total 645" in lines
    assert any(line.startswith("ghcapture_cost_usd_total 0.04") for line in lines)
    assert 'ghcapture_route_graphql_points_total{lane="bulk",processor="github_actions"} 600' in lines
    assert text.endswith("\n")


def test_prometheus_label_values_are_escaped(tmp_path: Path) -> None:
    engine = open_database(f"sqlite:///{tmp_path}/m.db")
    add_job(engine, lane='bu"lk\\x\nnew', status="queued")

    text = prometheus_text(collect(engine, now=NOW))

    assert 'ghcapture_jobs{status="queued",lane="bu\\"lk\\\\x\\nnew"} 1' in text.splitlines()
