"""The command line's surface: usage errors in one line, --version, flag help, servers that bind before
they announce themselves, and tables that fit 80 columns."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ghcapture import __version__
from ghcapture.cli import main
from ghcapture.jobs.router import Route
from ghcapture.jobs.store import JobStore
from ghcapture.store.database import open_database
from monitor_support import known_store


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path}/surface.db"
    monkeypatch.setenv("GHCAPTURE_DATABASE_URL", url)
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.delenv("GHCAPTURE_CONFIG", raising=False)
    return url


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        main(argv)
        code = 0
    except SystemExit as exit_info:
        code = exit_info.code if isinstance(exit_info.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line(err: str) -> str:
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("ghcapture: error: "), err
    return lines[0].removeprefix("ghcapture: error: ")


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (["jobs", "list", "--limit", "0"], "--limit: must be at least 1"),
        (["jobs", "list", "--limit", "many"], "--limit: must be a whole number"),
        (["alerts", "--stuck-after", "-1"], "--stuck-after: must be at least 0"),
        (["workflows", "generate", "--auth", "magic"], "--auth: 'magic' is not one of 'app', 'token'"),
        (["dashboard", "--port", "99999"], "--port: must be at most 65535"),
        (["simulate", "--port", "70000"], "--port: must be at most 65535"),
        (["webhook", "serve", "--port", "0"], "--port: must be at least 1"),
        (["jobs", "list", "--json", "true"], "unexpected argument: true"),
        (["jobs", "list", "--lim", "3"], "no such option: --lim (did you mean --limit?)"),
        (["jobs", "show"], "missing argument JOB_ID"),
        (["track", "--every"], "--every: needs a value"),
        (["no-such-command"], "no such command 'no-such-command'"),
        (["verify"], "missing argument REPOSITORY"),
        (["verify", "acme/widgets", "--repiar"], "no such option: --repiar (did you mean --repair?)"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(
    database: str, argv: list[str], line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(argv, capsys)

    assert code == 2
    assert assert_one_line(err) == line
    assert "Usage:" not in out + err


def test_pr_details_says_it_needs_pr_numbers_and_refuses_without_them(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _, help_text, _ = run(["capture", "pr-details", "--help"], capsys)
    code, _, err = run(["capture", "pr-details", "acme/widgets"], capsys)

    assert "Needs --pr-numbers" in help_text and "With no scope" not in help_text
    assert code == 2 and "--pr-numbers" in assert_one_line(err)


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["--version"], capsys)

    assert code == 0 and out.strip() == f"ghcapture {__version__}"


def test_flags_take_no_value_placeholder_and_chunk_help_is_whole(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    _, jobs_help, _ = run(["jobs", "list", "--help"], capsys)
    _, capture_help, _ = run(["capture", "prs", "--help"], capsys)

    flag_lines = [ln for ln in (jobs_help + capture_help).splitlines() if "--json" in ln or "--help" in ln]
    assert flag_lines and not any("<bool>" in ln for ln in flag_lines)
    assert "<int range>" in jobs_help  # options that take a value still show its type
    assert '{"numbers": [1, 500]}' in capture_help


def test_unwritable_out_is_one_line_naming_the_path(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(["workflows", "generate", "--out", "/proc/x"], capsys)

    assert code == 1
    assert assert_one_line(err).startswith("--out /proc/x: cannot write")


def test_interrupt_is_one_line_and_exit_130(
    database: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import ghcapture.monitor.report as report

    def interrupted(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(report, "cost_report", interrupted)
    code, _, err = run(["report"], capsys)

    assert code == 130 and err.strip() == "ghcapture: interrupted"


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield int(taken.getsockname()[1])


@pytest.mark.parametrize(
    "argv", [["dashboard"], ["simulate", "--profile", "fast", "--repo", "acme/widgets:5"]]
)
def test_a_port_in_use_is_one_line_and_nothing_is_announced(
    tmp_path: Path, busy_port: int, argv: list[str]
) -> None:
    env = {**os.environ, "GHCAPTURE_DATABASE_URL": f"sqlite:///{tmp_path}/s.db"}
    env.pop("GHCAPTURE_CONFIG", None)
    open_database(env["GHCAPTURE_DATABASE_URL"])  # the dashboard reads only a database that exists
    done = subprocess.run(
        [sys.executable, "-m", "ghcapture", *argv, "--port", str(busy_port)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 1
    assert assert_one_line(done.stderr) == f"cannot listen on 127.0.0.1:{busy_port}: address already in use"
    assert "http://" not in done.stdout


def test_the_simulator_suggests_a_token_it_accepts(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = subprocess.Popen(
        [sys.executable, "-m", "ghcapture", "simulate", "--profile", "fast", "--repo", "acme/widgets:5",
         "--port", str(port), "--token", "right"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        first = server.stdout.readline()
        # Announced only once bound: the port takes a connection the moment the line is out.
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass
        lines = [first] + [server.stdout.readline() for _ in range(3)]
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert first.startswith(f"GitHub simulator at http://127.0.0.1:{port}")
    try_line = next(ln for ln in lines if ln.startswith("Try:"))
    assert "GITHUB_TOKEN=right " in try_line


def _widest(text: str) -> int:
    return max((len(line) for line in text.splitlines()), default=0)


def test_tables_fit_80_columns_with_ids_and_headers_whole(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = open_database(database)
    known_store(engine)
    store = JobStore(engine)
    long_one = store.create(
        kind="pr-details",
        repository="some-organization/a-rather-long-repository-name",
        route=Route("bulk", "github_actions", "a test"),
    )
    main(["track", "acme/widgets", "--backfill", "30"])
    capsys.readouterr()

    outputs = {argv[0]: run(argv, capsys)[1] for argv in (["jobs", "list"], ["report"], ["alerts"])}
    outputs["track"] = run(["track", "--list"], capsys)[1]

    for name, out in outputs.items():
        assert out.strip(), name
        assert _widest(out) <= 80, (name, out)
        assert "…" not in out, (name, out)
    assert long_one.id in outputs["jobs"]
    assert "github_actions" in outputs["report"] and "processor" in outputs["report"]
    assert "repository_incomplete" in outputs["alerts"]
    stuck = next(line for line in outputs["alerts"].splitlines() if "job_stuck" in line)
    assert "job-running" in stuck  # the stuck job's id, whole
    assert outputs["jobs"].split()[:2] == ["id", "status"]  # a header row
    assert "acme/widgets" in outputs["track"] and "30 days, due" in outputs["track"]
