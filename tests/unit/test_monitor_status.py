"""`ghcapture status` figures over a known store, and its tables within 80 columns."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from ghcapture.cli import main
from ghcapture.monitor.status import status
from ghcapture.store.database import open_database
from ghcapture.store.tables import utc_now
from monitor_support import NOW, add_job, add_sample, add_worker


def test_lanes_count_the_last_day_and_week(tmp_path: Path) -> None:
    engine = open_database(f"sqlite:///{tmp_path}/s.db")
    for hours, state in (
        (1, "completed"),
        (2, "completed"),
        (3, "failed"),
        (30, "completed"),
        (200, "failed"),
    ):
        add_job(engine, lane="bulk", status=state, completed_at=NOW - timedelta(hours=hours))
    add_job(engine, lane="bulk", status="queued")
    add_job(engine, lane="realtime", status="pending")
    add_job(engine, lane="realtime", status="running", heartbeat_at=NOW)

    found = status(engine, NOW)

    bulk, realtime = found.lanes
    # Day: 2 completed, 1 failed; week adds the 30-hour-old completion (the 200-hour-old failure is out).
    assert (bulk.lane, bulk.waiting, bulk.completed_day, bulk.failed_day) == ("bulk", 1, 2, 1)
    assert (bulk.completed_week, bulk.failed_week, bulk.success_rate_week) == (3, 1, 0.75)
    assert (realtime.waiting, realtime.running, realtime.success_rate_week) == (1, 1, None)


def test_status_fits_80_columns_and_shows_budgets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path}/s.db"
    monkeypatch.setenv("GHCAPTURE_DATABASE_URL", url)
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.delenv("GHCAPTURE_CONFIG", raising=False)
    engine = open_database(url)
    now = utc_now()
    add_job(
        engine,
        id="a-rather-long-job-identifier-0001",
        lane="bulk",
        status="running",
        heartbeat_at=now - timedelta(hours=3),
    )
    add_sample(
        engine,
        "app12345-67890123",
        "graphql",
        limit=12500,
        remaining=800,
        at=now - timedelta(minutes=1),
        reset_at=now + timedelta(minutes=12),
    )
    add_worker(engine, "box-4242-abcdef", beat=now)

    main(["status"])
    out = capsys.readouterr().out
    main(["status", "--json"])
    document = json.loads(capsys.readouterr().out)

    assert max(len(line) for line in out.splitlines()) <= 80 and "…" not in out
    assert "app12345-67890123" in out and "12500" in out and "a-rather-long-job-identifier-0001" in out
    assert document["budgets"][0]["remaining"] == 800
    assert document["health"]["checks"]["stuck_jobs"]["ids"] == ["a-rather-long-job-identifier-0001"]
