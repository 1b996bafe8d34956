"""Bad input to every command: one line on stderr naming what is wrong and where it came from, exit 2 for a
usage error and 1 otherwise, no traceback, and the database left as it was (every table's rows compared).

The commands run in this process (the CLI's `main`), against a GitHub simulator that accepts one token and
one GitHub App, and a SQLite database holding a capture, tracked repositories and jobs. Each case is a
line of the table below; a case copies that database, so no case sees another's leftovers.
"""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from capture_support import run_capture
from fixtures_postgres import free_port
from ghcapture.cli import main
from ghcapture.jobs.router import Route
from ghcapture.jobs.store import JobStore
from ghcapture.simulator.app import Simulator, SimulatorConfig
from ghcapture.simulator.generator import generate_repository
from ghcapture.simulator.server import AppKeys, SimulatorServer, new_app_keys
from ghcapture.simulator.world import World
from ghcapture.store.database import open_database
from ghcapture.store.tables import progressive_capture_jobs

TOKEN = "ghp_the-one-good-token"
PASSWORD = "pw-never-shown"
UNREACHABLE = f"postgresql://capture:{PASSWORD}@127.0.0.1:1/ghcapture"
# Jobs of the prepared database, by status: the table names them by these placeholders.
QUEUED_JOB, FAILED_JOB, COMPLETED_JOB = "{queued}", "{failed}", "{completed}"
LONG_NAME = "acme/" + "w" * 295


# -- the world the commands run in ------------------------------------------------------------------------


@dataclass
class Prepared:
    """The simulator every case talks to, its App's keys, and the database every case starts from."""

    server: SimulatorServer
    keys: AppKeys
    template: Path  # the prepared database, copied for each case
    jobs: dict[str, str]  # status -> id of a job in that status


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prepared]:
    keys = new_app_keys()
    world = World()
    world.add_repository(generate_repository("acme", "widgets", 6, seed=1))
    config = SimulatorConfig(tokens=frozenset({TOKEN}), app=keys.identity)
    server = SimulatorServer(Simulator(world, config)).start()
    template = tmp_path_factory.mktemp("bad-input") / "template.db"
    engine = open_database(f"sqlite:///{template}")
    try:
        run_capture(server, engine, "acme/widgets", token=TOKEN)
        store = JobStore(engine)
        route = Route("realtime", "local", "a test's job")
        jobs = {}
        for status in ("queued", "failed", "completed"):
            job = store.create(kind="prs", repository="acme/widgets", route=route, params={"days": 1})
            jobs[status] = job.id
            with engine.begin() as conn:
                conn.execute(
                    progressive_capture_jobs.update()
                    .where(progressive_capture_jobs.c.id == job.id)
                    .values(status=status, error="a test's failure" if status == "failed" else None)
                )
        from ghcapture.jobs.schedules import track

        track(engine, "acme/widgets", every_seconds=6 * 3600, backfill_days=None)
    finally:
        engine.dispose()
    yield Prepared(server, keys, template, jobs)
    server.stop()


@dataclass
class Place:
    """Where one case runs: its directory (the working directory), its database file and environment."""

    directory: Path
    database: Path
    env: dict[str, str]
    prepared: Prepared
    undo: list[Callable[[], None]] = field(default_factory=list)


# -- what a case may prepare ------------------------------------------------------------------------------


def write(name: str, content: str | bytes) -> Callable[[Place], None]:
    def prepare(place: Place) -> None:
        path = place.directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)

    return prepare


def read_only(place: Place) -> None:
    """The database file made unwritable (root ignores permission bits: the immutable attribute then)."""
    if os.geteuid() == 0:
        done = subprocess.run(["chattr", "+i", str(place.database)], capture_output=True)
        if done.returncode != 0:
            pytest.skip(f"cannot make the database immutable: {done.stderr.decode().strip()}")
        place.undo.append(lambda: subprocess.run(["chattr", "-i", str(place.database)], check=False))
    else:
        place.database.chmod(0o444)


def corrupt(place: Place) -> None:
    place.database.write_bytes(b"not a database, just some bytes " * 200)
    for suffix in ("-wal", "-shm"):
        Path(f"{place.database}{suffix}").unlink(missing_ok=True)


def busy_port(place: Place) -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    place.env["BUSY_PORT"] = str(sock.getsockname()[1])
    place.undo.append(sock.close)


def other_app_key(place: Place) -> None:
    place.env["GITHUB_APP_ID"] = str(place.prepared.keys.identity.app_id)
    place.env["GITHUB_APP_PRIVATE_KEY"] = new_app_keys().private_key_pem
    place.env.pop("GITHUB_TOKEN", None)


def app_key_file(content: str) -> Callable[[Place], None]:
    def prepare(place: Place) -> None:
        (place.directory / "app.pem").write_text(content)
        place.env["GITHUB_APP_ID"] = str(place.prepared.keys.identity.app_id)
        place.env["GITHUB_APP_PRIVATE_KEY_PATH"] = str(place.directory / "app.pem")
        place.env.pop("GITHUB_TOKEN", None)

    return prepare


def several(*steps: Callable[[Place], None]) -> Callable[[Place], None]:
    def prepare(place: Place) -> None:
        for step in steps:
            step(place)

    return prepare


