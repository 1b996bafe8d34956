"""`ghcapture capture ...` and `ghcapture demo`."""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

import typer

from ghcapture.cli import app
from ghcapture.config import SETTINGS_HELP
from ghcapture.errors import GhcaptureError, InputError

capture_app = typer.Typer(
    help="Capture pull requests and what hangs off them into the database.",
    no_args_is_help=True,
    epilog="Settings: "
    + ", ".join(env for env, _key, _text in SETTINGS_HELP[:9])
    + " (see ghcapture --help).",
)
app.add_typer(capture_app, name="capture")

KIND_HELP = {
    "prs": "Pull requests with reviews, review comments, issue comments, files, commit counts and people.",
    "reviews": "Re-capture the reviews of the pull requests in scope.",
    "comments": "Re-capture review comments and issue comments of the pull requests in scope.",
    "files": "Re-capture the changed files of the pull requests in scope.",
    "pr-details": "The complete capture of the listed pull requests (--pr-numbers).",
}


def configure_logging(verbose: bool) -> None:
    from ghcapture.github.redact import install_log_redaction

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("ghcapture")
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    install_log_redaction(root)
    for h in root.handlers:
        install_log_redaction_handler(h)


def install_log_redaction_handler(handler: logging.Handler) -> None:
    from ghcapture.github.redact import RedactingFilter

    handler.addFilter(RedactingFilter())


def run_capture(
    repository: str,
    kind: str,
    *,
    days: int | None = None,
    since: str | None = None,
    pr_numbers: str | None = None,
    max_items: int | None = None,
    job_id: str | None = None,
    chunk: str | None = None,
    as_json: bool = False,
    quiet: bool = False,
) -> dict[str, Any]:
    import asyncio

    from ghcapture.capture.engine import capture
    from ghcapture.capture.progress import LogProgress, NoProgress, Progress, RichProgress, Several
    from ghcapture.capture.scope import CaptureScope, parse_repository
    from ghcapture.config import load_settings
    from ghcapture.github.http import GitHubClient
    from ghcapture.store.database import open_database

    parse_repository(repository)
    scope = CaptureScope.build(
        days=days, since=since, pr_numbers=pr_numbers, max_items=max_items, chunk=chunk
    )
    if kind == "pr-details" and not scope.pr_numbers and not scope.number_range:
        raise InputError("capture pr-details needs --pr-numbers (e.g. --pr-numbers 12,15,99)")
    settings = load_settings()
    engine = open_database(settings.database_url)
    reporters: list[Progress] = []
    if not quiet and not as_json:
        reporters.append(RichProgress() if sys.stderr.isatty() else LogProgress())
    if job_id is not None:
        try:
            from ghcapture.jobs.progress import JobProgress  # type: ignore[import-not-found,unused-ignore]
            from ghcapture.jobs.store import JobStore, UnknownJob
        except ImportError as exc:
            raise GhcaptureError("--job-id needs the job system, which this installation lacks") from exc
        try:
            JobStore(engine).get(job_id)  # before anything is fetched or stored for it
        except UnknownJob:
            raise UnknownJob(f"--job-id: no job with id {job_id!r} (see: ghcapture jobs list)") from None
        # One chunk of a matrix run does not end the job: the run's end does (ghcapture reconcile);
        # its chunks run at once, so each adds its items to the job's instead of setting them.
        reporters.append(JobProgress(engine, job_id, settle=not chunk, shared=bool(chunk)))
    progress: Progress = Several(*reporters) if reporters else NoProgress()

    from ghcapture.jobs.outage import database_came_back, outage_seconds

    async def go() -> dict[str, Any]:
        async with GitHubClient(settings) as client:
            while True:
                try:
                    result = await capture(
                        client, engine, repository, kind=kind, scope=scope, progress=progress
                    )
                    return result.as_dict()
                except Exception as exc:
                    # A restart of the database: every page stored so far is kept with its checkpoint, so
                    # waiting it out and going on from there is cheaper than stopping.
                    came_back = await asyncio.to_thread(
                        database_came_back, exc, engine, outage_seconds(settings), who=repository
                    )
                    if not came_back:
                        raise

    return asyncio.run(go())


