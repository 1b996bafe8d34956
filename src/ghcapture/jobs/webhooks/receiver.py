"""The HTTP side of GitHub's webhook deliveries, as GitHub's best practices ask:

- the body is streamed, and more than GitHub's 25 MB payload cap is refused (413) without being held;
- `X-Hub-Signature-256` (HMAC-SHA256 of the raw body) is computed while the body streams in and compared in
  constant time before anything parses it;
- the event and its action are known before the payload's shape is read, and a shape that does not fit is a
  4xx with one log line, never a 500;
- the delivery is answered within GitHub's 10 s: 202 once it is recorded and applied, 200 for a delivery id
  already received (a no-op), 503 when the database cannot take it (GitHub lists it as failed; the worker
  asks for it again).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ghcapture.errors import ConfigError
from ghcapture.github.redact import redact
from ghcapture.jobs.actions_settings import ActionsSettings
from ghcapture.jobs.webhooks import payloads as shapes
from ghcapture.jobs.webhooks.apply import DUPLICATE, Applier
from ghcapture.jobs.webhooks.deliveries import Delivery
from ghcapture.jobs.webhooks.runs import ClientFactory, apply_workflow_run
from ghcapture.jobs.webhooks.writer import DeliveryWriter

log = logging.getLogger("ghcapture.webhook")
SIGNATURE_HEADER = "X-Hub-Signature-256"
DEFAULT_PATH = "/webhooks/github"
# GitHub caps a delivery's payload at 25 MB
# (https://docs.github.com/webhooks/webhook-events-and-payloads#payload-cap).
MAX_BODY_BYTES = 25 * 1024 * 1024
# GitHub waits 10 s for an answer; what is not done by then is answered 503 and asked for again later.
ANSWER_WITHIN_SECONDS = 8.0
MAX_DELIVERY_ID_LENGTH = 100


def signature_for(secret: str, body: bytes) -> str:
    """The X-Hub-Signature-256 value GitHub sends for `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(secret: str, body: bytes, header: str | None) -> bool:
    """True when `header` is the HMAC-SHA256 of `body` under `secret` (constant-time comparison)."""
    return _signed(hmac.new(secret.encode(), body, hashlib.sha256), header)


def _signed(mac: Any, header: str | None) -> bool:
    if not header or not header.startswith("sha256="):
        return False
    expected = ("sha256=" + mac.hexdigest()).encode()
    return hmac.compare_digest(expected, header.strip().encode("utf-8", "replace"))


@dataclass(frozen=True)
class Refusal(Exception):
    status: int
    message: str


def _refused(request: Request, refusal: Refusal) -> JSONResponse:
    delivery = (request.headers.get("X-GitHub-Delivery") or "?")[:MAX_DELIVERY_ID_LENGTH]
    event = (request.headers.get("X-GitHub-Event") or "?")[:40]
    log.warning("webhook delivery %s (%s) refused: %s", delivery, event, redact(refusal.message))
    return JSONResponse({"message": refusal.message}, status_code=refusal.status)


async def _body(request: Request, secret: bytes, limit: int) -> bytes:
    """The body, read while its HMAC is computed; Refusal when it is too large or not signed by `secret`."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.strip().isdigit() and int(declared) > limit:
        raise Refusal(413, f"the payload is {int(declared):,} bytes, over GitHub's {limit:,}-byte cap")
    mac = hmac.new(secret, digestmod=hashlib.sha256)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Refusal(413, f"the payload is over GitHub's {limit:,}-byte cap")
        mac.update(chunk)
        chunks.append(chunk)
    if not _signed(mac, request.headers.get(SIGNATURE_HEADER)):
        raise Refusal(401, "bad or missing X-Hub-Signature-256")
    return b"".join(chunks)


def _payload(request: Request, body: bytes) -> Any:
    """The JSON payload; GitHub's form-encoded content type carries it in a `payload` field."""
    try:
        if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            fields = parse_qs(body.decode("utf-8"))
            body = fields.get("payload", [""])[0].encode()
        return json.loads(body)
    except (ValueError, RecursionError, UnicodeDecodeError):
        raise Refusal(400, "the body is not JSON") from None


def _envelope(event: str, delivery_id: str, request: Request, checked: Any, raw: dict[str, Any]) -> Delivery:
    repository = getattr(checked, "repository", None)
    installation = getattr(checked, "installation", None)
    number: int | None = None
    for name in ("pull_request", "issue"):
        obj = getattr(checked, name, None)
        if obj is not None:
            number = obj.number
    hook = request.headers.get("X-GitHub-Hook-ID", "")
    return Delivery(
        delivery_id=delivery_id,
        event=event,
        action=getattr(checked, "action", None),
        hook_id=int(hook) if hook.isdigit() and len(hook) < 19 else None,
        installation_id=installation.id if installation is not None else None,
        repository=repository.full_name if repository is not None else None,
        pull_request_number=number,
    )


def receiver_app(
    applier: Applier,
    secret: str | None,
    *,
    actions: ActionsSettings | None = None,
    client_factory: ClientFactory | None = None,
    path: str = DEFAULT_PATH,
    max_body_bytes: int = MAX_BODY_BYTES,
) -> Starlette:
    """A Starlette app taking GitHub's deliveries at `path` (POST). `actions` and `client_factory` let
    `workflow_run` deliveries move bulk jobs (and cost completed runs)."""
    if not secret:
        raise ConfigError("GHCAPTURE_WEBHOOK_SECRET is not set; the webhook cannot verify deliveries")
    key = secret.encode()
    engine = applier.engine
    writer = DeliveryWriter(applier)

    async def receive(request: Request) -> JSONResponse:
        try:
            body = await _body(request, key, max_body_bytes)
            delivery_id = (request.headers.get("X-GitHub-Delivery") or "").strip()
            event = (request.headers.get("X-GitHub-Event") or "").strip()
            if not delivery_id or len(delivery_id) > MAX_DELIVERY_ID_LENGTH:
                raise Refusal(400, "no X-GitHub-Delivery id (or one over 100 characters)")
            if not event:
                raise Refusal(400, "no X-GitHub-Event header")
            if event not in shapes.SHAPES:
                return JSONResponse(
                    {"message": f"ignored: {event[:40]} events are not captured"}, status_code=202
                )
            payload = _payload(request, body)
            try:
                checked = shapes.checked(event, payload)
            except shapes.MalformedPayload as exc:
                raise Refusal(422, f"not a {event} payload: {exc}") from None
            if event == "ping":
                return JSONResponse({"message": "pong"})
            delivery = _envelope(event, delivery_id, request, checked, payload)
            if event == "workflow_run":
                applied, answer = await asyncio.wait_for(
                    apply_workflow_run(engine, delivery, checked, payload, actions, client_factory),  # type: ignore[arg-type]
                    ANSWER_WITHIN_SECONDS,
                )
                return JSONResponse(answer, status_code=200 if applied.outcome == DUPLICATE else 202)
            applied = await asyncio.wait_for(
                asyncio.wrap_future(writer.submit(delivery, checked, payload)), ANSWER_WITHIN_SECONDS
            )
        except Refusal as refusal:
            return _refused(request, refusal)
        except TimeoutError:
            return _refused(request, Refusal(503, f"not applied within {ANSWER_WITHIN_SECONDS:g} s"))
        except Exception as exc:  # the store is unreachable or refused the write: GitHub marks it failed
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            return _refused(request, Refusal(503, f"could not be stored: {first}"))
        answer = {"outcome": applied.outcome, "detail": applied.detail}
        if applied.job_id:
            answer["job_id"] = applied.job_id
        return JSONResponse(answer, status_code=200 if applied.outcome == DUPLICATE else 202)

    return Starlette(routes=[Route(path, receive, methods=["POST"])])
