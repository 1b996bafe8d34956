"""JobProgress: a capture's progress written to its job row (counters, spend, heartbeat) and event trail.

Spend is added as deltas, so several reporters on one job (retried attempts, steps, chunks) sum correctly.
Items done are absolute, except for a `shared` reporter (one matrix chunk of several running at once), which
adds what it did since its last report, so the chunks' counts add up instead of overwriting each other.
"""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import Engine, update

from ghcapture.jobs.model import PENDING, QUEUED, RUNNING
from ghcapture.jobs.store import JobStore, jobs_table
from ghcapture.store.tables import utc_now


class JobProgress:
    """A Progress reporter for `ghcapture capture ... --job-id ID`: pending/queued -> running on start,
    running -> completed on finish and -> failed on fail (unless `settle` is False, when whoever runs the
    job decides its end). A `shared` reporter adds its items done to the job's instead of setting them."""

    def __init__(
        self, engine: Engine | JobStore, job_id: str, *, settle: bool = True, shared: bool = False
    ) -> None:
        self.store = engine if isinstance(engine, JobStore) else JobStore(engine)
        self.job_id = job_id
        self.settle = settle
        self.shared = shared
        self._done = 0
        self._points = 0
        self._requests = 0
        self._lock = threading.Lock()
        self.store.get(job_id)  # an unknown id fails before any work is done

    def start(self, repository: str, total: int | None) -> None:
        job = self.store.get(self.job_id)
        if job.status in (PENDING, QUEUED):
            self.store.start(self.job_id)
        elif job.status == RUNNING:
            self.store.add_event(self.job_id, "resumed", f"capture of {repository} under way again")
        self.record_total(total)

    def record_total(self, total: int | None) -> None:
        job = self.store.get(self.job_id)
        scope_total = len(job.params["pr_numbers"]) if job.params.get("pr_numbers") else None
        if scope_total is None and not job.params.get("days") and not job.params.get("since"):
            scope_total = total  # everything: GitHub's PR total is the size of the work
        if scope_total is not None:
            self.store.progress(self.job_id, items_total=scope_total)

    def advance(self, done: int, *, points: int, requests: int, budget: dict[str, Any]) -> None:
        with self._lock:
            d_points, d_requests = points - self._points, requests - self._requests
            self._points, self._requests = points, requests
            d_done, self._done = done - self._done, done
        with self.store.engine.begin() as conn:
            conn.execute(
                update(jobs_table)
                .where(jobs_table.c.id == self.job_id, jobs_table.c.status == RUNNING)
                .values(
                    items_done=self._items_done(done, d_done),
                    heartbeat_at=utc_now(),
                    points_used=jobs_table.c.points_used + max(0, d_points),
                    requests_made=jobs_table.c.requests_made + max(0, d_requests),
                )
            )

    def _items_done(self, done: int, delta: int) -> Any:
        # The database adds the delta in one statement, so concurrent chunks never lose each other's counts.
        return jobs_table.c.items_done + max(0, delta) if self.shared else done

    def _final_spend(self, result: Any) -> None:
        points = getattr(result, "points_used", self._points)
        requests = getattr(result, "requests_made", self._requests)
        with self._lock:
            d_points, d_requests = points - self._points, requests - self._requests
            self._points, self._requests = points, requests
        if d_points > 0 or d_requests > 0:
            self.store.add_spend(self.job_id, points=max(0, d_points), requests=max(0, d_requests))

    def finish(self, result: Any) -> None:
        self._final_spend(result)
        done = getattr(result, "pull_requests", None)
        if done is not None and self.shared:
            with self._lock:
                d_done, self._done = done - self._done, done
            if d_done > 0:
                with self.store.engine.begin() as conn:
                    conn.execute(
                        update(jobs_table)
                        .where(jobs_table.c.id == self.job_id, jobs_table.c.status == RUNNING)
                        .values(items_done=self._items_done(done, d_done), heartbeat_at=utc_now())
                    )
        elif done is not None:
            self.store.progress(self.job_id, items_done=done)
        if self.settle:
            self.store.complete(self.job_id, message=job_summary(self.store, self.job_id, result))

    def fail(self, message: str) -> None:
        if self.settle:
            self.store.fail(self.job_id, message or "the capture failed")


def summary(result: Any, *, points: int | None = None, requests: int | None = None) -> str:
    """One line of what a capture stored and spent, for the job's events (`points` and `requests`: the
    spend to report instead of the result's own)."""
    if result is None or not hasattr(result, "pull_requests"):
        return "capture finished"
    points = result.points_used if points is None else points
    requests = result.requests_made if requests is None else requests
    return (
        f"{result.pull_requests} pull requests, {result.reviews} reviews, "
        f"{result.review_comments + result.issue_comments} comments, {result.files} files; "
        f"{points} points, {requests} requests"
    )


def job_summary(store: JobStore, job_id: str, result: Any) -> str:
    """The summary of a job's last capture, with the whole job's spend from its row: a job captured in
    several steps, attempts or chunks spent more than its last capture did."""
    job = store.get(job_id)
    return summary(result, points=job.points_used, requests=job.requests_made)
