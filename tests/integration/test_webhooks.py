"""GitHub's webhook deliveries, from the simulator to a receiver and a database: every kind of change that a
payload carries is stored at once without an API call; a push or a new pull request becomes one coalesced
realtime job; replayed, duplicated and reordered deliveries change nothing; refused deliveries store nothing;
failed deliveries are asked for again through the App's deliveries API."""

from __future__ import annotations

import asyncio
import json
import random
import socket
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jsonschema
import pytest
from sqlalchemy import Engine, func, select
from starlette.testclient import TestClient

from capture_support import compare, run_capture
from conformance.conftest import npm_package_file
from ghcapture.capture.scope import CaptureScope
from ghcapture.cli.simulate import add_jobs_repository
from ghcapture.config import Settings
from ghcapture.jobs.settings import JobSettings
from ghcapture.jobs.store import jobs_table
from ghcapture.jobs.webhooks.apply import Applier
from ghcapture.jobs.webhooks.coalesce import PullRequestJobs
from ghcapture.jobs.webhooks.receiver import receiver_app, signature_for
from ghcapture.jobs.webhooks.redeliver import redeliver_failed
from ghcapture.jobs.webhooks.service import ReceiverThread
from ghcapture.monitor.alerts import evaluate
from ghcapture.simulator.app import Simulator, SimulatorConfig
from ghcapture.simulator.evolve import Changes, apply_changes
from ghcapture.simulator.generator import generate_repository
from ghcapture.simulator.server import SimulatorServer, new_app_keys
from ghcapture.simulator.webhooks import DeliveryOptions, WebhookDeliverer, attach_deliverer
from ghcapture.simulator.world import World
from ghcapture.store.database import open_database
from ghcapture.store.tables import (
    DATA_TABLES,
    webhook_deliveries,
)

