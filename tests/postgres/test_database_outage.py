"""A worker, and `ghcapture capture` on its own, wait out a restart of their PostgreSQL server: the running
job keeps its attempt, the capture resumes from its checkpoint and completes, and each says one line when
the database goes and one when it is back instead of tracebacks. An outage longer than
GHCAPTURE_DB_OUTAGE_SECONDS stops the capture with one line, keeping what it stored.

The test starts a PostgreSQL server of its own on a free port (never the shared one), so that it may stop
and start it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.pool import NullPool

from fixtures_postgres import OwnServer
from ghcapture.capture.verify import compare_repository
from ghcapture.jobs.router import Route
from ghcapture.jobs.store import JobStore
from ghcapture.simulator.app import SimulatorConfig
from ghcapture.simulator.dataset import dump_repository
from ghcapture.simulator.server import SimulatorServer
from ghcapture.store.database import open_database
from ghcapture.store.tables import pull_requests
from reliability.scenarios import duplicates

# Outage drills of 15 to 35 s each: with the full reliability matrix (`pytest -m reliability`), not the
# default run.
pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.reliability]

OUTAGE_SECONDS = 8


def _wait(condition: Callable[[], bool], what: str, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except Exception:  # the database may be down while we look
            pass
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _worker(server: SimulatorServer, url: str, tmp_path: Path) -> tuple[subprocess.Popen[bytes], Path]:
    """`ghcapture worker` on the database, one capture page per step, its output in worker.log."""
    env = {
        **os.environ,
        "GITHUB_TOKEN": "x",
        "GITHUB_API_URL": server.url,
        "GITHUB_GRAPHQL_URL": server.url + "/graphql",
        "GHCAPTURE_DATABASE_URL": url,
        "GHCAPTURE_PAGES_PER_STEP": "1",
        "GHCAPTURE_POLL_SECONDS": "0.2",
        "GHCAPTURE_HEARTBEAT_SECONDS": "0.5",
        "GHCAPTURE_DB_OUTAGE_SECONDS": "60",
    }
    for name in ("GITHUB_APP_ID", "GHCAPTURE_ACTIONS_REPOSITORY", "GHCAPTURE_DBOS_DATABASE_URL"):
        env.pop(name, None)
    log_path = tmp_path / "worker.log"
    with log_path.open("wb") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "ghcapture", "worker", "--stop-wait", "30"],
            env=env,
            cwd=tmp_path,
            stdout=log,
            stderr=log,
        )
    return worker, log_path


def _worker_output(worker: subprocess.Popen[bytes], log_path: Path) -> str:
    worker.terminate()
    worker.wait(60)
    output = log_path.read_text()
    assert "Traceback" not in output, output[-4000:]
    assert len(output.splitlines()) < 20, output[-4000:]
    return output


def test_a_worker_waits_out_a_database_restart_without_spending_an_attempt(
    own_postgres: OwnServer, make_simulator: Callable[..., SimulatorServer], tmp_path: Path
) -> None:
    server = make_simulator({"acme/big": 400}, config=SimulatorConfig(latency_ms_per_node=0.4))
    engine = open_database(own_postgres.url)
    store = JobStore(engine)
    job = store.create(kind="prs", repository="acme/big", route=Route("realtime", "local", "test"))
    worker, log_path = _worker(server, own_postgres.url, tmp_path)
    try:
        _wait(lambda: store.get(job.id).items_done >= 50, "the job to be part-way")
        engine.dispose()
        own_postgres.stop()
        time.sleep(OUTAGE_SECONDS)
        own_postgres.start()
        _wait(lambda: store.get(job.id).is_terminal, "the job to finish")
        final = store.get(job.id, with_events=True)
        trail = "\n".join(f"{e.type} {e.message}" for e in final.events)
        assert final.status == "completed" and final.attempts == 1, trail
        truth = dump_repository(server.simulator.world.repositories["acme/big"], server.url)
        assert compare_repository(engine, truth).equal
    finally:
        _worker_output(worker, log_path)
        engine.dispose()


def _capture(
    server: SimulatorServer, url: str, tmp_path: Path, outage_seconds: float, repository: str = "acme/big"
) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "GITHUB_TOKEN": "x",
        "GITHUB_API_URL": server.url,
        "GITHUB_GRAPHQL_URL": server.url + "/graphql",
        "GHCAPTURE_DATABASE_URL": url,
        "GHCAPTURE_DB_OUTAGE_SECONDS": str(outage_seconds),
    }
    env.pop("GITHUB_APP_ID", None)
    # --json: no progress lines, so stderr holds only what the outage makes the capture say.
    return subprocess.Popen(
        [sys.executable, "-m", "ghcapture", "capture", "prs", repository, "--json"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _stored_prs(url: str) -> int:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(pull_requests)).scalar_one())
    finally:
        engine.dispose()


def _truth_equal(server: SimulatorServer, url: str, repository: str = "acme/big") -> bool:
    engine = open_database(url)
    try:
        truth = dump_repository(server.simulator.world.repositories[repository], server.url)
        return compare_repository(engine, truth).equal
    finally:
        engine.dispose()


def test_a_capture_waits_out_a_database_restart_and_completes(
    own_postgres: OwnServer, make_simulator: Callable[..., SimulatorServer], tmp_path: Path
) -> None:
    server = make_simulator({"acme/big": 400}, config=SimulatorConfig(latency_ms_per_node=0.4))
    open_database(own_postgres.url).dispose()  # migrated before the capture starts
    capture = _capture(server, own_postgres.url, tmp_path, outage_seconds=60)
    try:
        _wait(lambda: _stored_prs(own_postgres.url) >= 100, "the capture to be part-way")
        own_postgres.stop()
        time.sleep(3)
        own_postgres.start()
        out, err = capture.communicate(timeout=120)
    finally:
        capture.kill()
    assert capture.returncode == 0, err
    assert "Traceback" not in err, err
    lines = err.splitlines()
    assert len(lines) == 2, err  # one line when the database went, one when it came back
    assert "the database is unreachable; waiting up to 60 s" in lines[0]
    assert "the database is back" in lines[1] and "resuming from the checkpoint" in lines[1]
    assert json.loads(out)["resumed"] is True
    assert _truth_equal(server, own_postgres.url)


def test_an_outage_longer_than_the_setting_stops_the_capture_with_one_line_and_a_rerun_resumes(
    own_postgres: OwnServer, make_simulator: Callable[..., SimulatorServer], tmp_path: Path
) -> None:
    server = make_simulator({"acme/big": 400}, config=SimulatorConfig(latency_ms_per_node=0.4))
    open_database(own_postgres.url).dispose()
    capture = _capture(server, own_postgres.url, tmp_path, outage_seconds=1)
    try:
        _wait(lambda: _stored_prs(own_postgres.url) >= 100, "the capture to be part-way")
        kept = _stored_prs(own_postgres.url)
        own_postgres.stop()
        out, err = capture.communicate(timeout=120)  # the database stays away until the capture gives up
    finally:
        capture.kill()
    assert capture.returncode == 1, err
    assert "Traceback" not in err and out == "", err
    lines = err.splitlines()
    assert len(lines) == 2, err
    assert "the database is unreachable; waiting up to 1 s" in lines[0]
    assert lines[1].startswith("ghcapture: error: acme/big: cannot write to the database")
    assert "what was stored is kept" in lines[1]
    own_postgres.start()
    assert _stored_prs(own_postgres.url) >= kept
    rerun = _capture(server, own_postgres.url, tmp_path, outage_seconds=1)
    out, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err
    assert json.loads(out)["resumed"] is True
    assert _truth_equal(server, own_postgres.url)


def test_a_capture_and_a_worker_ride_through_a_30_second_stop_of_the_database(
    own_postgres: OwnServer, make_simulator: Callable[..., SimulatorServer], tmp_path: Path
) -> None:
    """The crash suite's database stop: PostgreSQL stopped for 30 s while `ghcapture capture` and a
    worker's job are both part-way; afterwards both repositories equal the ground truth, without duplicates,
    the job completed on its first attempt and no job is left unfinished."""
    server = make_simulator(
        {"acme/big": 400, "acme/jobbed": 400}, config=SimulatorConfig(latency_ms_per_node=0.4)
    )
    engine = open_database(own_postgres.url)
    store = JobStore(engine)
    job = store.create(kind="prs", repository="acme/jobbed", route=Route("realtime", "local", "test"))
    worker, log_path = _worker(server, own_postgres.url, tmp_path)
    capture = _capture(server, own_postgres.url, tmp_path, outage_seconds=60)
    try:
        _wait(lambda: store.get(job.id).items_done >= 50, "the job to be part-way")
        _wait(lambda: _stored_prs(own_postgres.url) - store.get(job.id).items_done >= 50, "the capture")
        engine.dispose()
        own_postgres.stop()
        time.sleep(30)
        own_postgres.start()
        out, err = capture.communicate(timeout=180)
        _wait(lambda: store.get(job.id).is_terminal, "the job to finish", seconds=180)
        final = store.get(job.id, with_events=True)
        trail = "\n".join(f"{e.type} {e.message}" for e in final.events)
        assert final.status == "completed" and final.attempts == 1, trail
        assert [j.id for j in store.list() if not j.is_terminal] == []
        assert capture.returncode == 0, err
        assert "Traceback" not in err and len(err.splitlines()) == 2, err
        assert json.loads(out)["resumed"] is True
        for repository in ("acme/big", "acme/jobbed"):
            assert _truth_equal(server, own_postgres.url, repository), repository
        assert duplicates(engine) == {}
    finally:
        capture.kill()
        _worker_output(worker, log_path)
        engine.dispose()
