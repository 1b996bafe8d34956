"""Rate-limit budgets as the store's samples tell them: the latest reading of each, and their history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, select

from ghcapture.store.tables import rate_limit_samples as samples


@dataclass(frozen=True)
class BudgetSample:
    """What GitHub said of one resource ("core", "graphql", ...) of one budget (a token or an App
    installation, by name) at `sampled_at`."""

    budget: str
    resource: str
    limit: int
    remaining: int
    used: int
    reset_at: datetime
    sampled_at: datetime

    def remaining_at(self, now: datetime) -> int:
        """What is left at `now`: the whole limit once the window has reset since the reading."""
        return self.limit if self.reset_at <= now else self.remaining

    def as_dict(self) -> dict[str, Any]:
        return {
            "budget": self.budget,
            "resource": self.resource,
            "limit": self.limit,
            "remaining": self.remaining,
            "used": self.used,
            "reset_at": self.reset_at.isoformat(),
            "sampled_at": self.sampled_at.isoformat(),
        }


def _sample(row: Any) -> BudgetSample:
    return BudgetSample(
        budget=row.budget,
        resource=row.resource,
        limit=int(row.limit),
        remaining=int(row.remaining),
        used=int(row.used),
        reset_at=row.reset_at,
        sampled_at=row.sampled_at,
    )


def latest_budgets(connection: Connection) -> list[BudgetSample]:
    """The newest sample of each (budget, resource), sorted by budget and resource."""
    newest = (
        select(samples.c.budget, samples.c.resource, func.max(samples.c.sampled_at).label("at"))
        .group_by(samples.c.budget, samples.c.resource)
        .subquery()
    )
    query = (
        select(samples)
        .join(
            newest,
            and_(
                samples.c.budget == newest.c.budget,
                samples.c.resource == newest.c.resource,
                samples.c.sampled_at == newest.c.at,
            ),
        )
        .order_by(samples.c.budget, samples.c.resource, samples.c.id.desc())
    )
    latest: dict[tuple[str, str], BudgetSample] = {}
    for row in connection.execute(query):
        # Two processes may sample in the same instant; the row written last wins.
        latest.setdefault((row.budget, row.resource), _sample(row))
    return list(latest.values())


def budget_history(connection: Connection, since: datetime) -> list[BudgetSample]:
    """Every sample taken at or after `since`, oldest first."""
    query = (
        select(samples)
        .where(samples.c.sampled_at >= since)
        .order_by(samples.c.sampled_at, samples.c.budget, samples.c.resource, samples.c.id)
    )
    return [_sample(row) for row in connection.execute(query)]
