"""The `workflow_run` webhook: GitHub calls it when a bulk run is requested, starts and completes, and the
job follows at once instead of at the next reconciliation.

Every delivery is verified against the webhook secret (X-Hub-Signature-256, HMAC-SHA256 of the raw body,
compared in constant time) before its body is even parsed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from sqlalchemy import select
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ghcapture.errors import ConfigError
from ghcapture.github.http import GitHubClient
from ghcapture.jobs.actions_settings import ActionsSettings
from ghcapture.jobs.model import GITHUB_ACTIONS, Job
from ghcapture.jobs.reconcile import RunState, apply_run
from ghcapture.jobs.store import JobStore
from ghcapture.store.tables import progressive_capture_jobs

log = logging.getLogger("ghcapture.webhook")
SIGNATURE_HEADER = "X-Hub-Signature-256"
# GitHub caps a delivery's payload at 25 MB; a workflow_run event is a few kilobytes.
MAX_BODY_BYTES = 5 * 1024 * 1024

ClientFactory = Callable[[], AbstractAsyncContextManager[GitHubClient]]


def signature_for(secret: str, body: bytes) -> str:
    """The X-Hub-Signature-256 value GitHub sends for `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(secret: str, body: bytes, header: str | None) -> bool:
    """True when `header` is the HMAC-SHA256 of `body` under `secret` (constant-time comparison)."""
    if not header or not header.startswith("sha256="):
        return False
    return hmac.compare_digest(signature_for(secret, body).encode(), header.strip().encode())


def _job_for_run(store: JobStore, run: RunState) -> Job | None:
    table = progressive_capture_jobs
    with store.engine.connect() as conn:
        row = conn.execute(
            select(table).where(table.c.workflow_run_id == run.id, table.c.processor == GITHUB_ACTIONS)
        ).first()
    return Job.from_row(row) if row is not None else None


def webhook_app(
    store: JobStore,
    actions: ActionsSettings,
    *,
    client_factory: ClientFactory | None = None,
    path: str = "/webhooks/github",
) -> Starlette:
    """A Starlette app taking GitHub's webhook deliveries at `path` (POST).

    `client_factory` opens a GitHub client for costing a completed run; without one, cost is left to
    the next `ghcapture reconcile`.
    """
    if not actions.webhook_secret:
        raise ConfigError("GHCAPTURE_WEBHOOK_SECRET is not set; the webhook cannot verify deliveries")
    secret = actions.webhook_secret

    async def receive(request: Request) -> JSONResponse:
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            return JSONResponse({"message": "payload too large"}, status_code=413)
        if not verify_signature(secret, body, request.headers.get(SIGNATURE_HEADER)):
            log.warning(
                "webhook delivery %s refused: bad or missing signature",
                request.headers.get("X-GitHub-Delivery", "?"),
            )
            return JSONResponse({"message": "bad signature"}, status_code=401)
        event = request.headers.get("X-GitHub-Event", "")
        if event == "ping":
            return JSONResponse({"message": "pong"})
        if event != "workflow_run":
            return JSONResponse({"message": f"ignored: {event or 'no'} event"}, status_code=202)
        try:
            payload = json.loads(body)
            run = RunState.from_api(payload["workflow_run"])
            repository = str((payload.get("repository") or {}).get("full_name") or "")
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"message": "not a workflow_run payload"}, status_code=400)
        if actions.repository and repository.lower() != actions.repository.lower():
            return JSONResponse(
                {"message": f"ignored: {repository} is not the jobs repository"}, status_code=202
            )
        job = await run_in_threadpool(_job_for_run, store, run)
        if job is None:
            return JSONResponse({"message": f"ignored: no job follows run {run.id}"}, status_code=202)
        if client_factory is not None and run.status == "completed":
            async with client_factory() as client:
                result = await apply_run(store, job, run, client, actions)
        else:
            result = await apply_run(store, job, run, None, actions)
        return JSONResponse(
            {
                "job_id": result.job_id,
                "run_id": run.id,
                "before": result.before,
                "after": result.after,
                "billable_ms": result.billable_ms,
            }
        )

    return Starlette(routes=[Route(path, receive, methods=["POST"])])


def payload_for(run: dict[str, Any], repository: str, action: str) -> dict[str, Any]:
    """A workflow_run event payload as GitHub delivers it (for tests and the simulator)."""
    return {
        "action": action,
        "workflow_run": run,
        "repository": {"full_name": repository},
        "workflow": {"path": run.get("path")},
        "sender": {"login": "octocat"},
    }
