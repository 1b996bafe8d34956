"""Reconciliation of the bulk lane: each job on GitHub Actions follows its workflow run.

A run that is queued leaves its job queued; in progress, the job runs; completed, the job ends with a status
and reason from the run's conclusion, and the run's billable time and its cost are added to the job. A run
that no longer exists fails its job. A finished run is recorded once (a `run_finished` event names it), so
reconciling again, or a webhook and a poll racing, never counts a run's cost twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Engine, and_, insert, or_, select, update

from ghcapture.config import Settings, load_settings
from ghcapture.github.errors import GitHubError, NotFound
from ghcapture.github.http import GitHubClient
from ghcapture.github.redact import redact
from ghcapture.jobs.actions import WORKFLOWS_DIR, find_dispatched_run, workflow_kind_for
from ghcapture.jobs.actions_settings import ActionsSettings, load_actions_settings
from ghcapture.jobs.model import (
    ACTIVE,
    CANCELLED,
    COMPLETED,
    FAILED,
    GITHUB_ACTIONS,
    PENDING,
    QUEUED,
    RUNNING,
    TERMINAL,
    Job,
)
from ghcapture.jobs.store import JobStore
from ghcapture.store.tables import job_events, progressive_capture_jobs, utc_now

jobs_table = progressive_capture_jobs
log = logging.getLogger("ghcapture.jobs")
RUN_FINISHED = "run_finished"
# A dispatched run that has not appeared by then never will.
RUN_APPEARS_WITHIN = timedelta(minutes=10)
# A finished job whose run was not yet costed is looked at again for this long.
COST_LOOKBACK = timedelta(days=2)

# GitHub's conclusion of a completed run -> the job's status and, for a failure, its reason.
CONCLUSIONS: dict[str, tuple[str, str | None]] = {
    "success": (COMPLETED, None),
    "neutral": (COMPLETED, None),
    "failure": (FAILED, "the workflow run failed (a capture step exited non-zero; see the run's log)"),
    "cancelled": (FAILED, "the workflow run was cancelled"),
    "timed_out": (FAILED, "the workflow run timed out (a job ran past its timeout-minutes)"),
    "startup_failure": (
        FAILED,
        "the workflow run could not start (startup_failure: check the workflow file "
        "and the repository's Actions settings)",
    ),
    "action_required": (FAILED, "the workflow run waits for approval in GitHub (action_required)"),
    "skipped": (FAILED, "the workflow run skipped its jobs"),
    "stale": (FAILED, "the workflow run went stale before it finished"),
}
QUEUED_RUN_STATUSES = frozenset({"queued", "requested", "waiting", "pending"})


@dataclass(frozen=True)
class RunState:
    """What GitHub says of a run, from the runs API or a workflow_run webhook."""

    id: int
    status: str
    conclusion: str | None
    html_url: str | None
    display_title: str
    started_at: datetime | None
    updated_at: datetime | None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> RunState:
        return cls(
            id=int(data["id"]),
            status=str(data.get("status") or ""),
            conclusion=data.get("conclusion"),
            html_url=data.get("html_url"),
            display_title=str(data.get("display_title") or ""),
            started_at=_when(data.get("run_started_at")),
            updated_at=_when(data.get("updated_at")),
        )


@dataclass(frozen=True)
class Reconciled:
    """What reconciling one job found and did."""

    job_id: str
    run_id: int | None
    run_status: str  # the run's status or conclusion, "vanished", "not found yet", "not dispatched"
    before: str
    after: str
    reason: str | None = None
    billable_ms: int | None = None
    cost_usd: float | None = None

    @property
    def changed(self) -> bool:
        return self.before != self.after or self.billable_ms is not None


def _when(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def job_outcome(conclusion: str | None) -> tuple[str, str | None]:
    """The job status and reason for a completed run's conclusion."""
    if conclusion is None:
        return FAILED, "the workflow run completed without a conclusion"
    return CONCLUSIONS.get(conclusion, (FAILED, f"the workflow run ended as {conclusion}"))


def billable_ms_of(timing: Mapping[str, Any]) -> int:
    """Billable milliseconds of a run over every runner OS in the run timing API's answer."""
    billable = timing.get("billable") or {}
    return sum(int((per_os or {}).get("total_ms") or 0) for per_os in billable.values())


