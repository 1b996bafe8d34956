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
    from ghcapture.jobs.webhooks.redeliver import PeriodicRedelivery
    from ghcapture.jobs.webhooks.service import ReceiverThread

log = logging.getLogger("ghcapture.jobs")
SCHEDULE_EVERY_LOOPS = 5


@app.command()
def worker(
    concurrency: int = typer.Option(
        2, min=1, max=64, help="Realtime jobs at once here (bulk: half, at least 1)."
    ),
    stop_wait: int = typer.Option(120, min=0, help="Seconds to let running steps finish after SIGTERM."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log every request."),
    webhook_port: int | None = typer.Option(
        None, min=0, max=65535, help="Also receive GitHub's webhook deliveries on this port."
    ),
    webhook_host: str = typer.Option("127.0.0.1", help="Address the webhook receiver listens on."),
) -> None:
    """Run queued jobs and the schedules of tracked repositories until stopped.

    Many workers may share one PostgreSQL database: each job runs once, one job per repository and kind
    at a time, and jobs of a worker that died are resumed by another. When GitHub Actions is configured,
    jobs on the bulk lane follow their workflow runs every GHCAPTURE_RECONCILE_SECONDS. SIGTERM finishes
    the current step of each running job, hands the job back to the queue and exits.

    With --webhook-port the same process receives GitHub's webhook deliveries (as `ghcapture webhook
    serve`) at /webhooks/github, and asks GitHub again for the App's failed deliveries on start and every
    GHCAPTURE_REDELIVER_SECONDS.

    Example: ghcapture worker --concurrency 4 --webhook-port 8787
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
    receiver = webhook_receiver(engine, settings, webhook_host, webhook_port)
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
                if receiver is not None:
                    receiver.tick()
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
        if receiver is not None:
            receiver.stop()
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


def webhook_receiver(
    engine: Engine, settings: Settings, host: str, port: int | None
) -> WorkerReceiver | None:
    """The receiver of GitHub's deliveries on a thread of the worker, or None without --webhook-port."""
    if port is None:
        return None
    from ghcapture.cli import listening_socket
    from ghcapture.jobs.webhooks.redeliver import periodic_redelivery
    from ghcapture.jobs.webhooks.service import ReceiverThread, build_receiver

    asgi = build_receiver(settings, engine)
    sock = listening_socket(host, port)
    bound = sock.getsockname()[1]
    thread = ReceiverThread(asgi, sock).start()
    log.info("worker: receiving GitHub's webhook deliveries at http://%s:%d/webhooks/github", host, bound)
    typer.echo(f"webhook receiver at http://{host}:{bound}/webhooks/github", err=True)
    return WorkerReceiver(thread, periodic_redelivery(engine, settings))


class WorkerReceiver:
    """The worker's receiver thread and the periodic request for deliveries GitHub failed to make."""

    def __init__(self, thread: ReceiverThread, redelivery: PeriodicRedelivery | None) -> None:
        self.thread, self.redelivery = thread, redelivery

    def tick(self) -> None:
        if self.redelivery is not None:
            self.redelivery.tick()

    def stop(self) -> None:
        self.thread.stop()
