"""A known store for the monitor tests: two repositories, their pull requests, and jobs on each route."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert

from ghcapture.store.tables import (
    comments,
    job_events,
    pr_files,
    progressive_capture_jobs,
    pull_requests,
    repositories,
    reviews,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
_ids = itertools.count(1)


def add_repository(
    engine: Engine, full_name: str, *, prs: int = 0, github_total: int | None = None,
    synced: datetime | None = None, reviews_each: int = 0, comments_each: int = 0, files_each: int = 0,
) -> int:
    repo_id = next(_ids) * 1000
    owner, name = full_name.split("/", 1)
    with engine.begin() as connection:
        connection.execute(
            insert(repositories).values(
                github_id=repo_id, owner=owner, name=name, full_name=full_name,
                github_pr_total=github_total, last_synced_at=synced,
            )
        )
        for number in range(1, prs + 1):
            pr_id = repo_id + number * 10
            connection.execute(insert(pull_requests).values(github_id=pr_id, repository_id=repo_id, number=number))
            for i in range(reviews_each):
                connection.execute(insert(reviews).values(github_id=pr_id * 100 + i, pull_request_id=pr_id))
            for i in range(comments_each):
                connection.execute(
                    insert(comments).values(github_id=pr_id * 100 + 50 + i, pull_request_id=pr_id, kind="issue_comment")
                )
            for i in range(files_each):
                connection.execute(insert(pr_files).values(pull_request_id=pr_id, path=f"f{i}.py"))
    return repo_id


def add_job(engine: Engine, **values: Any) -> str:
    job_id = values.pop("id", None) or f"job-{next(_ids):04d}"
    row: dict[str, Any] = {"id": job_id, "kind": "prs", "repository": "acme/widgets", "status": "completed",
                           "created_at": NOW - timedelta(hours=1)}
    row.update(values)
    with engine.begin() as connection:
        connection.execute(insert(progressive_capture_jobs).values(**row))
    return job_id


def add_event(engine: Engine, job_id: str, type_: str, message: str, at: datetime = NOW) -> None:
    with engine.begin() as connection:
        connection.execute(insert(job_events).values(job_id=job_id, type=type_, message=message, at=at))


def known_store(engine: Engine) -> None:
    """Three bulk jobs on Actions, one realtime local job, one failed and one running; figures below."""
    add_repository(engine, "acme/widgets", prs=3, github_total=5, synced=NOW - timedelta(hours=2),
                   reviews_each=2, comments_each=1, files_each=4)
    add_repository(engine, "acme/gadgets", prs=1, github_total=1, synced=NOW - timedelta(hours=1))
    for points, items, cost in ((100, 10, 0.008), (200, 20, 0.016), (300, 30, 0.024)):
        add_job(engine, lane="bulk", processor="github_actions", points_used=points, items_done=items,
                requests_made=points // 10, billable_ms=60_000, cost_usd=cost, route_reason="large backfill")
    add_job(engine, lane="realtime", processor="local", points_used=40, items_done=4, requests_made=8,
            repository="acme/gadgets")
    add_job(engine, lane="realtime", processor="local", status="failed", error="boom", points_used=5,
            requests_made=1, completed_at=NOW - timedelta(minutes=30))
    add_job(engine, id="job-running", lane="realtime", processor="local", status="running",
            started_at=NOW - timedelta(minutes=20), heartbeat_at=NOW - timedelta(minutes=5))


def add_sample(
    engine: Engine, budget: str, resource: str, *, limit: int = 5000, remaining: int, at: datetime,
    reset_at: datetime | None = None,
) -> None:
    """A rate-limit reading as a capture would have recorded it."""
    from ghcapture.store.rate_limit_samples import Sample, record_sample

    sample = Sample(limit, remaining, limit - remaining, reset_at or at + timedelta(minutes=30))
    with engine.begin() as connection:
        record_sample(connection, budget, resource, sample, at)


def add_worker(engine: Engine, worker_id: str, *, beat: datetime, stopped: datetime | None = None,
               running: list[str] | None = None) -> None:
    from ghcapture.store.tables import workers

    with engine.begin() as connection:
        connection.execute(insert(workers).values(
            id=worker_id, host="box", pid=1, listens=True, started_at=beat - timedelta(hours=1),
            heartbeat_at=beat, stopped_at=stopped, running=running or [],
        ))


class WebhookReceiver:
    """A local HTTP server that records JSON POSTs, answering each with the next planned status (then 200)."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        import http.server
        import json
        import threading

        self.bodies: list[dict[str, Any]] = []
        self.answers: list[int] = []
        self.planned = list(statuses or [])
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("content-length", 0))
                receiver.bodies.append(json.loads(self.rfile.read(length)))
                status = receiver.planned.pop(0) if receiver.planned else 200
                receiver.answers.append(status)
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/ghcapture-secret-path"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
