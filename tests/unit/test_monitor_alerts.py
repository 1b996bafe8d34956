from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, update

from ghcapture.monitor.alerts import Thresholds, evaluate
from ghcapture.store.database import open_database
from ghcapture.store.tables import (
    pull_requests,
    tracked_repositories,
    utc_now,
    webhook_deliveries,
    webhook_redeliveries,
)
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
    add_job(
        engine,
        id="started",
        lane="bulk",
        status="running",
        heartbeat_at=NOW,
        created_at=NOW - timedelta(hours=9),
    )

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
        [sys.executable, "-m", "ghcapture", "alerts", "--json"],
        env=env,
        capture_output=True,
        text=True,
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


def test_the_failure_rate_over_the_window(engine: Engine) -> None:
    limits = Thresholds(failed_within=timedelta(hours=24), failure_rate=0.25, failure_rate_min_jobs=4)
    for i in range(6):
        add_job(engine, id=f"ok-{i}", status="completed", completed_at=NOW - timedelta(hours=1))
    add_job(engine, id="old-failure", status="failed", completed_at=NOW - timedelta(hours=25))
    add_job(engine, id="f1", status="failed", completed_at=NOW - timedelta(hours=2))
    below = [a.rule for a in evaluate(engine, NOW, limits)]
    add_job(engine, id="f2", status="failed", completed_at=NOW - timedelta(hours=2))

    [rate] = [a for a in evaluate(engine, NOW, limits) if a.rule == "failure_rate"]

    # 1 of 7 (14%) is below 25%; 2 of 8 is 25%, which fires; the failure 25 h ago is outside the window.
    assert "failure_rate" not in below
    assert (rate.severity, rate.subject) == ("error", "jobs")
    assert rate.message.startswith("2 of 8 jobs finished in the last 24 h failed (25%")


def test_cancelled_and_interrupted_jobs_are_reported_with_their_ids(engine: Engine) -> None:
    add_job(
        engine,
        id="int-1",
        status="cancelled",
        error="interrupted (Ctrl-C) during ghcapture sync",
        completed_at=NOW - timedelta(hours=1),
    )
    add_job(engine, id="can-1", status="cancelled", error="cancelled by request", completed_at=NOW)
    add_job(engine, id="can-old", status="cancelled", completed_at=NOW - timedelta(hours=30))

    assert _rules(engine) == [
        ("warning", "job_interrupted", "int-1"),
        ("warning", "job_cancelled", "can-1"),
    ]
    assert [a.job_id for a in evaluate(engine, NOW, LIMITS)] == ["int-1", "can-1"]


def test_the_backlog_alerts_above_its_size(engine: Engine) -> None:
    limits = Thresholds(backlog=3)
    for i in range(3):
        add_job(
            engine, status="queued", lane="realtime", processor="local", created_at=NOW - timedelta(minutes=i)
        )
    at_limit = [a.rule for a in evaluate(engine, NOW, limits)]
    add_job(engine, status="pending", lane="bulk", processor="github_actions", created_at=NOW)

    [backlog] = [a for a in evaluate(engine, NOW, limits) if a.rule == "backlog"]

    assert "backlog" not in at_limit
    assert backlog.message == (
        "4 jobs waiting (1 bulk on github_actions, 3 realtime on local); alerting above 3"
    )


def test_a_budget_below_its_reserve_alerts_until_its_window_resets(engine: Engine) -> None:
    from monitor_support import add_sample

    add_sample(
        engine,
        "token-a",
        "graphql",
        remaining=499,
        at=NOW - timedelta(minutes=1),
        reset_at=NOW + timedelta(minutes=10),
    )
    add_sample(engine, "token-a", "core", remaining=500, at=NOW - timedelta(minutes=1))
    limits = Thresholds(budget_reserve=0.1)

    [low] = [a for a in evaluate(engine, NOW, limits) if a.rule == "budget_low"]
    after_reset = [a.rule for a in evaluate(engine, NOW + timedelta(minutes=11), limits)]

    # 499 of 5,000 is below 10%; 500 is not.
    assert low.subject == "token-a/graphql" and low.message == (
        "graphql budget of token-a: 499 of 5000 left, below the reserve of 500 (10%); resets 12:10 UTC"
    )
    assert "budget_low" not in after_reset


def test_local_jobs_waiting_with_no_live_worker(engine: Engine) -> None:
    from monitor_support import add_worker

    limits = Thresholds(worker_silent_after=timedelta(seconds=30))
    add_job(engine, status="queued", processor="github_actions")
    nothing_local = [a.rule for a in evaluate(engine, NOW, limits)]
    add_job(engine, status="queued", processor="local")
    add_worker(engine, "w-old", beat=NOW - timedelta(minutes=10))
    [alert] = [a for a in evaluate(engine, NOW, limits) if a.rule == "no_worker"]
    add_worker(engine, "w-live", beat=NOW - timedelta(seconds=30))

    assert "no_worker" not in nothing_local
    assert alert.severity == "error" and alert.message.startswith("1 local jobs wait and no worker is alive")
    assert "10 min ago" in alert.message
    assert "no_worker" not in [a.rule for a in evaluate(engine, NOW, limits)]


def _delivery(engine: Engine, delivery_id: str, repository: str, minutes_ago: float) -> None:
    with engine.begin() as connection:
        connection.execute(
            insert(webhook_deliveries).values(
                delivery_id=delivery_id,
                event="issue_comment",
                repository=repository,
                outcome="applied",
                received_at=NOW - timedelta(minutes=minutes_ago),
            )
        )


def _pull_requests_changed(engine: Engine, full_name: str, minutes_ago: float) -> None:
    repo_id = add_repository(engine, full_name, prs=1, synced=NOW)
    with engine.begin() as connection:
        connection.execute(
            update(pull_requests)
            .where(pull_requests.c.repository_id == repo_id)
            .values(updated_at=NOW - timedelta(minutes=minutes_ago))
        )
        connection.execute(insert(tracked_repositories).values(repository=full_name, every_seconds=3600))


def _webhook_rules(engine: Engine) -> list[tuple[str, str]]:
    return [(a.rule, a.subject) for a in evaluate(engine, NOW, LIMITS) if a.rule.startswith("webhook")]


def test_a_tracked_repository_that_changed_without_deliveries_is_reported_once_webhooks_are_used(
    engine: Engine,
) -> None:
    _pull_requests_changed(engine, "acme/heard", minutes_ago=10)
    _pull_requests_changed(engine, "acme/silent", minutes_ago=10)
    _pull_requests_changed(engine, "acme/idle", minutes_ago=600)  # nothing changed: nothing to hear
    assert _webhook_rules(engine) == []  # no delivery ever: this installation uses no webhooks

    _delivery(engine, "d-1", "acme/heard", minutes_ago=5)
    _delivery(engine, "d-2", "acme/silent", minutes_ago=300)  # heard from, but not since it changed

    assert _webhook_rules(engine) == [("webhooks_silent", "acme/silent")]


def test_failed_deliveries_growing_hour_on_hour(engine: Engine) -> None:
    def asked(attempt: int, minutes_ago: float) -> None:
        with engine.begin() as connection:
            connection.execute(
                insert(webhook_redeliveries).values(
                    attempt_id=attempt,
                    delivery_id=f"g-{attempt}",
                    asked_at=NOW - timedelta(minutes=minutes_ago),
                )
            )

    asked(1, 90)
    asked(2, 30)
    assert _webhook_rules(engine) == []  # one an hour, as before
    asked(3, 20)
    assert _webhook_rules(engine) == [("webhook_failures_growing", "deliveries")]