# -- the table --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    id: str
    argv: tuple[str, ...]
    code: int  # 2: a usage error (an argument, an option, a setting); 1: anything else
    says: tuple[str, ...]  # what the line must name: the problem and where it came from
    env: tuple[tuple[str, str], ...] = ()
    prepare: Callable[[Place], None] | None = None

    def param(self) -> Any:
        return pytest.param(self, id=self.id)


BAD_NAMES = {
    "no-slash": ("foo", "'foo'"),
    "three-parts": ("a/b/c", "'a/b/c'"),
    "dot-dot": ("../x", "'../x'"),
    "empty": ("", "''"),
    "300-characters": (LONG_NAME, "is not a repository name"),
    "bell": ("acme/wid\agets", r"'acme/wid\x07gets'"),
    "newline": ("acme/widgets\n", r"'acme/widgets\n'"),
    "tab": ("acme\t/widgets", r"'acme\t/widgets'"),
    "space": ("acme/widgets ", "'acme/widgets '"),
}

# Every command that takes a repository, with the repository's place in its arguments.
REPOSITORY_COMMANDS: dict[str, Callable[[str], tuple[str, ...]]] = {
    "capture-prs": lambda r: ("capture", "prs", r),
    "capture-reviews": lambda r: ("capture", "reviews", r),
    "capture-comments": lambda r: ("capture", "comments", r),
    "capture-files": lambda r: ("capture", "files", r),
    "capture-pr-details": lambda r: ("capture", "pr-details", r, "--pr-numbers", "1"),
    "sync": lambda r: ("sync", r, "--quiet"),
    "track": lambda r: ("track", r),
    "untrack": lambda r: ("untrack", r),
    "jobs-list": lambda r: ("jobs", "list", "--repo", r),
}


def repository_cases() -> list[Case]:
    cases = []
    for command, argv in REPOSITORY_COMMANDS.items():
        for name_id, (name, shown) in BAD_NAMES.items():
            cases.append(Case(f"{command}-name-{name_id}", argv(name), 2, (shown, "OWNER/NAME")))
    return cases


# Every command that opens the database, with arguments that are otherwise good.
def database_commands() -> dict[str, tuple[tuple[str, ...], tuple[tuple[str, str], ...]]]:
    actions = (("GHCAPTURE_ACTIONS_REPOSITORY", "acme/jobs"), ("GHCAPTURE_WEBHOOK_SECRET", "hook-secret"))
    return {
        "capture-prs": (("capture", "prs", "acme/widgets"), ()),
        "capture-pr-details": (("capture", "pr-details", "acme/widgets", "--pr-numbers", "1-3"), ()),
        "sync": (("sync", "acme/widgets", "--quiet"), ()),
        "jobs-list": (("jobs", "list"), ()),
        "jobs-show": (("jobs", "show", QUEUED_JOB), ()),
        "jobs-retry": (("jobs", "retry", FAILED_JOB), ()),
        "jobs-cancel": (("jobs", "cancel", QUEUED_JOB), ()),
        "track": (("track", "acme/gadgets"), ()),
        "track-list": (("track", "--list"), ()),
        "untrack": (("untrack", "acme/widgets"), ()),
        "worker": (("worker",), ()),
        "reconcile": (("reconcile",), actions),
        "report": (("report",), ()),
        # The prepared failed job is not an error here. `alerts` records what it sent (so a firing alert is
        # sent once per cool-down); `--no-send` only reads.
        "alerts": (("alerts", "--failed-within", "0"), ()),
        "alerts-no-send": (("alerts", "--failed-within", "0", "--no-send"), ()),
        "dashboard": (("dashboard", "--port", "{FREE_PORT}"), ()),
        "webhook-serve": (("webhook", "serve", "--port", "{FREE_PORT}"), actions),
        "db-upgrade": (("db", "upgrade"), ()),
        "db-status": (("db", "status"), ()),
    }


# Listening beyond loopback needs a dashboard token; with one, the address itself is what is wrong.
DASHBOARD_TOKEN = "a-dashboard-token-of-some-length"

# Commands that write nothing unless there is work: on a read-only file they answer (or start serving).
READERS = {
    "jobs-list",
    "jobs-show",
    "track-list",
    "report",
    "alerts-no-send",
    "db-status",
    "db-upgrade",
    "dashboard",
    "reconcile",
    "webhook-serve",
}


def database_cases() -> list[Case]:
    cases = []
    for command, (argv, env) in database_commands().items():
        cases += [
            Case(
                f"{command}-db-unreachable",
                argv,
                1,
                ("127.0.0.1:1", "connection refused"),
                env=(*env, ("GHCAPTURE_DATABASE_URL", UNREACHABLE)),
            ),
            Case(
                f"{command}-db-malformed-url",
                argv,
                2,
                ("GHCAPTURE_DATABASE_URL", "not a database URL", "'sqlite//x.db'"),
                env=(*env, ("GHCAPTURE_DATABASE_URL", "sqlite//x.db")),
            ),
            Case(
                f"{command}-db-unsupported",
                argv,
                2,
                ("GHCAPTURE_DATABASE_URL", "unsupported database", "'mysql'"),
                env=(*env, ("GHCAPTURE_DATABASE_URL", "mysql://u@localhost/x")),
            ),
            Case(
                f"{command}-db-corrupt",
                argv,
                1,
                ("sqlite:///", "not a SQLite database or is damaged"),
                env=env,
                prepare=corrupt,
            ),
            Case(
                f"{command}-db-in-a-file",
                argv,
                1,
                # The dashboard only opens a database that exists: there is none at that path.
                ("sqlite:///", "plain/x.db", "no database" if command == "dashboard" else "not a directory"),
                env=(*env, ("GHCAPTURE_DATABASE_URL", "sqlite:///plain/x.db")),
                prepare=write("plain", "a file where a directory should be"),
            ),
            Case(
                f"{command}-db-from-settings-file",
                argv,
                2,
                ("ghcapture.toml", "database_url", "not a database URL", "'nonsense'"),
                env=(*env, ("GHCAPTURE_DATABASE_URL", "")),
                prepare=write("ghcapture.toml", 'database_url = "nonsense"\n'),
            ),
        ]
        writes = command not in READERS
        cases.append(
            Case(
                f"{command}-db-read-only",
                argv,
                1 if writes else 0,
                ("sqlite:///", "read-only") if writes else (),
                env=env,
                prepare=read_only,
            )
        )
    return cases


