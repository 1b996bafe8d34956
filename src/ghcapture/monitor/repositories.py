"""Each known or tracked repository: what the store holds against GitHub's totals, when it was last synced,
when its next scheduled refresh comes, and its open jobs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, func, select, text

from ghcapture.jobs.model import ACTIVE, COMPLETED
from ghcapture.store.tables import (
    contributors,
    pull_requests,
    repositories,
    tracked_repositories,
    webhook_deliveries,
)
from ghcapture.store.tables import progressive_capture_jobs as jobs


@dataclass(frozen=True)
class RepositoryStatus:
    full_name: str
    pull_requests: int
    github_pr_total: int | None
    truncated_file_lists: int
    last_synced_at: datetime | None  # the capture's own record, or the last completed job's end
    last_delivery_at: datetime | None  # the last webhook delivery received for it
    open_jobs: int
    tracked_every_seconds: int | None
    next_refresh_at: datetime | None

    @property
    def completeness(self) -> float | None:
        """Percent of GitHub's pull requests held (at most 100); None when GitHub's total is unknown."""
        if self.github_pr_total is None:
            return None
        if self.github_pr_total == 0:
            return 100.0
        return min(100.0 * self.pull_requests / self.github_pr_total, 100.0)

    @property
    def missing(self) -> int | None:
        return None if self.github_pr_total is None else max(self.github_pr_total - self.pull_requests, 0)


def next_refresh(every_seconds: int, now: datetime) -> datetime:
    """When a tracked repository's cron schedule (`jobs.schedules.cron_for`) next fires after `now`.

    Intervals under a day divide it evenly, so they fire at the multiples of the interval since midnight;
    an interval of N days fires at midnight on days 1, 1+N, 1+2N... of the month, as `*/N` day-of-month does.
    """
    now = now.astimezone(UTC)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if every_seconds < 86400:
        elapsed = (now - midnight).total_seconds()
        return midnight + timedelta(seconds=(int(elapsed // every_seconds) + 1) * every_seconds)
    step = every_seconds // 86400
    day = midnight
    while True:
        day += timedelta(days=1)
        if (day.day - 1) % step == 0:
            return day


def repository_statuses(
    connection: Connection, now: datetime, full_name: str | None = None
) -> list[RepositoryStatus]:
    """Every known or tracked repository, or only `full_name`."""
    held_query = select(pull_requests.c.repository_id, func.count()).group_by(pull_requests.c.repository_id)
    if full_name is not None:
        held_query = held_query.where(
            pull_requests.c.repository_id.in_(
                select(repositories.c.github_id)
                .where(repositories.c.full_name == full_name)
                .scalar_subquery()
            )
        )
    held: dict[int, int] = dict(connection.execute(held_query).all())
    truncated: dict[int, int] = dict(
        connection.execute(
            select(pull_requests.c.repository_id, func.count())
            # Marked by the capture when GitHub listed fewer files than the PR changed (its 3,000-file cap).
            # In the words of its partial index, so the database reads the index, not every PR.
            .where(text("files_truncated"))
            .group_by(pull_requests.c.repository_id)
        ).all()
    )
    open_jobs: dict[str, int] = dict(
        connection.execute(
            select(jobs.c.repository, func.count())
            .where(jobs.c.status.in_(ACTIVE))
            .group_by(jobs.c.repository)
        ).all()
    )
    last_completed = dict(
        connection.execute(
            select(jobs.c.repository, func.max(jobs.c.completed_at))
            .where(jobs.c.status == COMPLETED)
            .group_by(jobs.c.repository)
        ).all()
    )
    deliveries = dict(
        connection.execute(
            select(webhook_deliveries.c.repository, func.max(webhook_deliveries.c.received_at))
            .where(webhook_deliveries.c.repository.is_not(None))
            .group_by(webhook_deliveries.c.repository)
        ).all()
    )
    tracked = {row.repository: row.every_seconds for row in connection.execute(select(tracked_repositories))}
    known = {row.full_name: row for row in connection.execute(select(repositories))}
    names = set(known) | set(tracked)
    statuses = []
    for name in sorted(names if full_name is None else names & {full_name}):
        row = known.get(name)
        synced = [t for t in (row.last_synced_at if row else None, last_completed.get(name)) if t is not None]
        every = tracked.get(name)
        statuses.append(
            RepositoryStatus(
                full_name=name,
                pull_requests=int(held.get(row.github_id, 0)) if row else 0,
                github_pr_total=row.github_pr_total if row else None,
                truncated_file_lists=int(truncated.get(row.github_id, 0)) if row else 0,
                last_synced_at=max(synced) if synced else None,
                last_delivery_at=deliveries.get(name),
                open_jobs=int(open_jobs.get(name, 0)),
                tracked_every_seconds=every,
                next_refresh_at=next_refresh(every, now) if every else None,
            )
        )
    return statuses


@dataclass(frozen=True)
class HeldPullRequest:
    number: int
    title: str | None
    author: str | None
    state: str | None
    merged: bool | None
    updated_at: datetime | None
    html_url: str | None


def latest_pull_requests(
    connection: Connection, full_name: str, limit: int = 25
) -> list[HeldPullRequest] | None:
    """The repository's most recently updated pull requests held, newest first; None for an unknown one."""
    repository_id = connection.execute(
        select(repositories.c.github_id).where(repositories.c.full_name == full_name)
    ).scalar()
    if repository_id is None:
        return None
    query = (
        select(
            pull_requests.c.number,
            pull_requests.c.title,
            contributors.c.login,
            pull_requests.c.state,
            pull_requests.c.merged,
            pull_requests.c.updated_at,
            pull_requests.c.html_url,
        )
        .select_from(
            pull_requests.outerjoin(contributors, contributors.c.github_id == pull_requests.c.author_id)
        )
        .where(pull_requests.c.repository_id == repository_id)
        .order_by(pull_requests.c.updated_at.desc(), pull_requests.c.number.desc())
        .limit(limit)
    )
    return [HeldPullRequest(*row) for row in connection.execute(query)]
