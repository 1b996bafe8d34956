"""`ghcapture verify`: what is held against GitHub's own counts, and a repair of what differs."""

from __future__ import annotations

import json
from typing import Any

import typer

from ghcapture.cli import app, print_table


@app.command()
def verify(
    repository: str = typer.Argument(..., help="OWNER/NAME"),
    repair: bool = typer.Option(
        False, "--repair", help="Capture again exactly the pull requests that differ, then check again."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print a machine-readable report."),
) -> None:
    """Compare the database with GitHub's counts: pull requests, and per pull request its reviews (and
    dismissed reviews), issue comments, files and commits (about one GraphQL point per 100 pull
    requests). Exits 1 when anything differs. A file list GitHub cut at 3,000 files is counted as
    truncated, not as a difference.

    Example: ghcapture verify acme/widgets --repair
    """
    import asyncio

    from ghcapture.capture.audit import Audit, audit_repository
    from ghcapture.capture.engine import capture
    from ghcapture.capture.scope import CaptureScope, parse_repository
    from ghcapture.cli.capture import configure_logging
    from ghcapture.config import load_settings
    from ghcapture.github.http import GitHubClient
    from ghcapture.store.database import open_database

    parse_repository(repository)
    configure_logging(False)
    settings = load_settings()
    engine = open_database(settings.database_url)

    async def go() -> tuple[Audit, Audit | None, dict[str, Any] | None]:
        async with GitHubClient(settings) as client:
            owner, name = parse_repository(repository)
            await client.prepare_for(owner, name)
            found = await audit_repository(client, engine, repository)
        if not (repair and found.numbers):
            return found, None, None
        numbers = ",".join(map(str, found.numbers))
        async with GitHubClient(settings) as client:
            result = await capture(
                client, engine, found.repository, scope=CaptureScope.build(pr_numbers=numbers)
            )
        async with GitHubClient(settings) as client:
            after = await audit_repository(client, engine, found.repository)
        return found, after, result.as_dict()

    found, after, repaired = asyncio.run(go())
    final = after or found
    if as_json:
        report: dict[str, Any] = found.as_dict()
        if after is not None:
            report["repair"] = {"capture": repaired, "after": after.as_dict()}
        typer.echo(json.dumps(report, default=str))
    else:
        _print(found)
        if after is not None and repaired is not None:
            typer.echo(
                f"Repaired: captured {len(found.numbers)} pull requests again "
                f"({repaired['points_used']} GraphQL points, {repaired['rest_requests']} REST requests)."
            )
            _print(after)
    if final.differences:
        raise typer.Exit(1)


def _print(audit: Any) -> None:
    from rich.table import Table

    truncated = (
        f"; {len(audit.truncated)} with a file list GitHub cut at 3,000 (truncated)"
        if audit.truncated
        else ""
    )
    typer.echo(
        f"{audit.repository}: {audit.held_pull_requests} of GitHub's {audit.github_pull_requests} pull "
        f"requests held{truncated}; checked for {audit.points_used} GraphQL points"
    )
    if not audit.differences:
        typer.echo("No differences.")
        return
    table = Table("PR", "what", "GitHub", "held", title=f"{len(audit.differences)} differences")
    for d in audit.differences:
        table.add_row("-" if d.number is None else f"#{d.number}", d.what, str(d.github), str(d.held))
    print_table(table)
