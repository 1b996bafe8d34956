"""A snapshot of the store for the dashboard: jobs, repositories held, spend, running jobs."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select

from ghcapture.monitor.spend import UNSET, Spend, spend_by, total_spend
from ghcapture.store.tables import comments, pr_files, pull_requests, repositories, reviews, utc_now
from ghcapture.store.tables import progressive_capture_jobs as jobs_table

JOB_STATUSES = ("pending", "queued", "running", "completed", "failed", "cancelled")


@dataclass(frozen=True)
class JobCount:
    status: str
    lane: str
    count: int


@dataclass(frozen=True)
class RepositoryHeld:
    """What the store holds for one repository, beside GitHub's own pull-request total."""

    full_name: str
    github_pr_total: int | None
    pull_requests: int
    reviews: int
    comments: int
    files: int
    last_synced_at: datetime | None

    @property
    def missing(self) -> int | None:
        """Pull requests GitHub reports and the store lacks; None when GitHub's total is unknown."""
        return None if self.github_pr_total is None else max(self.github_pr_total - self.pull_requests, 0)


@dataclass(frozen=True)
class RunningJob:
    id: str
    kind: str
    repository: str
    lane: str
    processor: str
    heartbeat_at: datetime | None
    # Seconds since the last heartbeat (or the start, when none came yet); None when neither is known.
    heartbeat_age_s: float | None


@dataclass(frozen=True)
class RouteSpend:
    lane: str
    processor: str
    spend: Spend


@dataclass(frozen=True)
class Snapshot:
    taken_at: datetime
    jobs: list[JobCount] = field(default_factory=list)
    repositories: list[RepositoryHeld] = field(default_factory=list)
    spend: Spend = field(default_factory=Spend)
    spend_by_route: list[RouteSpend] = field(default_factory=list)
    running: list[RunningJob] = field(default_factory=list)

    def jobs_with_status(self, status: str) -> int:
        return sum(count.count for count in self.jobs if count.status == status)

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (times as ISO 8601)."""
        return {
            "taken_at": self.taken_at.isoformat(),
            "jobs": [{"status": c.status, "lane": c.lane, "count": c.count} for c in self.jobs],
            "repositories": [
                {
                    "full_name": r.full_name,
                    "github_pr_total": r.github_pr_total,
                    "pull_requests": r.pull_requests,
                    "missing": r.missing,
                    "reviews": r.reviews,
                    "comments": r.comments,
                    "files": r.files,
                    "last_synced_at": r.last_synced_at.isoformat() if r.last_synced_at else None,
                }
                for r in self.repositories
            ],
            "spend": self.spend.as_dict(),
            "spend_by_route": [
                {"lane": s.lane, "processor": s.processor, **s.spend.as_dict()} for s in self.spend_by_route
            ],
            "running": [
                {
                    "id": j.id,
                    "kind": j.kind,
                    "repository": j.repository,
                    "lane": j.lane,
                    "processor": j.processor,
                    "heartbeat_at": j.heartbeat_at.isoformat() if j.heartbeat_at else None,
                    "heartbeat_age_s": j.heartbeat_age_s,
                }
                for j in self.running
            ],
        }


def _counts_per_repository(connection: Any, table: Any) -> dict[int, int]:
    # Reviews, comments and files hang off a pull request; count them per repository through it.
    query = (
        select(pull_requests.c.repository_id, func.count())
        .select_from(table.join(pull_requests, table.c.pull_request_id == pull_requests.c.github_id))
        .group_by(pull_requests.c.repository_id)
    )
    return {int(repo_id): int(count) for repo_id, count in connection.execute(query)}


def collect(engine: Engine, now: datetime | None = None) -> Snapshot:
    """Read the store once and summarise it."""
    now = now or utc_now()
    with engine.connect() as connection:
        counts = [
            JobCount(status=str(status), lane=UNSET if lane is None else str(lane), count=int(count))
            for status, lane, count in connection.execute(
                select(jobs_table.c.status, jobs_table.c.lane, func.count())
                .group_by(jobs_table.c.status, jobs_table.c.lane)
                .order_by(jobs_table.c.status, jobs_table.c.lane)
            )
        ]
        held_prs = {
            int(repo_id): int(count)
            for repo_id, count in connection.execute(
                select(pull_requests.c.repository_id, func.count()).group_by(pull_requests.c.repository_id)
            )
        }
        held_reviews = _counts_per_repository(connection, reviews)
        held_comments = _counts_per_repository(connection, comments)
        held_files = _counts_per_repository(connection, pr_files)
        held = [
            RepositoryHeld(
                full_name=row.full_name,
                github_pr_total=row.github_pr_total,
                pull_requests=held_prs.get(row.github_id, 0),
                reviews=held_reviews.get(row.github_id, 0),
                comments=held_comments.get(row.github_id, 0),
                files=held_files.get(row.github_id, 0),
                last_synced_at=row.last_synced_at,
            )
            for row in connection.execute(select(repositories).order_by(repositories.c.full_name))
        ]
        spend = total_spend(connection)
        by_route = [
            RouteSpend(lane=key[0], processor=key[1], spend=value)
            for key, value in spend_by(connection, ("lane", "processor"))
        ]
        running = []
        for row in connection.execute(
            select(jobs_table).where(jobs_table.c.status == "running").order_by(jobs_table.c.created_at)
        ):
            beat = row.heartbeat_at or row.started_at
            running.append(
                RunningJob(
                    id=row.id,
                    kind=row.kind,
                    repository=row.repository or UNSET,
                    lane=row.lane or UNSET,
                    processor=row.processor or UNSET,
                    heartbeat_at=row.heartbeat_at,
                    heartbeat_age_s=(now - beat).total_seconds() if beat else None,
                )
            )
    return Snapshot(
        taken_at=now, jobs=counts, repositories=held, spend=spend, spend_by_route=by_route, running=running
    )
