"""Alert rules over the store: failed, cancelled, stuck and waiting jobs, the failure rate, the backlog,
rate-limit budgets below their reserve, repositories stale or incomplete, and webhook deliveries that stopped
arriving or keep failing."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Connection, Engine, func, select

from ghcapture.monitor.budgets import latest_budgets
from ghcapture.monitor.queue import queue_depths, stuck_jobs
from ghcapture.monitor.thresholds import Thresholds
from ghcapture.monitor.workers import worker_beats
from ghcapture.store.tables import progressive_capture_jobs as jobs
from ghcapture.store.tables import (
    pull_requests,
    repositories,
    tracked_repositories,
    webhook_deliveries,
    webhook_redeliveries,
)

__all__ = ["Alert", "EVENT_RULES", "JOB_RULES", "Thresholds", "evaluate"]

Severity = Literal["error", "warning"]
# Rules whose subject is a job id.
JOB_RULES = frozenset({"job_failed", "job_stuck", "job_cancelled", "job_interrupted", "bulk_job_waiting"})
# Rules about something that happened rather than a condition that holds: sent once, never repeated, and
# their leaving the window is not news.
EVENT_RULES = frozenset({"job_failed", "job_cancelled", "job_interrupted"})


@dataclass(frozen=True)
class Alert:
    """One condition that holds: `subject` is what it is about (a job id, a repository, a budget), and
    (rule, subject) names it from one evaluation to the next."""

    severity: Severity
    rule: str
    subject: str
    message: str

    @property
    def job_id(self) -> str | None:
        return self.subject if self.rule in JOB_RULES else None

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "job_id": self.job_id}


def _age(now: datetime, then: datetime) -> str:
    hours = (now - then).total_seconds() / 3600
    if hours < 2:
        return f"{hours * 60:.0f} min"
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} days"


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
    return [
        Alert(
            "error",
            "job_stuck",
            row.id,
            f"{row.kind} job for {row.repository} running with no heartbeat for {_age(now, beat)}",
        )
        for row, beat in stuck_jobs(connection, now, limits.stuck_after)
    ]


def _failure_rate(connection: Connection, now: datetime, limits: Thresholds) -> list[Alert]:
    finished_at = func.coalesce(jobs.c.completed_at, jobs.c.created_at)
    query = (
        select(jobs.c.status, func.count())
        .where(jobs.c.status.in_(("completed", "failed")), finished_at >= now - limits.failed_within)
        .group_by(jobs.c.status)
    )
    counts = {str(status): int(count) for status, count in connection.execute(query)}
    finished = counts.get("completed", 0) + counts.get("failed", 0)
    failed = counts.get("failed", 0)
    if finished < limits.failure_rate_min_jobs or failed / finished < limits.failure_rate:
        return []
    hours = limits.failed_within.total_seconds() / 3600
    message = (
        f"{failed} of {finished} jobs finished in the last {hours:g} h failed "
        f"({failed / finished:.0%}; alerting from {limits.failure_rate:.0%})"
    )
    return [Alert("error", "failure_rate", "jobs", message)]


def _cancelled(connection: Connection, now: datetime, limits: Thresholds) -> list[Alert]:
    """Cancelled jobs in the window; those stopped by Ctrl-C or a stopping worker count as interrupted."""
    cancelled_at = func.coalesce(jobs.c.completed_at, jobs.c.created_at)
    query = (
        select(jobs.c.id, jobs.c.repository, jobs.c.kind, jobs.c.error)
        .where(jobs.c.status == "cancelled", cancelled_at >= now - limits.failed_within)
        .order_by(cancelled_at)
    )
    alerts = []
    for row in connection.execute(query):
        reason = row.error or "-"
        rule = "job_interrupted" if "interrupt" in reason.lower() else "job_cancelled"
        verb = "interrupted" if rule == "job_interrupted" else "cancelled"
        alerts.append(Alert("warning", rule, row.id, f"{row.kind} job, {row.repository}, {verb}: {reason}"))
    return alerts


def _backlog(connection: Connection, limits: Thresholds) -> list[Alert]:
    depths = queue_depths(connection)
    waiting = sum(depth.waiting for depth in depths)
    if waiting <= limits.backlog:
        return []
    parts = ", ".join(f"{d.waiting} {d.lane} on {d.processor}" for d in depths)
    message = f"{waiting} jobs waiting ({parts}); alerting above {limits.backlog}"
    return [Alert("warning", "backlog", "queue", message)]


def _no_worker(connection: Connection, now: datetime, limits: Thresholds) -> list[Alert]:
    """Local jobs wait and no worker has beaten within its silence limit: nothing will run them."""
    waiting = connection.execute(
        select(func.count()).where(jobs.c.status.in_(("pending", "queued")), jobs.c.processor == "local")
    ).scalar_one()
    beats = worker_beats(connection)
    if not waiting or any(beat.alive(now, limits.worker_silent_after) for beat in beats):
        return []
    last = f"the last heartbeat was {_age(now, beats[0].heartbeat_at)} ago" if beats else "none has ever run"
    message = f"{waiting} local jobs wait and no worker is alive ({last}); start one: ghcapture worker"
    return [Alert("error", "no_worker", "workers", message)]


def _budgets(connection: Connection, now: datetime, limits: Thresholds) -> list[Alert]:
    alerts = []
    for sample in latest_budgets(connection):
        left = sample.remaining_at(now)
        if left >= sample.limit * limits.budget_reserve:
            continue
        reserve = sample.limit * limits.budget_reserve
        message = (
            f"{sample.resource} budget of {sample.budget}: {left} of {sample.limit} left, below the reserve "
            f"of {reserve:.0f} ({limits.budget_reserve:.0%}); resets {sample.reset_at:%H:%M} UTC"
        )
        alerts.append(Alert("warning", "budget_low", f"{sample.budget}/{sample.resource}", message))
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


def _webhooks_silent(connection: Connection, now: datetime, limits: Thresholds) -> list[Alert]:
    """Tracked repositories whose pull requests changed (as captures found) within the window while no
    delivery came from them: the receiver is missing their events. Only once deliveries arrive at all, so
    an installation that uses no webhooks is not told about them."""
    if connection.execute(select(webhook_deliveries.c.delivery_id).limit(1)).first() is None:
        return []
    since = now - limits.webhook_silent_after
    last = dict(
        connection.execute(
            select(func.lower(webhook_deliveries.c.repository), func.max(webhook_deliveries.c.received_at))
            .where(webhook_deliveries.c.repository.is_not(None))
            .group_by(func.lower(webhook_deliveries.c.repository))
        ).all()
    )
    active = {
        name.lower()
        for (name,) in connection.execute(
            select(repositories.c.full_name)
            .join(pull_requests, pull_requests.c.repository_id == repositories.c.github_id)
            .where(pull_requests.c.updated_at >= since)
            .distinct()
        )
    }
    alerts = []
    for (name,) in connection.execute(select(tracked_repositories.c.repository).order_by("repository")):
        received = last.get(name.lower())
        if name.lower() in active and (received is None or received < since):
            heard = f"last delivery {_age(now, received)} ago" if received else "no delivery ever"
            message = f"{name}: pull requests changed in the last {_age(now, since)} but {heard}"
            alerts.append(Alert("warning", "webhooks_silent", name, message))
    return alerts


def _webhook_failures(connection: Connection, now: datetime) -> list[Alert]:
    """More failed deliveries asked for again in the last hour than in the hour before."""
    table = webhook_redeliveries

    def count(start: datetime, end: datetime) -> int:
        query = select(func.count()).where(table.c.asked_at >= start, table.c.asked_at < end)
        return int(connection.execute(query).scalar_one())

    hour = timedelta(hours=1)
    recent, before = count(now - hour, now + hour), count(now - 2 * hour, now - hour)
    if recent > before:
        message = f"{recent} failed webhook deliveries in the last hour, {before} the hour before"
        return [Alert("warning", "webhook_failures_growing", "deliveries", message)]
    return []


def evaluate(engine: Engine, now: datetime, thresholds: Thresholds | None = None) -> list[Alert]:
    """Every alert that holds at `now`, errors first."""
    limits = thresholds or Thresholds()
    with engine.connect() as connection:
        alerts = [
            *_failure_rate(connection, now, limits),
            *_failed(connection, now, limits),
            *_stuck(connection, now, limits),
            *_cancelled(connection, now, limits),
            *_bulk_waiting(connection, now, limits),
            *_backlog(connection, limits),
            *_no_worker(connection, now, limits),
            *_budgets(connection, now, limits),
            *_stale(connection, now, limits),
            *_incomplete(connection, limits),
            *_webhooks_silent(connection, now, limits),
            *_webhook_failures(connection, now),
        ]
    return sorted(alerts, key=lambda alert: alert.severity != "error")
