"""/healthz: is the console's world well? The database answers, a worker beats when local work waits, the
backlog is short, no job is stuck, and no rate-limit budget is below its reserve."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import SQLAlchemyError

from ghcapture.monitor.budgets import latest_budgets
from ghcapture.monitor.queue import queue_depths, stuck_jobs
from ghcapture.monitor.thresholds import Thresholds
from ghcapture.monitor.workers import worker_beats
from ghcapture.store.tables import progressive_capture_jobs as jobs

HEALTHY, UNHEALTHY = 200, 503
# Stuck job ids shown in the answer; the count is always whole.
SHOWN_IDS = 10


def _first_line(exc: BaseException) -> str:
    reason = getattr(exc, "orig", None) or exc
    return (str(reason).strip().splitlines() or [type(reason).__name__])[0]


def health(engine: Engine, now: datetime, thresholds: Thresholds | None = None) -> tuple[dict[str, Any], int]:
    """The checks as a JSON-ready dict and the HTTP status to answer with: 200 when every check is ok,
    503 otherwise."""
    limits = thresholds or Thresholds()
    checks: dict[str, dict[str, Any]] = {}
    try:
        with engine.connect() as connection:
            connection.execute(select(1)).scalar_one()
            checks["database"] = {"ok": True}
            beats = worker_beats(connection)
            alive = [beat for beat in beats if beat.alive(now, limits.worker_silent_after)]
            local_waiting = connection.execute(
                select(func.count()).where(
                    jobs.c.status.in_(("pending", "queued")), jobs.c.processor == "local"
                )
            ).scalar_one()
            checks["workers"] = {
                # No worker is needed while no local work waits (captures from the command line, Actions).
                "ok": bool(alive) or not local_waiting,
                "alive": len(alive),
                "last_heartbeat_at": beats[0].heartbeat_at.isoformat() if beats else None,
                "local_jobs_waiting": int(local_waiting),
            }
            waiting = sum(depth.waiting for depth in queue_depths(connection))
            checks["backlog"] = {"ok": waiting <= limits.backlog, "waiting": waiting, "limit": limits.backlog}
            stuck = stuck_jobs(connection, now, limits.stuck_after)
            checks["stuck_jobs"] = {
                "ok": not stuck,
                "count": len(stuck),
                "ids": [row.id for row, _beat in stuck[:SHOWN_IDS]],
                "after_seconds": limits.stuck_after.total_seconds(),
            }
            low = [
                sample
                for sample in latest_budgets(connection)
                if sample.remaining_at(now) < sample.limit * limits.budget_reserve
            ]
            checks["budgets"] = {
                "ok": not low,
                "reserve": limits.budget_reserve,
                "below_reserve": [
                    {
                        "budget": sample.budget,
                        "resource": sample.resource,
                        "remaining": sample.remaining,
                        "limit": sample.limit,
                        "reset_at": sample.reset_at.isoformat(),
                    }
                    for sample in low
                ],
            }
    except SQLAlchemyError as exc:
        checks = {"database": {"ok": False, "error": _first_line(exc)}}
    ok = all(check["ok"] for check in checks.values())
    body = {"status": "ok" if ok else "failing", "checked_at": now.isoformat(), "checks": checks}
    return body, HEALTHY if ok else UNHEALTHY
