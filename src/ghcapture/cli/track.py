"""`ghcapture track` and `ghcapture untrack`: repositories the worker keeps current."""

from __future__ import annotations

import typer

from ghcapture.cli import app, print_table


@app.command()
def track(
    repository: str | None = typer.Argument(None, help="OWNER/NAME"),
    every: str = typer.Option("6h", help="Refresh recent data this often: 30m, 6h, 1d."),
    backfill: int | None = typer.Option(None, help="Also capture the last N days once, in the background."),
    kind: str = typer.Option("prs", help="What to keep current: prs, reviews, comments or files."),
    show: bool = typer.Option(False, "--list", help="List the tracked repositories."),
) -> None:
    """Keep a repository current: `ghcapture worker` refreshes it on schedule and backfills it once.

    Newly tracked repositories go before others on the queues.

    Example: ghcapture track acme/widgets --every 6h --backfill 365
    """
    from ghcapture.capture.scope import KINDS, parse_repository
    from ghcapture.config import load_settings
    from ghcapture.errors import InputError
    from ghcapture.jobs.schedules import list_tracked, parse_every
    from ghcapture.jobs.schedules import track as record
    from ghcapture.store.database import open_database

    engine = open_database(load_settings().database_url)
    if show:
        from rich.table import Table

        tracked_list = list_tracked(engine)
        if not tracked_list:
            typer.echo("no tracked repositories")
            return
        table = Table("repository", "kind", "every", "cron", "backfill")
        for t in tracked_list:
            state = "recorded" if t.backfill_done else "due"
            backfill_text = f"{t.backfill_days} days, {state}" if t.backfill_days else "-"
            table.add_row(t.repository, t.kind, f"{t.every_seconds} s", t.cron, backfill_text)
        print_table(table)
        return
    if repository is None:
        raise InputError("give OWNER/NAME to track, or --list")
    parse_repository(repository)
    if kind not in KINDS or kind == "pr-details":
        raise InputError(f"--kind: {kind!r} is not one of prs, reviews, comments, files")
    tracked = record(engine, repository, every_seconds=parse_every(every), backfill_days=backfill, kind=kind)
    typer.echo(
        f"tracking {tracked.repository}: refresh every {every} (cron {tracked.cron})"
        + (f", backfill of {backfill} days first" if backfill else "")
        + "; ghcapture worker runs it"
    )


@app.command()
def untrack(repository: str = typer.Argument(..., help="OWNER/NAME")) -> None:
    """Stop keeping a repository current (its data and jobs stay).

    Example: ghcapture untrack acme/widgets
    """
    from ghcapture.capture.scope import parse_repository
    from ghcapture.config import load_settings
    from ghcapture.jobs.schedules import untrack as forget
    from ghcapture.store.database import open_database

    parse_repository(repository)
    forget(open_database(load_settings().database_url), repository)
    typer.echo(f"no longer tracking {repository}")
