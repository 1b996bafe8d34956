"""`ghcapture status`: jobs per lane, rate-limit budgets and health, as tables that fit the terminal."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

import typer

from ghcapture.cli import app, print_table

if TYPE_CHECKING:
    from rich.table import Table

    from ghcapture.monitor.status import Status


def _minutes(seconds: float) -> str:
    if abs(seconds) < 60:
        return f"{seconds:.0f} s"
    if abs(seconds) < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _tables(found: Status) -> tuple[Table, Table | None, Table]:
    """Jobs per lane, the budgets (None before any capture recorded one) and the health checks."""
    from rich.table import Table

    lanes = Table(title="Jobs per lane (finished in the last 24 h and 7 days)")
    for name in (
        "lane",
        "waiting",
        "running",
        "done 24h",
        "failed 24h",
        "done 7d",
        "failed 7d",
        "success 7d",
    ):
        lanes.add_column(name, justify="left" if name == "lane" else "right")
    for lane in found.lanes:
        lanes.add_row(
            lane.lane,
            str(lane.waiting),
            str(lane.running),
            str(lane.completed_day),
            str(lane.failed_day),
            str(lane.completed_week),
            str(lane.failed_week),
            _rate(lane.success_rate_week),
        )
    if not found.lanes:
        lanes.add_row("no jobs", *[""] * 7)
    budgets = Table(title="Rate-limit budgets (as GitHub last said)")
    for name in ("budget", "resource", "left", "limit", "left %", "resets in", "said"):
        budgets.add_column(name, justify="left" if name in ("budget", "resource") else "right")
    now = found.taken_at
    for sample in found.budgets:
        left = sample.remaining_at(now)
        budgets.add_row(
            sample.budget,
            sample.resource,
            str(left),
            str(sample.limit),
            _rate(left / sample.limit if sample.limit else None),
            _minutes((sample.reset_at - now).total_seconds()) if sample.reset_at > now else "reset",
            _minutes((now - sample.sampled_at).total_seconds()) + " ago",
        )
    checks = Table(title=f"Health: {'ok' if found.healthy else 'failing'}")
    for name in ("check", "state", "detail"):
        checks.add_column(name)
    for name, check in found.health.get("checks", {}).items():
        checks.add_row(name, "ok" if check["ok"] else "FAILING", _detail(name, check, now))
    return lanes, budgets if found.budgets else None, checks


def _detail(name: str, check: dict[str, Any], now: datetime) -> str:
    if name == "database":
        return str(check.get("error", "reachable"))
    if name == "workers":
        last = check.get("last_heartbeat_at")
        beat = (
            "never"
            if last is None
            else _minutes((now - datetime.fromisoformat(last)).total_seconds()) + " ago"
        )
        return (
            f"{check['alive']} alive, last heartbeat {beat}; {check['local_jobs_waiting']} local jobs waiting"
        )
    if name == "backlog":
        return f"{check['waiting']} jobs waiting (limit {check['limit']})"
    if name == "stuck_jobs":
        shown = ", ".join(check["ids"])
        return f"{check['count']} stuck" + (f": {shown}" if shown else "")
    low = ", ".join(f"{b['budget']}/{b['resource']}" for b in check.get("below_reserve", []))
    return f"below {check['reserve']:.0%}: {low}" if low else f"none below {check['reserve']:.0%}"


@app.command()
def status(
    as_json: bool = typer.Option(False, "--json", help="One JSON document instead of tables."),
) -> None:
    """The overview: jobs per lane (waiting, running, finished in the last 24 h and 7 days, success rate),
    each rate-limit budget as GitHub last said (recorded by every capture, wherever it ran), and the health
    checks of /healthz.

    Example: ghcapture status
    """
    from ghcapture.config import load_settings
    from ghcapture.monitor.status import status as take_status
    from ghcapture.monitor.thresholds import thresholds_from_settings
    from ghcapture.store.database import open_database
    from ghcapture.store.tables import utc_now

    settings = load_settings()
    found = take_status(open_database(settings.database_url), utc_now(), thresholds_from_settings(settings))
    if as_json:
        document = {
            "taken_at": found.taken_at.isoformat(),
            "lanes": [{**vars(lane), "success_rate_week": lane.success_rate_week} for lane in found.lanes],
            "budgets": [sample.as_dict() for sample in found.budgets],
            "health": found.health,
        }
        typer.echo(json.dumps(document, indent=2))
        return
    lanes, budgets, checks = _tables(found)
    print_table(lanes)
    if budgets is None:
        typer.echo("Rate-limit budgets: none recorded yet (every capture records what GitHub says)")
    else:
        print_table(budgets)
    print_table(checks)
