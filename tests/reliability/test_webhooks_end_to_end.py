"""End to end: the simulator evolves a captured repository with every kind of change a delivery can tell of
and delivers to a `ghcapture worker --webhook-port` process; the database equals the ground truth within
seconds, having spent only what the deliveries could not carry. With 10% of deliveries dropped, 10%
duplicated and 10% reordered, it equals the ground truth once the worker has asked GitHub for the failed
deliveries again and one scheduled refresh has run."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from capture_support import compare, run_capture
from ghcapture.jobs.store import jobs_table
from ghcapture.simulator.app import Simulator, SimulatorConfig
from ghcapture.simulator.evolve import Changes, apply_changes
from ghcapture.simulator.generator import generate_repository
from ghcapture.simulator.server import SimulatorServer, free_port, new_app_keys
from ghcapture.simulator.webhooks import DeliveryOptions, attach_deliverer
from ghcapture.simulator.world import World
from ghcapture.store.database import open_database

pytestmark = [pytest.mark.reliability]

SECRET = "end-to-end-secret"
REPO = "acme/widgets"
# Every kind of change a delivery tells of (renamed and deleted accounts send no delivery on GitHub).
EVERY_KIND = {
    "changed": 6,
    "new": 3,
    "force_pushes": 2,
    "edited_comments": 4,
    "edited_bodies": 3,
    "deleted_issue_comments": 2,
    "deleted_review_comments": 2,
    "dismissed_reviews": 2,
    "closed": 2,
    "reopened": 1,
    "merged": 1,
    "to_draft": 1,
    "ready_for_review": 1,
}


def _wait_equal(server: SimulatorServer, engine: object, seconds: float) -> float:
    started = time.monotonic()
    last = ""
    while time.monotonic() - started < seconds:
        result = compare(server, engine, REPO)  # type: ignore[arg-type]
        if result.equal:
            return time.monotonic() - started
        last = result.summary()
        time.sleep(0.25)
    raise AssertionError(f"not equal to the ground truth after {seconds:g} s: {last}")


@pytest.fixture
def running(
    database_url: str, tmp_path: Path
) -> Iterator[Callable[..., tuple[SimulatorServer, object, object]]]:
    started: list[tuple[SimulatorServer, subprocess.Popen[bytes], object]] = []

    def start(**network: float) -> tuple[SimulatorServer, object, object]:
        keys = new_app_keys()
        world = World()
        world.add_repository(generate_repository("acme", "widgets", 60, seed=8))
        server = SimulatorServer(Simulator(world, SimulatorConfig(app=keys.identity))).start()
        engine = open_database(database_url)
        run_capture(server, engine, REPO, kind="pr-details")
        port = free_port()
        env = {
            **os.environ,
            "GITHUB_API_URL": server.url,
            "GITHUB_GRAPHQL_URL": server.url + "/graphql",
            "GITHUB_APP_ID": str(keys.identity.app_id),
            "GITHUB_APP_PRIVATE_KEY": keys.private_key_pem,
            "GITHUB_APP_INSTALLATION_ID": str(keys.identity.installation_id),
            "GHCAPTURE_DATABASE_URL": database_url,
            "GHCAPTURE_WEBHOOK_SECRET": SECRET,
            "GHCAPTURE_WEBHOOK_COALESCE_SECONDS": "1",
            "GHCAPTURE_REDELIVER_SECONDS": "2",
            "GHCAPTURE_POLL_SECONDS": "0.2",
        }
        for name in ("GITHUB_TOKEN", "GHCAPTURE_ACTIONS_REPOSITORY", "GHCAPTURE_DBOS_DATABASE_URL"):
            env.pop(name, None)
        log = (tmp_path / "worker.log").open("wb")
        worker = subprocess.Popen(
            [sys.executable, "-m", "ghcapture", "worker", "--webhook-port", str(port)],
            env=env,
            cwd=tmp_path,
            stdout=log,
            stderr=log,
        )
        url = f"http://127.0.0.1:{port}/webhooks/github"
        deadline = time.monotonic() + 60
        while b"webhook receiver at" not in (tmp_path / "worker.log").read_bytes():
            assert worker.poll() is None and time.monotonic() < deadline, (
                tmp_path / "worker.log"
            ).read_text()
            time.sleep(0.1)
        options = DeliveryOptions(
            url=url,
            secret=SECRET,
            api=server.url,
            installation_id=keys.identity.installation_id,
            seed=3,
            **network,  # type: ignore[arg-type]
        )
        deliverer = attach_deliverer(server.simulator, options)
        started.append((server, worker, deliverer))
        return server, engine, deliverer

    yield start
    for server, worker, deliverer in started:
        deliverer.close()  # type: ignore[attr-defined]
        worker.terminate()
        worker.wait(30)
        server.stop()


def _evolve(server: SimulatorServer) -> None:
    """New activity first, the other kinds a second later: the simulator finds what changed by comparing
    the repository before and after an evolve, so a comment made and deleted by one evolve is never seen."""
    world = server.simulator.world
    repo = world.repository("acme", "widgets")
    assert repo is not None
    first = {k: v for k, v in EVERY_KIND.items() if k in ("changed", "new")}
    rest = {k: v for k, v in EVERY_KIND.items() if k not in first}
    now = datetime.now(UTC)
    apply_changes(world, repo, Changes(first, None, 11), now)
    apply_changes(world, repo, Changes(rest, None, 12), now + timedelta(seconds=1))


def test_the_database_equals_the_truth_within_seconds_spending_only_what_deliveries_cannot_carry(
    running: Callable[..., tuple[SimulatorServer, object, object]],
) -> None:
    server, engine, _deliverer = running()
    stats = server.simulator.stats
    spent_before = sum(stats.requests.values())

    _evolve(server)

    _wait_equal(server, engine, 60)
    with engine.connect() as conn:  # type: ignore[attr-defined]
        jobs = conn.execute(select(jobs_table.c.params).where(jobs_table.c.trigger == "webhook")).all()
    numbers = {n for (params,) in jobs for n in params["pr_numbers"]}
    # Only the pull requests a push, a new pull request or a submitted review touched were fetched.
    assert numbers and len(numbers) <= EVERY_KIND["changed"] + EVERY_KIND["new"] + EVERY_KIND["force_pushes"]
    assert sum(stats.requests.values()) - spent_before < 10 * len(jobs) + 10


def test_lost_duplicated_and_reordered_deliveries_end_equal_after_redelivery_and_one_refresh(
    running: Callable[..., tuple[SimulatorServer, object, object]],
) -> None:
    server, engine, deliverer = running(drop=0.1, duplicate=0.1, reorder=0.1)

    _evolve(server)

    assert deliverer.wait_idle(30)  # type: ignore[attr-defined]
    time.sleep(6)  # the worker's redelivery pass, and the jobs it brings
    attempts = deliverer.attempts  # type: ignore[attr-defined]
    dropped = {a.delivery.guid for a in attempts if a.status_code == 0 and not a.redelivery}
    redelivered = {a.delivery.guid for a in attempts if a.redelivery and a.status_code == 202}
    assert dropped and dropped <= redelivered, "the worker did not ask for every dropped delivery again"
    run_capture(server, engine, REPO)  # one scheduled refresh: what changed since the last capture
    _wait_equal(server, engine, 60)
