"""JobStore: the job rows and their event trail. Every status change is a conditional update plus an
event, in one transaction, so two processes racing on a job cannot both win."""

from __future__ import annotations

import builtins
import hashlib
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, case, func, insert, or_, select, text, update

from ghcapture.errors import GhcaptureError, InputError
from ghcapture.jobs.model import (
    ACTIVE,
    CANCELLED,
    COMPLETED,
    FAILED,
    PENDING,
    QUEUED,
    RUNNING,
    STATUSES,
    TERMINAL,
    TRANSITIONS,
    Job,
    JobEvent,
)
from ghcapture.store.tables import job_events, progressive_capture_jobs, utc_now, workers

jobs_table = progressive_capture_jobs
MAX_ERROR_LENGTH = 2000
STARTED, CONTINUED, BUSY, GONE = "started", "continued", "busy", "gone"


class UnknownJob(GhcaptureError):
    """No job has this id."""


class JobStateError(GhcaptureError):
    """The job is not in a state that allows the operation (retrying a running job, cancelling a done one)."""


@dataclass(frozen=True)
class RouteFields:
    """What the router decided, as stored on the job (duck-typed so that store does not import router)."""

    lane: str
    processor: str
    reason: str


@dataclass(frozen=True)
class ReapedJob:
    job: Job
    retried: bool


def _lock_repository_kind(conn: Connection, repository: str | None, kind: str) -> None:
    """Serialise starts of one repository and kind on PostgreSQL (SQLite already has one writer at a time)."""
    if conn.dialect.name == "postgresql":
        key = int.from_bytes(
            hashlib.sha256(f"{repository}\0{kind}".encode()).digest()[:8], "big", signed=True
        )
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def new_job_id() -> str:
    return str(uuid.uuid4())


def _clip(text: str | None) -> str | None:
    if text is None:
        return None
    line = " ".join(str(text).split())
    return line[:MAX_ERROR_LENGTH]


