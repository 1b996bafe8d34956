from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient

from ghcapture.monitor.dashboard import create_app
from ghcapture.store.database import open_database
from monitor_support import NOW, add_event, add_job, add_repository, known_store

HOSTILE = '<script>alert("x")</script>'


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    engine = open_database(f"sqlite:///{tmp_path}/m.db")
    known_store(engine)
    return engine


def test_overview_shows_spend_repositories_and_a_job_route_reason(engine: Engine) -> None:
    page = TestClient(create_app(engine, clock=lambda: NOW)).get("/")

    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "large backfill" in page.text
    assert "acme/widgets" in page.text and "github_actions" in page.text
    assert "0.0480" in page.text  # the bulk lane's cost
    assert "boom" in page.text  # the failed job's alert


def test_hostile_repository_and_error_strings_are_escaped(engine: Engine) -> None:
    add_repository(engine, f"evil/{HOSTILE}")
    job_id = add_job(engine, repository=f"evil/{HOSTILE}", status="failed", error=HOSTILE,
                     run_url="javascript:alert(1)")
    add_event(engine, job_id, "failed", HOSTILE)
    client = TestClient(create_app(engine, clock=lambda: NOW))

    for page in (client.get("/"), client.get(f"/jobs/{job_id}")):
        assert page.status_code == 200
        assert HOSTILE not in page.text
        assert "&lt;script&gt;" in page.text
        assert 'href="javascript:' not in page.text


def test_job_page_lists_its_events_and_unknown_ids_are_404(engine: Engine) -> None:
    job_id = add_job(engine, route_reason="small and recent")
    add_event(engine, job_id, "started", "picked up by worker-7")
    client = TestClient(create_app(engine, clock=lambda: NOW))

    page = client.get(f"/jobs/{job_id}")
    missing = client.get("/jobs/no-such-job")

    assert page.status_code == 200 and "picked up by worker-7" in page.text and "small and recent" in page.text
    assert missing.status_code == 404


def test_metrics_and_snapshot_endpoints(engine: Engine) -> None:
    client = TestClient(create_app(engine, clock=lambda: NOW))

    metrics = client.get("/metrics")
    snapshot = client.get("/api/snapshot").json()

    assert metrics.headers["content-type"].startswith("text/plain; version=")
    assert 'ghcapture_jobs{lane="bulk",status="completed"} 3.0' in metrics.text.splitlines()
    assert snapshot["spend"]["points"] == 645
    assert snapshot["running"][0]["heartbeat_age_s"] == 300.0
    assert {r["full_name"]: r["missing"] for r in snapshot["repositories"]} == {
        "acme/gadgets": 0, "acme/widgets": 2,
    }