# Every command that reads settings.
SETTINGS_COMMANDS: dict[str, tuple[str, ...]] = {
    "capture-prs": ("capture", "prs", "acme/widgets"),
    "sync": ("sync", "acme/widgets", "--quiet"),
    "jobs-list": ("jobs", "list"),
    "jobs-show": ("jobs", "show", QUEUED_JOB),
    "jobs-retry": ("jobs", "retry", FAILED_JOB),
    "jobs-cancel": ("jobs", "cancel", QUEUED_JOB),
    "track": ("track", "acme/widgets"),
    "untrack": ("untrack", "acme/widgets"),
    "worker": ("worker",),
    "reconcile": ("reconcile",),
    "report": ("report",),
    "alerts": ("alerts",),
    "dashboard": ("dashboard", "--port", "{FREE_PORT}"),
    "webhook-serve": ("webhook", "serve", "--port", "{FREE_PORT}"),
    "db-upgrade": ("db", "upgrade"),
    "db-status": ("db", "status"),
    "demo": ("demo", "--prs", "3", "--profile", "fast"),
}


def settings_cases() -> list[Case]:
    cases = []
    for command, argv in SETTINGS_COMMANDS.items():
        if command != "demo":  # the demo serves its own GitHub stand-in, whatever GITHUB_API_URL says
            cases.append(
                Case(
                    f"{command}-settings-api-url",
                    argv,
                    2,
                    ("GITHUB_API_URL", "http://"),
                    env=(("GITHUB_API_URL", "ftp://example.com"),),
                )
            )
        cases += [
            Case(
                f"{command}-settings-not-toml",
                argv,
                2,
                ("ghcapture.toml", "not valid TOML"),
                prepare=write("ghcapture.toml", "database_url = \n"),
            ),
            Case(
                f"{command}-settings-not-utf8",
                argv,
                2,
                ("ghcapture.toml", "not UTF-8"),
                prepare=write("ghcapture.toml", b'database_url = "\xff\xfe"\n'),
            ),
            Case(
                f"{command}-settings-unknown-key",
                argv,
                2,
                ("ghcapture.toml", "databse_url", "database_url"),
                prepare=write("ghcapture.toml", 'databse_url = "sqlite:///other.db"\n'),
            ),
            Case(
                f"{command}-settings-wrong-type-in-file",
                argv,
                2,
                ("ghcapture.toml", "heartbeat_seconds"),
                prepare=write("ghcapture.toml", 'heartbeat_seconds = "often"\n'),
            ),
            Case(
                f"{command}-settings-wrong-type-in-env",
                argv,
                2,
                ("GHCAPTURE_JOB_MAX_ATTEMPTS",),
                env=(("GHCAPTURE_JOB_MAX_ATTEMPTS", "three"),),
            ),
            Case(
                f"{command}-settings-file-missing",
                argv,
                2,
                ("GHCAPTURE_CONFIG", "nowhere.toml", "does not exist"),
                env=(("GHCAPTURE_CONFIG", "nowhere.toml"),),
            ),
            Case(
                f"{command}-settings-file-a-directory",
                argv,
                2,
                ("GHCAPTURE_CONFIG", "conf.d"),
                env=(("GHCAPTURE_CONFIG", "conf.d"),),
                prepare=write("conf.d/placeholder", ""),
            ),
            Case(
                f"{command}-settings-outage-seconds",
                argv,
                2,
                ("GHCAPTURE_DB_OUTAGE_SECONDS",),
                env=(("GHCAPTURE_DB_OUTAGE_SECONDS", "a minute"),),
            ),
        ]
    return cases


# Who the capture is: personal tokens and GitHub Apps, on the commands that call GitHub.
GITHUB_COMMANDS: dict[str, tuple[str, ...]] = {
    "capture-prs": ("capture", "prs", "acme/widgets"),
    "capture-files": ("capture", "files", "acme/widgets", "--days", "3"),
    "sync": ("sync", "acme/widgets", "--quiet"),
}


