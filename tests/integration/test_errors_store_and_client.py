"""Failures a user meets before or during a capture, each one line naming what is wrong: an unusable database
file or server, a GitHub URL that cannot be reached, a GitHub App without its installation id, and
installation tokens that expire more than once in a run."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from capture_support import compare, run_capture
from ghcapture.capture.engine import capture
from ghcapture.config import Settings
from ghcapture.github.errors import BadCredentials, Unreachable
from ghcapture.github.http import GitHubClient
from ghcapture.simulator.app import SimulatorConfig
from ghcapture.simulator.server import AppKeys, SimulatorServer, new_app_keys
from ghcapture.store.database import open_database
from github_support import (  # noqa: F401
    FakeClock,
    ScriptedGitHub,
    anyio_backend,
    clock_fixture,
    reply,
    settings,
    stamina_without_waits,
)

PASSWORD = "s3cret-pw-never-shown"


def ghcapture(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ghcapture", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        cwd=cwd,
        timeout=60,
    )


def simulator_env(server: SimulatorServer, database_url: str) -> dict[str, str]:
    return {
        "GITHUB_TOKEN": "ghp_clitoken",
        "GITHUB_API_URL": server.url,
        "GITHUB_GRAPHQL_URL": server.url + "/graphql",
        "GHCAPTURE_DATABASE_URL": database_url,
    }


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("ghcapture: error: "), lines[0]
    return lines[0]


def table_counts(path: Path) -> dict[str, int]:
    # Read-only and immutable, so that counting cannot itself change the file or need to write beside it.
    with sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True) as connection:
        names = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        return {name: connection.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0] for (name,) in names}


@pytest.fixture
def make_unwritable() -> Iterator[Callable[[Path], None]]:
    """Make a file or directory unwritable for this process: root ignores permission bits, so it gets the
    immutable attribute instead (skipped where the filesystem or the container does not allow it)."""
    changed: list[tuple[Path, int]] = []

    def make(path: Path) -> None:
        mode = path.stat().st_mode
        if os.geteuid() == 0:
            done = subprocess.run(["chattr", "+i", str(path)], capture_output=True)
            if done.returncode != 0:
                pytest.skip(f"cannot make {path} immutable: {done.stderr.decode().strip()}")
        else:
            path.chmod(0o555 if path.is_dir() else 0o444)
        changed.append((path, mode))

    yield make
    for path, mode in reversed(changed):
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(path)], capture_output=True)
        path.chmod(mode)


@pytest.fixture
def captured(make_simulator: Callable[..., SimulatorServer], tmp_path: Path) -> tuple[SimulatorServer, Path]:
    """A simulator and a SQLite file holding one capture of it, every change checkpointed into the file."""
    server = make_simulator({"acme/widgets": 8})
    path = tmp_path / "x.db"
    engine = open_database(f"sqlite:///{path}")
    run_capture(server, engine, "acme/widgets")
    engine.dispose()  # the last connection to close folds the WAL into the file
    return server, path


# -- the database -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [["capture", "prs", "acme/widgets"], ["sync", "acme/widgets"]])
def test_read_only_database_is_one_line_and_keeps_what_it_holds(
    captured: tuple[SimulatorServer, Path], make_unwritable: Callable[[Path], None], command: list[str]
) -> None:
    server, path = captured
    before = table_counts(path)
    assert before["pull_requests"] == 8
    make_unwritable(path)
    result = ghcapture(*command, env=simulator_env(server, "sqlite:///x.db"), cwd=path.parent)
    line = one_line_error(result)
    assert "database sqlite:///x.db is read-only" in line
    assert table_counts(path) == before


@pytest.mark.parametrize("command", [["capture", "prs", "acme/widgets"], ["sync", "acme/widgets"]])
def test_corrupt_database_is_one_line_and_left_as_it_was(
    make_simulator: Callable[..., SimulatorServer], tmp_path: Path, command: list[str]
) -> None:
    server = make_simulator({"acme/widgets": 3})
    path = tmp_path / "x.db"
    garbage = b"not a database, just some bytes " * 200
    path.write_bytes(garbage)
    result = ghcapture(*command, env=simulator_env(server, "sqlite:///x.db"), cwd=tmp_path)
    line = one_line_error(result)
    assert "sqlite:///x.db" in line and "file is not a database" in line
    assert path.read_bytes() == garbage


def test_database_in_an_unwritable_directory_is_one_line(
    make_simulator: Callable[..., SimulatorServer], tmp_path: Path, make_unwritable: Callable[[Path], None]
) -> None:
    server = make_simulator({"acme/widgets": 3})
    locked = tmp_path / "locked"
    locked.mkdir()
    make_unwritable(locked)
    result = ghcapture(
        "capture", "prs", "acme/widgets", env=simulator_env(server, "sqlite:///locked/x.db"), cwd=tmp_path
    )
    line = one_line_error(result)
    assert "sqlite:///locked/x.db" in line and "not writable" in line
    assert not (locked / "x.db").exists()


@pytest.mark.parametrize("command", [["capture", "prs", "acme/widgets"], ["sync", "acme/widgets"]])
def test_unreachable_postgres_names_host_and_port_never_the_password(
    make_simulator: Callable[..., SimulatorServer], tmp_path: Path, command: list[str]
) -> None:
    server = make_simulator({"acme/widgets": 3})
    url = f"postgresql://capture:{PASSWORD}@127.0.0.1:1/ghcapture"
    result = ghcapture(*command, env=simulator_env(server, url), cwd=tmp_path)
    line = one_line_error(result)
    assert "127.0.0.1:1" in line
    assert PASSWORD not in result.stderr and PASSWORD not in result.stdout


# -- reaching GitHub --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("api_url", "shown", "reason"),
    [
        ("http://127.0.0.1:1", "http://127.0.0.1:1", "connection refused"),
        ("https://no-such-host.invalid", "https://no-such-host.invalid", "host not found"),
    ],
    ids=["refused", "dns"],
)
def test_unreachable_github_fails_at_once_naming_the_host(
    tmp_path: Path, api_url: str, shown: str, reason: str
) -> None:
    env = {
        "GITHUB_TOKEN": "ghp_clitoken",
        "GITHUB_API_URL": api_url,
        "GITHUB_GRAPHQL_URL": "",
        "GHCAPTURE_DATABASE_URL": "sqlite:///x.db",
    }
    started = time.monotonic()
    result = ghcapture("capture", "prs", "acme/widgets", env=env, cwd=tmp_path)
    elapsed = time.monotonic() - started
    line = one_line_error(result)
    assert f"cannot reach {shown} ({reason})" in line
    assert "ghp_clitoken" not in result.stderr
    assert elapsed < 10, f"took {elapsed:.1f} s"
    assert table_counts(tmp_path / "x.db").get("pull_requests") == 0


def scripted_client(github: ScriptedGitHub, clock: FakeClock) -> GitHubClient:
    return GitHubClient(settings(), transport=github.transport(), clock=clock, sleep=clock.sleep)


def refused() -> httpx.ConnectError:
    # httpx's own shape: its ConnectError caused by the socket's ConnectionRefusedError.
    error = httpx.ConnectError("All connection attempts failed")
    error.__cause__ = ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 443)")
    return error


@pytest.mark.anyio
async def test_refused_connection_after_github_answered_is_retried(clock: FakeClock) -> None:
    github = ScriptedGitHub(clock, reply(200, {"first": True}), refused(), reply(200, {"second": True}))
    async with scripted_client(github, clock) as client:
        await client.rest("GET", "/repos/acme/widgets")
        response = await client.rest("GET", "/repos/acme/widgets/pulls")
    assert response.data == {"second": True}
    assert client.stats.retries == 1


@pytest.mark.anyio
async def test_refused_first_contact_is_not_retried(clock: FakeClock) -> None:
    github = ScriptedGitHub(clock, refused(), reply(200, {"never": True}))
    async with scripted_client(github, clock) as client:
        with pytest.raises(Unreachable, match="connection refused"):
            await client.rest("GET", "/repos/acme/widgets")
    assert len(github.requests) == 1
    assert client.stats.retries == 0


# -- GitHub App credentials -------------------------------------------------------------------------------


def app_settings(server: SimulatorServer, keys: AppKeys, *, installation_id: str | None) -> Settings:
    return Settings(
        github_app_id=str(keys.identity.app_id),
        github_app_private_key=keys.private_key_pem,
        github_app_installation_id=installation_id,
        github_api_url=server.url,
        github_graphql_url=server.url + "/graphql",
    )


def app_capture(
    server: SimulatorServer, keys: AppKeys, sqlite_url: str, *, installation_id: str | None
) -> Engine:
    engine = open_database(sqlite_url)

    async def go() -> None:
        settings = app_settings(server, keys, installation_id=installation_id)
        async with GitHubClient(settings, retry_wait_initial=0.01, retry_wait_max=0.05) as client:
            await capture(client, engine, "acme/widgets")

    asyncio.run(go())
    return engine


def test_app_without_installation_id_finds_it_from_the_repository(
    make_simulator: Callable[..., SimulatorServer], sqlite_url: str
) -> None:
    keys = new_app_keys()
    config = SimulatorConfig(app=keys.identity, tokens=frozenset(), token_lifetime=3600)
    server = make_simulator({"acme/widgets": 20}, config=config)
    engine = app_capture(server, keys, sqlite_url, installation_id=None)
    check = compare(server, engine, "acme/widgets")
    assert check.equal, check.summary()
    apis = [api for _t, api, _status, _w in server.simulator.request_log]
    # The lookup and the token exchange are App calls, made before the capture's first GraphQL query.
    assert "graphql" in apis and set(apis[: apis.index("graphql")]) == {"app"}


@pytest.mark.parametrize("api", ["rest", "graphql"])
def test_installation_token_expiring_twice_on_one_request_is_renewed_twice(
    make_simulator: Callable[..., SimulatorServer], sqlite_url: str, api: str
) -> None:
    keys = new_app_keys()
    config = SimulatorConfig(app=keys.identity, tokens=frozenset(), token_lifetime=3600)
    server = make_simulator({"acme/widgets": 20}, config=config)
    faults = server.simulator.config.faults
    # One request: 401 (expired), renewed; the new token is rate limited, so it worked; after the wait it
    # has expired too: a second renewal, not bad credentials.
    faults.queue("expired-token", api, 1)
    faults.queue("secondary", api, 1)
    faults.queue("expired-token", api, 1)
    engine = app_capture(server, keys, sqlite_url, installation_id=str(keys.identity.installation_id))
    assert server.simulator.stats.faults["expired-token"] == 2
    assert len(server.simulator.installation_tokens) == 3
    check = compare(server, engine, "acme/widgets")
    assert check.equal, check.summary()


def test_401_on_a_token_just_renewed_is_bad_credentials(
    make_simulator: Callable[..., SimulatorServer], sqlite_url: str
) -> None:
    keys = new_app_keys()
    config = SimulatorConfig(app=keys.identity, tokens=frozenset(), token_lifetime=3600)
    server = make_simulator({"acme/widgets": 5}, config=config)
    server.simulator.config.faults.queue("expired-token", "graphql", 2)
    with pytest.raises(BadCredentials) as caught:
        app_capture(server, keys, sqlite_url, installation_id=str(keys.identity.installation_id))
    assert "401" in str(caught.value)
    for token in server.simulator.installation_tokens:
        assert token not in str(caught.value)