def _print_summary(summary: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(summary, default=str))
        return
    typer.echo(
        f"{summary['repository']}: {summary['pull_requests']} pull requests, {summary['reviews']} reviews, "
        f"{summary['review_comments']} review comments, {summary['issue_comments']} issue comments, "
        f"{summary['files']} files, {summary['contributors']} people "
        f"({summary['mode']}{', resumed' if summary['resumed'] else ''}) "
        f"in {summary['seconds']:.1f} s; spent {summary['points_used']} GraphQL points and "
        f"{summary['rest_requests']} REST requests"
    )


def _make_command(kind: str) -> None:
    def command(
        repository: str = typer.Argument(..., help="OWNER/NAME"),
        days: int | None = typer.Option(None, help="Only PRs updated in the last N days."),
        since: str | None = typer.Option(
            None, help="Only PRs updated since this date (YYYY-MM-DD or ISO 8601)."
        ),
        pr_numbers: str | None = typer.Option(None, help="Only these PRs: 12,15,99 or 10-20."),
        max_items: int | None = typer.Option(None, help="Stop after this many pull requests."),
        job_id: str | None = typer.Option(None, help="Report progress to this job's row."),
        chunk: str | None = typer.Option(
            None,
            help='One slice of a backfill, as JSON: {"numbers": [1, 500]} for pull requests 1 to 500, or '
            '{"since": "2025-01-01", "until": "2025-02-01"} for those updated in that window (until '
            "excluded). The bulk workflows pass it.",
        ),
        as_json: bool = typer.Option(False, "--json", help="Print a machine-readable summary."),
        verbose: bool = typer.Option(False, "--verbose", "-v", help="Log every request."),
    ) -> None:
        configure_logging(verbose)
        summary = run_capture(
            repository,
            kind,
            days=days,
            since=since,
            pr_numbers=pr_numbers,
            max_items=max_items,
            job_id=job_id,
            chunk=chunk,
            as_json=as_json,
        )
        _print_summary(summary, as_json)

    command.__doc__ = (
        f"{KIND_HELP[kind]}\n\n"
        + (
            "Needs --pr-numbers (or a --chunk of numbers): it has no default scope."
            if kind == "pr-details"
            else "With no scope: everything changed since the last capture (all history the first time)."
        )
        + f"\n\nExample: ghcapture capture {kind} acme/widgets"
        + (" --pr-numbers 12,15" if kind == "pr-details" else " --days 30")
    )
    capture_app.command(name=kind)(command)


for _kind in KIND_HELP:
    _make_command(_kind)