def credential_cases() -> list[Case]:
    cases = []
    for command, argv in GITHUB_COMMANDS.items():
        cases += [
            Case(
                f"{command}-token-refused",
                argv,
                1,
                ("Bad credentials",),
                env=(("GITHUB_TOKEN", "ghp_wrong"),),
            ),
            Case(
                f"{command}-no-credentials",
                argv,
                2,
                ("GITHUB_TOKEN", "GITHUB_APP_ID"),
                env=(("GITHUB_TOKEN", ""),),
            ),
            Case(
                f"{command}-app-key-of-another-app",
                argv,
                1,
                ("rejected the App's JWT", "GITHUB_APP_ID", "private key"),
                prepare=other_app_key,
            ),
            Case(
                f"{command}-app-key-not-a-key",
                argv,
                2,
                ("GITHUB_APP_PRIVATE_KEY",),
                env=(
                    ("GITHUB_APP_ID", "424242"),
                    ("GITHUB_APP_PRIVATE_KEY", "not a key"),
                    ("GITHUB_TOKEN", ""),
                ),
            ),
            Case(
                f"{command}-app-key-file-missing",
                argv,
                2,
                ("GITHUB_APP_PRIVATE_KEY_PATH", "cannot read"),
                env=(
                    ("GITHUB_APP_ID", "424242"),
                    ("GITHUB_APP_PRIVATE_KEY_PATH", "/nonexistent/app.pem"),
                    ("GITHUB_TOKEN", ""),
                ),
            ),
            Case(
                f"{command}-app-key-file-garbage",
                argv,
                2,
                ("GITHUB_APP_PRIVATE_KEY_PATH",),
                prepare=app_key_file("-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n"),
            ),
            Case(
                f"{command}-app-id-not-a-number",
                argv,
                1,
                ("rejected the App's JWT", "GITHUB_APP_ID"),
                env=(("GITHUB_APP_ID", "not-an-app"),),
                prepare=other_app_key,
            ),
            Case(
                f"{command}-unknown-repository",
                tuple("acme/nothing" if a == "acme/widgets" else a for a in argv),
                1,
                ("acme/nothing",),
            ),
            Case(
                f"{command}-github-unreachable",
                argv,
                1,
                ("cannot reach http://127.0.0.1:1",),
                env=(("GITHUB_API_URL", "http://127.0.0.1:1"), ("GITHUB_GRAPHQL_URL", "")),
            ),
        ]
    return cases


