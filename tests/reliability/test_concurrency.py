"""One repository captured at once by `ghcapture capture`, `ghcapture sync` and a worker, on SQLite and
PostgreSQL: no duplicates, nothing lost, and the budget spent about once, because the capture lock makes
the later captures wait for the first and then run incrementally from what it stored.

Also the lock's own rules, in process: a second holder waits (saying for whom) or fails fast when told not
to wait, and a crashed holder's lock does not block the next capture.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import OperationalError

from capture_support import compare, run_capture
from ghcapture.jobs.store import JobStore
from ghcapture.simulator.app import SimulatorConfig
from ghcapture.simulator.model import visible_reviews
from ghcapture.simulator.server import SimulatorServer
from ghcapture.store import locks
from ghcapture.store.database import open_database
from ghcapture.store.locks import CaptureLockedError, capture_lock, current_holder
from ghcapture.store.tables import capture_locks, comments, pr_files, pull_requests, reviews, utc_now

REPOSITORY = "acme/widgets"
PRS = 400
# Server time per GraphQL node, so that a capture lasts a few seconds and the three really overlap.
CONFIG = {"latency_ms_per_node": 0.4, "time_scale": 1.0}
# What a capture that finds the work done spends: the repository's facts, an incremental probe of the
# most recently updated PRs, one page of review comments since the watermark, and a little slack.
JOINING_UNITS = 5


def _env(server: SimulatorServer, database_url: str) -> dict[str, str]:
    env = {
        **os.environ,
        "GITHUB_TOKEN": "ghp_concurrency",
        "GITHUB_API_URL": server.url,
        "GITHUB_GRAPHQL_URL": server.url + "/graphql",
        "GHCAPTURE_DATABASE_URL": database_url,
        "GHCAPTURE_PAGES_PER_STEP": "1",
        "GHCAPTURE_POLL_SECONDS": "0.2",
        "GHCAPTURE_HEARTBEAT_SECONDS": "0.5",
    }
    for name in (
        "GITHUB_APP_ID",
        "GHCAPTURE_ACTIONS_REPOSITORY",
        "GHCAPTURE_DBOS_DATABASE_URL",
        locks.WAIT_ENV,
    ):
        env.pop(name, None)
    return env


def _units(server: SimulatorServer) -> int:
    return int(server.simulator.stats.as_dict()["budget_units"])


def _locks_held(engine: Engine) -> int:
    # A short connection each time: on SQLite an open transaction would hold the write lock.
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(capture_locks)).scalar_one())


def _wait(condition: Any, what: str, seconds: float = 120.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
def test_capture_sync_and_a_worker_at_once_spend_the_budget_about_once(
    make_simulator, database_url, tmp_path: Path
) -> None:
    reference = make_simulator({REPOSITORY: PRS}, config=SimulatorConfig(**CONFIG))
    clean_engine = open_database(f"sqlite:///{tmp_path}/clean.db")
    run_capture(reference, clean_engine, REPOSITORY)
    clean_engine.dispose()
    clean_units = _units(reference)

    server = make_simulator({REPOSITORY: PRS}, config=SimulatorConfig(**CONFIG))
    engine = open_database(database_url)
    env = _env(server, database_url)
    ghcapture = [sys.executable, "-m", "ghcapture"]
    # The worker's job is recorded first, so the worker has it to take as soon as it is up.
    subprocess.run(
        [*ghcapture, "sync", REPOSITORY, "--detach"],
        env=env,
        cwd=tmp_path,
        check=True,
        capture_output=True,
        timeout=60,
    )
    logs = {name: (tmp_path / f"{name}.log").open("w+b") for name in ("capture", "sync", "worker")}
    procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(name: str, *args: str) -> None:
        procs[name] = subprocess.Popen(
            [*ghcapture, *args], env=env, cwd=tmp_path, stdout=logs[name], stderr=logs[name]
        )

    start("worker", "worker", "--stop-wait", "30")
    start("sync", "sync", REPOSITORY)
    # `ghcapture capture` comes last, once the worker or sync holds the repository, so that it surely
    # meets a capture under way (the job system's start-up time varies with the machine's load).
    _wait(lambda: _locks_held(engine) > 0, "the worker or sync to take the capture lock", seconds=60)
    start("capture", "capture", "prs", REPOSITORY)
    store = JobStore(engine)

    def read(name: str) -> str:
        return (tmp_path / f"{name}.log").read_text(errors="replace")

    try:
        assert procs["capture"].wait(180) == 0, read("capture")
        assert procs["sync"].wait(180) == 0, read("sync")
        _wait(lambda: all(job.status == "completed" for job in store.list()), "the jobs to complete")
    finally:
        worker = procs["worker"]
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(40)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait(10)
        for log in logs.values():
            log.close()
    output = {name: read(name) for name in procs}
    check = compare(server, engine, REPOSITORY)
    assert check.equal, check.summary()
    repo = server.simulator.world.repository("acme", "widgets")
    assert repo is not None
    with engine.connect() as conn:
        count = lambda table: conn.execute(select(func.count()).select_from(table)).scalar_one()  # noqa: E731
        assert count(pull_requests) == PRS
        # A pending review is its author's alone: nobody else's capture sees it.
        assert count(reviews) == sum(len(visible_reviews(p, None)) for p in repo.pull_requests)
        assert count(comments) == sum(
            len(p.review_comments) + len(p.issue_comments) for p in repo.pull_requests
        )
        assert count(pr_files) == sum(len(p.files) for p in repo.pull_requests)
        assert count(capture_locks) == 0  # every holder released its lock
    waited = [
        name for name, text in output.items() if "waiting for the capture of acme/widgets held by PID" in text
    ]
    assert waited, "\n\n".join(f"== {name}\n{text}" for name, text in output.items())
    spent = _units(server)
    print(
        f"concurrency ({engine.dialect.name}): three captures spent {spent} units, one clean capture "
        f"{clean_units}; waited: {', '.join(waited)}"
    )
    assert spent <= clean_units + 2 * JOINING_UNITS, (spent, clean_units, output)
    engine.dispose()


# -- the lock's own rules ----------------------------------------------------------------------------


def test_a_second_holder_waits_saying_for_whom_then_takes_the_lock(database_url, caplog) -> None:
    engine = open_database(database_url)

    async def go() -> list[str]:
        order: list[str] = []

        async def first() -> None:
            async with capture_lock(engine, REPOSITORY, "all"):
                order.append("first in")
                await asyncio.sleep(1.0)
                order.append("first out")

        async def second() -> None:
            await asyncio.sleep(0.2)
            async with capture_lock(engine, REPOSITORY, "all") as waited:
                assert waited
                order.append("second in")

        await asyncio.gather(first(), second())
        return order

    with caplog.at_level(logging.INFO, logger="ghcapture.capture"):
        assert asyncio.run(go()) == ["first in", "first out", "second in"]
    line = f"waiting for the capture of {REPOSITORY} held by PID {os.getpid()} on {socket.gethostname()}"
    assert any(line in record.getMessage() for record in caplog.records), caplog.text
    with engine.connect() as conn:
        assert current_holder(conn, REPOSITORY, "all") is None
    engine.dispose()


def test_told_not_to_wait_a_capture_fails_fast_with_one_clear_line(
    make_simulator, database_url, monkeypatch
) -> None:
    server = make_simulator({REPOSITORY: 30})
    engine = open_database(database_url)
    monkeypatch.setenv(locks.WAIT_ENV, "0")
    owner = "elsewhere:4242:abcd"
    now = utc_now()
    with engine.begin() as conn:
        conn.execute(
            capture_locks.insert().values(
                repository=REPOSITORY,
                scope="all",
                owner=owner,
                pid=4242,
                host="builder-7",
                acquired_at=now,
                expires_at=now + timedelta(minutes=5),
            )
        )
    before = _units(server)
    started = time.monotonic()
    with pytest.raises(CaptureLockedError) as failure:
        run_capture(server, engine, REPOSITORY)
    assert time.monotonic() - started < 5
    message = str(failure.value)
    assert "\n" not in message
    assert message.startswith(f"{REPOSITORY} is being captured by PID 4242 on builder-7"), message
    assert _units(server) == before  # nothing spent
    engine.dispose()


def test_a_killed_holders_lock_does_not_block_the_next_capture(make_simulator, database_url) -> None:
    server = make_simulator({REPOSITORY: 30})
    engine = open_database(database_url)
    # A process of this host that no longer exists, and another host's holder whose lock ran out.
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    now = utc_now()
    with engine.begin() as conn:
        conn.execute(
            capture_locks.insert().values(
                repository=REPOSITORY,
                scope="all",
                owner="here:dead",
                pid=int(dead.stdout),
                host=socket.gethostname(),
                acquired_at=now,
                expires_at=now + timedelta(minutes=5),
            )
        )
        conn.execute(
            capture_locks.insert().values(
                repository=REPOSITORY,
                scope="days=3",
                owner="there:gone",
                pid=1,
                host="builder-9",
                acquired_at=now - timedelta(minutes=5),
                expires_at=now - timedelta(seconds=1),
            )
        )
    started = time.monotonic()
    run_capture(server, engine, REPOSITORY)
    assert time.monotonic() - started < 30
    assert compare(server, engine, REPOSITORY).equal

    async def expired() -> None:
        async with capture_lock(engine, REPOSITORY, "days=3", wait=0):
            pass

    asyncio.run(expired())
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(capture_locks)).scalar_one() == 0
    engine.dispose()


def test_a_lock_left_behind_by_a_database_outage_does_not_block_this_process(
    database_url, monkeypatch
) -> None:
    """The database was away when the block ended, so the release failed: the next capture of the same
    repository here (a capture going on after the outage) takes the lock at once instead of waiting for
    its own lock to expire."""
    engine = open_database(database_url)
    release = locks.release
    calls: list[str] = []

    def release_during_the_outage(*args: object) -> None:
        calls.append("release")
        if len(calls) == 1:
            raise OperationalError("DELETE ...", {}, Exception("server closed the connection unexpectedly"))
        release(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(locks, "release", release_during_the_outage)

    async def go() -> None:
        async with capture_lock(engine, REPOSITORY, "all"):
            pass
        with engine.connect() as conn:
            assert current_holder(conn, REPOSITORY, "all") is not None  # left behind
        async with capture_lock(engine, REPOSITORY, "all", wait=0) as waited:
            assert not waited

    asyncio.run(go())
    with engine.connect() as conn:
        assert current_holder(conn, REPOSITORY, "all") is None
    engine.dispose()