@app.command()
def demo(
    prs: int = typer.Option(3000, help="Pull requests in the generated repository."),
    seed: int = typer.Option(1, help="Seed of the generated repository."),
    database: str | None = typer.Option(
        None, help="Database URL (default: GHCAPTURE_DATABASE_URL or ghcapture.db)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print a machine-readable summary."),
    profile: str = typer.Option(
        "realistic", help="realistic: GitHub's server time and limits; fast: every answer at once."
    ),
    time_scale: float = typer.Option(
        0.05, help="Real seconds per second of GitHub's clock (0.05: twenty times faster than GitHub)."
    ),
) -> None:
    """Capture a generated repository from a built-in GitHub simulator: no token, no network.

    The simulator answers with GitHub's server time on a compressed clock, so the demo ends in about a
    minute and prints how long the same capture would take against GitHub.

    Example: ghcapture demo --prs 2000
    """
    import os

    from ghcapture.capture.verify import compare_repository
    from ghcapture.config import load_settings
    from ghcapture.settings_model import database_url_problem
    from ghcapture.simulator.app import PROFILES, Simulator, SimulatorConfig
    from ghcapture.simulator.dataset import dump_repository
    from ghcapture.simulator.generator import generate_repository
    from ghcapture.simulator.server import SimulatorServer
    from ghcapture.simulator.world import World
    from ghcapture.store.counts import repository_counts
    from ghcapture.store.database import open_database

    if prs < 1 or prs > 200_000:
        raise InputError("--prs must be between 1 and 200000")
    if profile not in PROFILES:
        raise InputError(f"--profile {profile!r}: expected one of {', '.join(PROFILES)}")
    if not 0 < time_scale <= 1:
        raise InputError("--time-scale must be above 0 and at most 1")
    problem = database_url_problem(database) if database is not None else None
    if problem:
        raise InputError(f"--database: {problem}")
    configure_logging(False)
    # Each size and seed is its own repository (its own name, hence its own id): a second demo of
    # another size beside the first in the same database is compared with its own rows only, and the
    # same demo run again fetches only what changed.
    name = f"widgets-{prs}" + (f"-seed{seed}" if seed != 1 else "")
    full_name = f"acme/{name}"
    world = World()
    repo = generate_repository("acme", name, prs, seed=seed)
    world.add_repository(repo)
    config = SimulatorConfig.for_profile(profile, time_scale, seed=seed)
    server = SimulatorServer(Simulator(world, config)).start()
    try:
        os.environ["GITHUB_API_URL"] = server.url
        os.environ["GITHUB_GRAPHQL_URL"] = server.url + "/graphql"
        os.environ["GITHUB_TOKEN"] = "demo-token"  # the built-in simulator accepts any token
        os.environ.pop("GITHUB_APP_ID", None)
        if database:
            os.environ["GHCAPTURE_DATABASE_URL"] = database
        if not as_json:
            clock = f", on a clock {1 / time_scale:g}x faster than GitHub's" if profile == "realistic" else ""
            typer.echo(
                f"GitHub simulator at {server.url} serving {full_name} with {prs} pull requests "
                f"({profile} profile{clock})"
            )
        started = time.monotonic()
        summary = run_capture(full_name, "prs", as_json=as_json)
        summary["seconds"] = round(time.monotonic() - started, 2)
        stats = server.simulator.stats.as_dict()
        if profile == "realistic":
            # Server time was slept at `time_scale`; against GitHub it would take its full length.
            slept = stats["server_seconds"] * time_scale
            summary["seconds_against_github"] = round(summary["seconds"] - slept + stats["server_seconds"], 1)
        engine = open_database(load_settings().database_url)
        check = compare_repository(engine, dump_repository(repo, server.url))
        with engine.connect() as conn:
            counts = repository_counts(conn, full_name)
    finally:
        server.stop()
    per_pr = stats["budget_units"] / max(1, prs)
    report = {
        **summary,
        "stored": counts,
        "simulator": {k: stats[k] for k in ("graphql_points", "rest_requests_charged", "requests_total")},
        "budget_units_per_pr": round(per_pr, 4),
        "equals_ground_truth": check.equal,
        "database": load_settings().database_url,
    }
    if as_json:
        typer.echo(json.dumps(report, default=str))
        return
    _print_summary(summary, False)
    typer.echo(
        f"Stored for {full_name}: "
        + ", ".join(f"{k} {v}" for k, v in counts.items())
        + " (contributors: distinct people, the deleted user 'ghost' counted once, as 'people' below)"
    )
    typer.echo(
        f"Spent {stats['graphql_points']} GraphQL points + {stats['rest_requests_charged']} REST requests "
        f"= {per_pr:.3f} budget units per pull request ({stats['requests_total']} HTTP requests)"
    )
    if "seconds_against_github" in summary:
        typer.echo(
            f"Took {summary['seconds']:.0f} s here; the same capture against GitHub would take about "
            f"{summary['seconds_against_github'] / 60:.1f} min ({stats['server_seconds']:.0f} s of GitHub's "
            "server time, one request at a time)"
        )
    typer.echo(f"Compared with the simulator's ground truth: {check.summary()}")
    typer.echo(f"Database: {report['database']} (run it again: only what changed is fetched)")
    if not check.equal:
        raise typer.Exit(1)
