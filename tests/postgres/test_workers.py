"""Two `ghcapture worker` processes on one PostgreSQL database share 20 jobs over 5 repositories: each
job runs once, never two of one repository and kind at a time, and a job whose worker is killed with
SIGKILL is resumed by the other and ends with data equal to the simulator's ground truth."""

from __future__ import annotations

import os
import re
import signal
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
from ghcapture.simulator.server_time import LinearServerTime
from ghcapture.store.database import open_database

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

REPOS = [f"acme/repo{i}" for i in range(5)]
DEADLINE_S = 90


def _wait(condition: Callable[[], bool], what: str, seconds: float = DEADLINE_S) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def workers(
    postgres_url: str, make_simulator: Callable[..., SimulatorServer], tmp_path: Path
) -> Iterator[tuple[SimulatorServer, str, Callable[..., subprocess.Popen[bytes]]]]:
    server = make_simulator({r: 220 for r in REPOS}, config=SimulatorConfig(latency_ms_per_node=0.4))
    env = {
        **os.environ,
        "GITHUB_TOKEN": "x",
        "GITHUB_API_URL": server.url,
        "GITHUB_GRAPHQL_URL": server.url + "/graphql",
        "GHCAPTURE_DATABASE_URL": postgres_url,
        "GHCAPTURE_PAGES_PER_STEP": "1",
        "GHCAPTURE_POLL_SECONDS": "0.2",
        "GHCAPTURE_HEARTBEAT_SECONDS": "0.5",
        "GHCAPTURE_STUCK_AFTER_SECONDS": "3",
        "GHCAPTURE_TOKEN_CONCURRENCY": "8",
        "GHCAPTURE_TOKEN_JOBS_PER_MINUTE": "600",
    }
    for name in ("GITHUB_APP_ID", "GHCAPTURE_ACTIONS_REPOSITORY", "GHCAPTURE_DBOS_DATABASE_URL"):
        env.pop(name, None)
    procs: list[subprocess.Popen[bytes]] = []

    def start(name: str, **overrides: str) -> subprocess.Popen[bytes]:
        log = (tmp_path / f"{name}.log").open("wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "ghcapture", "worker", "--concurrency", "3", "--stop-wait", "30"],
            env={**env, **overrides},
            cwd=tmp_path,
            stdout=log,
            stderr=log,
        )
        procs.append(proc)
        return proc

    yield server, postgres_url, start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def _trail(store: JobStore) -> str:
    """The unfinished jobs and their events, to read when the test fails."""
    lines = []
    for job in store.list():
        if job.status != "completed":
            lines.append(f"{job.id} {job.repository} {job.lane} {job.status} {job.local_workflow_id}")
            lines += [f"    {e.at:%H:%M:%S.%f} {e.type} {e.message}" for e in store.events(job.id)]
    return "\n".join(lines)


def _intervals(store: JobStore, job_id: str) -> list[tuple[float, float, str]]:
    """(start, end, pid) of each attempt, from the job's event trail."""
    spans: list[tuple[float, float, str]] = []
    opened: tuple[float, str] | None = None
    for event in store.events(job_id):
        at = event.at.timestamp()
        if event.type == "started":
            match = re.search(r"-(\d+)-\w+$", event.message or "")
            opened = (at, match[1] if match else "?")
        elif event.type in ("completed", "stuck", "released", "failed", "retrying") and opened is not None:
            spans.append((opened[0], at, opened[1]))
            opened = None
    return spans


