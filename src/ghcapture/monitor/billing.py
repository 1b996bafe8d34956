"""What the bulk lane costs on GitHub Actions: billable minutes and dollars per repository, per 1,000 pull
requests, by day and by month, against the plan's free minutes. Jobs count when they ended."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, select

from ghcapture.monitor.spend import UNSET
from ghcapture.monitor.timeline import Unit, bucket, key_of, last_days, last_months
from ghcapture.store.tables import progressive_capture_jobs as jobs

DAYS = 30
MONTHS = 12
# GitHub Free includes 2,000 Actions minutes a month for private repositories.
DEFAULT_FREE_MINUTES = 2000.0


@dataclass(frozen=True)
class ActionsSpend:
    """Billable runner time, its price as recorded on the jobs, and the pull requests it captured."""

    label: str
    jobs: int = 0
    billable_ms: int = 0
    cost_usd: float = 0.0
    prs: int = 0

    @property
    def minutes(self) -> float:
        return self.billable_ms / 60_000

    @property
    def usd_per_1000_prs(self) -> float | None:
        return 1000 * self.cost_usd / self.prs if self.prs else None

    @property
    def minutes_per_1000_prs(self) -> float | None:
        return 1000 * self.minutes / self.prs if self.prs else None


@dataclass(frozen=True)
class MonthSpend:
    spend: ActionsSpend
    free_minutes: float
    price_per_minute: float

    @property
    def minutes_over(self) -> float:
        return max(self.spend.minutes - self.free_minutes, 0.0)

    @property
    def free_share_used(self) -> float | None:
        return self.spend.minutes / self.free_minutes if self.free_minutes else None

    @property
    def billed_usd(self) -> float:
        """What the plan charges: only the minutes beyond the free ones."""
        return self.minutes_over * self.price_per_minute


@dataclass(frozen=True)
class Billing:
    since: datetime
    total: ActionsSpend
    by_repository: list[ActionsSpend]
    by_day: list[ActionsSpend]
    by_month: list[MonthSpend]
    free_minutes: float
    price_per_minute: float


def _figures() -> list[Any]:
    return [
        func.count(),
        func.coalesce(func.sum(jobs.c.billable_ms), 0),
        func.coalesce(func.sum(jobs.c.cost_usd), 0.0),
        func.coalesce(func.sum(jobs.c.items_done), 0),
    ]


def _spend(label: str, row: Any) -> ActionsSpend:
    count, billable, cost, prs = row
    return ActionsSpend(
        label=label, jobs=int(count), billable_ms=int(billable), cost_usd=float(cost), prs=int(prs)
    )


def _by(connection: Connection, unit: Unit, starts: list[datetime], now: datetime) -> list[ActionsSpend]:
    key = bucket(jobs.c.completed_at, unit, connection.dialect.name)
    rows = {
        label: row
        for label, *row in connection.execute(
            select(key, *_figures())
            .where(
                jobs.c.billable_ms.is_not(None), jobs.c.completed_at >= starts[0], jobs.c.completed_at <= now
            )
            .group_by(key)
        )
    }
    spends = []
    for start in starts:
        label = key_of(start, unit)
        spends.append(_spend(label, rows[label]) if label in rows else ActionsSpend(label=label))
    return spends


def billing(
    connection: Connection,
    now: datetime,
    *,
    free_minutes: float = DEFAULT_FREE_MINUTES,
    price_per_minute: float = 0.006,
) -> Billing:
    """Actions jobs (those with billable time) that ended in the last DAYS days, by repository and day, and
    in the last MONTHS months by month."""
    since = now - timedelta(days=DAYS)
    recent = (jobs.c.billable_ms.is_not(None), jobs.c.completed_at >= since, jobs.c.completed_at <= now)
    by_repository = [
        _spend(name or UNSET, row)
        for name, *row in connection.execute(
            select(jobs.c.repository, *_figures()).where(*recent).group_by(jobs.c.repository)
        )
    ]
    total = _spend("total", connection.execute(select(*_figures()).where(*recent)).one())
    return Billing(
        since=since,
        total=total,
        by_repository=sorted(by_repository, key=lambda spend: (-spend.cost_usd, spend.label)),
        by_day=_by(connection, "day", last_days(now, DAYS), now),
        by_month=[
            MonthSpend(spend=spend, free_minutes=free_minutes, price_per_minute=price_per_minute)
            for spend in _by(connection, "month", last_months(now, MONTHS), now)
        ],
        free_minutes=free_minutes,
        price_per_minute=price_per_minute,
    )
