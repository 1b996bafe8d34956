"""Alert rules over the store: failed, stuck and waiting jobs; stale and incomplete repositories."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Connection, Engine, func, select

from ghcapture.store.tables import progressive_capture_jobs as jobs
from ghcapture.store.tables import pull_requests, repositories, tracked_repositories

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Thresholds:
    """Where each rule starts to fire; every limit is exclusive except the failed-jobs window's start."""

    failed_within: timedelta = timedelta(hours=24)
    stuck_after: timedelta = timedelta(minutes=30)
    bulk_queued_after: timedelta = timedelta(hours=6)
    stale_after: timedelta = timedelta(hours=48)
    # Pull requests GitHub reports beyond those held before a repository counts as incomplete.
    missing_pull_requests: int = 1


@dataclass(frozen=True)
class Alert:
    severity: Severity
    rule: str
    subject: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _age(now: datetime, then: datetime) -> str:
    hours = (now - then).total_seconds() / 3600
    return f"{hours * 60:.0f} min" if hours < 2 else f"{hours:.1f} h"


def _failed(connection: Connection, now: datetime, limits: Thresholds) -> list[Alert]:
    # A failed job's completed_at is when it failed; older rows may lack it, so fall back to creation.
    failed_at = func.coalesce(jobs.c.completed_at, jobs.c.created_at)
    query = (
        select(jobs.c.id, jobs.c.repository, jobs.c.kind, jobs.c.error)
        .where(jobs.c.status == "failed", failed_at >= now - limits.failed_within)
        .order_by(failed_at)
    )
    return [
        Alert("error", "job_failed", row.id, f"{row.kind} job, {row.repository}, failed: {row.error or '-'}")
        for row in connection.execute(query)
    ]


def _stuck(connection: Connection, now: datetime, limits: Thresholds) -> list[Alert]:
    alerts = []
    for row in connection.execute(select(jobs).where(jobs.c.status == "running").order_by(jobs.c.created_at)):
        beat = row.heartbeat_at or row.started_at or row.created_at
        if now - beat > limits.stuck_after:
            message = f"{row.kind} job for {row.repository} running with no heartbeat for {_age(now, beat)}"
            alerts.append(Alert("error", "job_stuck", row.id, message))
    return alerts


def _bulk_waiting(connection: Connection, now: datetime, limits: Thresholds) -> list[Alert]:
    query = (
        select(jobs)
        .where(
            jobs.c.lane == "bulk",
            jobs.c.status.in_(("pending", "queued")),
            jobs.c.created_at < now - limits.bulk_queued_after,
        )
        .order_by(jobs.c.created_at)
    )
    return [
        Alert(
            "warning",
            "bulk_job_waiting",
            row.id,
            f"bulk {row.kind} job for {row.repository} {row.status} for {_age(now, row.created_at)}",
        )
        for row in connection.execute(query)
    ]


def _stale(connection: Connection, now: datetime, limits: Thresholds) -> list[Alert]:
    synced = {
        row.full_name: row.last_synced_at
        for row in connection.execute(select(repositories.c.full_name, repositories.c.last_synced_at))
    }
    tracked = {row.repository for row in connection.execute(select(tracked_repositories.c.repository))}
    alerts = []
    for name in sorted(tracked | set(synced)):
        last = synced.get(name)
        if last is None:
            alerts.append(Alert("warning", "repository_stale", name, f"{name} has never been synced"))
        elif now - last > limits.stale_after:
            message = f"{name} last synced {_age(now, last)} ago"
            alerts.append(Alert("warning", "repository_stale", name, message))
    return alerts


def _incomplete(connection: Connection, limits: Thresholds) -> list[Alert]:
    owned = pull_requests.c.repository_id == repositories.c.github_id
    held = select(func.count()).where(owned).scalar_subquery()
    query = (
        select(repositories.c.full_name, repositories.c.github_pr_total, held.label("held"))
        .where(repositories.c.github_pr_total.is_not(None))
        .order_by(repositories.c.full_name)
    )
    return [
        Alert(
            "warning",
            "repository_incomplete",
            row.full_name,
            f"{row.full_name}: GitHub reports {row.github_pr_total} pull requests; {row.held} are held",
        )
        for row in connection.execute(query)
        if row.github_pr_total - row.held >= limits.missing_pull_requests
    ]


def evaluate(engine: Engine, now: datetime, thresholds: Thresholds | None = None) -> list[Alert]:
    """Every alert that holds at `now`, errors first."""
    limits = thresholds or Thresholds()
    with engine.connect() as connection:
        alerts = [
            *_failed(connection, now, limits),
            *_stuck(connection, now, limits),
            *_bulk_waiting(connection, now, limits),
            *_stale(connection, now, limits),
            *_incomplete(connection, limits),
        ]
    return sorted(alerts, key=lambda alert: alert.severity != "error")
