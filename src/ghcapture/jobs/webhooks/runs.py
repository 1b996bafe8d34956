"""`workflow_run` deliveries: the bulk lane's jobs follow their GitHub Actions runs at once.

A run's deliveries are ordered by its attempt, then by how far the attempt got (requested, in progress,
completed): a late or replayed `in_progress` after `completed` of the same attempt changes nothing, while a
re-run (a higher `run_attempt`) is followed again.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from sqlalchemy import Engine, select
from starlette.concurrency import run_in_threadpool

from ghcapture.github.http import GitHubClient
from ghcapture.jobs.actions_settings import ActionsSettings
from ghcapture.jobs.model import GITHUB_ACTIONS, Job
from ghcapture.jobs.reconcile import RunState, apply_run
from ghcapture.jobs.store import JobStore
from ghcapture.jobs.webhooks import payloads as shapes
from ghcapture.jobs.webhooks.apply import DUPLICATE, Applied, run_version
from ghcapture.jobs.webhooks.deliveries import (
    APPLIED,
    IGNORED,
    STALE,
    Delivery,
    forget,
    newest_version,
    record,
    settle,
)
from ghcapture.store.tables import progressive_capture_jobs

ClientFactory = Callable[[], AbstractAsyncContextManager[GitHubClient]]


def _job_for_run(engine: Engine, run_id: int) -> Job | None:
    table = progressive_capture_jobs
    with engine.connect() as conn:
        row = conn.execute(
            select(table).where(table.c.workflow_run_id == run_id, table.c.processor == GITHUB_ACTIONS)
        ).first()
    return Job.from_row(row) if row is not None else None


def _admit(engine: Engine, delivery: Delivery, key: str, version: str, outcome: str, detail: str) -> str:
    """Records the delivery with its run version; answers DUPLICATE, STALE or the outcome given."""
    with engine.begin() as conn:
        if not record(conn, delivery):
            return DUPLICATE
        newest = newest_version(conn, key)
        if outcome == APPLIED and newest is not None and version < newest:
            settle(conn, delivery.delivery_id, STALE, "an older state of the run than one applied before")
            return STALE
        settle(conn, delivery.delivery_id, outcome, detail, object_key=key, version=version)
        return outcome


async def apply_workflow_run(
    engine: Engine,
    delivery: Delivery,
    event: shapes.WorkflowRunEvent,
    raw: dict[str, Any],
    actions: ActionsSettings | None,
    client_factory: ClientFactory | None,
) -> tuple[Applied, dict[str, Any]]:
    """Applies a run's delivery to the job that follows the run; the second value is what to answer."""
    repository = event.repository.full_name
    key, version = (
        f"workflow_run:{event.workflow_run.id}",
        run_version(event.workflow_run.run_attempt, event.workflow_run.status),
    )
    ignored: str | None = None
    job: Job | None = None
    if actions is None or not actions.repository:
        ignored = "the bulk lane does not run on GitHub Actions here"
    elif repository.lower() != actions.repository.lower():
        ignored = f"{repository} is not the jobs repository"
    else:
        job = await run_in_threadpool(_job_for_run, engine, event.workflow_run.id)
        if job is None:
            ignored = f"no job follows run {event.workflow_run.id}"
    if ignored is not None or job is None or actions is None:
        outcome = await run_in_threadpool(_admit, engine, delivery, key, version, IGNORED, ignored or "")
        return Applied(outcome, ignored or ""), {"message": f"ignored: {ignored}"}
    outcome = await run_in_threadpool(
        _admit,
        engine,
        delivery,
        key,
        version,
        APPLIED,
        f"run {event.workflow_run.id} {event.workflow_run.status}",
    )
    if outcome != APPLIED:
        return Applied(outcome, "not applied"), {"message": outcome, "run_id": event.workflow_run.id}
    run = RunState.from_api(raw["workflow_run"])
    store = JobStore(engine)
    try:
        if client_factory is not None and run.status == "completed":
            async with client_factory() as client:
                result = await apply_run(store, job, run, client, actions)
        else:
            result = await apply_run(store, job, run, None, actions)
    except Exception:
        await run_in_threadpool(forget, engine, delivery.delivery_id)
        raise
    answer = {
        "job_id": result.job_id,
        "run_id": run.id,
        "before": result.before,
        "after": result.after,
        "billable_ms": result.billable_ms,
    }
    return Applied(APPLIED, f"job {result.job_id}: {result.before} -> {result.after}"), answer


def payload_for(run: dict[str, Any], repository: str, action: str) -> dict[str, Any]:
    """A workflow_run event payload as GitHub delivers it (for tests and the simulator)."""
    return {
        "action": action,
        "workflow_run": run,
        "repository": {
            "id": 1,
            "name": repository.split("/")[-1],
            "full_name": repository,
            "owner": {"login": repository.split("/")[0]},
        },
        "workflow": {"path": run.get("path")},
        "sender": {"login": "octocat", "id": 583231},
    }