SECRET = "It's a Secret to Everybody"
REPO = "acme/widgets"
SCHEMAS_VERSION = "7.6.1"
# Every kind of change a payload carries whole: stored at once, with no API call.
CARRIED = {
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
# And those it does not carry whole (files and commits of a push or a new pull request).
WITH_JOBS = {**CARRIED, "changed": 6, "new": 2, "force_pushes": 2}


@pytest.fixture
def engine(sqlite_url: str) -> Iterator[Engine]:
    engine = open_database(sqlite_url)
    yield engine
    engine.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Stack:
    """A simulator holding a captured repository, a receiver on a free port and a deliverer to it."""

    def __init__(self, engine: Engine, *, window: float = 0.0, **delivery: Any) -> None:
        keys = new_app_keys()
        world = World()
        world.add_repository(generate_repository("acme", "widgets", 30, seed=4))
        self.keys = keys
        self.server = SimulatorServer(Simulator(world, SimulatorConfig(app=keys.identity))).start()
        self.engine = engine
        run_capture(self.server, engine, REPO, kind="pr-details")
        self.jobs = PullRequestJobs(engine, JobSettings(), window_seconds=window)
        app = receiver_app(Applier(engine, pull_request_jobs=self.jobs), SECRET)
        sock = socket.create_server(("127.0.0.1", 0))
        self.receiver = ReceiverThread(app, sock).start()
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/webhooks/github"
        options = DeliveryOptions(url=url, secret=SECRET, api=self.server.url, **delivery)
        self.deliverer = attach_deliverer(self.server.simulator, options)

    @property
    def world(self) -> World:
        return self.server.simulator.world

    def evolve(self, counts: dict[str, int], seed: int = 5, minutes_later: int = 0) -> None:
        repo = self.world.repository("acme", "widgets")
        assert repo is not None
        # GitHub's timestamps are whole seconds: changes a second or more apart are ordered by them.
        # New activity first, the other kinds a second later: the simulator finds what changed by comparing
        # the repository before and after an evolve, so a comment made and deleted by one is never seen.
        now = datetime.now(UTC) + timedelta(minutes=minutes_later)
        first = {k: v for k, v in counts.items() if k in ("changed", "new")}
        rest = {k: v for k, v in counts.items() if k not in first}
        if first:
            apply_changes(self.world, repo, Changes(first, None, seed), now)
        apply_changes(self.world, repo, Changes(rest, None, seed + 1000), now + timedelta(seconds=1))
        assert self.deliverer.wait_idle(30)

    def run_jobs(self) -> int:
        """Runs the realtime jobs the deliveries asked for, as a worker would; how many."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(jobs_table.c.params).where(jobs_table.c.trigger == "webhook")).all()
        for (params,) in rows:
            scope = CaptureScope.build(pr_numbers=",".join(map(str, params["pr_numbers"])))
            run_capture(self.server, self.engine, REPO, kind="pr-details", scope=scope)
        return len(rows)

    def close(self) -> None:
        self.deliverer.close()
        self.receiver.stop()
        self.server.stop()


@pytest.fixture
def stack(engine: Engine) -> Iterator[Stack]:
    built = Stack(engine)
    yield built
    built.close()


def snapshot(engine: Engine) -> dict[str, list[Any]]:
    with engine.connect() as conn:
        return {t.name: sorted(map(tuple, conn.execute(select(t)).all()), key=repr) for t in DATA_TABLES}


def test_every_change_a_payload_carries_is_stored_at_once_without_an_api_call(stack: Stack) -> None:
    requests_before = sum(stack.server.simulator.stats.requests.values())

    stack.evolve(CARRIED)

    result = compare(stack.server, stack.engine, REPO)
    assert result.equal, result.summary()
    spent = sum(stack.server.simulator.stats.requests.values()) - requests_before
    assert spent == 0, "a delivery the payload carries whole made an API call"
    with stack.engine.connect() as conn:
        outcomes = dict(
            conn.execute(
                select(webhook_deliveries.c.event, func.count()).group_by(webhook_deliveries.c.event)
            ).all()
        )
    assert {"pull_request", "pull_request_review", "issue_comment", "pull_request_review_comment"} <= set(
        outcomes
    )


def test_pushes_and_new_pull_requests_become_one_job_and_the_store_equals_the_truth(engine: Engine) -> None:
    stack = Stack(engine, window=30.0)
    try:
        stack.evolve(WITH_JOBS)
        assert stack.run_jobs() == 1  # every pull request of the burst in one job
        result = compare(stack.server, engine, REPO)
        assert result.equal, result.summary()
    finally:
        stack.close()


def test_replayed_duplicated_and_reordered_deliveries_change_nothing(engine: Engine) -> None:
    sent: list[tuple[dict[str, str], bytes]] = []

    def keep(request: httpx.Request) -> httpx.Response:
        sent.append((dict(request.headers), request.content))
        return httpx.Response(202)

    stack = Stack(engine)
    stack.deliverer.close()
    deliverer = WebhookDeliverer(
        stack.world,
        DeliveryOptions(url="http://receiver.test/", secret=SECRET, api=stack.server.url),
        transport=httpx.MockTransport(keep),
    ).start()
    for repo in stack.world.unique_repositories:
        deliverer.remember(repo)
    try:
        stack.evolve(CARRIED, seed=5)
        stack.evolve(CARRIED, seed=6, minutes_later=1)
        assert deliverer.wait_idle(30)
        client = TestClient(receiver_app(Applier(engine), SECRET))
        for headers, body in sent:
            assert client.post("/webhooks/github", content=body, headers=_github(headers)).status_code == 202
        settled = snapshot(engine)
        result = compare(stack.server, engine, REPO)
        assert result.equal, result.summary()

        # The same deliveries again (GitHub's repeats: same ids), then all of them as new deliveries in
        # reverse and in random order (late and reordered ones).
        repeats = [client.post("/webhooks/github", content=b, headers=_github(h)) for h, b in sent]
        assert {r.status_code for r in repeats} == {200}
        shuffled = list(reversed(sent)) + random.Random(3).sample(sent, len(sent))
        for headers, body in shuffled:
            fresh = {**_github(headers), "x-github-delivery": str(uuid.uuid4())}
            assert client.post("/webhooks/github", content=body, headers=fresh).status_code == 202
        assert snapshot(engine) == settled
    finally:
        deliverer.close()
        stack.close()


def _github(headers: dict[str, str]) -> dict[str, str]:
    wanted = (
        "content-type",
        "user-agent",
        "x-github-event",
        "x-github-delivery",
        "x-hub-signature-256",
        "x-github-hook-id",
        "x-github-hook-installation-target-id",
    )
    return {k: v for k, v in headers.items() if k.lower() in wanted}


def test_the_simulators_payloads_and_headers_are_githubs(engine: Engine) -> None:
    schema = json.loads(
        npm_package_file("@octokit/webhooks-schemas", SCHEMAS_VERSION, "schema.json").read_text()
    )
    sent: list[tuple[dict[str, str], bytes]] = []

    def keep(request: httpx.Request) -> httpx.Response:
        sent.append((dict(request.headers), request.content))
        return httpx.Response(202)

    world = World()
    repo = world.add_repository(generate_repository("acme", "widgets", 30, seed=4))
    sim = Simulator(world)
    deliverer = attach_deliverer(
        sim,
        DeliveryOptions(url="http://receiver.test/", secret=SECRET, hook_id=77, installation_id=9),
        transport=httpx.MockTransport(keep),
    )
    try:
        apply_changes(world, repo, Changes(dict(WITH_JOBS), "widgets-renamed", 5))
        add_jobs_repository(world, "acme/jobs")
        jobs = world.repository("acme", "jobs")
        assert jobs is not None
        path, content = next(iter(sim.actions.workflow_files(jobs).items()))
        run = sim.actions.dispatch(jobs, path, content, "main", {"job_id": "j", "repository": REPO})
        assert not isinstance(run, str), run
        sim.actions.start_run(run)
        sim.actions.complete_run(run, "success")
        assert deliverer.wait_idle(30)
    finally:
        deliverer.close()
    seen = set()
    for headers, body in sent:
        payload = json.loads(body)
        event, action = headers["x-github-event"], payload["action"]
        seen.add((event, action))
        one = {"$ref": f"#/definitions/{event}${action}", "definitions": schema["definitions"]}
        # The schema's account types omit Mannequin (an imported account), which GitHub's REST and GraphQL
        # (the Mannequin type) show and the simulator's data holds: that one value is let through.
        checked = json.loads(body.replace(b'"type": "Mannequin"', b'"type": "User"'))
        # A pull request whose fork was deleted has a null head label and user in GitHub's REST answers (the
        # recorded real payloads hold such); the schema, drawn from ordinary payloads, has no null there.
        head = (checked.get("pull_request") or {}).get("head") or {}
        if head.get("repo", {}) is None:
            head.update(label=head.get("label") or "", user=head.get("user") or checked["sender"])
        errors = [e.message for e in jsonschema.Draft7Validator(one).iter_errors(checked)]
        assert not errors, f"{event}.{action}: {errors[:3]}"
        assert headers["x-hub-signature-256"] == signature_for(SECRET, body)
        assert headers["user-agent"].startswith("GitHub-Hookshot/")
        assert headers["x-github-hook-id"] == "77" and headers["x-github-hook-installation-target-id"] == "9"
        uuid.UUID(headers["x-github-delivery"])
    assert {
        ("pull_request", "opened"),
        ("pull_request", "edited"),
        ("pull_request", "closed"),
        ("pull_request", "reopened"),
        ("pull_request", "synchronize"),
        ("pull_request", "converted_to_draft"),
        ("pull_request", "ready_for_review"),
        ("pull_request_review", "submitted"),
        ("pull_request_review", "dismissed"),
        ("pull_request_review_comment", "created"),
        ("pull_request_review_comment", "edited"),
        ("pull_request_review_comment", "deleted"),
        ("issue_comment", "created"),
        ("issue_comment", "edited"),
        ("issue_comment", "deleted"),
        ("repository", "renamed"),
        ("workflow_run", "requested"),
        ("workflow_run", "in_progress"),
        ("workflow_run", "completed"),
    } <= seen


def test_dropped_deliveries_are_asked_for_again_through_the_apps_deliveries_api(engine: Engine) -> None:
    stack = Stack(engine, drop=0.3, seed=2)
    try:
        stack.evolve(CARRIED)
        dropped = [a for a in stack.deliverer.attempts if a.status_code == 0]
        assert dropped, "the drop share dropped nothing"
        assert not compare(stack.server, engine, REPO).equal

        settings = Settings(
            github_app_id=str(stack.keys.identity.app_id),
            github_app_private_key=stack.keys.private_key_pem,
            github_app_installation_id=str(stack.keys.identity.installation_id),
            github_api_url=stack.server.url,
        )
        from ghcapture.github.auth import AppJwtAuth
        from ghcapture.github.http import GitHubClient
        from ghcapture.store.tables import utc_now

        async def ask() -> Any:
            auth = AppJwtAuth(settings.github_app_id or "", settings.github_app_private_key or "")
            async with GitHubClient(settings, auth=auth) as client:
                return await redeliver_failed(client, engine, since=utc_now() - timedelta(hours=1))

        found = asyncio.run(ask())
        assert sorted(found.asked) == sorted(a.id for a in dropped)
        assert stack.deliverer.wait_idle(30)
        result = compare(stack.server, engine, REPO)
        assert result.equal, result.summary()
        again = asyncio.run(ask())
        assert again.asked == []  # each received now: nothing to ask for
        growing = [a.message for a in evaluate(engine, utc_now()) if a.rule == "webhook_failures_growing"]
        assert growing == [f"{len(dropped)} failed webhook deliveries in the last hour, 0 the hour before"]
    finally:
        stack.close()
