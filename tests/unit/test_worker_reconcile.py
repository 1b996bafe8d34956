"""The worker reconciles jobs on GitHub Actions by itself: when Actions is configured, a bulk job whose run
completed ends completed without `ghcapture reconcile`; passes come once an interval; a failing pass is logged
without secrets and never raised."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from bulk_lane_support import JOBS_REPO, BulkLane, bulk_job, bulk_lane
from ghcapture.cli.worker import bulk_reconciler
from ghcapture.jobs.actions import DeclaredInputsCache, dispatch_job_async
from ghcapture.jobs.model import COMPLETED, QUEUED
from ghcapture.jobs.reconcile import PeriodicReconcile
from ghcapture.jobs.store import JobStore
from ghcapture.simulator.actions import WorkflowRun
from ghcapture.store.database import open_database

CONFIGURED = {"GHCAPTURE_ACTIONS_REPOSITORY": JOBS_REPO}


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def engine(sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    monkeypatch.chdir(tmp_path)  # no stray ghcapture.toml
    engine = open_database(sqlite_url)
    yield engine
    engine.dispose()


def dispatched(lane: BulkLane, engine: Engine) -> tuple[str, WorkflowRun]:
    job = bulk_job(engine, days=365)
    result = lane.run(
        lambda c: dispatch_job_async(JobStore(engine), job.id, c, lane.actions, cache=DeclaredInputsCache())
    )
    assert result.run_id is not None
    return job.id, lane.sim.actions.runs[result.run_id]


def succeed(lane: BulkLane, run: WorkflowRun) -> None:
    lane.sim.actions.start_run(run)
    now = time.time()
    run.jobs = [{"name": "capture 0", "started_at": now - 30, "completed_at": now, "conclusion": "success"}]
    lane.sim.actions.complete_run(run, "success")


def worker_reconciler(lane: BulkLane, engine: Engine, clock: Clock) -> PeriodicReconcile:
    reconciler = bulk_reconciler(engine, lane.settings, interval=60, env=CONFIGURED)
    assert reconciler is not None, "a configured Actions repository makes the worker reconcile"
    reconciler.transport = lane.transport()
    reconciler.clock = clock
    return reconciler


def test_the_worker_completes_a_bulk_job_whose_run_completed(engine: Engine) -> None:
    lane = bulk_lane()
    clock = Clock()
    reconciler = worker_reconciler(lane, engine, clock)
    job_id, run = dispatched(lane, engine)

    assert reconciler.tick() is not None, "the first pass runs at once"
    assert JobStore(engine).get(job_id).status == QUEUED
    succeed(lane, run)
    clock.now += 59
    assert reconciler.tick() is None, "no pass before the interval has passed"
    assert JobStore(engine).get(job_id).status == QUEUED
    clock.now += 1
    [result] = reconciler.tick() or []

    job = JobStore(engine).get(job_id)
    assert (result.before, result.after) == (QUEUED, COMPLETED)
    assert job.status == COMPLETED and job.billable_ms == 60_000


def test_the_worker_does_not_reconcile_without_actions(engine: Engine) -> None:
    lane = bulk_lane()
    assert bulk_reconciler(engine, lane.settings, interval=60, env={}) is None
    broken = {"GHCAPTURE_ACTIONS_REPOSITORY": "not a repository"}
    assert bulk_reconciler(engine, lane.settings, interval=60, env=broken) is None


def test_a_failing_pass_is_logged_without_secrets_and_tried_again(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    lane = bulk_lane()
    clock = Clock()
    reconciler = worker_reconciler(lane, engine, clock)
    job_id, _run = dispatched(lane, engine)
    calls: list[str] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        raise RuntimeError("cannot reach postgresql://capture:hunter2@db.internal/ghcapture")

    reconciler.transport = httpx.MockTransport(refuse)
    with caplog.at_level(logging.WARNING, logger="ghcapture.jobs"):
        assert reconciler.tick() is None
        clock.now += 60
        assert reconciler.tick() is None

    assert len(calls) == 2, "each interval brings a new pass"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2 and all("reconciling jobs on GitHub Actions failed" in w for w in warnings)
    assert not any("hunter2" in w for w in warnings)
    assert JobStore(engine).get(job_id).status == QUEUED
