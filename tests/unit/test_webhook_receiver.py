"""The receiver's door: refused deliveries (bad signature, too large, malformed, unexpected shapes) are a 4xx
with one log line and store nothing; a repeated delivery id is a no-op; installations track repositories;
a burst of deliveries for a repository becomes one job."""

from __future__ import annotations

import asyncio
import json
import logging
import tracemalloc
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, select
from starlette.testclient import TestClient

from ghcapture.jobs.settings import JobSettings
from ghcapture.jobs.store import JobStore
from ghcapture.jobs.webhooks.apply import Applier
from ghcapture.jobs.webhooks.coalesce import PullRequestJobs
from ghcapture.jobs.webhooks.receiver import MAX_BODY_BYTES, receiver_app, signature_for
from ghcapture.store.database import open_database
from ghcapture.store.tables import (
    DATA_TABLES,
    capture_checkpoints,
    repositories,
    tracked_repositories,
    webhook_deliveries,
)

SECRET = "It's a Secret to Everybody"


@pytest.fixture
def engine(sqlite_url: str) -> Iterator[Engine]:
    engine = open_database(sqlite_url)
    yield engine
    engine.dispose()


@pytest.fixture
def client(engine: Engine) -> TestClient:
    return TestClient(receiver_app(Applier(engine), SECRET))


def deliver(
    client: TestClient, event: str, payload: Any, *, delivery: str | None = None, body: bytes | None = None
) -> httpx.Response:
    raw = body if body is not None else json.dumps(payload).encode()
    headers = {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-Hub-Signature-256": signature_for(SECRET, raw),
        "Content-Type": "application/json",
    }
    return client.post("/webhooks/github", content=raw, headers=headers)


def account(login: str = "octocat", id_: int = 1) -> dict[str, Any]:
    return {"login": login, "id": id_, "node_id": f"U_{id_}", "type": "User"}


def repository(full_name: str = "acme/widgets", id_: int = 300) -> dict[str, Any]:
    owner, name = full_name.split("/")
    return {
        "id": id_,
        "node_id": f"R_{id_}",
        "name": name,
        "full_name": full_name,
        "owner": account(owner, 2),
    }


def pull_request(number: int = 7, updated_at: str = "2026-01-02T00:00:00Z", **fields: Any) -> dict[str, Any]:
    return {
        "id": 9000 + number,
        "node_id": f"PR_{number}",
        "number": number,
        "title": "Fix the thing",
        "body": None,
        "state": "open",
        "draft": False,
        "merged": False,
        "merged_at": None,
        "merged_by": None,
        "user": account(),
        "base": {"ref": "main", "sha": "a" * 40},
        "head": {"ref": "fix", "sha": "b" * 40},
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": updated_at,
        "closed_at": None,
        "additions": 1,
        "deletions": 0,
        "changed_files": 1,
        "commits": 1,
        "html_url": f"https://github.com/acme/widgets/pull/{number}",
        **fields,
    }


