"""The overview: jobs of the last day and week by lane and status, their success rate, pull requests
captured per hour, job durations, the backlog of each queue, stuck jobs, and the last day hour by hour."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Connection, func, select

from ghcapture.jobs.model import COMPLETED, FAILED
from ghcapture.monitor.queue import QueueDepth, queue_depths, stuck_jobs
from ghcapture.monitor.spend import UNSET
from ghcapture.monitor.thresholds import Thresholds
from ghcapture.monitor.timeline import bucket, key_of, last_hours, seconds_between
from ghcapture.store.tables import progressive_capture_jobs as jobs

WINDOWS = (("24 h", timedelta(hours=24)), ("7 d", timedelta(days=7)))
CHART_HOURS = 24


def percentile(values: list[float], share: float) -> float | None:
    """The nearest-rank percentile (`share` in 0..1): the smallest value with at least that share of the
    values at or below it; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(share * len(ordered)), 1) - 1]


@dataclass(frozen=True)
class LaneCounts:
    """Jobs of one lane created in a window, by status."""

    lane: str
    by_status: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.by_status.values())


@dataclass(frozen=True)
class WindowFigures:
    label: str
    hours: float
    lanes: list[LaneCounts]
    completed: int  # jobs finished in the window, by how they ended
    failed: int
    prs_captured: int  # by jobs finished in the window
    p50_seconds: float | None  # duration (start to end) of the jobs completed in the window
    p95_seconds: float | None

    @property
    def total(self) -> int:
        return sum(lane.total for lane in self.lanes)

    def status_total(self, status: str) -> int:
        return sum(lane.by_status.get(status, 0) for lane in self.lanes)

    @property
    def success_rate(self) -> float | None:
        """Completed over completed and failed, of the jobs that ended in the window; None when none ended."""
        ended = self.completed + self.failed
        return self.completed / ended if ended else None

    @property
    def prs_per_hour(self) -> float:
        return self.prs_captured / self.hours


@dataclass(frozen=True)
class StuckJob:
    """A running job silent (no heartbeat, nor start) for longer than the stuck threshold."""

    id: str
    kind: str
    repository: str
    processor: str
    silent_seconds: float


@dataclass(frozen=True)
class HourFigures:
    """What the jobs that finished in one hour did."""

    hour: datetime
    prs: int = 0
    points: int = 0
    cost_usd: float = 0.0
    failed: int = 0


@dataclass(frozen=True)
class Overview:
    taken_at: datetime
    windows: list[WindowFigures]
    queues: list[QueueDepth]
    stuck: list[StuckJob]
    stuck_after_seconds: float
    hours: list[HourFigures] = field(default_factory=list)

    @property
    def backlog(self) -> int:
        return sum(queue.waiting for queue in self.queues)


def _window(connection: Connection, label: str, span: timedelta, now: datetime) -> WindowFigures:
    since = now - span
    by_lane: dict[str, dict[str, int]] = {}
    for lane, status, count in connection.execute(
        select(jobs.c.lane, jobs.c.status, func.count())
        # Bounded on both sides: SQLite then reads the (created_at, lane, status) index, not every job.
        .where(jobs.c.created_at >= since, jobs.c.created_at <= now)
        .group_by(jobs.c.lane, jobs.c.status)
    ):
        by_lane.setdefault(lane or UNSET, {})[status] = int(count)
    lanes = [LaneCounts(lane=lane, by_status=by_lane[lane]) for lane in sorted(by_lane)]
    ended: dict[str, tuple[int, int]] = {
        status: (int(count), int(prs))
        for status, count, prs in connection.execute(
            select(jobs.c.status, func.count(), func.coalesce(func.sum(jobs.c.items_done), 0))
            .where(jobs.c.completed_at >= since, jobs.c.completed_at <= now)
            .group_by(jobs.c.status)
        )
    }
    took = seconds_between(jobs.c.started_at, jobs.c.completed_at, connection.dialect.name)
    # julianday() keeps about a millisecond of precision: round to it.
    durations = [
        round(float(seconds), 3)
        for (seconds,) in connection.execute(
            select(took).where(
                jobs.c.completed_at >= since,
                jobs.c.completed_at <= now,
                jobs.c.status == COMPLETED,
                jobs.c.started_at.is_not(None),
            )
        )
    ]
    return WindowFigures(
        label=label,
        hours=span.total_seconds() / 3600,
        lanes=lanes,
        completed=ended.get(COMPLETED, (0, 0))[0],
        failed=ended.get(FAILED, (0, 0))[0],
        prs_captured=sum(prs for _, prs in ended.values()),
        p50_seconds=percentile(durations, 0.50),
        p95_seconds=percentile(durations, 0.95),
    )


def stuck(connection: Connection, now: datetime, after: timedelta) -> list[StuckJob]:
    """The stuck jobs as /healthz and the alerts count them, the longest silent first."""
    found = [
        StuckJob(
            id=row.id,
            kind=row.kind,
            repository=row.repository or UNSET,
            processor=row.processor or UNSET,
            silent_seconds=(now - beat).total_seconds(),
        )
        for row, beat in stuck_jobs(connection, now, after)
    ]
    return sorted(found, key=lambda job: -job.silent_seconds)


def _hours(connection: Connection, now: datetime) -> list[HourFigures]:
    starts = last_hours(now, CHART_HOURS)
    hour = bucket(jobs.c.completed_at, "hour", connection.dialect.name)
    rows = {
        key: row
        for key, *row in connection.execute(
            select(
                hour,
                func.coalesce(func.sum(jobs.c.items_done), 0),
                func.coalesce(func.sum(jobs.c.points_used), 0),
                func.coalesce(func.sum(jobs.c.cost_usd), 0.0),
                func.count().filter(jobs.c.status == FAILED),
            )
            .where(jobs.c.completed_at >= starts[0], jobs.c.completed_at <= now)
            .group_by(hour)
        )
    }
    figures = []
    for start in starts:
        row = rows.get(key_of(start, "hour"))
        if row is None:
            figures.append(HourFigures(hour=start))
        else:
            prs, points, cost, failed = row
            figures.append(
                HourFigures(
                    hour=start, prs=int(prs), points=int(points), cost_usd=float(cost), failed=int(failed)
                )
            )
    return figures


def overview(connection: Connection, now: datetime, thresholds: Thresholds | None = None) -> Overview:
    limits = thresholds or Thresholds()
    return Overview(
        taken_at=now,
        windows=[_window(connection, label, span, now) for label, span in WINDOWS],
        queues=queue_depths(connection),
        stuck=stuck(connection, now, limits.stuck_after),
        stuck_after_seconds=limits.stuck_after.total_seconds(),
        hours=_hours(connection, now),
    )