def test_two_workers_share_jobs_and_recover_a_killed_one(
    workers: tuple[SimulatorServer, str, Callable[..., subprocess.Popen[bytes]]], tmp_path: Path
) -> None:
    server, url, start = workers
    engine = open_database(url)
    store = JobStore(engine)
    lanes = ["realtime", "bulk"]
    for round_ in range(4):
        for i, repository in enumerate(REPOS):
            lane = lanes[(round_ + i) % 2]
            store.create(
                kind="prs", repository=repository, route=Route(lane, "local", f"{lane}: test"), params={}
            )
    first = start("a")
    second = start("b")

    # Kill worker a in the middle of a job it is running.
    def a_mid_job() -> bool:
        for job in store.list(status="running"):
            spans_open = [e for e in store.events(job.id) if e.type == "started"]
            if job.items_done >= 200 and spans_open and f"-{first.pid}-" in (spans_open[-1].message or ""):
                return True
        return False

    _wait(a_mid_job, "worker a to be part-way through a job")
    first.send_signal(signal.SIGKILL)
    first.wait(10)

    try:
        _wait(lambda: all(j.status == "completed" for j in store.list()), "every job to complete")
    except AssertionError:
        raise AssertionError(_trail(store)) from None
    second.send_signal(signal.SIGTERM)
    assert second.wait(60) == 0, (tmp_path / "b.log").read_text()[-3000:]

    jobs = store.list()
    assert len(jobs) == 20
    killed = {j.id for j in jobs if any(e.type == "stuck" for e in store.events(j.id))}
    assert killed, "the killed worker's jobs are found stuck"
    forked_from = []
    for job_id in killed:
        recovered = store.get(job_id, with_events=True)
        trail = "\n".join(f"{e.at:%H:%M:%S.%f} {e.type} {e.message}" for e in recovered.events)
        assert recovered.attempts == 2, trail
        assert [pid for _s, _e, pid in _intervals(store, job_id)] == [str(first.pid), str(second.pid)]
        forked_from += [
            int(m[1])
            for e in recovered.events
            if e.type == "recovered"
            for m in [re.search(r"from step (\d+)", e.message or "")]
            if m
        ]
    # The job caught mid-way resumed from a later step than the first (its pages already stored).
    assert max(forked_from) > 1
    for job in jobs:
        if job.id not in killed:
            assert job.attempts == 1, f"job {job.id} ran {job.attempts} times"
        assert len([e for e in store.events(job.id) if e.type == "completed"]) == 1
    # Never two jobs of one repository and kind at once.
    for repository in REPOS:
        attempts = sorted(s for j in jobs if j.repository == repository for s in _intervals(store, j.id))
        for (_s1, end1, _p1), (start2, _e2, _p2) in zip(attempts, attempts[1:], strict=False):
            assert start2 >= end1, f"overlapping jobs of {repository}"
    # Both workers ran jobs.
    pids = {pid for j in jobs for _s, _e, pid in _intervals(store, j.id)}
    assert pids == {str(first.pid), str(second.pid)}
    for repository in REPOS:
        truth = dump_repository(server.simulator.world.repositories[repository], server.url)
        assert compare_repository(engine, truth).equal, repository
    engine.dispose()


def test_a_killed_workers_job_is_resumed_within_a_few_heartbeats_not_the_stuck_limit(
    workers: tuple[SimulatorServer, str, Callable[..., subprocess.Popen[bytes]]], tmp_path: Path
) -> None:
    server, url, start = workers
    # Pages slow enough (about 3 s each) that the job is still running when worker a is killed.
    server.simulator.config.server_time = LinearServerTime(per_node_ms=2.5)
    engine = open_database(url)
    store = JobStore(engine)
    job = store.create(kind="prs", repository=REPOS[0], route=Route("realtime", "local", "test"), params={})
    # The stuck limit is far away; the heartbeat is 0.5 s, so a dead worker shows within 1.5 s of silence.
    slow = {"GHCAPTURE_STUCK_AFTER_SECONDS": "120"}
    first = start("a", **slow)
    _wait(lambda: store.get(job.id).items_done >= 50, "worker a to be part-way through the job")
    second = start("b", **slow)
    time.sleep(3)  # b has looked at the database for a few heartbeats: it trusts what it sees
    assert store.get(job.id).status == "running" and store.get(job.id).attempts == 1, _trail(store)
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    killed_at = time.time()

    def resumed_by_b() -> bool:
        spans = [e for e in store.events(job.id) if e.type == "started"]
        return len(spans) == 2 and f"-{second.pid}-" in (spans[-1].message or "")

    try:
        _wait(resumed_by_b, "worker b to resume the job", seconds=30)
    except AssertionError:
        raise AssertionError(_trail(store)) from None
    stuck = [e for e in store.events(job.id) if e.type == "stuck"]
    assert len(stuck) == 1 and stuck[0].at.timestamp() - killed_at < 15, _trail(store)
    _wait(lambda: store.get(job.id).status == "completed", "the job to complete")
    assert store.get(job.id).attempts == 2
    truth = dump_repository(server.simulator.world.repositories[REPOS[0]], server.url)
    assert compare_repository(engine, truth).equal
    second.send_signal(signal.SIGTERM)
    assert second.wait(60) == 0, (tmp_path / "b.log").read_text()[-3000:]
    engine.dispose()
