"""`ghcapture sync`: route a capture request, record its job, and run it (or leave it to a worker)."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import time
from types import FrameType
from typing import TYPE_CHECKING, Any

import typer

from ghcapture.cli import app
from ghcapture.errors import GhcaptureError, InputError

if TYPE_CHECKING:
    from rich.progress import TaskID
    from sqlalchemy import Engine

    from ghcapture.config import Settings
    from ghcapture.jobs.model import Job
    from ghcapture.jobs.settings import JobSettings
    from ghcapture.jobs.store import JobStore


def _trigger(value: str) -> str:
    if value not in ("manual", "scheduled", "automatic", "webhook", "background"):
        raise InputError(
            f"--trigger: {value!r} is not one of manual, scheduled, automatic, webhook, background"
        )
    return value


@app.command()
def sync(
    repository: str = typer.Argument(..., help="OWNER/NAME"),
    days: int | None = typer.Option(None, help="Only PRs updated in the last N days."),
    since: str | None = typer.Option(None, help="Only PRs updated since this date (YYYY-MM-DD or ISO 8601)."),
    pr_numbers: str | None = typer.Option(None, help="Only these PRs: 12,15,99 or 10-20."),
    max_items: int | None = typer.Option(None, help="Stop after this many pull requests."),
    kind: str = typer.Option("prs", help="prs, reviews, comments, files or pr-details."),
    lane: str | None = typer.Option(None, help="Override the router: realtime or bulk."),
    trigger: str = typer.Option("manual", help="manual, scheduled, automatic, webhook or background."),
    detach: bool = typer.Option(False, "--detach", help="Only record the job; a worker runs it."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Route a capture, record it as a job and run it to completion here (or on GitHub Actions).

    With no scope: everything changed since the last capture (all history the first time).

    Example: ghcapture sync acme/widgets --days 1
    """
    from ghcapture.capture.scope import KINDS, CaptureScope, parse_repository
    from ghcapture.config import load_settings
    from ghcapture.jobs.model import GITHUB_ACTIONS
    from ghcapture.jobs.router import CaptureRequest, HybridRouter, repository_facts
    from ghcapture.jobs.settings import load_job_settings
    from ghcapture.jobs.store import JobStore
    from ghcapture.store.database import open_database

    parse_repository(repository)
    if kind not in KINDS:
        raise InputError(f"--kind: {kind!r} is not one of {', '.join(KINDS)}")
    scope = CaptureScope.build(days=days, since=since, pr_numbers=pr_numbers, max_items=max_items)
    request = CaptureRequest(
        repository=repository,
        kind=kind,
        days=scope.days,
        since=scope.since,
        pr_numbers=scope.pr_numbers,
        max_items=scope.max_items,
        trigger=_trigger(trigger),
        lane=lane,
    )
    settings = load_settings()
    jobs = load_job_settings(settings)
    engine = open_database(settings.database_url)
    store = JobStore(engine)
    route = HybridRouter(jobs.router).route(request, repository_facts(engine, repository, kind))
    if not detach and route.processor != GITHUB_ACTIONS:
        check_repository(settings, repository)
    job = store.create(
        kind=kind,
        repository=repository,
        route=route,
        trigger=request.trigger,
        params=request.params(),
        max_attempts=jobs.max_attempts,
    )
    typer.echo(f"job {job.id}: {route.reason}", err=True)
    if route.processor == GITHUB_ACTIONS:
        try:
            from ghcapture.jobs import actions  # type: ignore[attr-defined,unused-ignore]
        except ImportError:
            raise GhcaptureError(
                "this installation has no GitHub Actions lane; use --lane realtime"
            ) from None
        actions.dispatch_job(engine, job.id, settings)
        typer.echo(f"dispatched to GitHub Actions; follow it with: ghcapture jobs show {job.id}")
        return
    if detach:
        typer.echo(f"recorded; a worker (ghcapture worker) will run it: ghcapture jobs show {job.id}")
        return
    try:
        _run_here(settings, jobs, engine, job.id, quiet=quiet)
    except (_Interrupted, KeyboardInterrupt):
        if not store.get(job.id).is_terminal:  # a Ctrl-C before the engine was running
            with contextlib.suppress(GhcaptureError):  # it ended in the meantime
                store.cancel(job.id, reason="interrupted (Ctrl-C) during ghcapture sync")
        # Exit status 130 is Ctrl-C's; the entry point says "ghcapture: interrupted" for it.
        raise typer.Exit(130) from None


