"""The operator's overview in figures: jobs per lane over the last day and week, what waits and runs, and
each rate-limit budget as GitHub last told it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, select

from ghcapture.monitor.budgets import BudgetSample, latest_budgets
from ghcapture.monitor.health import health
from ghcapture.monitor.spend import UNSET
from ghcapture.monitor.thresholds import Thresholds
from ghcapture.store.tables import progressive_capture_jobs as jobs

DAY, WEEK = timedelta(days=1), timedelta(days=7)


@dataclass
class LaneStatus:
    """One lane's jobs: waiting and running now; completed and failed in the last day and week."""

    lane: str
    waiting: int = 0
    running: int = 0
    completed_day: int = 0
    failed_day: int = 0
    completed_week: int = 0
    failed_week: int = 0

    @property
    def success_rate_week(self) -> float | None:
        finished = self.completed_week + self.failed_week
        return self.completed_week / finished if finished else None


@dataclass
class Status:
    taken_at: datetime
    lanes: list[LaneStatus] = field(default_factory=list)
    budgets: list[BudgetSample] = field(default_factory=list)
    health: dict[str, Any] = field(default_factory=dict)
    healthy: bool = True


def status(engine: Engine, now: datetime, thresholds: Thresholds | None = None) -> Status:
    """The overview at `now`: jobs per lane, budgets, and the health checks."""
    finished_at = func.coalesce(jobs.c.completed_at, jobs.c.created_at)
    lanes: dict[str, LaneStatus] = {}
    with engine.connect() as connection:
        active = select(jobs.c.lane, jobs.c.status, func.count()).where(
            jobs.c.status.in_(("pending", "queued", "running"))
        )
        for lane, state, count in connection.execute(active.group_by(jobs.c.lane, jobs.c.status)):
            entry = lanes.setdefault(
                UNSET if lane is None else str(lane), LaneStatus(UNSET if lane is None else str(lane))
            )
            if state == "running":
                entry.running += int(count)
            else:
                entry.waiting += int(count)
        for window, suffix in ((DAY, "day"), (WEEK, "week")):
            done = (
                select(jobs.c.lane, jobs.c.status, func.count())
                .where(jobs.c.status.in_(("completed", "failed")), finished_at >= now - window)
                .group_by(jobs.c.lane, jobs.c.status)
            )
            for lane, state, count in connection.execute(done):
                name = UNSET if lane is None else str(lane)
                entry = lanes.setdefault(name, LaneStatus(name))
                setattr(entry, f"{state}_{suffix}", int(count))
        budgets = latest_budgets(connection)
    checks, code = health(engine, now, thresholds)
    return Status(
        taken_at=now,
        lanes=[lanes[name] for name in sorted(lanes)],
        budgets=budgets,
        health=checks,
        healthy=code == 200,
    )
