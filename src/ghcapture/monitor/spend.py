"""What capture jobs spent (GraphQL points, requests, runner time, dollars), summed per group of jobs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, func, select

from ghcapture.store.tables import progressive_capture_jobs as jobs

# Shown for a job whose lane, processor or repository was never set.
UNSET = "none"


@dataclass(frozen=True)
class Spend:
    """The totals of a group of jobs; `items_done` counts the pull requests they captured."""

    jobs: int = 0
    items_done: int = 0
    points: int = 0
    requests: int = 0
    billable_ms: int = 0
    cost_usd: float = 0.0

    @property
    def billable_minutes(self) -> float:
        return self.billable_ms / 60_000

    @property
    def points_per_pr(self) -> float | None:
        """GraphQL points spent per captured pull request; None until one was captured."""
        return self.points / self.items_done if self.items_done else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "jobs": self.jobs,
            "items_done": self.items_done,
            "points": self.points,
            "requests": self.requests,
            "billable_minutes": round(self.billable_minutes, 3),
            "cost_usd": round(self.cost_usd, 6),
            "points_per_pr": None if self.points_per_pr is None else round(self.points_per_pr, 3),
        }


def _totals() -> list[ColumnElement[Any]]:
    return [
        func.count().label("jobs"),
        func.coalesce(func.sum(jobs.c.items_done), 0).label("items_done"),
        func.coalesce(func.sum(jobs.c.points_used), 0).label("points"),
        func.coalesce(func.sum(jobs.c.requests_made), 0).label("requests"),
        func.coalesce(func.sum(jobs.c.billable_ms), 0).label("billable_ms"),
        func.coalesce(func.sum(jobs.c.cost_usd), 0.0).label("cost_usd"),
    ]


def _spend(row: Any) -> Spend:
    return Spend(
        jobs=int(row.jobs),
        items_done=int(row.items_done),
        points=int(row.points),
        requests=int(row.requests),
        billable_ms=int(row.billable_ms),
        cost_usd=float(row.cost_usd),
    )


def total_spend(connection: Connection, since: datetime | None = None) -> Spend:
    """All jobs created at or after `since` (all jobs when None)."""
    query = select(*_totals())
    if since is not None:
        query = query.where(jobs.c.created_at >= since)
    return _spend(connection.execute(query).one())


def spend_by(
    connection: Connection, group: tuple[str, ...], since: datetime | None = None
) -> list[tuple[tuple[str, ...], Spend]]:
    """Totals per distinct value of the named job columns (e.g. ("lane", "processor")), sorted by key."""
    keys = [jobs.c[name] for name in group]
    query = select(*keys, *_totals()).group_by(*keys)
    if since is not None:
        query = query.where(jobs.c.created_at >= since)
    grouped = [
        (tuple(UNSET if row[i] is None else str(row[i]) for i in range(len(group))), _spend(row))
        for row in connection.execute(query)
    ]
    return sorted(grouped, key=lambda item: item[0])
