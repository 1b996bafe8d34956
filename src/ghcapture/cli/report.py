"""`ghcapture report`: the cost report."""

from __future__ import annotations

import json

import typer

from ghcapture.cli import app, print_table


@app.command()
def report(
    since: str | None = typer.Option(
        None, help="Only jobs created on or after this date (YYYY-MM-DD or ISO 8601)."
    ),
    as_json: bool = typer.Option(False, "--json", help="One JSON document instead of tables."),
) -> None:
    """What capture jobs spent, per lane and processor and per repository: jobs, PRs captured, GraphQL
    points, requests, billable minutes and cost in USD.

    Example: ghcapture report --since 2026-03-01
    """
    from ghcapture.capture.scope import parse_since
    from ghcapture.config import load_settings
    from ghcapture.monitor.report import cost_report, report_tables
    from ghcapture.store.database import open_database

    start = parse_since(since) if since is not None else None
    result = cost_report(open_database(load_settings().database_url), since=start)
    if as_json:
        typer.echo(json.dumps(result.as_dict(), indent=2))
        return
    for table in report_tables(result):
        print_table(table)