def _finished_runs(engine: Engine, job_ids: Iterable[str]) -> set[tuple[str, int]]:
    ids = list(job_ids)
    if not ids:
        return set()
    with engine.connect() as conn:
        rows = conn.execute(
            select(job_events.c.job_id, job_events.c.message).where(
                job_events.c.job_id.in_(ids), job_events.c.type == RUN_FINISHED
            )
        ).all()
    found: set[tuple[str, int]] = set()
    for row in rows:
        words = (row.message or "").split()
        if len(words) >= 2 and words[0] == "run" and words[1].isdigit():
            found.add((row.job_id, int(words[1])))
    return found


def _event(conn: Any, job_id: str, type_: str, message: str, at: datetime) -> None:
    conn.execute(insert(job_events).values(job_id=job_id, at=at, type=type_, message=message))


def finish_run(
    engine: Engine,
    job: Job,
    run: RunState,
    *,
    billable_ms: int | None,
    actions: ActionsSettings,
    timing_note: str = "",
) -> Reconciled:
    """Records a completed run on its job once: the job's end (unless it has ended) and the run's cost."""
    status, reason = job_outcome(run.conclusion)
    cost = None if billable_ms is None else actions.cost_usd(billable_ms)
    now = utc_now()
    ended = run.updated_at or now
    with engine.begin() as conn:
        # The row lock makes a webhook and a poll finishing the same run take turns (PostgreSQL).
        current = conn.execute(select(jobs_table).where(jobs_table.c.id == job.id).with_for_update()).first()
        if current is None or current.workflow_run_id != run.id:
            return Reconciled(
                job.id,
                run.id,
                run.conclusion or run.status,
                job.status,
                job.status,
                "the job has moved on to another run",
            )
        already = conn.execute(
            select(job_events.c.id, job_events.c.message).where(
                job_events.c.job_id == job.id, job_events.c.type == RUN_FINISHED
            )
        ).all()
        if any((m or "").split()[:2] == ["run", str(run.id)] for _id, m in already):
            return Reconciled(job.id, run.id, run.conclusion or run.status, current.status, current.status)
        values: dict[str, Any] = {}
        if billable_ms is not None:
            values["billable_ms"] = (current.billable_ms or 0) + billable_ms
            values["cost_usd"] = round((current.cost_usd or 0.0) + (cost or 0.0), 6)
        before = current.status
        after = before
        if status == FAILED and before == CANCELLED and run.conclusion == "cancelled":
            after = CANCELLED  # cancelled on request: the run's end agrees
        elif before in ACTIVE or (before == COMPLETED and status == FAILED):
            after = status
            values.update(status=status, error=reason, completed_at=ended)
            if before != RUNNING and current.started_at is None:
                values["started_at"] = run.started_at or ended
            if before in (PENDING, QUEUED):
                values["attempts"] = jobs_table.c.attempts + 1
        if values:
            conn.execute(update(jobs_table).where(jobs_table.c.id == job.id).values(**values))
        if after != before:
            message = reason or f"workflow run {run.id} succeeded"
            _event(conn, job.id, after if after != FAILED else "failed", message, now)
        spent = (
            f"{billable_ms} billable ms, ${cost:.4f}"
            if billable_ms is not None and cost is not None
            else f"billable time unknown{timing_note}"
        )
        _event(conn, job.id, RUN_FINISHED, f"run {run.id} {run.conclusion or 'completed'}: {spent}", now)
    return Reconciled(
        job.id,
        run.id,
        run.conclusion or run.status,
        before,
        after,
        reason if after == FAILED else None,
        billable_ms,
        cost,
    )


def note_run_progress(store: JobStore, job: Job, run: RunState) -> Reconciled:
    """A queued or running run: the job follows it (queued stays queued; in progress starts the job)."""
    if run.status == "in_progress" and job.status in (PENDING, QUEUED):
        store.start(job.id, message=f"workflow run {run.id} in progress")
        return Reconciled(job.id, run.id, run.status, job.status, RUNNING)
    if run.status == "in_progress" and job.status == COMPLETED:
        # A chunk reported done while others still run; the run decides when the job is done.
        store.transition(
            job.id,
            RUNNING,
            event="running",
            from_statuses={COMPLETED},
            message=f"workflow run {run.id} is still in progress",
            values={"completed_at": None},
        )
        return Reconciled(job.id, run.id, run.status, job.status, RUNNING)
    return Reconciled(job.id, run.id, run.status, job.status, job.status)


