"""A capture authenticated as a GitHub App: JWT, installation token, renewal on expiry and on 401."""

from __future__ import annotations

import asyncio

from capture_support import compare
from ghcapture.capture.engine import capture
from ghcapture.config import Settings
from ghcapture.github.http import GitHubClient
from ghcapture.simulator.app import SimulatorConfig
from ghcapture.simulator.server import AppKeys, SimulatorServer, new_app_keys
from ghcapture.store.database import open_database


def app_settings(server: SimulatorServer, keys: AppKeys) -> Settings:
    return Settings(
        github_app_id=str(keys.identity.app_id),
        github_app_private_key=keys.private_key_pem,
        github_app_installation_id=str(keys.identity.installation_id),
        github_api_url=server.url,
        github_graphql_url=server.url + "/graphql",
    )


def test_app_installation_token_capture_survives_expiry(make_simulator, sqlite_url):
    keys = new_app_keys()
    config = SimulatorConfig(app=keys.identity, tokens=frozenset(), token_lifetime=3600)
    server = make_simulator({"acme/widgets": 120}, config=config)
    server.simulator.config.faults.queue("expired-token", None, count=1)
    settings = app_settings(server, keys)
    engine = open_database(sqlite_url)

    async def go() -> None:
        async with GitHubClient(settings, retry_wait_initial=0.01) as client:
            await capture(client, engine, "acme/widgets")

    asyncio.run(go())
    # One token at the start and one after the injected expiry.
    assert len(server.simulator.installation_tokens) == 2
    assert server.simulator.stats.faults["expired-token"] == 1
    check = compare(server, engine, "acme/widgets")
    assert check.equal, check.summary()


def test_installation_token_is_renewed_before_it_expires(make_simulator, sqlite_url):
    keys = new_app_keys()
    # Tokens live 301 s; the client renews 5 minutes before expiry, so after about a second.
    config = SimulatorConfig(
        app=keys.identity, tokens=frozenset(), token_lifetime=301, latency_ms_per_node=1.0
    )
    server = make_simulator({"acme/widgets": 300}, config=config)
    settings = app_settings(server, keys)
    engine = open_database(sqlite_url)

    async def go() -> None:
        async with GitHubClient(settings) as client:
            await capture(client, engine, "acme/widgets")

    asyncio.run(go())
    assert len(server.simulator.installation_tokens) >= 2
    assert not any(status == 401 for _t, _api, status, _w in server.simulator.request_log)
    assert compare(server, engine, "acme/widgets").equal


def test_a_secondary_limit_on_the_token_exchange_is_waited_out(make_simulator, sqlite_url):
    keys = new_app_keys()
    config = SimulatorConfig(app=keys.identity, tokens=frozenset())
    server = make_simulator({"acme/widgets": 60}, config=config)
    # The first exchange is refused with GitHub's secondary-limit answer (403, retry-after 1).
    server.simulator.config.faults.queue("secondary", "app", count=1)
    settings = app_settings(server, keys)
    engine = open_database(sqlite_url)

    async def go() -> GitHubClient:
        async with GitHubClient(settings, retry_wait_initial=0.01) as client:
            await capture(client, engine, "acme/widgets")
            return client

    client = asyncio.run(go())
    assert server.simulator.stats.faults["secondary"] == 1
    assert client.monitor.waited_seconds >= 0.9  # the retry-after of 1 s, less the time to get here
    assert server.simulator.stats.limits["secondary_during_wait"] == 0
    check = compare(server, engine, "acme/widgets")
    assert check.equal, check.summary()
