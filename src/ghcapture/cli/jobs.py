"""`ghcapture jobs list|show|retry|cancel`."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import typer

from ghcapture.cli import app, print_table

if TYPE_CHECKING:
    from ghcapture.jobs.model import Job
    from ghcapture.jobs.store import JobStore

jobs_app = typer.Typer(
    help="Capture jobs: list them, show one with its events, retry or cancel.", no_args_is_help=True
)
app.add_typer(jobs_app, name="jobs")


def _store() -> JobStore:
    from ghcapture.config import load_settings
    from ghcapture.jobs.store import JobStore
    from ghcapture.store.database import open_database

    return JobStore(open_database(load_settings().database_url))


def _when(value: object) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value is not None else "-"  # type: ignore[attr-defined]


@jobs_app.command("list")
def list_jobs(
    status: str | None = typer.Option(None, help="pending, queued, running, completed, failed or cancelled."),
    repo: str | None = typer.Option(None, help="OWNER/NAME"),
    lane: str | None = typer.Option(None, help="realtime or bulk."),
    limit: int = typer.Option(50, min=1, max=10_000, help="At most this many, newest first."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object a line."),
) -> None:
    """List jobs, newest first.

    Example: ghcapture jobs list --status failed --repo acme/widgets
    """
    from ghcapture.capture.scope import parse_repository
    from ghcapture.errors import InputError
    from ghcapture.jobs.model import LANES

    if repo is not None:
        parse_repository(repo)
    if lane and lane not in LANES:
        raise InputError(f"--lane: {lane!r} is not one of {', '.join(LANES)}")
    jobs = _store().list(status=status, repository=repo, lane=lane, limit=limit)
    if as_json:
        for job in jobs:
            typer.echo(json.dumps(_as_dict(job), default=str))
        return
    if not jobs:
        typer.echo("no jobs")
        return
    from rich.console import Console
    from rich.table import Table

    # A job id (36 characters) is copied whole into `jobs show`, so on a narrow terminal the figures give
    # way instead (`jobs show` has them), and the kind joins the repository.
    wide = Console().width >= 120
    headers = ["id", "status", "lane", "repository", "kind", "items", "points", "created"]
    table = Table(*(headers if wide else ["id", "status", "repository", "created"]))
    table.columns[0].no_wrap = True
    for column in table.columns:
        column.justify = "right" if column.header in ("items", "points") else "left"
    for job in jobs:
        of = f"/{job.items_total}" if job.items_total is not None else ""
        created = _when(job.created_at)
        if wide:
            table.add_row(
                job.id,
                job.status,
                job.lane or "-",
                job.repository,
                job.kind,
                f"{job.items_done}{of}",
                str(job.points_used),
                created,
            )
        else:
            table.add_row(job.id, job.status, f"{job.repository} {job.kind}", created.replace(" ", "\n"))
    print_table(table)


def _as_dict(job: Job) -> dict[str, Any]:
    from dataclasses import asdict

    data = asdict(job)
    data["events"] = [{"at": e["at"], "type": e["type"], "message": e["message"]} for e in data["events"]]
    return data


@jobs_app.command("show")
def show(
    job_id: str = typer.Argument(..., help="A job id, or its first characters."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show a job: its route and reason, progress, spend and event trail.

    Example: ghcapture jobs show 3f2a9c
    """
    job = _store().find(job_id)
    if as_json:
        typer.echo(json.dumps(_as_dict(job), default=str))
        return
    of = f" of {job.items_total}" if job.items_total is not None else ""
    lines = [
        f"job {job.id}: {job.kind} of {job.repository} ({job.trigger})",
        f"status: {job.status} (attempt {job.attempts} of {job.max_attempts})",
        f"route: {job.lane} lane on {job.processor}: {job.route_reason}",
        f"scope: {json.dumps(job.params, default=str) if job.params else 'changes since the last capture'}",
        f"progress: {job.items_done}{of} items, {job.items_failed} failed",
        f"spent: {job.points_used} GraphQL points, {job.requests_made} requests",
        f"times: created {_when(job.created_at)}, started {_when(job.started_at)}, "
        f"heartbeat {_when(job.heartbeat_at)}, ended {_when(job.completed_at)}",
    ]
    if job.error:
        lines.append(f"error: {job.error}")
    if job.run_url:
        lines.append(f"run: {job.run_url}")
    lines.append("events:")
    lines += [f"  {_when(e.at)}  {e.type:<12} {e.message or ''}" for e in job.events]
    typer.echo("\n".join(lines))


@jobs_app.command("retry")
def retry(job_id: str = typer.Argument(..., help="A failed or cancelled job's id.")) -> None:
    """Queue a failed or cancelled job again (a worker runs it; GitHub Actions jobs are dispatched again).

    Example: ghcapture jobs retry 3f2a9c
    """
    from ghcapture.jobs.model import GITHUB_ACTIONS

    store = _store()
    job = store.retry(store.find(job_id).id)
    if job.processor == GITHUB_ACTIONS:
        from ghcapture.config import load_settings
        from ghcapture.jobs.local import _dispatch_to_actions

        _dispatch_to_actions(store.engine, job.id, load_settings())
        typer.echo(f"job {job.id} dispatched to GitHub Actions again")
        return
    typer.echo(f"job {job.id} queued again; ghcapture worker runs it")


@jobs_app.command("cancel")
def cancel(job_id: str = typer.Argument(..., help="A pending, queued or running job's id.")) -> None:
    """Cancel a job; a running capture stops at its next page (what it stored stays).

    Example: ghcapture jobs cancel 3f2a9c
    """
    store = _store()
    job = store.cancel(store.find(job_id).id)
    try:
        from ghcapture.jobs import actions  # type: ignore[attr-defined,unused-ignore]

        cancel_run = getattr(actions, "cancel_job", None)
    except ImportError:
        cancel_run = None
    if job.processor == "github_actions" and cancel_run is not None:
        from ghcapture.config import load_settings

        cancel_run(store.engine, job.id, load_settings())
    typer.echo(f"job {job.id} cancelled")