def number_and_date_cases() -> list[Case]:
    table = [
        # capture and sync scopes
        ("capture-days-zero", ("capture", "prs", "acme/widgets", "--days", "0"), ("--days", "at least 1")),
        (
            "capture-days-negative",
            ("capture", "prs", "acme/widgets", "--days", "-3"),
            ("--days", "at least 1"),
        ),
        (
            "capture-days-text",
            ("capture", "prs", "acme/widgets", "--days", "week"),
            ("--days", "whole number"),
        ),
        ("capture-max-items-zero", ("capture", "prs", "acme/widgets", "--max-items", "0"), ("--max-items",)),
        (
            "capture-max-items-negative",
            ("capture", "prs", "acme/widgets", "--max-items", "-1"),
            ("--max-items",),
        ),
        (
            "capture-since-word",
            ("capture", "prs", "acme/widgets", "--since", "yesterday"),
            ("--since", "'yesterday'"),
        ),
        (
            "capture-since-impossible",
            ("capture", "prs", "acme/widgets", "--since", "2025-13-45"),
            ("--since",),
        ),
        ("capture-since-empty", ("capture", "prs", "acme/widgets", "--since", ""), ("--since",)),
        (
            "capture-days-and-since",
            ("capture", "prs", "acme/widgets", "--days", "2", "--since", "2025-01-01"),
            ("--days", "--since"),
        ),
        (
            "capture-pr-numbers-open-range",
            ("capture", "prs", "acme/widgets", "--pr-numbers", "1-"),
            ("--pr-numbers", "'1-'"),
        ),
        (
            "capture-pr-numbers-backwards",
            ("capture", "prs", "acme/widgets", "--pr-numbers", "5-2"),
            ("--pr-numbers", "'5-2'"),
        ),
        (
            "capture-pr-numbers-zero",
            ("capture", "prs", "acme/widgets", "--pr-numbers", "0"),
            ("--pr-numbers", "'0'"),
        ),
        (
            "capture-pr-numbers-word",
            ("capture", "prs", "acme/widgets", "--pr-numbers", "seven"),
            ("--pr-numbers", "'seven'"),
        ),
        (
            "capture-pr-numbers-huge-range",
            ("capture", "prs", "acme/widgets", "--pr-numbers", "1-999999999"),
            ("--pr-numbers",),
        ),
        (
            "capture-pr-numbers-empty",
            ("capture", "prs", "acme/widgets", "--pr-numbers", ","),
            ("--pr-numbers",),
        ),
        (
            "capture-pr-numbers-too-large",
            ("capture", "pr-details", "acme/widgets", "--pr-numbers", "99999999999999999999999"),
            ("--pr-numbers",),
        ),
        (
            "capture-chunk-not-json",
            ("capture", "prs", "acme/widgets", "--chunk", "{numbers"),
            ("--chunk", "JSON"),
        ),
        (
            "capture-chunk-backwards",
            ("capture", "prs", "acme/widgets", "--chunk", '{"numbers": [5, 2]}'),
            ("--chunk",),
        ),
        (
            "capture-chunk-bad-date",
            ("capture", "prs", "acme/widgets", "--chunk", '{"since": "soon"}'),
            ("--chunk", "'soon'"),
        ),
        ("capture-chunk-list", ("capture", "prs", "acme/widgets", "--chunk", "[1, 2]"), ("--chunk",)),
        (
            "capture-chunk-window-backwards",
            ("capture", "prs", "acme/widgets", "--chunk", '{"since": "2025-02-01", "until": "2025-01-01"}'),
            ("--chunk", "until"),
        ),
        ("pr-details-without-numbers", ("capture", "pr-details", "acme/widgets"), ("--pr-numbers",)),
        ("sync-days-zero", ("sync", "acme/widgets", "--days", "0"), ("--days", "at least 1")),
        ("sync-max-items-zero", ("sync", "acme/widgets", "--max-items", "0"), ("--max-items",)),
        ("sync-since-word", ("sync", "acme/widgets", "--since", "last tuesday"), ("--since",)),
        ("sync-pr-numbers-backwards", ("sync", "acme/widgets", "--pr-numbers", "9-1"), ("--pr-numbers",)),
        ("sync-kind", ("sync", "acme/widgets", "--kind", "issues"), ("--kind", "'issues'")),
        ("sync-lane", ("sync", "acme/widgets", "--lane", "fast"), ("--lane", "'fast'")),
        ("sync-trigger", ("sync", "acme/widgets", "--trigger", "cron"), ("--trigger", "'cron'")),
        # jobs
        ("jobs-list-limit-zero", ("jobs", "list", "--limit", "0"), ("--limit", "at least 1")),
        ("jobs-list-limit-negative", ("jobs", "list", "--limit", "-5"), ("--limit", "at least 1")),
        ("jobs-list-status", ("jobs", "list", "--status", "done"), ("--status", "'done'")),
        ("jobs-list-lane", ("jobs", "list", "--lane", "slow"), ("--lane", "'slow'")),
        ("jobs-show-short-id", ("jobs", "show", "ab"), ("'ab'", "at least 4")),
        ("jobs-show-blank-id", ("jobs", "show", " "), ("job id",)),
        # track and worker
        ("track-every-zero", ("track", "acme/widgets", "--every", "0h"), ("--every", "'0h'")),
        ("track-every-negative", ("track", "acme/widgets", "--every", "-5m"), ("--every", "'-5m'")),
        ("track-every-word", ("track", "acme/widgets", "--every", "daily"), ("--every", "'daily'")),
        ("track-every-uneven", ("track", "acme/widgets", "--every", "7m"), ("--every", "'7m'")),
        ("track-backfill-zero", ("track", "acme/widgets", "--backfill", "0"), ("--backfill", "at least 1")),
        (
            "track-backfill-negative",
            ("track", "acme/widgets", "--backfill", "-30"),
            ("--backfill", "at least 1"),
        ),
        ("track-kind", ("track", "acme/widgets", "--kind", "pr-details"), ("--kind", "'pr-details'")),
        ("track-no-repository", ("track",), ("OWNER/NAME", "--list")),
        ("worker-concurrency-zero", ("worker", "--concurrency", "0"), ("--concurrency", "at least 1")),
        ("worker-concurrency-negative", ("worker", "--concurrency", "-2"), ("--concurrency", "at least 1")),
        ("worker-stop-wait-negative", ("worker", "--stop-wait", "-1"), ("--stop-wait", "at least 0")),
        # reconcile, report, alerts
        ("reconcile-watch-negative", ("reconcile", "--watch", "-5"), ("--watch", "at least 0")),
        ("report-since-word", ("report", "--since", "last month"), ("--since", "'last month'")),
        ("report-since-impossible", ("report", "--since", "2026-02-30"), ("--since", "'2026-02-30'")),
        ("alerts-stuck-after-negative", ("alerts", "--stuck-after", "-1"), ("--stuck-after", "at least 0")),
        (
            "alerts-failed-within-negative",
            ("alerts", "--failed-within", "-2"),
            ("--failed-within", "at least 0"),
        ),
        ("alerts-missing-zero", ("alerts", "--missing", "0"), ("--missing", "at least 1")),
        ("alerts-stale-after-word", ("alerts", "--stale-after", "soon"), ("--stale-after", "number")),
        # servers
        ("dashboard-port-zero", ("dashboard", "--port", "0"), ("--port", "at least 1")),
        ("dashboard-port-negative", ("dashboard", "--port", "-80"), ("--port", "at least 1")),
        ("dashboard-port-too-large", ("dashboard", "--port", "65536"), ("--port", "at most 65535")),
        ("dashboard-port-word", ("dashboard", "--port", "http"), ("--port", "whole number")),
        ("webhook-port-too-large", ("webhook", "serve", "--port", "99999"), ("--port", "at most 65535")),
        ("simulate-port-zero", ("simulate", "--port", "0"), ("--port", "at least 1")),
        # simulate
        (
            "simulate-faults-negative",
            ("simulate", "--port", "{FREE_PORT}", "--faults", "-0.1"),
            ("--faults",),
        ),
        ("simulate-faults-above-one", ("simulate", "--port", "{FREE_PORT}", "--faults", "2"), ("--faults",)),
        (
            "simulate-fault-kinds",
            ("simulate", "--port", "{FREE_PORT}", "--fault-kinds", "gremlins"),
            ("--fault-kinds", "gremlins"),
        ),
        (
            "simulate-time-scale-zero",
            ("simulate", "--port", "{FREE_PORT}", "--time-scale", "0"),
            ("--time-scale",),
        ),
        (
            "simulate-time-scale-negative",
            ("simulate", "--port", "{FREE_PORT}", "--time-scale", "-1"),
            ("--time-scale",),
        ),
        (
            "simulate-rate-window-zero",
            ("simulate", "--port", "{FREE_PORT}", "--rate-window", "0"),
            ("--rate-window",),
        ),
        (
            "simulate-rest-budget-negative",
            ("simulate", "--port", "{FREE_PORT}", "--rest-budget", "-1"),
            ("--rest-budget",),
        ),
        (
            "simulate-graphql-budget-zero",
            ("simulate", "--port", "{FREE_PORT}", "--graphql-budget", "0"),
            ("--graphql-budget",),
        ),
        (
            "simulate-latency-negative",
            ("simulate", "--port", "{FREE_PORT}", "--latency", "-3"),
            ("--latency",),
        ),
        (
            "simulate-minute-seconds-zero",
            ("simulate", "--port", "{FREE_PORT}", "--runner", "--runner-minute-seconds", "0"),
            ("--runner-minute-seconds",),
        ),
        ("simulate-repo-spec", ("simulate", "--port", "{FREE_PORT}", "--repo", "acme/widgets"), ("--repo",)),
        (
            "simulate-repo-spec-negative",
            ("simulate", "--port", "{FREE_PORT}", "--repo", "acme/widgets:-5"),
            ("--repo",),
        ),
        (
            "simulate-repo-spec-bad-name",
            ("simulate", "--port", "{FREE_PORT}", "--repo", "../x:5"),
            ("--repo",),
        ),
        (
            "simulate-profile",
            ("simulate", "--port", "{FREE_PORT}", "--profile", "slow"),
            ("--profile", "'slow'"),
        ),
        (
            "simulate-token-user",
            ("simulate", "--port", "{FREE_PORT}", "--token-user", "nobody"),
            ("--token-user",),
        ),
        (
            "simulate-runner-secret",
            ("simulate", "--port", "{FREE_PORT}", "--runner-secret", "1X=y"),
            ("--runner-secret",),
        ),
        (
            "simulate-actions-repo",
            ("simulate", "--port", "{FREE_PORT}", "--actions-repo", "jobs"),
            ("--actions-repo", "'jobs'"),
        ),
        (
            "simulate-workflows-auth",
            ("simulate", "--port", "{FREE_PORT}", "--actions-repo", "acme/jobs", "--workflows-auth", "magic"),
            ("--workflows-auth",),
        ),
        # demo
        ("demo-prs-zero", ("demo", "--prs", "0"), ("--prs",)),
        ("demo-prs-negative", ("demo", "--prs", "-10"), ("--prs",)),
        ("demo-time-scale-zero", ("demo", "--prs", "3", "--time-scale", "0"), ("--time-scale",)),
        ("demo-profile", ("demo", "--prs", "3", "--profile", "turbo"), ("--profile", "'turbo'")),
        (
            "demo-database-malformed",
            ("demo", "--prs", "3", "--database", "nonsense"),
            ("--database", "'nonsense'"),
        ),
        # workflows
        (
            "workflows-max-parallel-zero",
            ("workflows", "generate", "--out", "wf", "--max-parallel", "0"),
            ("--max-parallel", "at least 1"),
        ),
        (
            "workflows-max-parallel-too-large",
            ("workflows", "generate", "--out", "wf", "--max-parallel", "257"),
            ("--max-parallel", "at most 256"),
        ),
        (
            "workflows-auth",
            ("workflows", "generate", "--out", "wf", "--auth", "magic"),
            ("--auth", "'magic'"),
        ),
    ]
    return [Case(case_id, argv, 2, says) for case_id, argv, says in table]


