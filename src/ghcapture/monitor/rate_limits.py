"""The rate-limit page's figures: each budget's latest reading of each resource (REST core, GraphQL...)
and, hour by hour over the last day, the least it had left."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, select

from ghcapture.monitor.budgets import BudgetSample, latest_budgets
from ghcapture.monitor.timeline import bucket, key_of, last_hours
from ghcapture.store.tables import rate_limit_samples as samples

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
    hour = bucket(samples.c.sampled_at, "hour", connection.dialect.name)
    lowest: dict[tuple[str, str], dict[str, int]] = {}
    limits: dict[tuple[str, str], int] = {}
    # Summed in the database: a day holds a reading a minute of every budget and resource.
    for budget, resource, key, least, limit in connection.execute(
        select(
            samples.c.budget,
            samples.c.resource,
            hour,
            func.min(samples.c.remaining),
            func.max(samples.c.limit),
        )
        .where(samples.c.sampled_at >= hours[0], samples.c.sampled_at <= now)
        .group_by(samples.c.budget, samples.c.resource, hour)
    ):
        lowest.setdefault((budget, resource), {})[key] = int(least)
        limits[(budget, resource)] = max(int(limit), limits.get((budget, resource), 0))
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
