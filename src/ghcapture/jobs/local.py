"""The local engine: capture jobs as DBOS Transact durable workflows.

A job is a workflow whose steps are pages of its capture (each step runs the capture, which resumes from
its checkpoint, for a few pages). Queues, one pair per GitHub budget (token or App installation):
realtime (more worker slots) and bulk (fewer); each partitioned by repository and kind with one running
workflow per partition, a global concurrency limit and a start-rate limiter shared by every worker on
that budget. The job row stays the source of truth: a dispatcher hands pending jobs to workflows
(claiming them on the row, so one worker wins), a reaper fails jobs whose heartbeat stopped and forks
their workflow from its last completed step onto the same queue and partition.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dbos import DBOS, DBOSConfig, SetEnqueueOptions, SetWorkflowID
from sqlalchemy import Engine, select

from ghcapture.capture.scope import CaptureScope
from ghcapture.config import Settings
from ghcapture.errors import GhcaptureError
from ghcapture.jobs.model import BULK, CANCELLED, GITHUB_ACTIONS, LOCAL, REALTIME, Job
from ghcapture.jobs.outage import (
    QUIET_OUTAGES,
    database_came_back,
    is_connection_error,
    outage_seconds,
    outlast_outage,
)
from ghcapture.jobs.progress import JobProgress, job_summary
from ghcapture.jobs.settings import JobSettings
from ghcapture.jobs.store import BUSY, GONE, JobStore, jobs_table
from ghcapture.store.checkpoints import load_checkpoint
from ghcapture.store.tables import utc_now

log = logging.getLogger("ghcapture.jobs")

BUSY_WAIT_SECONDS = 2.0
RETRY_BASE_SECONDS = 5.0
RETRY_MAX_SECONDS = 600.0
DEFAULT_PRIORITY = 5
# Heartbeat intervals of silence after which a local job's worker is presumed dead.
DEAD_WORKER_BEATS = 3
# DBOS workflow states after which a still-queued job needs a new workflow.
_FINISHED_WORKFLOW = {"SUCCESS", "ERROR", "CANCELLED", "MAX_RECOVERY_ATTEMPTS_EXCEEDED"}


class EngineUnavailable(GhcaptureError):
    """The local engine's system database cannot be opened."""


class PageBoundary(Exception):
    """Raised by the step's reporter after its share of pages: the step ends, the next one resumes."""


class JobCancelled(Exception):
    """The job was cancelled while its capture ran."""


# -- the engine ------------------------------------------------------------------------------------------

_current: LocalEngine | None = None


def current_engine() -> LocalEngine:
    if _current is None:
        raise RuntimeError("the local engine is not launched in this process")
    return _current


