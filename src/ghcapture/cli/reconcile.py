"""`ghcapture reconcile` and `ghcapture webhook serve`: bulk jobs follow their GitHub Actions runs."""

from __future__ import annotations

import time

import typer

from ghcapture.cli import app, listening_socket, serve_on

webhook_app = typer.Typer(help="Receive GitHub's webhook deliveries.", no_args_is_help=True)
app.add_typer(webhook_app, name="webhook")


@app.command()
def reconcile(
    job: list[str] | None = typer.Option(  # noqa: B008 - typer reads its options from defaults
        None, "--job", help="Only this job (id or unambiguous prefix; repeatable)."
    ),
    watch: float = typer.Option(
        0.0, min=0, help="Reconcile again every this many seconds until interrupted."
    ),
) -> None:
    """Bring jobs on GitHub Actions in line with their workflow runs: status, reason, billable time and cost.

    Example: ghcapture reconcile
    """
    from ghcapture.config import load_settings
    from ghcapture.jobs.actions_settings import load_actions_settings
    from ghcapture.jobs.reconcile import reconcile_jobs
    from ghcapture.jobs.store import JobStore
    from ghcapture.store.database import open_database

    settings = load_settings()
    actions = load_actions_settings(base=settings)
    actions.owner_and_name  # noqa: B018 - one clear line when Actions is not configured
    engine = open_database(settings.database_url)
    store = JobStore(engine)
    job_ids = [store.find(j).id for j in job or []] or None
    while True:
        results = reconcile_jobs(engine, settings=settings, actions=actions, job_ids=job_ids)
        for result in results:
            moved = result.before if result.before == result.after else f"{result.before} -> {result.after}"
            spent = (
                f"; {result.billable_ms / 60_000:.1f} billable min, ${result.cost_usd:.4f}"
                if result.billable_ms is not None and result.cost_usd is not None
                else ""
            )
            reason = f" ({result.reason})" if result.reason else ""
            typer.echo(
                f"job {result.job_id}: run {result.run_id or '-'} {result.run_status}; {moved}{reason}{spent}"
            )
        if not results:
            typer.echo("no jobs on GitHub Actions to reconcile")
        if watch <= 0:
            return
        time.sleep(watch)


@webhook_app.command("serve")
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8787, min=1, max=65535, help="Port to listen on."),
    path: str = typer.Option("/webhooks/github", help="URL path GitHub delivers to."),
) -> None:
    """Receive GitHub's deliveries (verified with GHCAPTURE_WEBHOOK_SECRET) until stopped: pull requests,
    reviews and comments are stored at once, pushes become realtime jobs, installations track repositories,
    workflow runs move bulk jobs.

    Example: GHCAPTURE_WEBHOOK_SECRET=... ghcapture webhook serve --port 8787
    """
    from ghcapture.config import load_settings
    from ghcapture.jobs.webhooks.service import build_receiver
    from ghcapture.store.database import open_database

    settings = load_settings()
    engine = open_database(settings.database_url)
    asgi = build_receiver(settings, engine, path=path)
    sock = listening_socket(host, port)
    typer.echo(f"GitHub webhook receiver at http://{host}:{port}{path}")
    serve_on(asgi, sock)
