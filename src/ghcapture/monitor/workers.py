"""The workers of the local engine, as the job store knows them: a worker names itself (host, process, a
random tag) in the "started" event of each job it runs, and beats the jobs it holds."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Connection, select

from ghcapture.jobs.model import RUNNING
from ghcapture.store.tables import job_events
from ghcapture.store.tables import progressive_capture_jobs as jobs

# "attempt 2 of 3 on host-4242-a1b2c3": the worker's executor id ends the message (jobs.local).
_ON_WORKER = re.compile(r"^attempt \d+ of \d+ on (?P<worker>\S+)$")
# Workers that started a job this recently are listed even when they hold none now.
RECENT = timedelta(hours=1)


@dataclass(frozen=True)
class HeldJob:
    id: str
    kind: str
    repository: str | None
    lane: str | None
    heartbeat_at: datetime | None


@dataclass
class Worker:
    name: str
    last_started_at: datetime
    jobs: list[HeldJob] = field(default_factory=list)

    @property
    def heartbeat_at(self) -> datetime | None:
        beats = [job.heartbeat_at for job in self.jobs if job.heartbeat_at is not None]
        return max(beats) if beats else None

    def alive(self, now: datetime, dead_after_seconds: float) -> bool:
        """Holding a job it beat within `dead_after_seconds`; an idle worker beats nothing and is not known
        to be alive."""
        beat = self.heartbeat_at
        return beat is not None and (now - beat).total_seconds() <= dead_after_seconds


def worker_of(message: str | None) -> str | None:
    match = _ON_WORKER.match(message or "")
    return match["worker"] if match else None


def workers(connection: Connection, now: datetime) -> list[Worker]:
    """Workers holding a running job, then those that started one within RECENT, busiest first."""
    found: dict[str, Worker] = {}
    running = {row.id: row for row in connection.execute(select(jobs).where(jobs.c.status == RUNNING))}
    if running:
        # Each running job's latest "started" event names the worker running its current attempt.
        latest: dict[str, tuple[int, str | None]] = {}
        for job_id, event_id, message in connection.execute(
            select(job_events.c.job_id, job_events.c.id, job_events.c.message).where(
                job_events.c.job_id.in_(running), job_events.c.type == "started"
            )
        ):
            if job_id not in latest or event_id > latest[job_id][0]:
                latest[job_id] = (event_id, message)
        for job_id, (_, message) in latest.items():
            name = worker_of(message)
            if name is None:
                continue
            row = running[job_id]
            worker = found.setdefault(name, Worker(name=name, last_started_at=row.started_at or row.created_at))
            worker.last_started_at = max(worker.last_started_at, row.started_at or row.created_at)
            worker.jobs.append(
                HeldJob(id=row.id, kind=row.kind, repository=row.repository, lane=row.lane, heartbeat_at=row.heartbeat_at)
            )
    for at, message in connection.execute(
        select(job_events.c.at, job_events.c.message).where(
            job_events.c.at >= now - RECENT, job_events.c.type == "started"
        )
    ):
        name = worker_of(message)
        if name is None:
            continue
        worker = found.setdefault(name, Worker(name=name, last_started_at=at))
        worker.last_started_at = max(worker.last_started_at, at)
    return sorted(found.values(), key=lambda w: (-len(w.jobs), w.name))