INTERRUPT_WAIT_SECONDS = 30.0


def check_repository(settings: Settings, repository: str) -> None:
    """Ask GitHub for the repository once before a job is recorded to run here, so that credentials it
    refuses, a host that cannot be reached or a repository it does not know is one line and no job."""
    import asyncio

    from ghcapture.github.errors import NotFound
    from ghcapture.github.http import GitHubClient

    owner, name = repository.split("/")

    async def ask() -> None:
        async with GitHubClient(settings) as client:
            await client.prepare_for(owner, name)
            await client.rest("GET", f"/repos/{owner}/{name}")

    try:
        asyncio.run(ask())
    except NotFound:
        raise GhcaptureError(
            f"{repository}: GitHub knows no such repository, or these credentials cannot see it"
        ) from None


class _Interrupted(Exception):
    """Ctrl-C (SIGINT) arrived while the job ran here."""


def _run_here(settings: Settings, jobs: JobSettings, engine: Engine, job_id: str, *, quiet: bool) -> None:
    """Run the job in this process. Ctrl-C cancels the job (a re-run records a new one, which resumes from
    the capture's checkpoint), lets its workflow end at its next page and then says one line."""
    from ghcapture.jobs.local import launched
    from ghcapture.jobs.model import COMPLETED
    from ghcapture.jobs.store import JobStore

    store = JobStore(engine)
    interrupted = threading.Event()

    def on_sigint(_signum: int, _frame: FrameType | None) -> None:
        interrupted.set()
        # A second Ctrl-C while the workflow winds down leaves at once.
        signal.signal(signal.SIGINT, signal.default_int_handler)

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        with launched(settings, jobs, engine, listen=False) as local:
            handle = local.run_here(store.get(job_id))
            bar = _Bar(quiet)
            try:
                while True:
                    job = store.get(job_id)
                    bar.show(job)
                    if job.is_terminal:
                        break
                    if interrupted.is_set():
                        bar.close()
                        _cancel_and_wait(store, job_id, handle)
                        raise _Interrupted()
                    if handle.get_status().status in ("SUCCESS", "ERROR", "CANCELLED"):
                        job = store.get(job_id)
                        if job.is_terminal:
                            break
                        # Retrying: a worker (or the next sync) runs the next attempt.
                        bar.close()
                        raise GhcaptureError(
                            f"job {job_id} failed this attempt ({job.error}); it is queued for "
                            f"a retry by ghcapture worker"
                        )
                    interrupted.wait(0.3)
            finally:
                bar.close()
    finally:
        signal.signal(signal.SIGINT, previous)
    if job.status != COMPLETED:
        raise GhcaptureError(f"job {job_id} {job.status}: {job.error or 'no reason recorded'}")
    typer.echo(
        f"job {job_id} completed: {job.items_done} pull requests; spent {job.points_used} GraphQL points "
        f"and {job.requests_made} requests"
    )


def _cancel_and_wait(store: JobStore, job_id: str, handle: Any) -> None:
    """Cancel the job on its row (the capture stops at its next page) and give its workflow time to end,
    so the engine is not shut down under a running step."""
    from dbos import DBOS

    from ghcapture.jobs.store import JobStateError

    try:
        store.cancel(job_id, reason="interrupted (Ctrl-C) during ghcapture sync")
    except JobStateError:
        pass  # it finished in the meantime
    deadline = time.monotonic() + INTERRUPT_WAIT_SECONDS
    while time.monotonic() < deadline:
        if handle.get_status().status in ("SUCCESS", "ERROR", "CANCELLED"):
            return
        time.sleep(0.1)
    DBOS.cancel_workflow(handle.workflow_id)


class _Bar:
    """A progress bar drawn from the job row, so it shows whatever process runs the job."""

    def __init__(self, quiet: bool) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar: Progress | None = None
        self.task: TaskID | None = None
        if not quiet and sys.stderr.isatty():
            self.bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("{task.fields[spend]}"),
                transient=False,
            )
            self.bar.start()

    def show(self, job: Job) -> None:
        if self.bar is None:
            return
        if self.task is None:
            self.task = self.bar.add_task(f"{job.repository} {job.kind}", total=None, spend="")
        self.bar.update(
            self.task,
            completed=job.items_done,
            total=job.items_total,
            spend=f"{job.points_used} pts, {job.requests_made} req ({job.status})",
        )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None
