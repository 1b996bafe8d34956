"""Deliveries that do not carry what changed (a push changes files and commits; a review's comments) become a
realtime `pr-details` job. A burst of deliveries for one repository within the coalescing window becomes one
job: the job waits out the window, and every pull request named meanwhile joins it."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from sqlalchemy import Engine, select, update

from ghcapture.jobs.model import PENDING, QUEUED
from ghcapture.jobs.router import CaptureRequest, HybridRouter, repository_facts
from ghcapture.jobs.settings import JobSettings
from ghcapture.jobs.store import JobStore, jobs_table
from ghcapture.store.tables import utc_now

KIND = "pr-details"
TRIGGER = "webhook"
# A job about to start takes no more numbers: it may already have read them.
JOIN_MARGIN = timedelta(milliseconds=500)


class PullRequestJobs:
    """Where the realtime jobs of deliveries go, and how long a burst is gathered."""

    def __init__(self, engine: Engine, jobs: JobSettings, *, window_seconds: float = 5.0) -> None:
        self.engine, self.jobs, self.window_seconds = engine, jobs, window_seconds
        self._lock = threading.Lock()  # one receiver's deliveries join a job one at a time

    def request(self, repository: str, number: int) -> str:
        """The id of the job that will capture pull request `number` of `repository`: a waiting one of the
        window, or a new one."""
        with self._lock:
            joined = self._join(repository, number)
            return joined if joined is not None else self._create(repository, number)

    def _join(self, repository: str, number: int) -> str | None:
        limit = self.jobs.router.realtime_max_items or 50
        soon = utc_now() + JOIN_MARGIN
        with self.engine.connect() as conn:
            waiting = conn.execute(
                select(jobs_table.c.id, jobs_table.c.params)
                .where(
                    jobs_table.c.repository == repository,
                    jobs_table.c.kind == KIND,
                    jobs_table.c.trigger == TRIGGER,
                    jobs_table.c.status.in_((PENDING, QUEUED)),
                    jobs_table.c.started_at.is_(None),
                    jobs_table.c.attempts == 0,
                )
                .order_by(jobs_table.c.created_at.desc())
            ).all()
        for job_id, params in waiting:
            not_before = _moment((params or {}).get("not_before"))
            if not_before is None or not_before <= soon:
                continue
            numbers = list((params or {}).get("pr_numbers") or [])
            if number in numbers:
                return str(job_id)
            if len(numbers) >= limit:
                continue
            with self.engine.begin() as conn:
                moved = conn.execute(
                    update(jobs_table)
                    .where(
                        jobs_table.c.id == job_id,
                        jobs_table.c.status.in_((PENDING, QUEUED)),
                        jobs_table.c.started_at.is_(None),
                    )
                    .values(params={**params, "pr_numbers": sorted({*numbers, number})})
                ).rowcount
            if moved:
                return str(job_id)
        return None

    def _create(self, repository: str, number: int) -> str:
        request = CaptureRequest(repository, kind=KIND, pr_numbers=(number,), trigger=TRIGGER)
        route = HybridRouter(self.jobs.router).route(request, repository_facts(self.engine, repository, KIND))
        not_before = utc_now() + timedelta(seconds=self.window_seconds)
        job = JobStore(self.engine).create(
            kind=KIND,
            repository=repository,
            route=route,
            trigger=TRIGGER,
            params={**request.params(), "not_before": not_before.isoformat()},
            max_attempts=self.jobs.max_attempts,
        )
        return job.id


def _moment(text: object) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None
