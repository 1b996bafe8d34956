"""No secret (personal token, App private key, database password) in any log line, error message, job row,
job event, generated workflow, dashboard page or /metrics text, on success and on failure alike."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, MetaData, select
from sqlalchemy.engine import make_url
from starlette.testclient import TestClient

from ghcapture.capture.engine import capture
from ghcapture.config import Settings
from ghcapture.errors import GhcaptureError
from ghcapture.github.http import GitHubClient
from ghcapture.github.ratelimit import RateLimitMonitor
from ghcapture.monitor.dashboard import create_app
from ghcapture.simulator.app import SimulatorConfig
from ghcapture.simulator.limits import DEFAULT_KINDS, FaultPlan
from ghcapture.simulator.server import new_app_keys
from ghcapture.store.database import open_database

TOKEN = "ghp_SECRETSECRETSECRETSECRETSECRET0123"
WRONG_TOKEN = "ghp_SECRETWRONGSECRETWRONGSECRETWRONG99"
DB_PASSWORD = "pw-SECRETDBPASSWORD-4711"
REPOSITORY = "acme/widgets"


def key_fragments(pem: str) -> list[str]:
    """The PEM itself and each line of its body: any of them in a text is a leak."""
    lines = [line for line in pem.strip().splitlines() if line and not line.startswith("-----")]
    return [pem.strip(), *lines]


class Collected:
    """Every text the runs produced, by where it came from."""

    def __init__(self) -> None:
        self.texts: list[tuple[str, str]] = []

    def add(self, where: str, text: Any) -> None:
        self.texts.append((where, str(text)))

    def assert_clean(self, secrets: list[str]) -> None:
        assert len(self.texts) > 10
        for where, text in self.texts:
            for secret in secrets:
                at = text.find(secret)
                assert at < 0, f"a secret in {where}: ...{text[max(0, at - 80):][:200]}"


def dump_tables(engine: Engine, collected: Collected, where: str) -> None:
    """Every row of every table: job rows, job events, checkpoints, the captured data."""
    meta = MetaData()
    meta.reflect(engine)
    with engine.connect() as conn:
        for table in meta.sorted_tables:
            for row in conn.execute(select(table)):
                collected.add(f"{where} {table.name}", tuple(row))


def cli(
    args: list[str], env: dict[str, str], cwd: Path, collected: Collected
) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "ghcapture", *args]
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=300)
    collected.add(f"ghcapture {' '.join(args)} stdout", done.stdout)
    collected.add(f"ghcapture {' '.join(args)} stderr", done.stderr)
    return done


def base_env(server: Any, database_url: str, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "GITHUB_API_URL": server.url,
        "GITHUB_GRAPHQL_URL": server.url + "/graphql",
        "GHCAPTURE_DATABASE_URL": database_url,
        "GHCAPTURE_PAGES_PER_STEP": "1",
        "GHCAPTURE_POLL_SECONDS": "0.2",
        **extra,
    }
    unset = ("GITHUB_TOKEN", "GITHUB_APP_ID", "GHCAPTURE_ACTIONS_REPOSITORY", "GHCAPTURE_DBOS_DATABASE_URL")
    for name in unset:
        if name not in extra:
            env.pop(name, None)
    return env


def dashboard(engine: Engine, collected: Collected) -> None:
    client = TestClient(create_app(engine))
    overview = client.get("/")
    assert overview.status_code == 200
    collected.add("dashboard /", overview.text)
    for path in ("/metrics", "/api/snapshot"):
        page = client.get(path)
        assert page.status_code == 200
        collected.add(f"dashboard {path}", page.text)
    health = client.get("/healthz")  # 200 or 503, as the store is; secret-free either way
    assert health.status_code in (200, 503)
    collected.add("dashboard /healthz", health.text)
    meta = MetaData()
    meta.reflect(engine, only=["progressive_capture_jobs"])
    with engine.connect() as conn:
        ids = conn.execute(select(meta.tables["progressive_capture_jobs"].c.id)).scalars().all()
    for job_id in ids:
        page = client.get(f"/jobs/{job_id}")
        assert page.status_code == 200
        collected.add(f"dashboard /jobs/{job_id}", page.text)


def test_token_and_app_key_appear_nowhere(make_simulator, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    keys = new_app_keys()
    secrets = [TOKEN, WRONG_TOKEN, *key_fragments(keys.private_key_pem)]
    collected = Collected()
    faults = FaultPlan(rate=0.2, kinds=DEFAULT_KINDS, seed=4)
    server = make_simulator(
        {REPOSITORY: 120},
        config=SimulatorConfig(faults=faults, app=keys.identity, tokens=frozenset({TOKEN})),
    )

    # In process, with every log record kept: a capture under faults, one with a refused token.
    url = f"sqlite:///{tmp_path}/data.db"
    engine = open_database(url)
    urls = {"github_api_url": server.url, "github_graphql_url": server.url + "/graphql"}

    async def go(settings: Settings) -> None:
        monitor = RateLimitMonitor(secondary_base_wait=0.2)
        async with GitHubClient(settings, monitor=monitor, retry_wait_initial=0.01) as client:
            await capture(client, engine, REPOSITORY)

    asyncio.run(go(Settings(github_token=TOKEN, **urls)))
    server.simulator.config.faults.rate = 0.0
    with pytest.raises(GhcaptureError) as refused:
        asyncio.run(go(Settings(github_token=WRONG_TOKEN, **urls)))
    collected.add("error of a refused token", refused.value)
    collected.add("repr of a refused token's error", repr(refused.value))

    # The CLI: captures with a token, with the App's key, a refused token, a sync job that fails and one
    # that completes, the workflows.
    cli_url = f"sqlite:///{tmp_path}/cli.db"
    with_token = base_env(server, cli_url, GITHUB_TOKEN=TOKEN)
    app_env = base_env(
        server,
        cli_url,
        GITHUB_APP_ID=str(keys.identity.app_id),
        GITHUB_APP_PRIVATE_KEY=keys.private_key_pem,
        GITHUB_APP_INSTALLATION_ID=str(keys.identity.installation_id),
    )
    refused_env = base_env(server, cli_url, GITHUB_TOKEN=WRONG_TOKEN)
    assert cli(["capture", "prs", REPOSITORY, "--json"], with_token, tmp_path, collected).returncode == 0
    assert cli(["capture", "reviews", REPOSITORY], app_env, tmp_path, collected).returncode == 0
    refused_cli = cli(["capture", "prs", REPOSITORY], refused_env, tmp_path, collected)
    assert refused_cli.returncode != 0 and "credentials" in refused_cli.stderr.lower()
    assert "Traceback" not in refused_cli.stderr
    other_key = new_app_keys()  # an App key GitHub does not know: the JWT is refused
    wrong_app = {**app_env, "GITHUB_APP_PRIVATE_KEY": other_key.private_key_pem}
    secrets += key_fragments(other_key.private_key_pem)
    assert cli(["capture", "prs", REPOSITORY], wrong_app, tmp_path, collected).returncode != 0
    assert cli(["sync", REPOSITORY, "--quiet"], refused_env, tmp_path, collected).returncode != 0
    assert cli(["sync", REPOSITORY, "--quiet"], with_token, tmp_path, collected).returncode == 0
    cli(["jobs", "list"], with_token, tmp_path, collected)
    out = tmp_path / "workflows"
    for auth, env in (("token", with_token), ("app", app_env)):
        assert cli(["workflows", "generate", "--out", str(out / auth), "--auth", auth], env, tmp_path,
                   collected).returncode == 0
    for path in sorted(out.rglob("*.yml")):
        collected.add(f"workflow {path.name}", path.read_text())
    assert any(where.startswith("workflow") for where, _ in collected.texts)

    cli_engine = open_database(cli_url)
    dump_tables(engine, collected, "in-process db")
    dump_tables(cli_engine, collected, "cli db")
    dashboard(cli_engine, collected)
    for record in caplog.records:
        collected.add(f"log {record.name}", record.getMessage())
        if record.exc_info:
            trace = logging.Formatter().formatException(record.exc_info)
            collected.add(f"log {record.name} exception", trace)
    assert caplog.records
    collected.assert_clean(secrets)


@pytest.mark.postgres
def test_database_password_appears_nowhere(make_simulator, postgres_url, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    # Trust authentication ignores the password; what matters is that ghcapture never prints it.
    url = make_url(postgres_url).set(password=DB_PASSWORD).render_as_string(hide_password=False)
    unreachable = make_url(url).set(port=1).render_as_string(hide_password=False)
    server = make_simulator({REPOSITORY: 60})
    collected = Collected()
    env = base_env(server, url, GITHUB_TOKEN=TOKEN)
    assert cli(["capture", "prs", REPOSITORY, "--json"], env, tmp_path, collected).returncode == 0
    assert cli(["sync", REPOSITORY, "--quiet"], env, tmp_path, collected).returncode == 0
    cli(["jobs", "list"], env, tmp_path, collected)
    cli(["db", "status"], env, tmp_path, collected)
    for args in (["capture", "prs", REPOSITORY], ["sync", REPOSITORY, "--quiet"], ["db", "status"]):
        done = cli(args, {**env, "GHCAPTURE_DATABASE_URL": unreachable}, tmp_path, collected)
        assert done.returncode != 0 and done.stderr.strip()
    engine = open_database(url)
    try:
        dump_tables(engine, collected, "postgres db")
        dashboard(engine, collected)
    finally:
        engine.dispose()
    for record in caplog.records:
        collected.add(f"log {record.name}", record.getMessage())
    collected.assert_clean([DB_PASSWORD, TOKEN])