def other_cases() -> list[Case]:
    port = "{BUSY_PORT}"
    actions = (("GHCAPTURE_ACTIONS_REPOSITORY", "acme/jobs"), ("GHCAPTURE_WEBHOOK_SECRET", "hook-secret"))
    return [
        # unknown job ids
        Case("jobs-show-unknown", ("jobs", "show", "deadbeef"), 1, ("'deadbeef'", "no job")),
        Case("jobs-show-wildcards", ("jobs", "show", "%%%%"), 1, ("'%%%%'", "no job")),
        Case("jobs-retry-unknown", ("jobs", "retry", "deadbeef"), 1, ("'deadbeef'", "no job")),
        Case("jobs-cancel-unknown", ("jobs", "cancel", "deadbeef"), 1, ("'deadbeef'", "no job")),
        Case(
            "reconcile-job-unknown",
            ("reconcile", "--job", "deadbeef"),
            1,
            ("'deadbeef'", "no job"),
            env=actions,
        ),
        Case(
            "capture-job-id-unknown",
            ("capture", "prs", "acme/widgets", "--job-id", "deadbeef-0000-4000-8000-000000000000"),
            1,
            ("--job-id", "deadbeef-0000-4000-8000-000000000000"),
        ),
        # jobs in the wrong state for what is asked
        Case("jobs-retry-completed", ("jobs", "retry", COMPLETED_JOB), 1, (COMPLETED_JOB, "completed")),
        Case("jobs-retry-queued", ("jobs", "retry", QUEUED_JOB), 1, (QUEUED_JOB, "queued")),
        Case("jobs-cancel-completed", ("jobs", "cancel", COMPLETED_JOB), 1, (COMPLETED_JOB, "completed")),
        Case("untrack-not-tracked", ("untrack", "acme/gadgets"), 1, ("acme/gadgets", "not tracked")),
        # unknown repositories on GitHub's side
        Case("capture-prs-unknown-owner", ("capture", "prs", "nobody/widgets"), 1, ("nobody/widgets",)),
        # the bulk lane not configured
        Case("reconcile-not-configured", ("reconcile",), 2, ("GHCAPTURE_ACTIONS_REPOSITORY",)),
        Case(
            "webhook-no-secret",
            ("webhook", "serve", "--port", "{FREE_PORT}"),
            2,
            ("GHCAPTURE_WEBHOOK_SECRET",),
        ),
        # busy and unknown addresses
        Case(
            "dashboard-port-busy",
            ("dashboard", "--port", port),
            1,
            (f"127.0.0.1:{port}", "in use"),
            prepare=busy_port,
        ),
        Case(
            "simulate-port-busy",
            ("simulate", "--port", port),
            1,
            (f"127.0.0.1:{port}", "in use"),
            prepare=busy_port,
        ),
        Case(
            "webhook-port-busy",
            ("webhook", "serve", "--port", port),
            1,
            (f"127.0.0.1:{port}", "in use"),
            env=actions,
            prepare=busy_port,
        ),
        Case(
            "dashboard-host-unknown",
            ("dashboard", "--host", "no-such-host.invalid", "--port", "{FREE_PORT}"),
            1,
            ("no-such-host.invalid", "unknown address"),
            env=(("GHCAPTURE_DASHBOARD_TOKEN", DASHBOARD_TOKEN),),
        ),
        Case(
            "dashboard-host-malformed",
            ("dashboard", "--host", "300.1.2.3", "--port", "{FREE_PORT}"),
            1,
            ("300.1.2.3",),
            env=(("GHCAPTURE_DASHBOARD_TOKEN", DASHBOARD_TOKEN),),
        ),
        Case(
            "simulate-host-not-here",
            ("simulate", "--host", "192.0.2.1", "--port", "{FREE_PORT}"),
            1,
            ("192.0.2.1",),
        ),
        # unwritable paths
        Case(
            "workflows-out-proc",
            ("workflows", "generate", "--out", "/proc/x"),
            1,
            ("--out /proc/x", "cannot write"),
        ),
        Case(
            "workflows-out-a-file",
            ("workflows", "generate", "--out", "plain"),
            1,
            ("--out plain",),
            prepare=write("plain", "a file"),
        ),
        Case(
            "simulate-app-key-out-proc",
            ("simulate", "--port", "{FREE_PORT}", "--app-key-out", "/proc/x/key.pem"),
            2,
            ("--app-key-out", "/proc/x/key.pem"),
        ),
        Case(
            "capture-db-directory-unwritable",
            ("capture", "prs", "acme/widgets"),
            1,
            ("/proc/ghcapture/x.db",),
            env=(("GHCAPTURE_DATABASE_URL", "sqlite:////proc/ghcapture/x.db"),),
        ),
        # bad datasets
        Case(
            "simulate-dataset-missing",
            ("simulate", "--port", "{FREE_PORT}", "--dataset", "none.json"),
            2,
            ("none.json",),
        ),
        Case(
            "simulate-dataset-directory",
            ("simulate", "--port", "{FREE_PORT}", "--dataset", "."),
            2,
            ("dataset .", "directory"),
        ),
        Case(
            "simulate-dataset-not-json",
            ("simulate", "--port", "{FREE_PORT}", "--dataset", "d.json"),
            2,
            ("d.json",),
            prepare=write("d.json", "{not json"),
        ),
        Case(
            "simulate-dataset-not-utf8",
            ("simulate", "--port", "{FREE_PORT}", "--dataset", "d.json"),
            2,
            ("d.json",),
            prepare=write("d.json", b'{"repositories": "\xff"}'),
        ),
        Case(
            "simulate-dataset-prs-not-a-list",
            ("simulate", "--port", "{FREE_PORT}", "--dataset", "d.json"),
            2,
            ("d.json", "pull_requests"),
            prepare=write("d.json", '{"repositories": [{"owner": "a", "name": "b", "pull_requests": {}}]}'),
        ),
        Case(
            "simulate-dataset-number-word",
            ("simulate", "--port", "{FREE_PORT}", "--dataset", "d.json"),
            2,
            ("d.json", "number"),
            prepare=write(
                "d.json",
                '{"repositories": [{"owner": "a", "name": "b", "pull_requests": '
                '[{"id": 1, "number": "one"}]}]}',
            ),
        ),
        Case(
            "simulate-dataset-nan",
            ("simulate", "--port", "{FREE_PORT}", "--dataset", "d.json"),
            2,
            ("d.json",),
            prepare=write("d.json", '{"repositories": NaN}'),
        ),
        Case(
            "simulate-dataset-deep",
            ("simulate", "--port", "{FREE_PORT}", "--dataset", "d.json"),
            2,
            ("d.json",),
            prepare=write("d.json", "[" * 100_000 + "]" * 100_000),
        ),
    ]


