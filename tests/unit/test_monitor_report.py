from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from ghcapture.monitor.report import cost_report
from ghcapture.store.database import open_database
from monitor_support import NOW, add_job, known_store


def test_report_totals_per_route_and_repository(database_url: str) -> None:
    engine = open_database(database_url)
    known_store(engine)

    report = cost_report(engine)

    assert (report.total.jobs, report.total.points, report.total.items_done) == (6, 645, 64)
    routes = {(lane, processor): spend for lane, processor, spend in report.by_route}
    assert routes["bulk", "github_actions"].cost_usd == pytest.approx(0.048)
    assert routes["bulk", "github_actions"].billable_minutes == pytest.approx(3.0)
    assert routes["realtime", "local"].points == 45
    repos = dict(report.by_repository)
    assert repos["acme/gadgets"].points == 40 and repos["acme/widgets"].points == 605


def test_report_since_leaves_out_older_jobs(tmp_path: Path) -> None:
    engine = open_database(f"sqlite:///{tmp_path}/m.db")
    add_job(engine, points_used=7, created_at=NOW - timedelta(days=2))
    add_job(engine, points_used=11, created_at=NOW)

    assert cost_report(engine, since=NOW).total.points == 11
    assert cost_report(engine, since=NOW + timedelta(seconds=1)).total.jobs == 0


def _cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GHCAPTURE_DATABASE_URL": url, "COLUMNS": "200"}
    env.pop("GHCAPTURE_CONFIG", None)
    return subprocess.run(
        [sys.executable, "-m", "ghcapture", *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_report_command_prints_tables_and_json(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/m.db"
    known_store(open_database(url))

    as_json = _cli(url, "report", "--json")
    table = _cli(url, "report", "--since", "2026-01-01")
    bad = _cli(url, "report", "--since", "yesterday-ish")

    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout)["total"]["points"] == 645
    assert table.returncode == 0 and "github_actions" in table.stdout and "645" in table.stdout
    assert bad.returncode == 2 and "--since" in bad.stderr


def test_report_carries_the_bulk_lane_cost_per_month_and_day(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from ghcapture.cli import main

    url = f"sqlite:///{tmp_path}/m.db"
    engine = open_database(url)
    # Two Actions jobs on one day: 90 + 30 billable minutes, 4,000 PRs; 100 free minutes a month.
    for minutes, prs in ((90, 3000), (30, 1000)):
        add_job(engine, processor="github_actions", lane="bulk", billable_ms=minutes * 60_000, items_done=prs,
                completed_at=NOW)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GHCAPTURE_CONFIG", raising=False)
    settings = {"GHCAPTURE_DATABASE_URL": url, "COLUMNS": "200", "GHCAPTURE_ACTIONS_FREE_MINUTES": "100",
                "GHCAPTURE_ACTIONS_PRICE_PER_MINUTE": "0.01"}
    for name, value in settings.items():
        monkeypatch.setenv(name, value)

    main(["report", "--json"])
    bulk = json.loads(capsys.readouterr().out)["bulk_lane"]
    main(["report", "--by", "day"])
    daily = capsys.readouterr().out
    with pytest.raises(SystemExit) as weekly:
        main(["report", "--by", "week"])

    [month] = bulk["by_month"]
    # 120 minutes, 100 free: 20 paid at $0.01 = $0.20; listed, $1.20 for 4,000 PRs = $0.30 per 1,000.
    assert (month["key"], month["billable_minutes"], month["free_minutes_used"]) == ("2026-03", 120.0, 100.0)
    assert month["actions_usd"] == pytest.approx(0.2)
    assert month["actions_usd_per_1000_prs"] == pytest.approx(0.3)
    assert "2026-03-01" in daily and "0.20" in daily
    assert weekly.value.code == 2 and "--by" in capsys.readouterr().err
