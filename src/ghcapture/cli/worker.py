"""`ghcapture worker`: run queued jobs and tracked repositories' schedules until stopped."""

from __future__ import annotations

import logging
import signal
from collections.abc import Mapping
from types import FrameType
from typing import TYPE_CHECKING

import typer

from ghcapture.cli import app

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from ghcapture.config import Settings
    from ghcapture.jobs.reconcile import PeriodicReconcile

log = logging.getLogger("ghcapture.jobs")
SCHEDULE_EVERY_LOOPS = 5


@app.command()
def worker(
    concurrency: int = typer.Option(
        2, min=1, max=64, help="Realtime jobs at once here (bulk: half, at least 1)."
    ),
    stop_wait: int = typer.Option(120, min=0, help="Seconds to let running steps finish after SIGTERM."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log every request."),
) -> None:
    """Run queued jobs and the schedules of tracked repositories until stopped.

    Many workers may share one PostgreSQL database: each job runs once, one job per repository and kind
    at a time, and jobs of a worker that died are resumed by another. When GitHub Actions is configured,
    jobs on the bulk lane follow their workflow runs every GHCAPTURE_RECONCILE_SECONDS. SIGTERM finishes
    the current step of each running job, hands the job back to the queue and exits.

    Example: ghcapture worker --concurrency 4
    """
    from ghcapture.cli.capture import configure_logging
    from ghcapture.config import load_settings
    from ghcapture.jobs.local import launched
    from ghcapture.jobs.settings import load_job_settings
    from ghcapture.store.database import check_writable, open_database

    configure_logging(verbose)
    settings = load_settings()
    jobs = load_job_settings(settings)
    engine = open_database(settings.database_url)
    check_writable(engine)
    reconciler = bulk_reconciler(engine, settings, interval=jobs.reconcile_seconds)
    with launched(settings, jobs, engine, concurrency=concurrency, wait_seconds=stop_wait) as local:

        def on_signal(signum: int, _frame: FrameType | None) -> None:
            log.info("worker: %s received; finishing the current steps", signal.Signals(signum).name)
            local.stop.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        log.info("worker: running (budget %s, concurrency %d)", jobs.budget_name, concurrency)
        loops = 0
        failing = False
        while not local.stop.is_set():
            try:
                local.reap_once()
                if loops % SCHEDULE_EVERY_LOOPS == 0:
                    local.sync_schedules()
                local.dispatch_once()
                if reconciler is not None:
                    reconciler.tick()
                if failing:
                    log.warning("worker: the database answers again")
                failing = False
            except Exception as exc:  # a passing database error must not end the worker
                # One line per outage: the loop polls several times a second.
                if not failing:
                    log.warning("worker: %s", str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
                failing = True
            loops += 1
            local.stop.wait(jobs.poll_seconds)
        log.info("worker: stopping")
    log.info("worker: stopped")


def bulk_reconciler(
    engine: Engine, settings: Settings, *, interval: float, env: Mapping[str, str] | None = None
) -> PeriodicReconcile | None:
    """The worker's periodic reconcile of jobs on GitHub Actions, or None when Actions is not configured."""
    from ghcapture.errors import ConfigError
    from ghcapture.github.redact import redact
    from ghcapture.jobs.actions_settings import load_actions_settings
    from ghcapture.jobs.reconcile import PeriodicReconcile

    try:
        actions = load_actions_settings(None if env is None else dict(env), base=settings)
    except ConfigError as exc:  # a broken bulk-lane setting must not stop the realtime lane
        log.warning("worker: not reconciling jobs on GitHub Actions: %s", redact(str(exc)))
        return None
    if not actions.configured:
        return None
    log.info("worker: reconciling jobs on GitHub Actions (%s) every %g s", actions.repository, interval)
    return PeriodicReconcile(engine, settings, actions, interval=interval)
