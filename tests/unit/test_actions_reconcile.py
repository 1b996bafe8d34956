"""Reconciling bulk jobs with their workflow runs: each run state and conclusion, vanished runs, billable
time and cost recorded once, and a retried job dispatched again."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from bulk_lane_support import BulkLane, bulk_job, bulk_lane
from ghcapture.jobs.actions import DeclaredInputsCache, dispatch_job_async
from ghcapture.jobs.actions_settings import ActionsSettings
from ghcapture.jobs.model import CANCELLED, COMPLETED, FAILED, QUEUED, RUNNING
from ghcapture.jobs.reconcile import CONCLUSIONS, Reconciled, job_outcome, reconcile_async
from ghcapture.jobs.store import JobStore
from ghcapture.simulator.actions import WorkflowRun
from ghcapture.store.database import open_database


@pytest.fixture
def engine(sqlite_url: str) -> Iterator[Engine]:
    engine = open_database(sqlite_url)
    yield engine
    engine.dispose()


@pytest.fixture
def lane() -> BulkLane:
    return bulk_lane()


def dispatched(lane: BulkLane, engine: Engine, **params: object) -> tuple[str, WorkflowRun]:
    job = bulk_job(engine, **(params or {"days": 365}))  # type: ignore[arg-type]
    result = lane.run(
        lambda c: dispatch_job_async(JobStore(engine), job.id, c, lane.actions, cache=DeclaredInputsCache())
    )
    assert result.run_id is not None
    return job.id, lane.sim.actions.runs[result.run_id]


def reconcile(lane: BulkLane, engine: Engine) -> list[Reconciled]:
    return lane.run(lambda c: reconcile_async(JobStore(engine), c, lane.actions))


def finish(lane: BulkLane, run: WorkflowRun, conclusion: str, jobs: int = 2, seconds: float = 61) -> None:
    """Completes a run whose matrix jobs each ran `seconds`."""
    lane.sim.actions.start_run(run)
    now = time.time()
    run.jobs = [
        {"name": f"capture {i}", "started_at": now - seconds, "completed_at": now, "conclusion": conclusion}
        for i in range(jobs)
    ]
    lane.sim.actions.complete_run(run, conclusion)


def test_every_conclusion_maps_to_a_status_with_a_reason() -> None:
    assert job_outcome("success") == (COMPLETED, None)
    for conclusion in CONCLUSIONS.keys() - {"success", "neutral"}:
        status, reason = job_outcome(conclusion)
        assert status == FAILED and reason
    assert job_outcome("something_new")[0] == FAILED
    assert "without a conclusion" in (job_outcome(None)[1] or "")


def test_a_queued_run_leaves_the_job_queued_and_a_started_one_runs_it(lane: BulkLane, engine: Engine) -> None:
    job_id, run = dispatched(lane, engine)

    reconcile(lane, engine)
    assert JobStore(engine).get(job_id).status == QUEUED
    lane.sim.actions.start_run(run)
    [result] = reconcile(lane, engine)

    job = JobStore(engine).get(job_id)
    assert (result.before, result.after) == (QUEUED, RUNNING)
    assert job.status == RUNNING and job.attempts == 1


def test_a_successful_run_completes_the_job_with_billable_time_and_cost(
    lane: BulkLane, engine: Engine
) -> None:
    job_id, run = dispatched(lane, engine)
    lane.sim.actions.start_run(run)
    reconcile(lane, engine)
    finish(lane, run, "success", jobs=3, seconds=61)  # 3 jobs of 61 s: 2 whole minutes each

    [result] = reconcile(lane, engine)

    job = JobStore(engine).get(job_id, with_events=True)
    assert job.status == COMPLETED and job.error is None and job.completed_at is not None
    assert job.billable_ms == 6 * 60_000 == result.billable_ms
    assert job.cost_usd == pytest.approx(6 * 0.006)
    assert any(e.type == "run_finished" and f"run {run.id} success" in (e.message or "") for e in job.events)


@pytest.mark.parametrize(
    "conclusion, words",
    [
        ("failure", "failed"),
        ("cancelled", "cancelled"),
        ("timed_out", "timed out"),
        ("startup_failure", "could not start"),
    ],
)
def test_a_run_that_does_not_succeed_fails_its_job_with_the_reason(
    lane: BulkLane, engine: Engine, conclusion: str, words: str
) -> None:
    job_id, run = dispatched(lane, engine)
    finish(lane, run, conclusion, jobs=1, seconds=5)

    reconcile(lane, engine)

    job = JobStore(engine).get(job_id)
    assert job.status == FAILED and words in (job.error or "")
    assert job.billable_ms == 60_000 and job.attempts == 1  # queued -> failed still counts the attempt


def test_reconciling_again_never_counts_a_run_twice(lane: BulkLane, engine: Engine) -> None:
    job_id, run = dispatched(lane, engine)
    finish(lane, run, "success", jobs=1)

    reconcile(lane, engine)
    again = reconcile(lane, engine)

    assert again == []  # nothing left to follow
    job = JobStore(engine).get(job_id, with_events=True)
    assert job.billable_ms == 2 * 60_000
    assert sum(e.type == "run_finished" for e in job.events) == 1


def test_a_vanished_run_fails_its_job(lane: BulkLane, engine: Engine) -> None:
    job_id, run = dispatched(lane, engine)
    del lane.sim.actions.runs[run.id]

    [result] = reconcile(lane, engine)

    job = JobStore(engine).get(job_id)
    assert result.run_status == "vanished" and job.status == FAILED
    assert f"workflow run {run.id} no longer exists" in (job.error or "")


def test_a_job_a_chunk_marked_completed_follows_its_run(lane: BulkLane, engine: Engine) -> None:
    store = JobStore(engine)
    job_id, run = dispatched(lane, engine)
    store.start(job_id)
    store.complete(job_id, message="one chunk finished first")
    lane.sim.actions.start_run(run)

    reconcile(lane, engine)
    assert store.get(job_id).status == RUNNING  # other chunks still run
    finish(lane, run, "failure", jobs=2, seconds=10)
    reconcile(lane, engine)

    assert store.get(job_id).status == FAILED


def test_a_job_cancelled_on_request_stays_cancelled_and_is_costed(lane: BulkLane, engine: Engine) -> None:
    store = JobStore(engine)
    job_id, run = dispatched(lane, engine)
    store.cancel(job_id)
    finish(lane, run, "cancelled", jobs=1, seconds=30)

    reconcile(lane, engine)

    job = store.get(job_id)
    assert job.status == CANCELLED and job.billable_ms == 60_000


def test_a_retried_job_is_dispatched_again_and_costs_add_up(lane: BulkLane, engine: Engine) -> None:
    store = JobStore(engine)
    job_id, first = dispatched(lane, engine)
    finish(lane, first, "timed_out", jobs=1, seconds=30)
    reconcile(lane, engine)
    assert store.get(job_id).status == FAILED

    store.retry(job_id)
    assert reconcile(lane, engine) == []  # waits for its dispatch, never re-fails on the old run
    lane.run(lambda c: dispatch_job_async(store, job_id, c, lane.actions, cache=DeclaredInputsCache()))
    second = lane.sim.actions.runs[store.get(job_id).workflow_run_id]  # type: ignore[index]
    finish(lane, second, "success", jobs=2, seconds=30)
    reconcile(lane, engine)

    job = store.get(job_id)
    assert second.id != first.id and job.status == COMPLETED and job.attempts == 2
    assert job.billable_ms == 3 * 60_000 and job.cost_usd == pytest.approx(3 * 0.006)


def test_the_price_per_minute_is_configurable(engine: Engine) -> None:
    lane = bulk_lane(actions=ActionsSettings(repository="acme/ghcapture-jobs", price_per_minute=0.016))
    job_id, run = dispatched(lane, engine)
    finish(lane, run, "success", jobs=1, seconds=200)  # 4 minutes

    reconcile(lane, engine)

    assert JobStore(engine).get(job_id).cost_usd == pytest.approx(4 * 0.016)
