"""`ghcapture alerts`: the alert rules, sent where the settings say, with an exit status cron or CI can act
on; `--watch` runs them until stopped."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import typer

from ghcapture.cli import app, print_table

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from ghcapture.config import Settings
    from ghcapture.monitor.alert_delivery import Channel
    from ghcapture.monitor.alerts import Alert
    from ghcapture.monitor.thresholds import Thresholds


def _thresholds(
    settings: Settings,
    failed_within: float | None,
    stuck_after: float | None,
    bulk_queued_after: float | None,
    stale_after: float | None,
    missing: int | None,
) -> Thresholds:
    from dataclasses import replace

    from ghcapture.monitor.thresholds import thresholds_from_settings

    limits = thresholds_from_settings(settings)
    given: dict[str, Any] = {
        "failed_within": None if failed_within is None else timedelta(hours=failed_within),
        "stuck_after": None if stuck_after is None else timedelta(minutes=stuck_after),
        "bulk_queued_after": None if bulk_queued_after is None else timedelta(hours=bulk_queued_after),
        "stale_after": None if stale_after is None else timedelta(hours=stale_after),
        "missing_pull_requests": missing,
    }
    return replace(limits, **{name: value for name, value in given.items() if value is not None})


def _channels(settings: Settings, engine: Engine) -> list[Channel]:
    """The log always; the webhook and the jobs repository's issues where the settings ask for them."""
    from ghcapture.errors import ConfigError
    from ghcapture.jobs.actions_settings import load_actions_settings
    from ghcapture.monitor.alert_delivery import IssueChannel, LogChannel, WebhookChannel

    channels: list[Channel] = [LogChannel()]
    url = settings.extra.get("alert_webhook_url")
    if url:
        channels.append(WebhookChannel(str(url)))
    if settings.extra.get("alert_issues"):
        actions = load_actions_settings(base=settings)
        if not actions.repository:
            raise ConfigError("GHCAPTURE_ALERT_ISSUES is on, but GHCAPTURE_ACTIONS_REPOSITORY is not set")
        channels.append(IssueChannel(actions.dispatch_settings(settings), actions.repository, engine))
    return channels


def _show(found: list[Alert], as_json: bool) -> None:
    if as_json:
        for alert in found:
            typer.echo(json.dumps(alert.as_dict()))
        return
    if not found:
        typer.echo("no alerts")
        return
    from rich.table import Table

    # The subject is a job id (whole, for `ghcapture jobs show`), a repository or a budget.
    table = Table("severity", "rule", "job or subject", "message")
    table.columns[2].no_wrap = True
    for alert in found:
        table.add_row(alert.severity, alert.rule, alert.subject, alert.message)
    print_table(table)


@app.command()
def alerts(
    failed_within: float | None = typer.Option(
        None,
        "--failed-within",
        min=0,
        help="Hours to look back for failed and cancelled jobs and the failure rate.",
    ),
    stuck_after: float | None = typer.Option(
        None, "--stuck-after", min=0, help="Minutes without a heartbeat after which a running job is stuck."
    ),
    bulk_queued_after: float | None = typer.Option(
        None, "--bulk-queued-after", min=0, help="Hours a bulk job may wait before it is reported."
    ),
    stale_after: float | None = typer.Option(
        None, "--stale-after", min=0, help="Hours since the last sync after which a repository is stale."
    ),
    missing: int | None = typer.Option(
        None,
        "--missing",
        min=1,
        help="Pull requests GitHub reports beyond those held before one is incomplete.",
    ),
    as_json: bool = typer.Option(False, "--json", help="One JSON object a line."),
    send: bool = typer.Option(
        True, "--send/--no-send", help="Send new, repeated and resolved alerts (--no-send: only show them)."
    ),
    watch: float | None = typer.Option(
        None,
        "--watch",
        min=1,
        help="Run the rules every this many seconds and send what changes, until Ctrl-C.",
    ),
) -> None:
    """Check for failed, cancelled, interrupted and stuck jobs, a high failure rate, a long backlog, bulk
    jobs left waiting, rate-limit budgets below their reserve, and repositories stale or incomplete; send
    what is new (and what has resolved) to the log, GHCAPTURE_ALERT_WEBHOOK_URL and, with
    GHCAPTURE_ALERT_ISSUES, issues in the jobs repository. A firing alert is sent again only after
    GHCAPTURE_ALERT_COOLDOWN_MINUTES. Defaults of the thresholds come from the GHCAPTURE_ALERT_* settings.

    Exits 1 when an alert is an error (a failed or stuck job, a high failure rate, no worker), else 0.

    Example: ghcapture alerts --stuck-after 15 || notify-team

    Example: GHCAPTURE_ALERT_WEBHOOK_URL=https://hooks.example.com/x ghcapture alerts --watch 60
    """
    from ghcapture.cli.capture import configure_logging
    from ghcapture.config import load_settings
    from ghcapture.monitor.alert_delivery import deliver
    from ghcapture.monitor.alerts import evaluate
    from ghcapture.store.database import open_database
    from ghcapture.store.tables import utc_now

    if watch is not None and not send:
        from ghcapture.errors import InputError

        raise InputError("--watch sends what changes; it cannot be combined with --no-send")
    settings = load_settings()
    thresholds = _thresholds(settings, failed_within, stuck_after, bulk_queued_after, stale_after, missing)
    cooldown = timedelta(minutes=float(settings.extra.get("alert_cooldown_minutes", 60.0)))
    engine = open_database(settings.database_url)
    channels = _channels(settings, engine) if send else []
    configure_logging(False)
    if watch is not None:
        typer.echo(f"running the alert rules every {watch:g} s; Ctrl-C stops")
    while True:
        now = utc_now()
        found = evaluate(engine, now, thresholds)
        report = deliver(engine, found, now, cooldown, channels) if send else None
        if watch is None:
            _show(found, as_json)
            if report is not None and report.failed:
                typer.echo(
                    f"{len(report.failed)} alert(s) not delivered; they are sent again next run", err=True
                )
            if any(alert.severity == "error" for alert in found):
                raise typer.Exit(1)
            return
        # Each notice went to the log (stderr) as it was sent; nothing more to print here.
        time.sleep(watch)