def stored(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        counts = {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in DATA_TABLES}
        counts["webhook_deliveries"] = conn.execute(
            select(func.count()).select_from(webhook_deliveries)
        ).scalar_one()
    return counts


EMPTY = {"repositories": 0, "contributors": 0, "pull_requests": 0, "reviews": 0, "comments": 0}


@pytest.mark.parametrize(
    ("case", "payload", "status"),
    [
        ("not JSON", b"{nope", 400),
        ("a JSON array", [1, 2], 422),
        (
            "repository a string",
            {"action": "edited", "pull_request": pull_request(), "repository": "acme/w"},
            422,
        ),
        (
            "an id of 10^30",
            {"action": "edited", "pull_request": pull_request(id=10**30), "repository": repository()},
            422,
        ),
        ("no pull_request", {"action": "edited", "repository": repository()}, 422),
        (
            "a number as a title",
            {"action": "edited", "pull_request": pull_request(title=5), "repository": repository()},
            422,
        ),
        (
            "a date that is not one",
            {"action": "edited", "pull_request": pull_request(updated_at="soon"), "repository": repository()},
            422,
        ),
        (
            "a date given as a number",
            {
                "action": "edited",
                "pull_request": pull_request(updated_at=1700000000),
                "repository": repository(),
            },
            422,
        ),
        ("a nested payload 100,000 deep", b"[" * 100_000 + b"]" * 100_000, 400),
    ],
)
def test_a_malformed_delivery_is_a_4xx_with_one_log_line_and_stores_nothing(
    client: TestClient, engine: Engine, caplog: pytest.LogCaptureFixture, case: str, payload: Any, status: int
) -> None:
    body = payload if isinstance(payload, bytes) else None
    with caplog.at_level(logging.WARNING, logger="ghcapture.webhook"):
        answer = deliver(client, "pull_request", payload, body=body)

    assert answer.status_code == status, (case, answer.text)
    assert [r.levelno for r in caplog.records] == [logging.WARNING]
    assert "\n" not in caplog.records[0].getMessage()
    assert not any(stored(engine).values())


def test_bad_or_missing_signatures_and_headers_are_refused_before_the_body_is_read(
    client: TestClient, engine: Engine
) -> None:
    body = json.dumps(
        {"action": "edited", "pull_request": pull_request(), "repository": repository()}
    ).encode()
    base = {"X-GitHub-Event": "pull_request", "X-GitHub-Delivery": "d1", "Content-Type": "application/json"}

    wrong = client.post(
        "/webhooks/github", content=body, headers={**base, "X-Hub-Signature-256": signature_for("x", body)}
    )
    missing = client.post("/webhooks/github", content=body, headers=base)
    sha1 = client.post("/webhooks/github", content=body, headers={**base, "X-Hub-Signature-256": "sha1=00"})
    no_id = client.post(
        "/webhooks/github",
        content=body,
        headers={"X-GitHub-Event": "pull_request", "X-Hub-Signature-256": signature_for(SECRET, body)},
    )

    assert [r.status_code for r in (wrong, missing, sha1, no_id)] == [401, 401, 401, 400]
    assert not any(stored(engine).values())


def test_a_body_over_githubs_cap_is_refused_413_by_its_length_or_while_it_streams(
    client: TestClient, engine: Engine
) -> None:
    declared = client.post(
        "/webhooks/github",
        content=b"x" * 10,
        headers={"Content-Length": str(MAX_BODY_BYTES + 1), "X-GitHub-Event": "pull_request"},
    )
    assert declared.status_code == 413

    async def streamed() -> int:
        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(MAX_BODY_BYTES // (1 << 20) + 2):
                yield b" " * (1 << 20)

        transport = httpx.ASGITransport(app=client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            answer = await http.post("/webhooks/github", content=chunks(), headers={"X-GitHub-Event": "ping"})
            return answer.status_code

    assert asyncio.run(streamed()) == 413
    assert not any(stored(engine).values())


def test_memory_stays_flat_while_a_100_mb_streamed_body_is_refused(client: TestClient) -> None:
    """A body is never held beyond GitHub's 25 MB cap: the receiver stops reading there."""
    mib = 1 << 20
    block = b" " * mib

    async def post() -> int:
        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(100):
                yield block  # one block reused: the sender holds 1 MiB, whatever the body's size

        transport = httpx.ASGITransport(app=client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            answer = await http.post("/webhooks/github", content=chunks(), headers={"X-GitHub-Event": "ping"})
            return answer.status_code

    tracemalloc.start()
    try:
        status = asyncio.run(post())
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert status == 413
    # At most the cap and a block in flight; reading the whole body would hold 100 MiB.
    assert peak < MAX_BODY_BYTES + 10 * mib, f"peak {peak / mib:.0f} MiB"


def test_a_second_delivery_of_one_id_is_a_no_op(client: TestClient, engine: Engine) -> None:
    first = {"action": "edited", "pull_request": pull_request(title="First"), "repository": repository()}
    second = {"action": "edited", "pull_request": pull_request(title="Second"), "repository": repository()}

    applied = deliver(client, "pull_request", first, delivery="same-id")
    repeated = deliver(client, "pull_request", second, delivery="same-id")

    assert (applied.status_code, repeated.status_code) == (202, 200)
    assert repeated.json()["outcome"] == "duplicate"
    with engine.connect() as conn:
        from ghcapture.store.tables import pull_requests

        assert conn.execute(select(pull_requests.c.title)).scalar_one() == "First"


def test_an_older_pull_request_state_never_overwrites_a_newer_one(client: TestClient, engine: Engine) -> None:
    newer = pull_request(state="closed", closed_at="2026-01-03T00:00:00Z", updated_at="2026-01-03T00:00:00Z")
    older = pull_request(title="Old title", updated_at="2026-01-02T00:00:00Z")

    assert (
        deliver(
            client, "pull_request", {"action": "closed", "pull_request": newer, "repository": repository()}
        ).status_code
        == 202
    )
    late = deliver(
        client, "pull_request", {"action": "edited", "pull_request": older, "repository": repository()}
    )

    assert late.json()["outcome"] == "stale"
    from ghcapture.store.tables import pull_requests

    with engine.connect() as conn:
        row = conn.execute(select(pull_requests.c.state, pull_requests.c.title)).one()
    assert tuple(row) == ("closed", "Fix the thing")


def test_installations_track_and_untrack_repositories_and_a_rename_moves_the_schedule(
    client: TestClient, engine: Engine
) -> None:
    installation = {"id": 5, "node_id": "I_5"}
    listed = [{"id": 300, "full_name": "acme/widgets"}, {"id": 301, "full_name": "acme/gadgets"}]
    deliver(
        client, "installation", {"action": "created", "installation": installation, "repositories": listed}
    )
    deliver(
        client,
        "installation_repositories",
        {
            "action": "removed",
            "installation": installation,
            "repositories_added": [],
            "repositories_removed": [listed[1]],
        },
    )
    deliver(
        client,
        "pull_request",
        {"action": "opened", "pull_request": pull_request(), "repository": repository()},
    )
    with engine.begin() as conn:
        conn.execute(
            capture_checkpoints.insert().values(
                repository="acme/widgets", entity="pull_requests", scope="all", cursor=None
            )
        )
    renamed = {**repository("acme/sprockets"), "updated_at": "2026-02-01T00:00:00Z"}
    answer = deliver(
        client,
        "repository",
        {
            "action": "renamed",
            "changes": {"repository": {"name": {"from": "widgets"}}},
            "repository": renamed,
        },
    )

    assert answer.status_code == 202
    with engine.connect() as conn:
        assert conn.execute(select(tracked_repositories.c.repository)).scalars().all() == ["acme/sprockets"]
        assert conn.execute(select(repositories.c.full_name)).scalars().all() == ["acme/sprockets"]
        assert conn.execute(select(capture_checkpoints.c.repository)).scalars().all() == ["acme/sprockets"]

    deleted = {**repository("acme/sprockets"), "updated_at": "2026-02-02T00:00:00Z"}
    deliver(client, "repository", {"action": "deleted", "repository": deleted})
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(tracked_repositories)).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(repositories)).scalar_one() == 1  # data stays


def test_a_burst_of_deliveries_for_a_repository_becomes_one_job(engine: Engine) -> None:
    jobs = PullRequestJobs(engine, JobSettings(), window_seconds=60.0)
    client = TestClient(receiver_app(Applier(engine, pull_request_jobs=jobs), SECRET))

    ids = {
        deliver(
            client,
            "pull_request",
            {
                "action": "synchronize",
                "pull_request": pull_request(n, head={"ref": "f", "sha": str(k)}),
                "repository": repository(),
            },
        ).json()["job_id"]
        for k, n in enumerate([7, 8, 7, 9])
    }

    assert len(ids) == 1
    job = JobStore(engine).get(ids.pop())
    assert (job.kind, job.trigger, job.lane) == ("pr-details", "webhook", "realtime")
    assert job.params["pr_numbers"] == [7, 8, 9]

    at_once = PullRequestJobs(engine, JobSettings(), window_seconds=0.0)
    assert at_once.request("acme/gadgets", 10) != at_once.request("acme/gadgets", 11)


def test_a_tracked_repository_with_activity_but_no_delivery_is_reported_silent(
    client: TestClient, engine: Engine
) -> None:
    from datetime import timedelta

    from ghcapture.monitor.alerts import evaluate
    from ghcapture.store.tables import utc_now

    def silent() -> list[str]:
        return [a.subject for a in evaluate(engine, utc_now()) if a.rule == "webhooks_silent"]

    installation = {"id": 5, "node_id": "I_5"}
    listed = [{"id": 300, "full_name": "acme/widgets"}]
    deliver(
        client, "installation", {"action": "created", "installation": installation, "repositories": listed}
    )
    recently = (utc_now() - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    opened = {
        "action": "opened",
        "pull_request": pull_request(updated_at=recently),
        "repository": repository(),
    }
    deliver(client, "pull_request", opened)
    with (
        engine.begin() as conn
    ):  # the receiver last heard of it two hours ago; a refresh found a change since
        conn.execute(webhook_deliveries.update().values(received_at=utc_now() - timedelta(hours=2)))

    assert silent() == ["acme/widgets"]

    edited = {
        "action": "edited",
        "pull_request": pull_request(updated_at=recently, title="x"),
        "repository": repository(),
    }
    deliver(client, "pull_request", edited)
    assert silent() == []


def review_comment(id_: int, body: str, updated_at: str) -> dict[str, Any]:
    return {
        "id": id_,
        "node_id": f"PRRC_{id_}",
        "user": account(),
        "body": body,
        "path": "README.md",
        "line": 3,
        "diff_hunk": "@@ -1 +1 @@",
        "in_reply_to_id": None,
        "pull_request_review_id": 77,
        "created_at": "2026-01-02T00:00:00Z",
        "updated_at": updated_at,
    }


def test_a_thread_stores_its_comments_and_a_deleted_comment_stays_deleted(
    client: TestClient, engine: Engine
) -> None:
    from ghcapture.store.tables import comments

    pr = pull_request()
    deliver(client, "pull_request", {"action": "opened", "pull_request": pr, "repository": repository()})
    simple = {k: pr[k] for k in ("id", "number", "updated_at")}
    thread = {
        "action": "resolved",
        "thread": {"node_id": "PRRT_1", "comments": [review_comment(1, "first", "2026-01-02T00:00:00Z")]},
        "pull_request": simple,
        "repository": repository(),
    }
    assert deliver(client, "pull_request_review_thread", thread).status_code == 202
    gone = review_comment(1, "first", "2026-01-02T00:00:00Z")
    deleted = {"action": "deleted", "comment": gone, "pull_request": simple, "repository": repository()}
    assert deliver(client, "pull_request_review_comment", deleted).status_code == 202
    late_edit = review_comment(1, "edited later", "2026-01-03T00:00:00Z")
    edited = {"action": "edited", "comment": late_edit, "pull_request": simple, "repository": repository()}
    assert deliver(client, "pull_request_review_comment", edited).json()["outcome"] == "stale"
    on_issue = {
        "action": "created",
        "issue": {"number": 99},
        "comment": {**late_edit, "id": 2},
        "repository": repository(),
    }
    assert deliver(client, "issue_comment", on_issue).json()["outcome"] == "ignored"

    with engine.connect() as conn:
        rows = conn.execute(select(comments.c.github_id, comments.c.body, comments.c.deleted_at)).all()
    assert [(r.github_id, r.body, r.deleted_at is not None) for r in rows] == [(1, "first", True)]


def test_a_delivery_its_sender_stopped_waiting_for_is_left_and_the_writer_goes_on(engine: Engine) -> None:
    from concurrent.futures import CancelledError, Future

    from ghcapture.jobs.webhooks.deliveries import Delivery
    from ghcapture.jobs.webhooks.payloads import checked
    from ghcapture.jobs.webhooks.writer import DeliveryWriter

    writer = DeliveryWriter(Applier(engine))
    payload = {"action": "edited", "pull_request": pull_request(), "repository": repository()}
    abandoned: Future[Any] = Future()
    abandoned.cancel()  # its sender was answered 503 while it waited in the queue
    writer._queue.put(
        (Delivery("gone", "pull_request", "edited"), checked("pull_request", payload), payload, abandoned)
    )
    kept = writer.submit(
        Delivery("kept", "pull_request", "edited"), checked("pull_request", payload), payload
    )

    assert kept.result(timeout=10).outcome == "applied"
    with pytest.raises(CancelledError):
        abandoned.result(timeout=0)
    with engine.connect() as conn:
        assert conn.execute(select(webhook_deliveries.c.delivery_id)).scalars().all() == ["kept"]
