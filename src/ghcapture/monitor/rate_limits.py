"""The rate-limit page's figures: each budget's latest reading of each resource (REST core, GraphQL...)
and, hour by hour over the last day, the least it had left."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from ghcapture.monitor.budgets import BudgetSample, budget_history, latest_budgets
from ghcapture.monitor.timeline import key_of, last_hours

HOURS = 24


@dataclass(frozen=True)
class BudgetNow:
    """A budget's resource as of its latest reading, seen from `now` (a window that has reset is whole)."""

    sample: BudgetSample
    remaining_now: int
    low: bool  # below the reserve the alerts use

    @property
    def share_left(self) -> float:
        return self.remaining_now / self.sample.limit if self.sample.limit else 0.0


@dataclass(frozen=True)
class BudgetHours:
    """The least remaining in each of the last HOURS hours (None: no reading that hour)."""

    budget: str
    resource: str
    limit: int
    hours: list[datetime]
    lowest: list[int | None]


@dataclass(frozen=True)
class RateLimits:
    budgets: list[BudgetNow]
    history: list[BudgetHours]


def rate_limits(connection: Connection, now: datetime, reserve: float) -> RateLimits:
    latest = [
        BudgetNow(
            sample=sample,
            remaining_now=sample.remaining_at(now),
            low=sample.remaining_at(now) < sample.limit * reserve,
        )
        for sample in latest_budgets(connection)
    ]
    hours = last_hours(now, HOURS)
    keys = [key_of(hour, "hour") for hour in hours]
    lowest: dict[tuple[str, str], dict[str, int]] = {}
    limits: dict[tuple[str, str], int] = {}
    for sample in budget_history(connection, hours[0]):
        name = (sample.budget, sample.resource)
        hour = key_of(sample.sampled_at, "hour")
        seen = lowest.setdefault(name, {})
        seen[hour] = min(seen.get(hour, sample.remaining), sample.remaining)
        limits[name] = sample.limit
    history = [
        BudgetHours(
            budget=budget,
            resource=resource,
            limit=limits[(budget, resource)],
            hours=hours,
            lowest=[lowest[(budget, resource)].get(key) for key in keys],
        )
        for budget, resource in sorted(lowest)
    ]
    return RateLimits(budgets=latest, history=history)
