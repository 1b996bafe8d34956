"""The workflow_run webhook: deliveries with a bad or missing signature are refused and change nothing; a
good one moves the job at once."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient

from bulk_lane_support import JOBS_REPO, BulkLane, bulk_job, bulk_lane
from ghcapture.errors import ConfigError
from ghcapture.jobs.actions import DeclaredInputsCache, dispatch_job_async
from ghcapture.jobs.actions_settings import ActionsSettings
from ghcapture.jobs.model import COMPLETED, QUEUED, RUNNING
from ghcapture.jobs.store import JobStore
from ghcapture.jobs.webhooks.apply import Applier
from ghcapture.jobs.webhooks.receiver import receiver_app, signature_for, verify_signature
from ghcapture.jobs.webhooks.runs import payload_for
from ghcapture.simulator.actions import WorkflowRun
from ghcapture.store.database import open_database

SECRET = "It's a Secret to Everybody"


@pytest.fixture
def engine(sqlite_url: str) -> Iterator[Engine]:
    engine = open_database(sqlite_url)
    yield engine
    engine.dispose()


@pytest.fixture
def lane() -> BulkLane:
    return bulk_lane(actions=ActionsSettings(repository=JOBS_REPO, webhook_secret=SECRET))


def test_the_signature_is_githubs_hmac_sha256() -> None:
    # GitHub's documented example: this secret and body give this signature.
    body = b"Hello, World!"
    expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"

    assert signature_for(SECRET, body) == expected
    assert verify_signature(SECRET, body, expected)
    assert not verify_signature(SECRET, body + b" ", expected)
    assert not verify_signature(SECRET, body, expected.replace("sha256=", "sha1="))
    assert not verify_signature(SECRET, body, None)


def webhook_app(engine: Engine, actions: ActionsSettings, **kwargs: Any) -> Any:
    return receiver_app(Applier(engine), actions.webhook_secret, actions=actions, **kwargs)


def dispatched_run(lane: BulkLane, engine: Engine) -> tuple[str, WorkflowRun]:
    job = bulk_job(engine, days=365)
    lane.run(
        lambda c: dispatch_job_async(JobStore(engine), job.id, c, lane.actions, cache=DeclaredInputsCache())
    )
    [run] = lane.sim.actions.runs.values()
    return job.id, run


def deliver(
    client: TestClient,
    payload: dict[str, Any],
    *,
    secret: str | None = SECRET,
    event: str = "workflow_run",
    signature: str | None = None,
) -> Any:
    body = json.dumps(payload).encode()
    headers = {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "Content-Type": "application/json",
    }
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature
    elif secret is not None:
        headers["X-Hub-Signature-256"] = signature_for(secret, body)
    return client.post("/webhooks/github", content=body, headers=headers)


def run_payload(lane: BulkLane, run: WorkflowRun, action: str) -> dict[str, Any]:
    return payload_for(lane.sim.actions.run_shape(run, "http://sim.test"), JOBS_REPO, action)


def test_a_bad_or_missing_signature_is_refused_and_changes_nothing(lane: BulkLane, engine: Engine) -> None:
    job_id, run = dispatched_run(lane, engine)
    lane.sim.actions.complete_run(run, "success")
    client = TestClient(webhook_app(engine, lane.actions))
    payload = run_payload(lane, run, "completed")

    wrong_secret = deliver(client, payload, secret="guess")
    missing = deliver(client, payload, secret=None)
    tampered = deliver(client, payload, signature=signature_for(SECRET, b"{}"))

    assert [r.status_code for r in (wrong_secret, missing, tampered)] == [401, 401, 401]
    assert JobStore(engine).get(job_id).status == QUEUED


def test_a_signed_delivery_moves_the_job_at_once(lane: BulkLane, engine: Engine) -> None:
    job_id, run = dispatched_run(lane, engine)

    @asynccontextmanager
    async def client_factory():  # type: ignore[no-untyped-def]
        async with lane.client() as client:
            yield client

    client = TestClient(webhook_app(engine, lane.actions, client_factory=client_factory))
    lane.sim.actions.start_run(run)
    started = deliver(client, run_payload(lane, run, "in_progress"))
    assert started.status_code == 202 and JobStore(engine).get(job_id).status == RUNNING

    run.jobs = [
        {
            "name": "capture",
            "started_at": time.time() - 90,
            "completed_at": time.time(),
            "conclusion": "success",
        }
    ]
    lane.sim.actions.complete_run(run, "success")
    completed = deliver(client, run_payload(lane, run, "completed"))

    job = JobStore(engine).get(job_id)
    assert completed.status_code == 202 and completed.json()["after"] == COMPLETED
    assert job.status == COMPLETED and job.billable_ms == 2 * 60_000
    assert job.cost_usd == pytest.approx(0.012)


def test_pings_other_events_repositories_and_runs_are_acknowledged_and_ignored(
    lane: BulkLane, engine: Engine
) -> None:
    job_id, run = dispatched_run(lane, engine)
    lane.sim.actions.complete_run(run, "failure")
    client = TestClient(webhook_app(engine, lane.actions))
    payload = run_payload(lane, run, "completed")
    elsewhere = {**payload, "repository": {**payload["repository"], "full_name": "someone/else"}}
    unknown = run_payload(lane, run, "completed")
    unknown["workflow_run"] = {**unknown["workflow_run"], "id": 1}

    assert deliver(client, {"zen": "Keep it logically awesome."}, event="ping").json() == {"message": "pong"}
    assert deliver(client, payload, event="push").status_code == 202
    assert deliver(client, elsewhere).status_code == 202
    assert deliver(client, unknown).status_code == 202
    assert deliver(client, {"workflow_run": {}}).status_code == 422
    assert JobStore(engine).get(job_id).status == QUEUED


def test_the_webhook_refuses_to_run_without_a_secret(engine: Engine) -> None:
    with pytest.raises(ConfigError, match="GHCAPTURE_WEBHOOK_SECRET"):
        webhook_app(engine, ActionsSettings(repository=JOBS_REPO))


def test_no_secret_appears_in_a_refusal(
    lane: BulkLane, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    _job_id, run = dispatched_run(lane, engine)
    client = TestClient(webhook_app(engine, lane.actions))

    answer = deliver(client, run_payload(lane, run, "completed"), secret="wrong")

    assert answer.status_code == 401
    assert SECRET not in answer.text and all(SECRET not in r.getMessage() for r in caplog.records)


def test_a_late_or_replayed_in_progress_after_completed_changes_nothing_but_a_rerun_is_followed(
    lane: BulkLane, engine: Engine
) -> None:
    job_id, run = dispatched_run(lane, engine)
    client = TestClient(webhook_app(engine, lane.actions))
    lane.sim.actions.start_run(run)
    in_progress = run_payload(lane, run, "in_progress")
    lane.sim.actions.complete_run(run, "success")
    completed = run_payload(lane, run, "completed")

    assert deliver(client, in_progress).status_code == 202
    assert deliver(client, completed).status_code == 202
    late = deliver(client, in_progress)  # the same state again, under a new delivery id

    assert late.status_code == 202 and late.json()["message"] == "stale"
    assert JobStore(engine).get(job_id).status == COMPLETED

    rerun = run_payload(lane, run, "in_progress")
    rerun["workflow_run"] = {**rerun["workflow_run"], "status": "in_progress", "run_attempt": 2}
    assert deliver(client, rerun).status_code == 202
    assert JobStore(engine).get(job_id).status == RUNNING