class JobStore:
    """Jobs on one database (the data database: jobs and their captures share it)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- reading -----------------------------------------------------------------------------
    def get(self, job_id: str, *, with_events: bool = False) -> Job:
        with self.engine.connect() as conn:
            row = conn.execute(select(jobs_table).where(jobs_table.c.id == job_id)).first()
            if row is None:
                raise UnknownJob(f"no job with id {job_id!r} (see: ghcapture jobs list)")
            events = self._events(conn, job_id) if with_events else ()
        return Job.from_row(row, events)

    def find(self, job_id_or_prefix: str) -> Job:
        """A job by its id or an unambiguous prefix of it (ids are long to type)."""
        text = job_id_or_prefix.strip()
        if len(text) < 4:
            raise InputError(f"job id {text!r} is too short; give at least 4 characters")
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(jobs_table.c.id).where(jobs_table.c.id.startswith(text, autoescape=True)).limit(2)
            ).all()
        if not rows:
            raise UnknownJob(f"no job with id {text!r} (see: ghcapture jobs list)")
        if len(rows) > 1:
            raise InputError(f"job id {text!r} is ambiguous; give more characters")
        return self.get(rows[0].id, with_events=True)

    def events(self, job_id: str) -> tuple[JobEvent, ...]:
        with self.engine.connect() as conn:
            return self._events(conn, job_id)

    @staticmethod
    def _events(conn: Connection, job_id: str) -> tuple[JobEvent, ...]:
        rows = conn.execute(
            select(job_events).where(job_events.c.job_id == job_id).order_by(job_events.c.id)
        ).all()
        return tuple(JobEvent(job_id=r.job_id, at=r.at, type=r.type, message=r.message) for r in rows)

    def list(
        self,
        *,
        status: str | None = None,
        repository: str | None = None,
        lane: str | None = None,
        kind: str | None = None,
        limit: int = 100,
    ) -> builtins.list[Job]:
        if status is not None and status not in STATUSES:
            raise InputError(f"--status: {status!r} is not one of {', '.join(STATUSES)}")
        query = select(jobs_table).order_by(jobs_table.c.created_at.desc(), jobs_table.c.id).limit(limit)
        if status:
            query = query.where(jobs_table.c.status == status)
        if repository:
            query = query.where(jobs_table.c.repository == repository)
        if lane:
            query = query.where(jobs_table.c.lane == lane)
        if kind:
            query = query.where(jobs_table.c.kind == kind)
        with self.engine.connect() as conn:
            return [Job.from_row(r) for r in conn.execute(query).all()]

    def running_for(self, repository: str, kind: str, *, excluding: str | None = None) -> builtins.list[Job]:
        """Jobs of this repository and kind that are running now (the per-repository exclusion)."""
        query = select(jobs_table).where(
            jobs_table.c.repository == repository, jobs_table.c.kind == kind, jobs_table.c.status == RUNNING
        )
        if excluding:
            query = query.where(jobs_table.c.id != excluding)
        with self.engine.connect() as conn:
            return [Job.from_row(r) for r in conn.execute(query).all()]

    # -- writing -----------------------------------------------------------------------------
    def create(
        self,
        *,
        kind: str,
        repository: str,
        route: Any,
        trigger: str = "manual",
        params: Mapping[str, Any] | None = None,
        max_attempts: int = 3,
        job_id: str | None = None,
    ) -> Job:
        """A new pending job carrying its route (lane, processor, reason) and a 'created' event."""
        job_id = job_id or new_job_id()
        now = utc_now()
        with self.engine.begin() as conn:
            conn.execute(
                insert(jobs_table).values(
                    id=job_id,
                    kind=kind,
                    repository=repository,
                    lane=route.lane,
                    processor=route.processor,
                    route_reason=route.reason,
                    trigger=trigger,
                    params=dict(params or {}),
                    status=PENDING,
                    attempts=0,
                    max_attempts=max_attempts,
                    created_at=now,
                )
            )
            self._event(conn, job_id, "created", f"{trigger} {kind} of {repository}; {route.reason}", now)
        return self.get(job_id)

    def add_event(self, job_id: str, type_: str, message: str | None = None) -> None:
        with self.engine.begin() as conn:
            self._event(conn, job_id, type_, message)

    @staticmethod
    def _event(
        conn: Connection, job_id: str, type_: str, message: str | None, at: datetime | None = None
    ) -> None:
        conn.execute(
            insert(job_events).values(job_id=job_id, at=at or utc_now(), type=type_, message=_clip(message))
        )

    def transition(
        self,
        job_id: str,
        new_status: str,
        *,
        event: str | None = None,
        message: str | None = None,
        from_statuses: Iterable[str] | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> bool:
        """Move the job to `new_status` if its current status allows it; False when another process got there
        first (or the job is already past that point). Writes an event when it moves."""
        allowed = (
            set(from_statuses)
            if from_statuses is not None
            else {s for s, targets in TRANSITIONS.items() if new_status in targets}
        )
        now = utc_now()
        changes: dict[str, Any] = {"status": new_status, **(values or {})}
        if new_status in TERMINAL:
            changes.setdefault("completed_at", now)
        with self.engine.begin() as conn:
            moved = conn.execute(
                update(jobs_table)
                .where(jobs_table.c.id == job_id, jobs_table.c.status.in_(allowed))
                .values(**changes)
            ).rowcount
            if moved:
                self._event(conn, job_id, event or new_status, message, now)
            elif not conn.execute(select(jobs_table.c.id).where(jobs_table.c.id == job_id)).first():
                raise UnknownJob(f"no job with id {job_id!r} (see: ghcapture jobs list)")
        return bool(moved)

    def mark_queued(self, job_id: str, message: str) -> bool:
        return self.transition(
            job_id, QUEUED, event="queued", message=message, from_statuses={PENDING, QUEUED}
        )

    def start(self, job_id: str, *, message: str | None = None) -> bool:
        """pending/queued -> running: one more attempt, started and heartbeat now."""
        return self.claim_run(job_id, message=message) == STARTED

    def claim_run(
        self,
        job_id: str,
        *,
        workflow_id: str | None = None,
        exclusive: bool = False,
        message: str | None = None,
    ) -> str:
        """Start the job's next attempt for `workflow_id` (None: for whoever asks, e.g. a runner).

        Returns STARTED, CONTINUED (already running for this very workflow: a replay after recovery),
        BUSY (`exclusive` and another job of the same repository and kind is running) or GONE (cancelled,
        finished, or handed to another workflow)."""
        now = utc_now()
        with self.engine.begin() as conn:
            row = conn.execute(select(jobs_table).where(jobs_table.c.id == job_id)).first()
            if row is None:
                raise UnknownJob(f"no job with id {job_id!r} (see: ghcapture jobs list)")
            if workflow_id is not None and row.local_workflow_id != workflow_id:
                return GONE
            if row.status == RUNNING and workflow_id is not None:
                return CONTINUED
            if row.status not in (PENDING, QUEUED):
                return GONE
            if exclusive:
                _lock_repository_kind(conn, row.repository, row.kind)
                others = conn.execute(
                    select(func.count())
                    .select_from(jobs_table)
                    .where(
                        jobs_table.c.repository == row.repository,
                        jobs_table.c.kind == row.kind,
                        jobs_table.c.status == RUNNING,
                        jobs_table.c.id != job_id,
                    )
                ).scalar_one()
                if others:
                    return BUSY
            conditions = [jobs_table.c.id == job_id, jobs_table.c.status.in_({PENDING, QUEUED})]
            if workflow_id is not None:
                conditions.append(jobs_table.c.local_workflow_id == workflow_id)
            moved = conn.execute(
                update(jobs_table)
                .where(*conditions)
                .values(
                    status=RUNNING,
                    attempts=jobs_table.c.attempts + 1,
                    started_at=now,
                    heartbeat_at=now,
                    completed_at=None,
                )
            ).rowcount
            if not moved:
                return GONE
            self._event(
                conn, job_id, "started", message or f"attempt {row.attempts + 1} of {row.max_attempts}", now
            )
        return STARTED

    def claim_workflow(self, job_id: str, workflow_id: str, *, expected: str | None) -> bool:
        """Hand a pending or queued job to a new local workflow, if its current one is still `expected`;
        of two workers racing to enqueue one job, only one wins."""
        with self.engine.begin() as conn:
            current = (
                jobs_table.c.local_workflow_id.is_(None)
                if expected is None
                else jobs_table.c.local_workflow_id == expected
            )
            moved = conn.execute(
                update(jobs_table)
                .where(jobs_table.c.id == job_id, jobs_table.c.status.in_({PENDING, QUEUED}), current)
                .values(local_workflow_id=workflow_id, status=QUEUED, heartbeat_at=None)
            ).rowcount
        return bool(moved)

    def release(self, job_id: str, workflow_id: str, reason: str) -> bool:
        """A running attempt given back unfinished (its worker stops): queued again, attempt not spent."""
        with self.engine.begin() as conn:
            moved = conn.execute(
                update(jobs_table)
                .where(
                    jobs_table.c.id == job_id,
                    jobs_table.c.local_workflow_id == workflow_id,
                    jobs_table.c.status.in_({RUNNING, PENDING, QUEUED}),
                )
                .values(
                    status=QUEUED,
                    local_workflow_id=None,
                    attempts=case(
                        (jobs_table.c.status == RUNNING, jobs_table.c.attempts - 1),
                        else_=jobs_table.c.attempts,
                    ),
                )
            ).rowcount
            if moved:
                self._event(conn, job_id, "released", reason)
        return bool(moved)

    def waiting_for_local_engine(self, limit: int = 200) -> builtins.list[Job]:
        """Local jobs that are pending or queued: candidates to (re)enqueue on the local engine."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(jobs_table)
                .where(jobs_table.c.processor == "local", jobs_table.c.status.in_({PENDING, QUEUED}))
                .order_by(jobs_table.c.created_at)
                .limit(limit)
            ).all()
        return [Job.from_row(r) for r in rows]

    def heartbeat_many(self, job_ids: Iterable[str]) -> None:
        """Jobs held by a live worker: running, or waiting in its hands for their repository to be free."""
        ids = list(job_ids)
        if not ids:
            return
        with self.engine.begin() as conn:
            conn.execute(
                update(jobs_table)
                .where(jobs_table.c.id.in_(ids), jobs_table.c.status.in_({RUNNING, QUEUED}))
                .values(heartbeat_at=utc_now())
            )

    def worker_beat(
        self, worker_id: str, *, host: str, pid: int, listens: bool, holding: Iterable[str]
    ) -> None:
        """This worker is alive and holds these jobs (the console's workers and /healthz read it)."""
        now = utc_now()
        running = sorted(holding)
        with self.engine.begin() as conn:
            beat = update(workers).where(workers.c.id == worker_id)
            if not conn.execute(beat.values(heartbeat_at=now, running=running)).rowcount:
                conn.execute(
                    insert(workers).values(
                        id=worker_id,
                        host=host,
                        pid=pid,
                        listens=listens,
                        started_at=now,
                        heartbeat_at=now,
                        running=running,
                    )
                )

    def worker_stopped(self, worker_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(workers).where(workers.c.id == worker_id).values(stopped_at=utc_now(), running=[])
            )

    def heartbeat(self, job_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(jobs_table)
                .where(jobs_table.c.id == job_id, jobs_table.c.status == RUNNING)
                .values(heartbeat_at=utc_now())
            )

    def progress(
        self,
        job_id: str,
        *,
        items_total: int | None = None,
        items_done: int | None = None,
        items_failed: int | None = None,
        points_used: int | None = None,
        requests_made: int | None = None,
    ) -> None:
        """Counters of a running job, with a heartbeat (a job that reports progress is alive)."""
        changes: dict[str, Any] = {"heartbeat_at": utc_now()}
        for name, value in (
            ("items_total", items_total),
            ("items_done", items_done),
            ("items_failed", items_failed),
            ("points_used", points_used),
            ("requests_made", requests_made),
        ):
            if value is not None:
                changes[name] = value
        with self.engine.begin() as conn:
            conn.execute(
                update(jobs_table)
                .where(jobs_table.c.id == job_id, jobs_table.c.status == RUNNING)
                .values(**changes)
            )

    def add_spend(self, job_id: str, *, points: int, requests: int) -> None:
        """Add one attempt's spend to the job's totals (a retried job keeps what its failed attempts cost)."""
        with self.engine.begin() as conn:
            conn.execute(
                update(jobs_table)
                .where(jobs_table.c.id == job_id)
                .values(
                    points_used=jobs_table.c.points_used + points,
                    requests_made=jobs_table.c.requests_made + requests,
                )
            )

    def complete(
        self, job_id: str, *, message: str | None = None, values: Mapping[str, Any] | None = None
    ) -> bool:
        return self.transition(
            job_id,
            COMPLETED,
            event="completed",
            message=message,
            from_statuses={RUNNING},
            values={"error": None, **(values or {})},
        )

    def fail(self, job_id: str, error: str, *, retry: bool = False) -> bool:
        """running -> failed, or back to queued when `retry` and attempts remain; True if it runs again."""
        error = _clip(error) or "failed"
        job = self.get(job_id)
        if retry and job.attempts < job.max_attempts:
            moved = self.transition(
                job_id,
                QUEUED,
                event="retrying",
                from_statuses={RUNNING, PENDING, QUEUED},
                message=f"attempt {job.attempts} failed: {error}; will retry",
                values={"error": error},
            )
            return moved
        self.transition(
            job_id,
            FAILED,
            event="failed",
            message=error,
            from_statuses={RUNNING, PENDING, QUEUED},
            values={"error": error},
        )
        return False

    def cancel(self, job_id: str, *, reason: str = "cancelled by request") -> Job:
        job = self.get(job_id)
        if job.is_terminal:
            raise JobStateError(f"job {job_id} is already {job.status}; nothing to cancel")
        if not self.transition(
            job_id,
            CANCELLED,
            event="cancelled",
            message=reason,
            from_statuses=ACTIVE,
            values={"error": reason},
        ):
            raise JobStateError(f"job {job_id} finished while it was being cancelled")
        return self.get(job_id)

    def retry(self, job_id: str, *, reason: str = "retry requested") -> Job:
        """A failed or cancelled job back to queued, allowed at least one more attempt."""
        job = self.get(job_id)
        if job.status not in {FAILED, CANCELLED}:
            raise JobStateError(f"job {job_id} is {job.status}; only failed or cancelled jobs can be retried")
        # At least one more attempt, even when the job has used up its allowance.
        max_attempts = max(job.max_attempts, job.attempts + 1)
        moved = self.transition(
            job_id,
            QUEUED,
            event="retry",
            message=reason,
            from_statuses={FAILED, CANCELLED},
            values={"error": None, "completed_at": None, "max_attempts": max_attempts},
        )
        if not moved:
            raise JobStateError(f"job {job_id} changed while it was being retried")
        return self.get(job_id)

    def reap_stuck(
        self, limits: Mapping[str, float], *, default_limit: float = 900.0, now: datetime | None = None
    ) -> builtins.list[ReapedJob]:
        """Fail running jobs whose heartbeat is older than their processor's limit (seconds), and queue them
        again when attempts remain. Returns what was reaped."""
        now = now or utc_now()
        reaped: builtins.list[ReapedJob] = []
        oldest = now - timedelta(seconds=min([default_limit, *limits.values()]))
        with self.engine.connect() as conn:
            candidates = [
                Job.from_row(r)
                for r in conn.execute(
                    select(jobs_table).where(
                        jobs_table.c.status == RUNNING,
                        or_(jobs_table.c.heartbeat_at.is_(None), jobs_table.c.heartbeat_at < oldest),
                    )
                ).all()
            ]
        for job in candidates:
            limit = limits.get(job.processor or "", default_limit)
            beat = job.heartbeat_at or job.started_at or job.created_at
            silent = (now - beat).total_seconds()
            if silent <= limit:
                continue
            processor = job.processor or "this processor"
            reason = f"no heartbeat for {silent:.0f} s (limit {limit:.0f} s for {processor})"
            retry = job.attempts < job.max_attempts
            changes = {"error": reason}
            with self.engine.begin() as conn:
                # Only if it is still the same silent attempt: a heartbeat in between keeps it alive.
                moved = conn.execute(
                    update(jobs_table)
                    .where(
                        jobs_table.c.id == job.id,
                        jobs_table.c.status == RUNNING,
                        jobs_table.c.attempts == job.attempts,
                        or_(
                            jobs_table.c.heartbeat_at.is_(None), jobs_table.c.heartbeat_at == job.heartbeat_at
                        ),
                    )
                    .values(
                        status=QUEUED if retry else FAILED, completed_at=None if retry else now, **changes
                    )
                ).rowcount
                if not moved:
                    continue
                self._event(conn, job.id, "stuck", reason, now)
                self._event(
                    conn,
                    job.id,
                    "retrying" if retry else "failed",
                    f"attempt {job.attempts} of {job.max_attempts} is presumed dead; "
                    + ("queued again" if retry else "no attempts left"),
                    now,
                )
            reaped.append(ReapedJob(job=self.get(job.id), retried=retry))
        return reaped

    def counts_by_status(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(jobs_table.c.status, func.count()).group_by(jobs_table.c.status)).all()
        return {r[0]: int(r[1]) for r in rows}

    def active_for(self, repository: str, kind: str) -> builtins.list[Job]:
        """Unfinished jobs of a repository and kind (a schedule does not pile up duplicates)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(jobs_table).where(
                    and_(
                        jobs_table.c.repository == repository,
                        jobs_table.c.kind == kind,
                        jobs_table.c.status.in_(ACTIVE),
                    )
                )
            ).all()
        return [Job.from_row(r) for r in rows]


__all__ = [
    "JobStore",
    "UnknownJob",
    "JobStateError",
    "ReapedJob",
    "RouteFields",
    "new_job_id",
    "PENDING",
    "QUEUED",
    "RUNNING",
    "COMPLETED",
    "FAILED",
    "CANCELLED",
]
