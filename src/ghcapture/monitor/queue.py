"""The work waiting and the work stuck: jobs pending or queued per lane, and running jobs gone silent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, select

from ghcapture.monitor.spend import UNSET
from ghcapture.store.tables import progressive_capture_jobs as jobs

WAITING = ("pending", "queued")


@dataclass(frozen=True)
class QueueDepth:
    """Jobs waiting in one lane on one processor, and since when the oldest has waited."""

    lane: str
    processor: str
    waiting: int
    oldest_created_at: datetime | None


def queue_depths(connection: Connection) -> list[QueueDepth]:
    """Pending and queued jobs per lane and processor, sorted by lane and processor."""
    query = (
        select(jobs.c.lane, jobs.c.processor, func.count(), func.min(jobs.c.created_at))
        .where(jobs.c.status.in_(WAITING))
        .group_by(jobs.c.lane, jobs.c.processor)
    )
    depths = [
        QueueDepth(
            lane=UNSET if lane is None else str(lane),
            processor=UNSET if processor is None else str(processor),
            waiting=int(count),
            oldest_created_at=oldest,
        )
        for lane, processor, count, oldest in connection.execute(query)
    ]
    return sorted(depths, key=lambda depth: (depth.lane, depth.processor))


def _last_sign_of_life(row: Any) -> datetime:
    return row.heartbeat_at or row.started_at or row.created_at  # type: ignore[no-any-return]


def stuck_jobs(connection: Connection, now: datetime, stuck_after: timedelta) -> list[tuple[Any, datetime]]:
    """Running jobs with no heartbeat (nor start) within `stuck_after` of `now`, oldest first, each with
    its last sign of life."""
    running = connection.execute(select(jobs).where(jobs.c.status == "running").order_by(jobs.c.created_at))
    found = [(row, _last_sign_of_life(row)) for row in running]
    return [(row, beat) for row, beat in found if now - beat > stuck_after]
