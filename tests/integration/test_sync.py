"""`ghcapture sync` on the embedded default (SQLite, DBOS in process) against the GitHub simulator."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.exc import OperationalError

from ghcapture.capture.verify import compare_repository
from ghcapture.cli import main
from ghcapture.jobs.store import JobStore
from ghcapture.simulator.app import SimulatorConfig
from ghcapture.simulator.dataset import dump_repository
from ghcapture.simulator.server import SimulatorServer
from ghcapture.store.database import open_database
from ghcapture.store.tables import progressive_capture_jobs


@pytest.fixture
def sim_env(
    make_simulator: Callable[..., SimulatorServer], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> SimulatorServer:
    server = make_simulator({"acme/widgets": 130})
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GITHUB_TOKEN", "x")
    monkeypatch.setenv("GITHUB_API_URL", server.url)
    monkeypatch.setenv("GITHUB_GRAPHQL_URL", server.url + "/graphql")
    monkeypatch.setenv("GHCAPTURE_DATABASE_URL", f"sqlite:///{tmp_path}/data.db")
    monkeypatch.setenv("GHCAPTURE_PAGES_PER_STEP", "1")
    monkeypatch.setenv("GHCAPTURE_POLL_SECONDS", "0.2")
    for name in ("GITHUB_APP_ID", "GHCAPTURE_ACTIONS_REPOSITORY", "GHCAPTURE_DBOS_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    return server


def test_sync_completes_a_job_with_events_and_spend(
    sim_env: SimulatorServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["sync", "acme/widgets", "--quiet"])
    out = capsys.readouterr()
    assert "completed" in out.out
    engine = open_database(f"sqlite:///{tmp_path}/data.db")
    store = JobStore(engine)
    [job] = store.list()
    assert job.status == "completed"
    assert job.lane == "bulk" and job.processor == "local"
    assert "all history" in (job.route_reason or "")
    assert "local engine's bulk queue" in (job.route_reason or "")
    assert job.attempts == 1
    assert job.items_done == 130
    stats = sim_env.simulator.stats.as_dict()
    assert job.points_used == stats["graphql_points"] and job.points_used > 0
    assert job.requests_made > 0
    trail = store.get(job.id, with_events=True).events
    events = [e.type for e in trail]
    assert events[0] == "created" and "started" in events and events[-1] == "completed"
    # One page per step: the job took several steps, and its completed event reports all of them.
    # Every request but one is the job's: sync asks for the repository once before recording the job.
    assert events.count("queued") == 1 and job.requests_made == stats["requests_total"] - 1
    assert f"; {job.points_used} points, {job.requests_made} requests" in (trail[-1].message or "")
    truth = dump_repository(sim_env.simulator.world.repositories["acme/widgets"], sim_env.url)
    assert compare_repository(engine, truth).equal
    # The system database sits beside the data database.
    assert (tmp_path / "data-jobs.db").exists()
    # The engine sync started recorded its heartbeat and its stop; the capture, what GitHub said of both
    # budgets, the last of them as the simulator left them.
    from ghcapture.monitor.budgets import latest_budgets
    from ghcapture.monitor.workers import worker_beats

    with engine.connect() as connection:
        [worker] = worker_beats(connection)
        budgets = {sample.resource: sample for sample in latest_budgets(connection)}
    assert not worker.listens and worker.stopped_at is not None and worker.heartbeat_at <= worker.stopped_at
    assert budgets["graphql"].used == stats["graphql_points"]


def test_sync_detach_only_records(sim_env: SimulatorServer, tmp_path: Path) -> None:
    main(["sync", "acme/widgets", "--days", "1", "--detach"])
    engine = create_engine(f"sqlite:///{tmp_path}/data.db")
    with engine.connect() as conn:
        rows = conn.execute(select(progressive_capture_jobs)).all()
    assert [(r.status, r.lane) for r in rows] == [("pending", "realtime")]
    assert sim_env.simulator.stats.as_dict()["requests_total"] == 0


def test_sync_bad_repository_is_one_line(
    sim_env: SimulatorServer, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["sync", "not-a-repo"])
    assert exit_info.value.code != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "OWNER/NAME" in err[0]


def test_ctrl_c_during_sync_is_one_line_and_cancels_the_job(
    make_simulator: Callable[..., SimulatorServer], tmp_path: Path
) -> None:
    server = make_simulator({"acme/big": 600}, config=SimulatorConfig(latency_ms_per_node=0.4))
    env = {
        **os.environ,
        "GITHUB_TOKEN": "x",
        "GITHUB_API_URL": server.url,
        "GITHUB_GRAPHQL_URL": server.url + "/graphql",
        "GHCAPTURE_DATABASE_URL": f"sqlite:///{tmp_path}/data.db",
        "GHCAPTURE_PAGES_PER_STEP": "1",
        "GHCAPTURE_POLL_SECONDS": "0.2",
    }
    for name in ("GITHUB_APP_ID", "GHCAPTURE_ACTIONS_REPOSITORY", "GHCAPTURE_DBOS_DATABASE_URL"):
        env.pop(name, None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "ghcapture", "sync", "acme/big", "--quiet"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                jobs = JobStore(create_engine(f"sqlite:///{tmp_path}/data.db")).list()
            except OperationalError:  # the database is not there yet, or not migrated
                jobs = []
            if jobs and jobs[0].status == "running" and jobs[0].items_done > 0:
                break
            time.sleep(0.1)
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    lines = err.decode().strip().splitlines()
    assert proc.returncode == 130, (proc.returncode, err.decode())
    assert lines[-1] == "ghcapture: interrupted" and len(lines) == 2, err.decode()  # the job line, then this
    assert "Traceback" not in err.decode()
    store = JobStore(create_engine(f"sqlite:///{tmp_path}/data.db"))
    [job] = store.list()
    final = store.get(job.id, with_events=True)
    assert final.status == "cancelled" and "interrupted" in (final.error or ""), final
    assert 0 < final.items_done < 600
