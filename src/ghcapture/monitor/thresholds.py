"""Where the console's rules start to fire: the alerts, and /healthz, read the same thresholds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from ghcapture.config import Settings

# A worker silent for this many heartbeat intervals is taken for dead (as the local engine's reaper does).
SILENT_BEATS = 3


@dataclass(frozen=True)
class Thresholds:
    """Every limit is exclusive except the windows' starts."""

    failed_within: timedelta = timedelta(hours=24)
    # Failed among finished (completed or failed) jobs in `failed_within`; fires at or above it.
    failure_rate: float = 0.25
    # Fewer finished jobs than this say nothing about a rate.
    failure_rate_min_jobs: int = 4
    stuck_after: timedelta = timedelta(minutes=30)
    backlog: int = 100
    bulk_queued_after: timedelta = timedelta(hours=6)
    stale_after: timedelta = timedelta(hours=48)
    # Pull requests GitHub reports beyond those held before a repository counts as incomplete.
    missing_pull_requests: int = 1
    # A budget with less than this share of its limit left alerts.
    budget_reserve: float = 0.1
    worker_silent_after: timedelta = timedelta(seconds=SILENT_BEATS * 10.0)
    # A tracked repository whose pull requests changed this recently with no webhook delivery from it.
    webhook_silent_after: timedelta = timedelta(hours=1)


def thresholds_from_settings(settings: Settings) -> Thresholds:
    """The thresholds the settings give (GHCAPTURE_ALERT_*), defaults for any not set."""
    extra: dict[str, Any] = settings.extra
    default = Thresholds()

    def number(key: str, fallback: float) -> float:
        value = extra.get(key)
        return fallback if value is None else float(value)

    return Thresholds(
        failed_within=timedelta(
            hours=number("alert_window_hours", default.failed_within.total_seconds() / 3600)
        ),
        failure_rate=number("alert_failure_rate", default.failure_rate),
        stuck_after=timedelta(
            minutes=number("alert_stuck_minutes", default.stuck_after.total_seconds() / 60)
        ),
        backlog=int(number("alert_backlog", default.backlog)),
        bulk_queued_after=timedelta(
            hours=number("alert_bulk_wait_hours", default.bulk_queued_after.total_seconds() / 3600)
        ),
        stale_after=timedelta(hours=number("alert_stale_hours", default.stale_after.total_seconds() / 3600)),
        missing_pull_requests=int(number("alert_missing_prs", default.missing_pull_requests)),
        budget_reserve=number("alert_budget_reserve", default.budget_reserve),
        worker_silent_after=timedelta(seconds=SILENT_BEATS * number("heartbeat_seconds", 10.0)),
    )


def configured_thresholds() -> Thresholds:
    """The thresholds of this process's settings (the environment and ghcapture.toml)."""
    from ghcapture.config import load_settings

    return thresholds_from_settings(load_settings())
