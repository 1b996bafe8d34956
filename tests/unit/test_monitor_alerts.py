from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert

from ghcapture.monitor.alerts import Thresholds, evaluate
from ghcapture.store.database import open_database
from ghcapture.store.tables import tracked_repositories, utc_now
from monitor_support import NOW, add_job, add_repository

LIMITS = Thresholds(
    failed_within=timedelta(hours=24),
    stuck_after=timedelta(minutes=30),
    bulk_queued_after=timedelta(hours=6),
    stale_after=timedelta(hours=48),
    missing_pull_requests=2,
)


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    return open_database(f"sqlite:///{tmp_path}/m.db")


def _rules(engine: Engine) -> list[tuple[str, str, str]]:
    return [(a.severity, a.rule, a.subject) for a in evaluate(engine, NOW, LIMITS)]


def test_an_empty_store_raises_nothing(engine: Engine) -> None:
    assert evaluate(engine, NOW, LIMITS) == []


def test_failed_jobs_count_from_the_start_of_the_window(engine: Engine) -> None:
    add_job(engine, id="at-start", status="failed", error="boom", completed_at=NOW - timedelta(hours=24))
    add_job(engine, id="before", status="failed", completed_at=NOW - timedelta(hours=24, seconds=1))

    [alert] = evaluate(engine, NOW, LIMITS)

    assert (alert.severity, alert.rule, alert.subject) == ("error", "job_failed", "at-start")
    assert "boom" in alert.message


def test_running_job_is_stuck_only_past_the_heartbeat_limit(engine: Engine) -> None:
    add_job(engine, id="at-limit", status="running", heartbeat_at=NOW - timedelta(minutes=30))
    add_job(engine, id="past", status="running", heartbeat_at=NOW - timedelta(minutes=30, seconds=1))
    add_job(engine, id="no-beat", status="running", started_at=NOW - timedelta(hours=2))

    assert _rules(engine) == [("error", "job_stuck", "past"), ("error", "job_stuck", "no-beat")]


def test_bulk_jobs_waiting_past_the_limit_are_reported(engine: Engine) -> None:
    add_job(engine, id="at-limit", lane="bulk", status="queued", created_at=NOW - timedelta(hours=6))
    add_job(engine, id="past", lane="bulk", status="pending", created_at=NOW - timedelta(hours=6, seconds=1))
    add_job(engine, id="realtime", lane="realtime", status="queued", created_at=NOW - timedelta(hours=9))
    add_job(engine, id="started", lane="bulk", status="running", heartbeat_at=NOW,
            created_at=NOW - timedelta(hours=9))

    assert _rules(engine) == [("warning", "bulk_job_waiting", "past")]


def test_stale_and_never_synced_repositories(engine: Engine) -> None:
    add_repository(engine, "acme/fresh", synced=NOW - timedelta(hours=48))
    add_repository(engine, "acme/stale", synced=NOW - timedelta(hours=48, seconds=1))
    with engine.begin() as connection:
        connection.execute(insert(tracked_repositories).values(repository="acme/tracked", every_seconds=3600))

    assert _rules(engine) == [
        ("warning", "repository_stale", "acme/stale"),
        ("warning", "repository_stale", "acme/tracked"),
    ]


def test_incomplete_when_github_reports_enough_more_than_held(engine: Engine) -> None:
    add_repository(engine, "acme/short-by-one", prs=3, github_total=4, synced=NOW)
    add_repository(engine, "acme/short-by-two", prs=3, github_total=5, synced=NOW)
    add_repository(engine, "acme/unknown-total", prs=3, synced=NOW)

    assert _rules(engine) == [("warning", "repository_incomplete", "acme/short-by-two")]


def _alerts_cli(url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GHCAPTURE_DATABASE_URL": url}
    env.pop("GHCAPTURE_CONFIG", None)
    return subprocess.run(
        [sys.executable, "-m", "ghcapture", "alerts", "--json"], env=env, capture_output=True, text=True,
        timeout=120,
    )


def test_alerts_command_exits_1_with_a_failed_job_and_0_without(engine: Engine) -> None:
    url = str(engine.url)
    add_job(engine, id="waiting", lane="bulk", status="queued", created_at=NOW - timedelta(days=3650))
    quiet = _alerts_cli(url)
    add_job(engine, id="broke", status="failed", error="rate limited", completed_at=utc_now())
    loud = _alerts_cli(url)

    assert quiet.returncode == 0, quiet.stderr
    assert [json.loads(line)["rule"] for line in quiet.stdout.splitlines()] == ["bulk_job_waiting"]
    assert loud.returncode == 1, loud.stderr
    assert json.loads(loud.stdout.splitlines()[0])["subject"] == "broke"