def all_cases() -> list[Any]:
    cases = [
        *repository_cases(),
        *database_cases(),
        *settings_cases(),
        *credential_cases(),
        *number_and_date_cases(),
        *other_cases(),
    ]
    ids = [c.id for c in cases]
    assert len(ids) == len(set(ids)), "case ids repeat"
    return [c.param() for c in cases]


# -- running a case ---------------------------------------------------------------------------------------


# What GitHub said of the budget, recorded by every capture that asked it anything, failed ones included:
# telemetry, not data.
TELEMETRY = {"rate_limit_samples"}


def dump(database: Path) -> bytes | dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, sorted; the file's bytes when it is not a database SQLite can read."""
    if not database.exists():
        return b""
    try:
        # Read-only and immutable: looking cannot change the file or need to write beside it.
        with sqlite3.connect(f"file:{database}?mode=ro&immutable=1", uri=True) as conn:
            names = [
                n
                for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
                if n not in TELEMETRY
            ]
            return {n: sorted(conn.execute(f'SELECT * FROM "{n}"').fetchall(), key=repr) for n in names}
    except sqlite3.DatabaseError:
        return database.read_bytes()


def checkpoint(database: Path) -> None:
    """Fold the write-ahead log into the file, so that an immutable read sees every committed row."""
    if database.exists() and database.read_bytes()[:16] == b"SQLite format 3\x00":
        with sqlite3.connect(database) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


