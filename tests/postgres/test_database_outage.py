"""A worker waits out a restart of its PostgreSQL server: the running job keeps its attempt, resumes from
its checkpoint and completes, and the worker says one line per outage instead of tracebacks.

The test starts a PostgreSQL server of its own on a free port (never the shared one), so that it may stop
and start it."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ghcapture.capture.verify import compare_repository
from ghcapture.jobs.router import Route
from ghcapture.jobs.store import JobStore
from ghcapture.simulator.app import SimulatorConfig
from ghcapture.simulator.dataset import dump_repository
from ghcapture.simulator.server import SimulatorServer
from ghcapture.store.database import open_database

# A 35-second outage drill: with the full reliability matrix (`pytest -m reliability`), not the default run.
pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.reliability]

OUTAGE_SECONDS = 8


def _binary(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or [shutil.which(name) or ""]
    return found[-1] or None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class OwnServer:
    def __init__(self) -> None:
        initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
        if initdb is None or pg_ctl is None:
            pytest.skip("initdb/pg_ctl not installed")
        # PostgreSQL refuses to run as root: as root, run it as the postgres user.
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            if shutil.which("runuser") is None:
                pytest.skip("running as root without runuser to start PostgreSQL as another user")
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self.pg_ctl = pg_ctl
        self.socket_dir = Path(f"/tmp/ghc-pg-{os.getpid()}-{time.monotonic_ns()}")
        self.socket_dir.mkdir()
        self.data = self.socket_dir / "pgdata"
        if self.as_user:
            shutil.chown(self.socket_dir, "postgres")
        self.port = _free_port()
        subprocess.run(
            [*self.as_user, initdb, "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8"],
            check=True,
            capture_output=True,
        )
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _ctl(self, *args: str) -> None:
        options = f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1"
        subprocess.run(
            [
                *self.as_user,
                self.pg_ctl,
                "-D",
                str(self.data),
                "-o",
                options,
                "-l",
                str(self.data / "log"),
                "-w",
                *args,
            ],
            check=True,
            capture_output=True,
        )

    def start(self) -> None:
        self._ctl("start")

    def stop(self) -> None:
        self._ctl("stop", "-m", "fast")

    def cleanup(self) -> None:
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.socket_dir, ignore_errors=True)


@pytest.fixture
def own_postgres() -> Iterator[OwnServer]:
    server = OwnServer()
    server.start()
    try:
        yield server
    finally:
        server.cleanup()


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


def test_a_worker_waits_out_a_database_restart_without_spending_an_attempt(
    own_postgres: OwnServer, make_simulator: Callable[..., SimulatorServer], tmp_path: Path
) -> None:
    server = make_simulator({"acme/big": 400}, config=SimulatorConfig(latency_ms_per_node=0.4))
    env = {
        **os.environ,
        "GITHUB_TOKEN": "x",
        "GITHUB_API_URL": server.url,
        "GITHUB_GRAPHQL_URL": server.url + "/graphql",
        "GHCAPTURE_DATABASE_URL": own_postgres.url,
        "GHCAPTURE_PAGES_PER_STEP": "1",
        "GHCAPTURE_POLL_SECONDS": "0.2",
        "GHCAPTURE_HEARTBEAT_SECONDS": "0.5",
        "GHCAPTURE_DB_OUTAGE_SECONDS": "60",
    }
    for name in ("GITHUB_APP_ID", "GHCAPTURE_ACTIONS_REPOSITORY", "GHCAPTURE_DBOS_DATABASE_URL"):
        env.pop(name, None)
    engine = open_database(own_postgres.url)
    store = JobStore(engine)
    job = store.create(kind="prs", repository="acme/big", route=Route("realtime", "local", "test"))
    log_path = tmp_path / "worker.log"
    with log_path.open("wb") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "ghcapture", "worker", "--stop-wait", "30"],
            env=env,
            cwd=tmp_path,
            stdout=log,
            stderr=log,
        )
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
        worker.terminate()
        worker.wait(60)
        engine.dispose()
    output = log_path.read_text()
    assert "Traceback" not in output, output[-4000:]
    assert len(output.splitlines()) < 20, output[-4000:]
