"""The local workers, as their heartbeats in the store tell them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select

from ghcapture.store.tables import workers as workers_table


@dataclass(frozen=True)
class WorkerBeat:
    id: str
    host: str
    pid: int
    listens: bool
    started_at: datetime
    heartbeat_at: datetime
    stopped_at: datetime | None
    running: tuple[str, ...]

    def alive(self, now: datetime, silent_after: timedelta) -> bool:
        """Not stopped, and beaten within `silent_after` of `now`."""
        return self.stopped_at is None and now - self.heartbeat_at <= silent_after

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "host": self.host,
            "pid": self.pid,
            "listens": self.listens,
            "started_at": self.started_at.isoformat(),
            "heartbeat_at": self.heartbeat_at.isoformat(),
            "stopped_at": self.stopped_at.isoformat() if self.stopped_at else None,
            "running": list(self.running),
        }


def worker_beats(connection: Connection) -> list[WorkerBeat]:
    """Every worker that ever beat, the latest heartbeat first."""
    query = select(workers_table).order_by(workers_table.c.heartbeat_at.desc(), workers_table.c.id)
    return [
        WorkerBeat(
            id=row.id,
            host=row.host,
            pid=int(row.pid),
            listens=bool(row.listens),
            started_at=row.started_at,
            heartbeat_at=row.heartbeat_at,
            stopped_at=row.stopped_at,
            running=tuple(row.running or ()),
        )
        for row in connection.execute(query)
    ]