def vanish(store: JobStore, job: Job, reason: str) -> Reconciled:
    with store.engine.begin() as conn:
        moved = conn.execute(
            update(jobs_table)
            .where(
                jobs_table.c.id == job.id,
                jobs_table.c.status.in_(ACTIVE),
                jobs_table.c.workflow_run_id == job.workflow_run_id
                if job.workflow_run_id is not None
                else jobs_table.c.workflow_run_id.is_(None),
            )
            .values(status=FAILED, error=reason, completed_at=utc_now())
        ).rowcount
        if moved:
            _event(conn, job.id, "failed", reason, utc_now())
            if job.workflow_run_id is not None:
                _event(conn, job.id, RUN_FINISHED, f"run {job.workflow_run_id} vanished", utc_now())
    return Reconciled(
        job.id, job.workflow_run_id, "vanished", job.status, FAILED if moved else job.status, reason
    )


def _last_dispatch(store: JobStore, job: Job) -> datetime | None:
    times = [e.at for e in store.events(job.id) if e.type == "dispatched"]
    return max(times) if times else None


def bulk_jobs_to_reconcile(
    store: JobStore, *, job_ids: Iterable[str] | None = None, now: datetime | None = None
) -> list[Job]:
    """Unfinished jobs on GitHub Actions, and finished ones whose last run is not yet recorded."""
    now = now or utc_now()
    query = (
        select(jobs_table)
        .where(
            jobs_table.c.processor == GITHUB_ACTIONS,
            or_(
                jobs_table.c.status.in_(ACTIVE),
                and_(
                    jobs_table.c.status.in_(TERMINAL),
                    jobs_table.c.workflow_run_id.is_not(None),
                    jobs_table.c.completed_at >= now - COST_LOOKBACK,
                ),
            ),
        )
        .order_by(jobs_table.c.created_at)
    )
    if job_ids is not None:
        query = query.where(jobs_table.c.id.in_(list(job_ids)))
    with store.engine.connect() as conn:
        jobs = [Job.from_row(r) for r in conn.execute(query).all()]
    finished = _finished_runs(store.engine, [j.id for j in jobs if j.workflow_run_id is not None])
    # An active job whose run is already recorded waits to be dispatched again (jobs retry).
    return [j for j in jobs if j.workflow_run_id is None or (j.id, j.workflow_run_id) not in finished]


async def run_billable_ms(client: GitHubClient, repository: str, run_id: int) -> tuple[int | None, str]:
    """The run's billable milliseconds from the run timing API, or None and why not."""
    try:
        answer = await client.rest("GET", f"/repos/{repository}/actions/runs/{run_id}/timing")
    except GitHubError as exc:
        return None, f" (timing API: {exc})"
    return billable_ms_of(answer.data or {}), ""


async def reconcile_job(
    store: JobStore, job: Job, client: GitHubClient, actions: ActionsSettings, *, now: datetime | None = None
) -> Reconciled:
    """Brings one bulk job in line with its workflow run."""
    now = now or utc_now()
    jobs_repo = "/".join(actions.owner_and_name)
    if job.workflow_run_id is None:
        if job.status == PENDING:
            return Reconciled(job.id, None, "not dispatched", job.status, job.status)
        dispatched = _last_dispatch(store, job)
        if dispatched is None:
            return Reconciled(job.id, None, "not dispatched", job.status, job.status)
        _name, kind = workflow_kind_for(job.kind)
        try:
            found = await find_dispatched_run(
                client, jobs_repo, kind.file_name, job_id=job.id, run_name=None, since=dispatched
            )
        except GitHubError:
            found = None
        if found is None:
            if now - dispatched > RUN_APPEARS_WITHIN:
                minutes = RUN_APPEARS_WITHIN.total_seconds() / 60
                return vanish(
                    store,
                    job,
                    f"no workflow run appeared within {minutes:.0f} minutes of the dispatch "
                    f"of {WORKFLOWS_DIR}/{kind.file_name}",
                )
            return Reconciled(job.id, None, "not found yet", job.status, job.status)
        run = RunState.from_api(found)
        store.transition(
            job.id,
            job.status,
            event="linked",
            from_statuses={job.status},
            message=f"found workflow run {run.id} {run.html_url or ''} by its name",
            values={"workflow_run_id": run.id, "run_url": run.html_url},
        )
        job = store.get(job.id)
    else:
        try:
            answer = await client.rest("GET", f"/repos/{jobs_repo}/actions/runs/{job.workflow_run_id}")
        except NotFound:
            if job.status in ACTIVE:
                return vanish(
                    store,
                    job,
                    f"workflow run {job.workflow_run_id} no longer exists (deleted, or not in {jobs_repo})",
                )
            return Reconciled(job.id, job.workflow_run_id, "vanished", job.status, job.status)
        run = RunState.from_api(answer.data)
    return await apply_run(store, job, run, client, actions)


