"""`ghcapture alerts`: the alert rules, with an exit status cron or CI can act on."""

from __future__ import annotations

import json
from datetime import timedelta

import typer

from ghcapture.cli import app, print_table


@app.command()
def alerts(
    failed_within: float = typer.Option(
        24.0, "--failed-within", min=0, help="Hours to look back for failed jobs."
    ),
    stuck_after: float = typer.Option(
        30.0, "--stuck-after", min=0, help="Minutes without a heartbeat after which a running job is stuck."
    ),
    bulk_queued_after: float = typer.Option(
        6.0, "--bulk-queued-after", min=0, help="Hours a bulk job may wait before it is reported."
    ),
    stale_after: float = typer.Option(
        48.0, "--stale-after", min=0, help="Hours since the last sync after which a repository is stale."
    ),
    missing: int = typer.Option(
        1, "--missing", min=1, help="Pull requests GitHub reports beyond those held before one is incomplete."
    ),
    as_json: bool = typer.Option(False, "--json", help="One JSON object a line."),
) -> None:
    """Check for failed and stuck jobs, bulk jobs left waiting, and repositories stale or incomplete.

    Exits 1 when any alert is an error (a failed or stuck job), 0 otherwise.

    Example: ghcapture alerts --stuck-after 15 || notify-team
    """
    from ghcapture.config import load_settings
    from ghcapture.monitor.alerts import Thresholds, evaluate
    from ghcapture.store.database import open_database
    from ghcapture.store.tables import utc_now

    thresholds = Thresholds(
        failed_within=timedelta(hours=failed_within),
        stuck_after=timedelta(minutes=stuck_after),
        bulk_queued_after=timedelta(hours=bulk_queued_after),
        stale_after=timedelta(hours=stale_after),
        missing_pull_requests=missing,
    )
    found = evaluate(open_database(load_settings().database_url), utc_now(), thresholds)
    if as_json:
        for alert in found:
            typer.echo(json.dumps(alert.as_dict()))
    elif found:
        from rich.table import Table

        table = Table("severity", "rule", "message")
        for alert in found:
            table.add_row(alert.severity, alert.rule, alert.message)
        print_table(table)
    else:
        typer.echo("no alerts")
    if any(alert.severity == "error" for alert in found):
        raise typer.Exit(1)
