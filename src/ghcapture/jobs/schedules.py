"""Tracked repositories: a refresh of recent data on a schedule (a DBOS cron schedule) and a one-time
backfill; newly tracked repositories go first."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, select, update

from ghcapture.errors import GhcaptureError, InputError
from ghcapture.jobs.model import ACTIVE
from ghcapture.jobs.router import CaptureRequest, HybridRouter, repository_facts
from ghcapture.jobs.settings import JobSettings
from ghcapture.jobs.store import JobStore, jobs_table
from ghcapture.store.tables import tracked_repositories, utc_now
from ghcapture.store.upsert import upsert_rows

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
NEW_PRIORITY, SETTLED_PRIORITY = 1, 10
SCHEDULE_PREFIX = "ghcapture-track:"


class NotTracked(GhcaptureError):
    """The repository is not tracked."""


@dataclass(frozen=True)
class TrackedRepository:
    repository: str
    kind: str
    every_seconds: int
    backfill_days: int | None
    backfill_done: bool
    priority: int
    created_at: datetime
    last_enqueued_at: datetime | None

    @property
    def cron(self) -> str:
        return cron_for(self.every_seconds)


def parse_every(text: str) -> int:
    """'6h', '30m', '1d', '45s' -> seconds; the interval must divide its unit's cycle for cron to keep it."""
    match = re.fullmatch(r"\s*(\d+)\s*([smhd])\s*", text.lower())
    if not match:
        raise InputError(f"--every: {text!r} is not an interval like 30m, 6h or 1d")
    amount, unit = int(match[1]), match[2]
    cycle = {"s": 60, "m": 60, "h": 24, "d": 31}[unit]
    if amount < 1 or (unit != "d" and cycle % amount) or amount > cycle:
        raise InputError(
            f"--every: {text!r} must divide a minute, an hour or a day evenly (e.g. 30s, 15m, 6h, 1d)"
        )
    return amount * _UNITS[unit]


def cron_for(seconds: int) -> str:
    """A six-field (with seconds) cron expression firing every `seconds`."""
    if seconds < 60:
        return f"*/{seconds} * * * * *"
    if seconds < 3600:
        return f"0 */{seconds // 60} * * * *"
    if seconds < 86400:
        return f"0 0 */{seconds // 3600} * * *"
    return f"0 0 0 */{seconds // 86400} * *"


def track(
    engine: Engine, repository: str, *, every_seconds: int, backfill_days: int | None, kind: str = "prs"
) -> TrackedRepository:
    if backfill_days is not None and backfill_days < 1:
        raise InputError("--backfill must be at least 1 day")
    with engine.begin() as conn:
        upsert_rows(
            conn,
            tracked_repositories,
            [
                {
                    "repository": repository,
                    "kind": kind,
                    "every_seconds": every_seconds,
                    "backfill_days": backfill_days,
                    "backfill_done": backfill_days is None,
                    "priority": NEW_PRIORITY,
                    "created_at": utc_now(),
                }
            ],
            key=["repository"],
        )
    return get_tracked(engine, repository)


def untrack(engine: Engine, repository: str) -> None:
    with engine.begin() as conn:
        if not conn.execute(
            delete(tracked_repositories).where(tracked_repositories.c.repository == repository)
        ).rowcount:
            raise NotTracked(f"{repository} is not tracked (see: ghcapture track --list)")


def get_tracked(engine: Engine, repository: str) -> TrackedRepository:
    with engine.connect() as conn:
        row = conn.execute(
            select(tracked_repositories).where(tracked_repositories.c.repository == repository)
        ).first()
    if row is None:
        raise NotTracked(f"{repository} is not tracked (see: ghcapture track --list)")
    return TrackedRepository(**row._mapping)


def list_tracked(engine: Engine) -> list[TrackedRepository]:
    with engine.connect() as conn:
        rows = conn.execute(select(tracked_repositories).order_by(tracked_repositories.c.repository)).all()
    return [TrackedRepository(**r._mapping) for r in rows]


def enqueue_tracked_job(engine: Engine, jobs: JobSettings, repository: str, *, backfill: bool) -> str | None:
    """Record a scheduled refresh (or the backfill) of a tracked repository; None when one is already
    waiting or running, or the repository is no longer tracked."""
    try:
        tracked = get_tracked(engine, repository)
    except NotTracked:
        return None
    store = JobStore(engine)
    with engine.connect() as conn:
        busy = conn.execute(
            select(jobs_table.c.id)
            .where(
                jobs_table.c.repository == repository,
                jobs_table.c.kind == tracked.kind,
                jobs_table.c.status.in_(ACTIVE),
                jobs_table.c.trigger == ("background" if backfill else "scheduled"),
            )
            .limit(1)
        ).first()
    if busy is not None:
        return None
    if backfill:
        request = CaptureRequest(
            repository, kind=tracked.kind, days=tracked.backfill_days, trigger="background"
        )
    else:
        request = CaptureRequest(repository, kind=tracked.kind, trigger="scheduled")
    route = HybridRouter(jobs.router).route(request, repository_facts(engine, repository, tracked.kind))
    params: dict[str, Any] = {**request.params(), "priority": tracked.priority}
    job = store.create(
        kind=tracked.kind,
        repository=repository,
        route=route,
        trigger=request.trigger,
        params=params,
        max_attempts=jobs.max_attempts,
    )
    with engine.begin() as conn:
        conn.execute(
            update(tracked_repositories)
            .where(tracked_repositories.c.repository == repository)
            .values(last_enqueued_at=utc_now())
        )
    return job.id


def claim_backfills(engine: Engine) -> list[str]:
    """Repositories whose backfill nobody has recorded yet, each claimed by exactly one worker."""
    claimed: list[str] = []
    with engine.connect() as conn:
        due = conn.execute(
            select(tracked_repositories.c.repository)
            .where(tracked_repositories.c.backfill_done.is_(False))
            .order_by(tracked_repositories.c.created_at)
        ).all()
    for (repository,) in due:
        with engine.begin() as conn:
            if conn.execute(
                update(tracked_repositories)
                .where(
                    tracked_repositories.c.repository == repository,
                    tracked_repositories.c.backfill_done.is_(False),
                )
                .values(backfill_done=True)
            ).rowcount:
                claimed.append(repository)
    return claimed


def settle_priorities(engine: Engine, after_seconds: float = 86400.0) -> None:
    """A repository tracked for a day, with its backfill recorded, stops jumping the queue."""
    from datetime import timedelta

    cutoff = utc_now() - timedelta(seconds=after_seconds)
    with engine.begin() as conn:
        conn.execute(
            update(tracked_repositories)
            .where(
                tracked_repositories.c.created_at < cutoff,
                tracked_repositories.c.backfill_done.is_(True),
                tracked_repositories.c.priority == NEW_PRIORITY,
            )
            .values(priority=SETTLED_PRIORITY)
        )
