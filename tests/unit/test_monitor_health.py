"""/healthz over known stores: each check failing alone, with its figures."""

from __future__ import annotations

import socket
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, update
from starlette.testclient import TestClient

from ghcapture.monitor.dashboard import create_app
from ghcapture.monitor.health import health
from ghcapture.monitor.thresholds import Thresholds
from ghcapture.store.database import create_engine_for, open_database
from ghcapture.store.tables import progressive_capture_jobs as jobs
from monitor_support import NOW, add_job, add_sample, add_worker


def healthy_store(database_url: str) -> Engine:
    engine = open_database(database_url)
    add_worker(engine, "w1", beat=NOW - timedelta(seconds=10))
    add_job(
        engine, lane="realtime", processor="local", status="queued", created_at=NOW - timedelta(minutes=1)
    )
    add_sample(engine, "token-a", "core", remaining=600, at=NOW - timedelta(minutes=1))
    return engine


def failing(body: dict[str, object]) -> set[str]:
    checks = body["checks"]
    assert isinstance(checks, dict)
    return {name for name, check in checks.items() if not check["ok"]}


def test_a_healthy_store_answers_200_with_every_check(database_url: str) -> None:
    body, status = health(healthy_store(database_url), NOW)

    assert status == 200 and body["status"] == "ok" and failing(body) == set()
    assert body["checks"]["workers"]["alive"] == 1  # type: ignore[index]
    assert body["checks"]["backlog"]["waiting"] == 1  # type: ignore[index]


def test_each_check_fails_on_its_own(sqlite_url: str) -> None:
    engine = healthy_store(sqlite_url)
    limits = Thresholds(backlog=2, budget_reserve=0.1, stuck_after=timedelta(minutes=30))

    assert failing(health(engine, NOW + timedelta(minutes=5), limits)[0]) == {"workers"}  # w1 silent 5 min
    extra = [add_job(engine, status="pending", processor="github_actions") for _ in range(2)]
    body, status = health(engine, NOW, limits)
    assert status == 503 and failing(body) == {"backlog"} and body["checks"]["backlog"]["waiting"] == 3  # type: ignore[index]
    with engine.begin() as connection:
        connection.execute(update(jobs).where(jobs.c.id.in_(extra)).values(status="completed"))
    add_job(engine, id="job-stuck", status="running", heartbeat_at=NOW - timedelta(minutes=31))
    body, _ = health(engine, NOW, limits)
    assert failing(body) == {"stuck_jobs"} and body["checks"]["stuck_jobs"]["ids"] == ["job-stuck"]  # type: ignore[index]
    add_sample(engine, "token-a", "graphql", remaining=499, at=NOW)  # below 10% of 5,000
    body, _ = health(engine, NOW, limits)
    assert failing(body) == {"stuck_jobs", "budgets"}
    assert [b["resource"] for b in body["checks"]["budgets"]["below_reserve"]] == ["graphql"]  # type: ignore[index]


def test_no_worker_is_needed_while_no_local_work_waits(sqlite_url: str) -> None:
    engine = open_database(sqlite_url)
    add_job(engine, status="queued", processor="github_actions")

    body, status = health(engine, NOW)

    assert status == 200 and body["checks"]["workers"] == {  # type: ignore[index]
        "ok": True,
        "alive": 0,
        "last_heartbeat_at": None,
        "local_jobs_waiting": 0,
    }


def test_an_unreachable_database_answers_503_in_one_line() -> None:
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    engine = create_engine_for(f"postgresql://postgres:hunter2@127.0.0.1:{port}/test")

    body, status = health(engine, NOW)

    assert status == 503 and failing(body) == {"database"}
    error = body["checks"]["database"]["error"]  # type: ignore[index]
    assert "\n" not in error and "hunter2" not in error and str(port) in error


def test_healthz_route(tmp_path: Path) -> None:
    engine = open_database(f"sqlite:///{tmp_path}/h.db")
    add_job(engine, status="running", heartbeat_at=NOW - timedelta(hours=2))
    client = TestClient(create_app(engine, clock=lambda: NOW))

    answer = client.get("/healthz")

    assert answer.status_code == 503 and answer.json()["checks"]["stuck_jobs"]["count"] == 1


def test_healthz_judges_by_the_alert_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = open_database(f"sqlite:///{tmp_path}/h.db")
    for _ in range(3):
        add_job(engine, status="queued", processor="github_actions")
    monkeypatch.delenv("GHCAPTURE_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GHCAPTURE_ALERT_BACKLOG", "2")

    answer = TestClient(create_app(engine, clock=lambda: NOW)).get("/healthz")

    assert answer.status_code == 503 and answer.json()["checks"]["backlog"] == {
        "ok": False,
        "waiting": 3,
        "limit": 2,
    }
