"""Dispatching a bulk job: inputs checked against the workflow file before anything is sent, the run found
from return_run_details or by its name, and the job row linked to it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from bulk_lane_support import JOBS_REPO, BulkLane, bulk_job, bulk_lane
from ghcapture.jobs.actions import (
    DeclaredInputsCache,
    DispatchError,
    dispatch_job_async,
    plan_dispatch,
    render_run_name,
)
from ghcapture.jobs.chunks import chunk_bounds
from ghcapture.jobs.model import FAILED, QUEUED
from ghcapture.jobs.store import JobStateError, JobStore
from ghcapture.store.database import open_database
from ghcapture.workflows.generate import render_workflow
from ghcapture.workflows.inputs import WorkflowInputsMismatch


@pytest.fixture
def engine(sqlite_url: str) -> Iterator[Engine]:
    engine = open_database(sqlite_url)
    yield engine
    engine.dispose()


@pytest.fixture
def lane() -> BulkLane:
    return bulk_lane(repos={"acme/big": 40})


def dispatch(
    lane: BulkLane, engine: Engine, job_id: str, cache: DeclaredInputsCache | None = None, **options: object
):  # type: ignore[no-untyped-def]
    async def sleep(_seconds: float) -> None:
        return None

    return lane.run(
        lambda client: dispatch_job_async(
            JobStore(engine),
            job_id,
            client,
            lane.actions,
            cache=cache or DeclaredInputsCache(),
            sleep=sleep,
            **options,
        )
    )  # type: ignore[arg-type]


def test_a_job_is_dispatched_with_run_details_and_queued(lane: BulkLane, engine: Engine) -> None:
    job = bulk_job(engine, days=365)

    dispatched = dispatch(lane, engine, job.id)

    [run] = lane.sim.actions.runs.values()
    assert dispatched.run_id == run.id and run.workflow_path == ".github/workflows/historical-pr-sync.yml"
    assert run.inputs["job_id"] == job.id and run.inputs["repository"] == "acme/big"
    stored = JobStore(engine).get(job.id, with_events=True)
    assert stored.status == QUEUED and stored.workflow_run_id == run.id
    assert stored.run_url == f"https://github.com/{JOBS_REPO}/actions/runs/{run.id}"
    assert [e.type for e in stored.events] == ["created", "dispatched"]
    assert str(run.id) in (stored.events[-1].message or "")


def test_without_run_details_the_run_is_found_by_its_name(lane: BulkLane, engine: Engine) -> None:
    lane.sim.actions.return_run_details = False
    other = bulk_job(engine, days=365)
    dispatch(lane, engine, other.id)
    job = bulk_job(engine, days=365)

    dispatched = dispatch(lane, engine, job.id)

    runs = {r.inputs["job_id"]: r for r in lane.sim.actions.runs.values()}
    assert dispatched.run_id == runs[job.id].id != runs[other.id].id
    assert JobStore(engine).get(job.id).workflow_run_id == runs[job.id].id
    assert runs[job.id].display_title == f"ghcapture historical-pr-sync acme/big job {job.id}"


def test_undeclared_inputs_fail_the_job_and_nothing_is_sent(lane: BulkLane, engine: Engine) -> None:
    # An older workflow file in the jobs repository: it does not declare max_parallel.
    old = render_workflow("historical-pr-sync").replace("      max_parallel:\n", "      max_parallel_old:\n")
    lane.put_workflow("historical-pr-sync.yml", old)
    job = bulk_job(engine, days=365)

    with pytest.raises(WorkflowInputsMismatch, match="undeclared: max_parallel"):
        dispatch(lane, engine, job.id)

    assert lane.sim.actions.runs == {}
    assert lane.sim.stats.as_dict().get("requests_total", 0) >= 1  # it did read the file
    stored = JobStore(engine).get(job.id)
    assert stored.status == FAILED and stored.workflow_run_id is None
    assert "undeclared: max_parallel" in (stored.error or "") and "historical-pr-sync.yml" in (
        stored.error or ""
    )


def test_a_missing_required_input_fails_the_job_and_nothing_is_sent(lane: BulkLane, engine: Engine) -> None:
    newer = render_workflow("historical-reviews-sync").replace(
        "    inputs:\n", "    inputs:\n      audience:\n        type: string\n        required: true\n", 1
    )
    lane.put_workflow("historical-reviews-sync.yml", newer)
    job = bulk_job(engine, kind="reviews", days=30)

    with pytest.raises(WorkflowInputsMismatch, match="missing required: audience"):
        dispatch(lane, engine, job.id)

    assert lane.sim.actions.runs == {}
    assert JobStore(engine).get(job.id).status == FAILED


def test_a_missing_workflow_file_fails_the_job_with_what_to_do(lane: BulkLane, engine: Engine) -> None:
    del lane.jobs_repo.files["main"][".github/workflows/bulk-file-changes.yml"]
    job = bulk_job(engine, kind="files", days=30)

    with pytest.raises(DispatchError, match="ghcapture workflows generate"):
        dispatch(lane, engine, job.id)

    assert JobStore(engine).get(job.id).status == FAILED and lane.sim.actions.runs == {}


def test_declared_inputs_are_read_once_per_file_while_cached(lane: BulkLane, engine: Engine) -> None:
    cache = DeclaredInputsCache(ttl=300)
    first, second = bulk_job(engine, days=400), bulk_job(engine, days=400)

    dispatch(lane, engine, first.id, cache=cache)
    dispatch(lane, engine, second.id, cache=cache)

    assert cache.reads == 1 and len(lane.sim.actions.runs) == 2


def test_only_pending_or_queued_jobs_are_dispatched(lane: BulkLane, engine: Engine) -> None:
    job = bulk_job(engine, days=30)
    JobStore(engine).start(job.id)

    with pytest.raises(JobStateError, match="running"):
        dispatch(lane, engine, job.id)
    assert lane.sim.actions.runs == {}


def test_a_large_window_is_split_into_matrix_chunks_that_cover_it(lane: BulkLane, engine: Engine) -> None:
    job = bulk_job(engine, days=365)
    now = datetime(2026, 3, 1, tzinfo=UTC)

    plan = plan_dispatch(
        JobStore(engine).get(job.id), estimated_prs=2500, highest_number=None, prs_per_chunk=1000, now=now
    )

    assert "days" not in plan.inputs  # each chunk carries its own window
    windows = [chunk_bounds(c) for c in json.loads(str(plan.inputs["chunks"]))]
    assert len(windows) == 3
    assert windows[0][0] == now - timedelta(days=365) and windows[-1][1] == now  # type: ignore[index]
    assert all(a[1] == b[0] for a, b in zip(windows, windows[1:], strict=False))  # type: ignore[index]
    assert 1 <= int(plan.inputs["max_parallel"]) <= 3  # type: ignore[call-overload]


def test_small_scopes_and_pr_lists_run_as_one_job(lane: BulkLane, engine: Engine) -> None:
    store = JobStore(engine)
    now = datetime(2026, 3, 1, tzinfo=UTC)
    few = plan_dispatch(
        store.get(bulk_job(engine, days=30).id),
        estimated_prs=50,
        highest_number=None,
        prs_per_chunk=1000,
        now=now,
    )
    listed = plan_dispatch(
        store.get(bulk_job(engine, pr_numbers=[3, 4, 5, 9, 12, 13]).id),
        estimated_prs=None,
        highest_number=None,
        prs_per_chunk=1000,
        now=now,
    )

    assert few.inputs["days"] == 30 and "chunks" not in few.inputs and few.max_parallel == 1
    assert listed.inputs["pr_numbers"] == "3-5,9,12-13" and "chunks" not in listed.inputs


def test_all_history_is_chunked_by_pull_request_number(lane: BulkLane, engine: Engine) -> None:
    lane.actions = type(lane.actions)(repository=JOBS_REPO, prs_per_chunk=15)
    job = bulk_job(engine)

    dispatched = dispatch(lane, engine, job.id)

    chunks = [chunk_bounds(c) for c in json.loads(dispatched.inputs["chunks"])]
    assert chunks[0][0] == 1 and chunks[-1][1] == 40 and len(chunks) == 3  # type: ignore[index]


def test_the_run_name_is_rendered_from_inputs_only() -> None:
    template = "ghcapture x ${{ inputs.repository }} job ${{ github.event.inputs.job_id }}"

    assert render_run_name(template, {"repository": "a/b", "job_id": "j"}) == "ghcapture x a/b job j"
    assert render_run_name("run ${{ github.actor }}", {}) is None
