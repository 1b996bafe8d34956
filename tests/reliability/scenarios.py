"""One capture against the realistic simulator under a fault plan, and what came of it.

Shared by the reliability tests and bench/reliability.py: a scenario names the faults (one kind, or a mix at
a rate), the repository's size and a seed; `run_scenario` starts a simulator on a compressed clock, captures,
and returns an `Outcome` with completeness against the ground truth, duplicates, retries, waits, and the
requests and budget units spent (compared with a clean run by the caller).
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, func, select

from capture_support import requests_during_waits
from ghcapture.capture.engine import CaptureResult, capture
from ghcapture.capture.verify import compare_repository
from ghcapture.config import Settings
from ghcapture.errors import GhcaptureError
from ghcapture.github.http import GitHubClient
from ghcapture.github.ratelimit import RateLimitMonitor
from ghcapture.simulator.app import Simulator, SimulatorConfig
from ghcapture.simulator.dataset import dump_repository
from ghcapture.simulator.generator import generate_repository
from ghcapture.simulator.limits import DEFAULT_KINDS, FaultPlan
from ghcapture.simulator.server import AppKeys, SimulatorServer, new_app_keys
from ghcapture.simulator.world import World
from ghcapture.store.database import open_database
from ghcapture.store.tables import comments, contributors, pr_files, pull_requests, reviews

TIME_SCALE = 0.002  # GitHub's hour in 7.2 s, its minute in 0.12 s, its 10 s server limit in 20 ms
REPOSITORY = "acme/widgets"
TOKEN = "ghp_reliabilitytoken"
# The client's "at least a minute" after a 429 without retry-after, on the same compressed clock as the
# simulator (60 s x 0.002 = 0.12 s, rounded up).
SECONDARY_BASE_WAIT = 0.2
SLOW_SECONDS = 0.3
# 5xx kinds: none of them may cost a reset-length wait (the compressed hour is 7.2 s).
SERVER_ERROR_KINDS = ("502", "504", "502-html")
# Faults that end the capture: the credentials are refused for good.
PERMANENT_KINDS = ("revoked-token",)
# Every kind the simulator can serve, alone; "expired-token" applies to installation tokens only, so its
# scenario authenticates as a GitHub App; "moved" renames the repository.
SINGLE_KINDS = (*DEFAULT_KINDS, "moved")


@dataclass
class Scenario:
    kinds: tuple[str, ...]
    rate: float = 0.0  # 0: the kinds are queued, `count` of each
    count: int = 2
    prs: int = 40
    seed: int = 1

    @property
    def label(self) -> str:
        if self.rate:
            return f"mix of {len(self.kinds)} kinds @ {self.rate:.0%}"
        if len(self.kinds) != 1:
            return "+".join(self.kinds) or "clean"
        kind = self.kinds[0]
        queued = {"moved": 1, "expired-token": 2, "revoked-token": 1}.get(kind, self.count)
        return f"{kind} x{queued}"

    @property
    def app_auth(self) -> bool:
        return "expired-token" in self.kinds


@dataclass
class Outcome:
    scenario: Scenario
    outcome: str  # "completed", or "stopped: <the error>"
    error: str | None
    equal: bool
    differences: str
    duplicates: dict[str, int]
    retries: int
    waits: int
    waited_seconds: float
    requests: int
    units: int
    faults: dict[str, int]
    early_requests: int
    refused_during_waits: int  # requests the simulator refused because a secondary-limit wait was owed
    seconds: float
    repository: str = REPOSITORY
    result: CaptureResult | None = None
    stored_prs: int = 0
    log: list[tuple[float, str, int, float | None]] = field(default_factory=list, repr=False)

    @property
    def duplicate_count(self) -> int:
        return sum(self.duplicates.values())



def duplicates(engine: Engine) -> dict[str, int]:
    """Rows stored more than once under another key: the same node id, the same login, the same PR number."""
    keys: dict[str, tuple[Any, ...]] = {
        "pull_requests": (pull_requests, pull_requests.c.node_id),
        "pull_request_numbers": (pull_requests, pull_requests.c.repository_id, pull_requests.c.number),
        "reviews": (reviews, reviews.c.node_id),
        "comments": (comments, comments.c.node_id),
        "files": (pr_files, pr_files.c.pull_request_id, pr_files.c.path),
        "contributors": (contributors, contributors.c.login),
    }
    found: dict[str, int] = {}
    with engine.connect() as conn:
        for name, (table, *columns) in keys.items():
            query = (
                select(func.count())
                .select_from(table)
                .where(*[c.is_not(None) for c in columns])
                .group_by(*columns)
                .having(func.count() > 1)
            )
            extra = sum(n - 1 for n in conn.execute(query).scalars())
            if extra:
                found[name] = extra
    return found


def _settings(server: SimulatorServer, keys: AppKeys | None) -> Settings:
    urls = {"github_api_url": server.url, "github_graphql_url": server.url + "/graphql"}
    if keys is None:
        return Settings(github_token=TOKEN, **urls)
    return Settings(
        github_app_id=str(keys.identity.app_id),
        github_app_private_key=keys.private_key_pem,
        github_app_installation_id=str(keys.identity.installation_id),
        **urls,
    )


def _revoke_once_stored(server: SimulatorServer, engine: Engine, stop: threading.Event) -> None:
    """Revokes every personal token once the capture has stored its first pull requests."""
    while not stop.is_set():
        with engine.connect() as conn:
            if conn.execute(select(func.count()).select_from(pull_requests)).scalar():
                server.simulator.config.tokens = frozenset()
                return
        time.sleep(0.005)


def start_simulator(scenario: Scenario) -> tuple[SimulatorServer, AppKeys | None]:
    keys = new_app_keys() if scenario.app_auth else None
    options: dict[str, Any] = {"seed": scenario.seed}
    if keys is not None:
        options.update(app=keys.identity, tokens=frozenset())
    elif "revoked-token" in scenario.kinds:
        options.update(tokens=frozenset({TOKEN}))
    kinds = tuple(k for k in scenario.kinds if k not in PERMANENT_KINDS)
    # A slow answer takes 3 of GitHub's seconds here as elsewhere, but on the compressed clock.
    faults = FaultPlan(
        rate=scenario.rate, kinds=kinds or DEFAULT_KINDS, seed=scenario.seed, slow_seconds=SLOW_SECONDS
    )
    config = SimulatorConfig.realistic(TIME_SCALE, faults=faults, **options)
    world = World()
    owner, name = REPOSITORY.split("/")
    world.add_repository(generate_repository(owner, name, scenario.prs, seed=scenario.seed))
    server = SimulatorServer(Simulator(world, config)).start()
    if not scenario.rate:
        for kind in kinds:
            if kind == "moved":
                config.faults.queue(kind, "rest", count=1)
            elif kind == "expired-token":
                # One expiry on each API: a token renewed a moment ago does not expire again at once.
                config.faults.queue(kind, "graphql", count=1)
                config.faults.queue(kind, "rest", count=1)
            else:
                config.faults.queue(kind, None, count=scenario.count)
    return server, keys


def run_scenario(scenario: Scenario, database_url: str) -> Outcome:
    server, keys = start_simulator(scenario)
    try:
        return _capture(server, keys, scenario, database_url)
    finally:
        server.stop()


def _capture(server: SimulatorServer, keys: AppKeys | None, scenario: Scenario, database_url: str) -> Outcome:
    engine = open_database(database_url)
    monitor = RateLimitMonitor(secondary_base_wait=SECONDARY_BASE_WAIT)
    stop = threading.Event()
    if "revoked-token" in scenario.kinds:
        # Revoked part-way: the pull requests are stored by then, the later listings are refused.
        threading.Thread(target=_revoke_once_stored, args=(server, engine, stop), daemon=True).start()
    error: str | None = None
    result: CaptureResult | None = None
    client_stats: Any = None

    async def go() -> CaptureResult:
        nonlocal client_stats
        options = {"retry_wait_initial": 0.01, "retry_wait_max": 0.05}
        async with GitHubClient(_settings(server, keys), monitor=monitor, **options) as client:
            client_stats = client.stats
            return await capture(client, engine, REPOSITORY)

    started = time.monotonic()
    try:
        result = asyncio.run(go())
    except GhcaptureError as exc:
        error = f"{type(exc).__name__}: {exc}"
    finally:
        stop.set()
    seconds = time.monotonic() - started
    sim = server.simulator
    repo = sim.world.repository(*REPOSITORY.split("/"))  # found under its old name too, after a rename
    assert repo is not None
    repository = f"{repo.owner.login}/{repo.name}"
    comparison = compare_repository(engine, dump_repository(repo, server.url))
    with engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(pull_requests)).scalar() or 0
    engine.dispose()
    stats = sim.stats
    return Outcome(
        scenario=scenario,
        outcome="completed" if error is None else "stopped",
        error=error,
        equal=comparison.equal,
        differences="equal" if comparison.equal else comparison.summary(),
        duplicates=duplicates(open_database(database_url)),
        retries=client_stats.retries if client_stats is not None else 0,
        waits=monitor.waits,
        waited_seconds=monitor.waited_seconds,
        requests=sum(n for api, n in stats.requests.items() if api in ("rest", "graphql")),
        units=stats.graphql_points + stats.rest_charged,
        faults=dict(stats.faults),
        early_requests=requests_during_waits(sim.request_log),
        refused_during_waits=stats.limits["secondary_during_wait"],
        seconds=seconds,
        repository=repository,
        result=result,
        stored_prs=stored,
        log=list(sim.request_log),
    )