@dataclass
class LocalEngine:
    settings: Settings
    jobs: JobSettings
    engine: Engine
    concurrency: int = 2
    listen: bool = True  # False: run only what this process starts itself (ghcapture sync)
    stop: threading.Event = field(default_factory=threading.Event)
    running: set[str] = field(default_factory=set)
    waiting: set[str] = field(default_factory=set)  # held by this worker until their repository is free
    # Jobs whose workflow runs here, between steps and through its waits too: the heartbeat keeps them alive.
    held: set[str] = field(default_factory=set)
    _launched: bool = False
    executor_id: str = field(
        default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    )
    _heart: threading.Thread | None = None
    # Since when this worker's reaper has read the database without a gap (monotonic seconds), and when last.
    _reaper_healthy_since: float | None = None
    _reaper_last_ok: float | None = None

    @property
    def store(self) -> JobStore:
        return JobStore(self.engine)

    def queue_name(self, lane: str) -> str:
        return f"ghcapture-{lane}-{self.jobs.budget_name}"

    # -- lifecycle -----------------------------------------------------------------------------------
    def launch(self) -> LocalEngine:
        global _current
        _register_workflows()
        config: DBOSConfig = {
            "name": "ghcapture",
            "system_database_url": self.jobs.system_database_url,
            "executor_id": self.executor_id,
            "scheduler_polling_interval_sec": max(1.0, self.jobs.poll_seconds * 5),
            "log_level": "WARNING",
            # A fixed version: workers of one release fork and recover each other's workflows.
            "application_version": "ghcapture-1",
        }
        _current = self
        dbos_log = logging.getLogger("dbos")
        if QUIET_OUTAGES not in dbos_log.filters:
            dbos_log.addFilter(QUIET_OUTAGES)
        try:
            DBOS(config=config)
            DBOS.listen_queues([self.queue_name(REALTIME), self.queue_name(BULK)] if self.listen else [])
            DBOS.launch()
            self._register_queues()
        except GhcaptureError:
            raise
        except Exception as exc:
            from ghcapture.github.redact import redact
            from ghcapture.store.database import redact_url

            _current = None
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise EngineUnavailable(
                f"cannot start the job engine on {redact_url(self.jobs.system_database_url)}: {redact(first)}"
            ) from None
        self._launched = True
        self._heart = threading.Thread(target=self._heartbeats, name="ghcapture-heartbeat", daemon=True)
        self._heart.start()
        return self

    def _register_queues(self) -> None:
        slots = max(1, min(self.concurrency, self.jobs.token_concurrency))
        for lane, worker_slots in ((REALTIME, slots), (BULK, max(1, slots // 2))):
            DBOS.register_queue(
                self.queue_name(lane),
                worker_concurrency=worker_slots,
                global_concurrency=self.jobs.token_concurrency,
                partition_concurrency=1,
                limiter={"limit": self.jobs.token_jobs_per_minute, "period": 60.0},
                polling_interval_sec=self.jobs.poll_seconds,
                on_conflict="always_update",
            )

    def shutdown(self, wait_seconds: int = 0) -> None:
        global _current
        self.stop.set()
        if self._launched:
            try:
                self.store.worker_stopped(self.executor_id)
            except Exception as exc:  # the database may be what stopped it
                log.warning("could not record this worker's stop: %s", _first_line(exc))
        if self._launched:
            DBOS.destroy(workflow_completion_timeout_sec=wait_seconds)
            # DBOS keeps its console handler on the stderr of its first launch; a later launch in this
            # process (a test, an embedding program) must log to the stderr of its own time.
            dbos_log = logging.getLogger("dbos")
            for handler in list(dbos_log.handlers):
                if handler.name == "__dbos_console_log_handler__":
                    dbos_log.removeHandler(handler)
        self._launched = False
        _current = None

    def _beat_worker(self) -> None:
        self.store.worker_beat(
            self.executor_id,
            host=socket.gethostname(),
            pid=os.getpid(),
            listens=self.listen,
            holding=self.running | self.waiting | self.held,
        )

    def _heartbeats(self) -> None:
        store = self.store
        failing = False
        while True:
            try:
                store.heartbeat_many(self.running | self.waiting | self.held)
                self._beat_worker()
                failing = False
            except Exception as exc:  # a database hiccup must not kill the heartbeat
                if not failing:  # one line per outage, not one per beat
                    log.warning("heartbeat failed: %s", _first_line(exc))
                failing = True
            if self.stop.wait(self.jobs.heartbeat_seconds):
                break
        # A final beat would be a lie after stopping; the reaper decides from here.

    # -- dispatching ---------------------------------------------------------------------------------
    def dispatch_once(self) -> int:
        """Hand every pending or queued local job without a live workflow to a new one; returns how many."""
        started = 0
        for job in self.store.waiting_for_local_engine():
            if job.local_workflow_id:
                status = DBOS.get_workflow_status(job.local_workflow_id)
                if status is None:
                    # Claimed but never enqueued (the claimer died in between): enqueue under the same id.
                    self._enqueue(job, job.local_workflow_id, delay=0.0)
                    started += 1
                    continue
                if status.status not in _FINISHED_WORKFLOW and not self._orphaned(job, status):
                    continue
                if status.status not in _FINISHED_WORKFLOW:
                    self._cancel(job.local_workflow_id)
                    self.store.add_event(
                        job.id,
                        "orphaned",
                        f"workflow {job.local_workflow_id} was taken by "
                        f"a worker that stopped before starting it",
                    )
            workflow_id = f"{job.id}.{uuid.uuid4().hex[:8]}"
            if not self.store.claim_workflow(job.id, workflow_id, expected=job.local_workflow_id):
                continue
            self.store.add_event(job.id, "queued", f"on the local {job.lane} queue as workflow {workflow_id}")
            self._enqueue(job, workflow_id, delay=_retry_delay(job))
            started += 1
        return started

    def _orphaned(self, job: Job, status: Any) -> bool:
        """A workflow taken from the queue by a worker that died before the job started: nothing beats."""
        if status.status != "PENDING":
            return False
        limit = self.jobs.stuck_after_seconds
        if job.heartbeat_at is not None:
            return (utc_now() - job.heartbeat_at).total_seconds() > limit
        taken_ms = status.updated_at or status.created_at or 0
        return bool(time.time() - taken_ms / 1000 > limit)

    def _cancel(self, workflow_id: str) -> None:
        try:
            DBOS.cancel_workflow(workflow_id)
        except Exception as exc:  # already gone is fine
            log.debug("cancel of %s: %s", workflow_id, exc)

    def _enqueue(self, job: Job, workflow_id: str, *, delay: float) -> None:
        queue = DBOS.retrieve_queue(self.queue_name(job.lane or BULK))
        if queue is None:
            raise EngineUnavailable(f"the {job.lane} queue is not registered; is the job engine launched?")
        priority = int(job.params.get("priority", DEFAULT_PRIORITY))
        with (
            SetWorkflowID(workflow_id),
            SetEnqueueOptions(
                priority=priority,
                queue_partition_key=partition_key(job),
                delay_seconds=delay if delay > 0 else None,
            ),
        ):
            queue.enqueue(capture_job_workflow, job.id)

    def run_here(self, job: Job) -> Any:
        """Start the job's workflow in this process, without a queue (the embedded `ghcapture sync`)."""
        workflow_id = f"{job.id}.{uuid.uuid4().hex[:8]}"
        if not self.store.claim_workflow(job.id, workflow_id, expected=job.local_workflow_id):
            raise GhcaptureError(
                f"job {job.id} was taken by a worker; follow it with: ghcapture jobs show {job.id}"
            )
        self.store.add_event(job.id, "queued", f"running in this process as workflow {workflow_id}")
        with SetWorkflowID(workflow_id):
            return DBOS.start_workflow(capture_job_workflow, job.id)

    # -- recovering ----------------------------------------------------------------------------------
    def dead_worker_seconds(self) -> float:
        """How long a local job may go without a heartbeat before its worker is taken for dead.

        A live worker's heartbeat thread beats every job it holds every heartbeat interval, whatever its steps
        are doing, so a job silent for DEAD_WORKER_BEATS intervals belongs to a worker that is gone (killed,
        its machine lost). That holds only while this reaper has itself read the database without a gap for
        that long: after a database outage every worker's beats are equally old, and the live ones need a
        few intervals to beat again; until then the longer stuck limit applies."""
        limit = self.jobs.stuck_after_seconds
        short = DEAD_WORKER_BEATS * self.jobs.heartbeat_seconds
        since = self._reaper_healthy_since
        if since is not None and time.monotonic() - since >= short:
            return min(limit, short)
        return limit

    def _reaper_saw_database(self) -> None:
        now = time.monotonic()
        gap = DEAD_WORKER_BEATS * self.jobs.heartbeat_seconds
        if self._reaper_last_ok is None or now - self._reaper_last_ok > gap:
            self._reaper_healthy_since = now  # first look, or after a gap: start counting again
        self._reaper_last_ok = now

    def reap_once(self) -> int:
        """Fail jobs whose heartbeat stopped; a local one with attempts left resumes from its workflow's last
        completed step on another workflow (a fork), the dead workflow cancelled. Returns how many."""
        limits = {**self.jobs.stuck_limits, LOCAL: self.dead_worker_seconds()}
        try:
            reaped = self.store.reap_stuck(limits)
        except Exception:
            self._reaper_healthy_since = self._reaper_last_ok = None
            raise
        self._reaper_saw_database()
        for item in reaped:
            job = item.job
            if job.processor == GITHUB_ACTIONS:
                if item.retried:
                    _dispatch_to_actions(self.engine, job.id, self.settings)
                continue
            old = job.local_workflow_id
            if old is not None:
                self._cancel(old)
            if not item.retried or old is None:
                continue
            new = f"{job.id}.{uuid.uuid4().hex[:8]}"
            if not self.store.claim_workflow(job.id, new, expected=old):
                continue
            try:
                steps = DBOS.list_workflow_steps(old)
                done = [s["function_id"] for s in steps if s.get("error") is None]
                start_step = (max(done) + 1) if done else 0
                with SetWorkflowID(new):
                    DBOS.fork_workflow(
                        old,
                        start_step,
                        queue_name=self.queue_name(job.lane or BULK),
                        queue_partition_key=partition_key(job),
                    )
                self.store.add_event(
                    job.id, "recovered", f"workflow {old} forked from step {start_step} as {new}"
                )
            except Exception as exc:
                log.warning("fork of %s failed (%s); starting a new workflow", old, exc)
                self._enqueue(job, new, delay=0.0)
                self.store.add_event(job.id, "recovered", f"a new workflow {new} resumes from the checkpoint")
        return len(reaped)

    # -- schedules -----------------------------------------------------------------------------------
    def sync_schedules(self) -> None:
        """Make DBOS's cron schedules match the tracked repositories, and record due backfills."""
        from ghcapture.jobs import schedules

        wanted = {schedules.SCHEDULE_PREFIX + t.repository: t for t in schedules.list_tracked(self.engine)}
        existing = {
            s["schedule_name"]: s for s in DBOS.list_schedules(schedule_name_prefix=schedules.SCHEDULE_PREFIX)
        }
        for name in existing.keys() - wanted.keys():
            DBOS.delete_schedule(name)
        for name, tracked in wanted.items():
            current = existing.get(name)
            if current is not None and current["schedule"] == tracked.cron:
                continue
            try:
                if current is not None:
                    DBOS.delete_schedule(name)
                DBOS.create_schedule(
                    schedule_name=name,
                    workflow_fn=tracked_refresh_workflow,
                    schedule=tracked.cron,
                    context=tracked.repository,
                )
            except Exception as exc:  # another worker created it first
                log.debug("schedule %s: %s", name, exc)
        for repository in schedules.claim_backfills(self.engine):
            schedules.enqueue_tracked_job(self.engine, self.jobs, repository, backfill=True)
        schedules.settle_priorities(self.engine)


def _first_line(exc: BaseException) -> str:
    from ghcapture.github.redact import redact

    return redact((str(exc).strip().splitlines() or [type(exc).__name__])[0])


def partition_key(job: Job) -> str:
    """One running job per repository and kind."""
    return f"{job.repository}:{job.kind}"


def _retry_delay(job: Job) -> float:
    if job.attempts == 0 or not job.error:
        return _wait_until_not_before(job)
    return float(min(RETRY_MAX_SECONDS, RETRY_BASE_SECONDS * 2 ** (job.attempts - 1)))


def _wait_until_not_before(job: Job) -> float:
    """Seconds until the job's `not_before` (a webhook job waits out its coalescing window), else 0."""
    not_before = job.params.get("not_before")
    if not isinstance(not_before, str):
        return 0.0
    try:
        moment = datetime.fromisoformat(not_before)
    except ValueError:
        return 0.0
    return max(0.0, (moment - utc_now()).total_seconds())


def _dispatch_to_actions(engine: Engine, job_id: str, settings: Settings) -> None:
    try:
        from ghcapture.jobs import actions  # type: ignore[attr-defined,unused-ignore]
    except ImportError:
        log.warning("job %s is for GitHub Actions, but this installation has no bulk lane", job_id)
        return
    actions.dispatch_job(engine, job_id, settings)


# -- the workflow and its steps -------------------------------------------------------------------------

_registered = False


def _register_workflows() -> None:
    """DBOS needs its workflows registered before launch; this module's decorators do it on import."""
    global _registered
    _registered = True


def _transient(exc: BaseException) -> bool:
    """Worth another go within the same attempt: GitHub's transient errors, and the database's deadlocks,
    serialisation failures and dropped connections (concurrent captures share contributors)."""
    from sqlalchemy.exc import DBAPIError

    from ghcapture.github.errors import TransientError

    if isinstance(exc, TransientError):
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
        return code in {"40001", "40P01"} or "database is locked" in str(exc.orig)
    return False


def _retryable(exc: BaseException) -> bool:
    from ghcapture.github.errors import PermanentError

    if isinstance(exc, PermanentError):
        return False  # bad credentials, a repository gone: sending again will not help
    if isinstance(exc, GhcaptureError) and not _transient(exc):
        return False
    return True


def _message(exc: BaseException) -> str:
    from ghcapture.github.redact import redact

    inner = getattr(exc, "__cause__", None) or exc
    first = (str(inner).strip().splitlines() or [type(inner).__name__])[0]
    return redact(f"{type(inner).__name__}: {first}" if not isinstance(inner, GhcaptureError) else first)


class StepProgress(JobProgress):
    """JobProgress for one step: ends the step after its share of pages (only where the capture can resume
    from a checkpoint cursor), or at once when the job is cancelled or the worker is stopping."""

    def __init__(
        self, store: JobStore, job: Job, scope: CaptureScope, pages: int, stop: threading.Event
    ) -> None:
        super().__init__(store, job.id, settle=False)
        self.scope_key = scope.key()
        self.pages_left = pages
        self.stop = stop
        self.repository = job.repository or ""

    def start(self, repository: str, total: int | None) -> None:
        # The engine started the attempt; each step only records the size of the work.
        self.repository = repository
        self.record_total(total)

    def advance(self, done: int, *, points: int, requests: int, budget: dict[str, Any]) -> None:
        super().advance(done, points=points, requests=requests, budget=budget)
        self.pages_left -= 1
        with self.store.engine.connect() as conn:
            status = conn.execute(select(jobs_table.c.status).where(jobs_table.c.id == self.job_id)).scalar()
            if status == CANCELLED:
                raise JobCancelled()
            if self.pages_left > 0 and not self.stop.is_set():
                return
            checkpoint = load_checkpoint(conn, self.repository, "pull_requests", self.scope_key)
        if checkpoint is not None and checkpoint.cursor:
            raise PageBoundary()


def job_scope(job: Job) -> CaptureScope:
    params = job.params
    numbers = ",".join(str(n) for n in params.get("pr_numbers") or []) or None
    return CaptureScope.build(
        days=params.get("days"),
        since=params.get("since"),
        pr_numbers=numbers,
        max_items=params.get("max_items"),
        chunk=params.get("chunk"),
    )


def _capture_pages(job_id: str, workflow_id: str) -> str:
    from ghcapture.capture.engine import capture
    from ghcapture.github.errors import RateLimitedError
    from ghcapture.github.http import GitHubClient

    local = current_engine()
    store = local.store
    if local.stop.is_set():
        local.waiting.discard(job_id)
        store.release(job_id, workflow_id, "the worker is stopping; another will take it")
        return "stopped"
    local.waiting.add(job_id)
    store.heartbeat_many([job_id])  # from the first moment this worker holds the job
    job = store.get(job_id)
    claim = store.claim_run(
        job_id,
        workflow_id=workflow_id,
        exclusive=True,
        message=f"attempt {job.attempts + 1} of {job.max_attempts} on {local.executor_id}",
    )
    if claim != BUSY:
        local.waiting.discard(job_id)
    if claim in (GONE, BUSY):
        return claim
    job = store.get(job_id)
    progress = StepProgress(store, job, job_scope(job), local.jobs.pages_per_step, local.stop)
    local.running.add(job_id)

    async def go() -> Any:
        async with GitHubClient(local.settings) as client:
            return await capture(
                client,
                local.engine,
                job.repository or "",
                kind=job.kind,
                scope=job_scope(job),
                progress=progress,
            )

    try:
        while True:
            try:
                result = asyncio.run(go())
                break
            except Exception as exc:
                # The database went away under the capture: wait for it here, inside the step, so the
                # attempt is not spent; the capture then resumes from the checkpoint of its last stored page.
                if not database_came_back(
                    exc, local.engine, outage_seconds(local.settings), who=f"job {job_id}"
                ):
                    raise
                store.add_event(
                    job_id, "resumed", "the database was unreachable; resuming from the checkpoint"
                )
                pages_left = progress.pages_left
                progress = StepProgress(store, job, job_scope(job), max(1, pages_left), local.stop)
    except PageBoundary:
        if local.stop.is_set():
            store.release(
                job_id, workflow_id, "the worker is stopping after this step; another will resume it"
            )
            return "stopped"
        return "more"
    except JobCancelled:
        return "gone"
    except RateLimitedError as exc:
        store.add_event(
            job_id, "rate-limited", f"waiting {exc.wait_seconds:.0f} s for the {exc.resource} budget"
        )
        return f"wait:{exc.wait_seconds}"
    finally:
        local.running.discard(job_id)
    progress.finish(result)
    store.complete(job_id, message=job_summary(store, job_id, result))
    return "done"


def _wait_for_database(job_id: str) -> bool:
    """The database went away between a step's pages (claiming the job, beating, completing it): wait for it
    here rather than spend an attempt; the next step resumes from the capture's checkpoint."""
    local = current_engine()
    came_back = outlast_outage(
        local.engine, outage_seconds(local.settings), who=f"job {job_id}", stop=local.stop
    )
    if came_back:
        local.store.add_event(job_id, "resumed", "the database was unreachable; resuming from the checkpoint")
    return came_back


def _settle_failure(job_id: str, message: str, retryable: bool) -> str:
    will_retry = current_engine().store.fail(job_id, message, retry=retryable)
    return "retrying" if will_retry else "failed"


def _make_workflows() -> tuple[Any, Any, Any]:

    capture_step = DBOS.step(
        name="ghcapture.capture_pages",
        retries_allowed=True,
        max_attempts=4,
        interval_seconds=2.0,
        backoff_rate=2.0,
        should_retry=_transient,
    )(_capture_pages)
    settle_step = DBOS.step(name="ghcapture.settle_failure")(_settle_failure)
    outage_step = DBOS.step(name="ghcapture.wait_for_database")(_wait_for_database)

    @DBOS.workflow(name="ghcapture.capture_job")
    def workflow(job_id: str) -> str:
        workflow_id = DBOS.workflow_id or ""
        held = current_engine().held
        held.add(job_id)
        try:
            while True:
                try:
                    outcome = capture_step(job_id, workflow_id)
                except Exception as exc:
                    errors = getattr(exc, "errors", None)  # DBOSMaxStepRetriesExceeded keeps their errors
                    cause = errors[-1] if errors else exc
                    if is_connection_error(cause) and outage_step(job_id):
                        continue
                    return str(settle_step(job_id, _message(cause), _retryable(cause)))
                kind, _, arg = str(outcome).partition(":")
                if kind == BUSY:
                    DBOS.sleep(BUSY_WAIT_SECONDS)
                elif kind == "wait":
                    DBOS.sleep(max(1.0, float(arg)))  # a rate-limit wait is a wait, never a failure
                elif kind != "more":
                    return kind
        finally:
            held.discard(job_id)

    return workflow, capture_step, settle_step


capture_job_workflow, capture_step, settle_step = _make_workflows()


def _record_refresh(repository: str) -> str:
    from ghcapture.jobs.schedules import enqueue_tracked_job

    local = current_engine()
    return enqueue_tracked_job(local.engine, local.jobs, repository, backfill=False) or ""


_record_refresh_step = DBOS.step(name="ghcapture.record_refresh")(_record_refresh)


@DBOS.workflow(name="ghcapture.tracked_refresh")
def tracked_refresh_workflow(scheduled_at: datetime, repository: Any) -> None:
    """Fired by a tracked repository's cron schedule: record a refresh job (the dispatcher runs it)."""
    _record_refresh_step(str(repository))


@contextmanager
def launched(
    settings: Settings,
    jobs: JobSettings,
    engine: Engine,
    *,
    concurrency: int = 2,
    listen: bool = True,
    wait_seconds: int = 0,
) -> Iterator[LocalEngine]:
    local = LocalEngine(settings, jobs, engine, concurrency=concurrency, listen=listen).launch()
    try:
        yield local
    finally:
        local.shutdown(wait_seconds)


__all__ = ["LocalEngine", "launched", "capture_job_workflow", "partition_key", "EngineUnavailable", "LOCAL"]