# Settings this process was started with are cleared for a case: it reads only its own.
SETTINGS_ENV = (
    "GHCAPTURE_",
    "GITHUB_",
)


@pytest.fixture
def place(prepared: Prepared, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Place]:
    database = tmp_path / "ghcapture.db"
    shutil.copy(prepared.template, database)
    env = {
        "GITHUB_TOKEN": TOKEN,
        "GITHUB_API_URL": prepared.server.url,
        "GITHUB_GRAPHQL_URL": prepared.server.url + "/graphql",
        "GHCAPTURE_DATABASE_URL": f"sqlite:///{database}",
        "GHCAPTURE_POLL_SECONDS": "0.2",
        "COLUMNS": "100",
    }
    saved = dict(os.environ)
    for name in list(os.environ):
        if name.startswith(SETTINGS_ENV):
            del os.environ[name]
    monkeypatch.chdir(tmp_path)
    found = Place(tmp_path, database, env, prepared)
    yield found
    for undo in reversed(found.undo):
        undo()
    os.environ.clear()
    os.environ.update(saved)


class Started(Exception):
    """A server or worker got as far as serving: the input was accepted."""


def refuse_to_run(*args: Any, **_kwargs: Any) -> None:
    for arg in args:
        if isinstance(arg, socket.socket):
            arg.close()
    raise Started()


@pytest.fixture(autouse=True)
def nothing_serves(monkeypatch: pytest.MonkeyPatch) -> None:
    """Servers and the worker stop where they would start serving: a case that gets there was accepted."""
    import ghcapture.cli.dashboard
    import ghcapture.cli.reconcile
    import ghcapture.jobs.local
    import ghcapture.simulator.server

    monkeypatch.setattr(ghcapture.cli.dashboard, "serve_on", refuse_to_run)
    monkeypatch.setattr(ghcapture.cli.reconcile, "serve_on", refuse_to_run)
    monkeypatch.setattr(ghcapture.simulator.server, "serve_forever", refuse_to_run)
    original = ghcapture.jobs.local.launched

    def launched(*args: Any, **kwargs: Any) -> Any:
        # The worker's own loop; sync runs its job in this engine too, and may.
        if kwargs.get("listen", True):
            refuse_to_run()
        return original(*args, **kwargs)

    monkeypatch.setattr(ghcapture.jobs.local, "launched", launched)


def run_main(
    argv: list[str], env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    for name, value in env.items():
        if value == "":
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    try:
        main(argv)
        code = 0
    except Started:
        code = 0
    except SystemExit as exit_info:
        code = exit_info.code if isinstance(exit_info.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


def fill_in(text: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        text = text.replace("{" + name + "}", value)
    return text


@pytest.mark.timeout(60)
@pytest.mark.parametrize("case", all_cases())
def test_bad_input(case: Case, place: Place, capsys: pytest.CaptureFixture[str]) -> None:
    place.env.update(dict(case.env))
    place.env.setdefault("FREE_PORT", str(free_port()))
    if case.prepare is not None:
        case.prepare(place)
    fill = {
        "FREE_PORT": place.env["FREE_PORT"],
        "BUSY_PORT": place.env.get("BUSY_PORT", ""),
        **place.prepared.jobs,
    }
    argv = [fill_in(a, fill) for a in case.argv]
    says = [fill_in(s, fill) for s in case.says]
    checkpoint(place.database)
    before = dump(place.database)

    code, out, err = run_main(argv, {k: v for k, v in place.env.items() if k not in fill}, capsys)

    checkpoint(place.database)
    assert "Traceback" not in err + out, err
    if case.code == 0:  # accepted as it should be (a reader on a read-only file), and nothing written
        assert "ghcapture: error" not in err, out + err
        # `alerts` exits 1 for an alert of error severity: the prepared queued job has no worker alive.
        assert code == 0 or (case.argv[0] == "alerts" and "no_worker" in out), out + err
        assert dump(place.database) == before
        return
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    line = lines[0]
    assert line.startswith("ghcapture: error: "), line
    assert code == case.code, line
    missing = [s for s in says if s.lower() not in line.lower()]
    assert not missing, f"{line!r} does not name {missing}"
    assert PASSWORD not in err + out and TOKEN not in err + out
    assert dump(place.database) == before, line