async def apply_run(
    store: JobStore, job: Job, run: RunState, client: GitHubClient | None, actions: ActionsSettings
) -> Reconciled:
    """Applies a run's state to its job; with a client, a completed run is costed (timing API)."""
    if run.status != "completed":
        return note_run_progress(store, job, run)
    billable, note = (None, " (no API client)")
    if client is not None:
        billable, note = await run_billable_ms(client, "/".join(actions.owner_and_name), run.id)
    return finish_run(store.engine, job, run, billable_ms=billable, actions=actions, timing_note=note)


async def reconcile_async(
    store: JobStore, client: GitHubClient, actions: ActionsSettings, *, job_ids: Iterable[str] | None = None
) -> list[Reconciled]:
    """Reconciles every bulk job on GitHub Actions that is unfinished or not yet costed."""
    results = []
    for job in bulk_jobs_to_reconcile(store, job_ids=job_ids):
        if job.workflow_run_id is None and job.status in TERMINAL:
            continue
        results.append(await reconcile_job(store, job, client, actions))
    return results


def reconcile_jobs(
    engine: Engine,
    *,
    settings: Settings | None = None,
    actions: ActionsSettings | None = None,
    job_ids: Iterable[str] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> list[Reconciled]:
    """reconcile_async from synchronous code (the CLI and the worker's periodic step)."""
    settings = settings or load_settings()
    actions = actions or load_actions_settings(base=settings)
    actions.owner_and_name  # noqa: B018 - refuses early when Actions is not configured

    async def go() -> list[Reconciled]:
        async with GitHubClient(actions.dispatch_settings(settings), transport=transport) as client:
            return await reconcile_async(JobStore(engine), client, actions, job_ids=job_ids)

    return asyncio.run(go())


@dataclass
class PeriodicReconcile:
    """The worker's reconcile step: a pass over the bulk jobs at most every `interval` seconds.

    A pass that fails is logged (redacted) and tried again at the next interval; it never raises, so a passing
    GitHub or database error cannot end the worker.
    """

    engine: Engine
    settings: Settings
    actions: ActionsSettings
    interval: float = 60.0
    transport: httpx.AsyncBaseTransport | None = None
    clock: Callable[[], float] = time.monotonic
    _due_at: float | None = field(default=None, init=False)

    def tick(self) -> list[Reconciled] | None:
        """Reconciles when a pass is due; the pass's results, or None when none ran or it failed."""
        now = self.clock()
        if self._due_at is not None and now < self._due_at:
            return None
        self._due_at = now + self.interval
        try:
            results = reconcile_jobs(
                self.engine, settings=self.settings, actions=self.actions, transport=self.transport
            )
        except Exception as exc:  # the next pass may well succeed; the worker carries on
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            log.warning("worker: reconciling jobs on GitHub Actions failed: %s", redact(first))
            return None
        for result in results:
            if result.changed:
                reason = f" ({result.reason})" if result.reason else ""
                log.info(
                    "worker: job %s follows run %s: %s -> %s%s",
                    result.job_id,
                    result.run_id or "-",
                    result.before,
                    result.after,
                    redact(reason),
                )
        return results
