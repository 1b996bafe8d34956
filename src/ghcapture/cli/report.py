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
    by: str = typer.Option("month", "--by", help="The bulk lane's cost per month or per day."),
    as_json: bool = typer.Option(False, "--json", help="One JSON document instead of tables."),
) -> None:
    """What capture jobs spent, per lane and processor and per repository: jobs, PRs captured, GraphQL
    points, requests, billable minutes and cost in USD; and the bulk lane's GitHub Actions minutes and
    dollars per month (or day) against the plan's free minutes (GHCAPTURE_ACTIONS_FREE_MINUTES) and what a
    hosted job service would charge for the same runs (GHCAPTURE_HOSTED_*).

    Example: ghcapture report --since 2026-03-01 --by day
    """
    from ghcapture.capture.scope import parse_since
    from ghcapture.config import load_settings
    from ghcapture.errors import InputError
    from ghcapture.monitor.billing import plans_from_settings
    from ghcapture.monitor.report import cost_report, report_tables
    from ghcapture.store.database import open_database

    if by not in ("day", "month"):
        raise InputError(f"--by: {by!r} is not one of day, month")
    start = parse_since(since) if since is not None else None
    settings = load_settings()
    plan, hosted = plans_from_settings(settings)
    result = cost_report(
        open_database(settings.database_url),
        since=start,
        plan=plan,
        hosted=hosted,
        period="day" if by == "day" else "month",
    )
    if as_json:
        typer.echo(json.dumps(result.as_dict(), indent=2))
        return
    for table in report_tables(result):
        print_table(table)
