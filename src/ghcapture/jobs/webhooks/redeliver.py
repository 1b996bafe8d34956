"""Deliveries GitHub failed to make: GitHub does not send them again on its own. The worker lists the App's
recent deliveries (`GET /app/hook/deliveries`, as the App: a JWT), and for each delivery id (`guid`) that
never succeeded and never reached the receiver asks for one more attempt
(`POST /app/hook/deliveries/{id}/attempts`), as GitHub's own guide does
(https://docs.github.com/webhooks/using-webhooks/automatically-redelivering-failed-deliveries-for-a-github-app-webhook).
GitHub keeps deliveries for three days; what is lost for good is left to the tracked repositories' refresh.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Engine, select

from ghcapture.config import Settings, read_setting_values
from ghcapture.github.auth import AppJwtAuth
from ghcapture.github.http import GitHubClient
from ghcapture.github.redact import redact
from ghcapture.store.tables import utc_now, webhook_deliveries, webhook_redeliveries
from ghcapture.store.upsert import upsert_rows

log = logging.getLogger("ghcapture.webhook")
KEPT_FOR = timedelta(days=3)  # how long GitHub keeps a delivery that may be redelivered


@dataclass
class Redelivered:
    """What one pass found and asked for."""

    listed: int = 0
    failed: list[str] = field(default_factory=list)  # guids that never succeeded
    asked: list[int] = field(default_factory=list)  # delivery attempt ids asked again


def _when(text: object) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _received(engine: Engine, guids: list[str]) -> set[str]:
    if not guids:
        return set()
    with engine.connect() as conn:
        rows = conn.execute(
            select(webhook_deliveries.c.delivery_id).where(webhook_deliveries.c.delivery_id.in_(guids))
        ).all()
    return {r.delivery_id for r in rows}


async def redeliver_failed(client: GitHubClient, engine: Engine, *, since: datetime) -> Redelivered:
    """Asks again for every delivery since `since` that failed on every attempt and that the receiver
    never recorded; each guid once, by its latest attempt."""
    found = Redelivered()
    attempts: dict[str, list[dict[str, Any]]] = {}
    async for page in client.rest_pages("/app/hook/deliveries", params={"per_page": 100}):
        items = page.data if isinstance(page.data, list) else []
        older = False
        for item in items:
            if not isinstance(item, dict) or not isinstance(item.get("guid"), str):
                continue
            found.listed += 1
            delivered = _when(item.get("delivered_at"))
            if delivered is not None and delivered < since:
                older = True
                continue
            attempts.setdefault(item["guid"], []).append(item)
        if older:  # newest first: the rest is older still
            break
    failed = {
        guid: tries
        for guid, tries in attempts.items()
        if not any(200 <= int(t.get("status_code") or 0) < 300 for t in tries)
    }
    found.failed = sorted(failed)
    known = _received(engine, found.failed)
    for guid, tries in failed.items():
        if guid in known:
            continue
        latest = max(tries, key=lambda t: int(t.get("id") or 0))
        await client.rest("POST", f"/app/hook/deliveries/{int(latest['id'])}/attempts")
        found.asked.append(int(latest["id"]))
        _note_asked(engine, guid, latest)
    return found


def _note_asked(engine: Engine, guid: str, attempt: dict[str, Any]) -> None:
    row = {
        "attempt_id": int(attempt["id"]),
        "delivery_id": guid[:100],
        "event": str(attempt.get("event") or "")[:100] or None,
        "status": str(attempt.get("status") or "")[:200] or None,
        "asked_at": utc_now(),
    }
    with engine.begin() as conn:
        upsert_rows(conn, webhook_redeliveries, [row], key=["attempt_id"])


@dataclass
class PeriodicRedelivery:
    """The worker's redelivery step: a pass on start, then at most every `interval` seconds; never raises."""

    engine: Engine
    settings: Settings
    interval: float = 300.0
    transport: httpx.AsyncBaseTransport | None = None
    clock: Callable[[], float] = time.monotonic
    _due_at: float | None = field(default=None, init=False)
    _since: datetime | None = field(default=None, init=False)
    failed_seen: int = field(default=0, init=False)

    def tick(self) -> Redelivered | None:
        now = self.clock()
        if self._due_at is not None and now < self._due_at:
            return None
        self._due_at = now + self.interval
        started = utc_now()
        # The first pass looks as far back as GitHub keeps deliveries; later ones overlap the last a little.
        since = self._since - timedelta(seconds=self.interval) if self._since else started - KEPT_FOR
        try:
            found = asyncio.run(self._pass(since))
        except Exception as exc:  # GitHub or the database may answer at the next pass
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            log.warning("worker: asking GitHub again for failed webhook deliveries failed: %s", redact(first))
            return None
        self._since = started
        self.failed_seen = len(found.failed)
        if found.asked:
            log.info(
                "worker: asked GitHub again for %d failed webhook deliveries (of %d listed)",
                len(found.asked),
                found.listed,
            )
        return found

    async def _pass(self, since: datetime) -> Redelivered:
        assert self.settings.github_app_id and self.settings.github_app_private_key
        auth = AppJwtAuth(self.settings.github_app_id, self.settings.github_app_private_key)
        async with GitHubClient(self.settings, auth=auth, transport=self.transport, max_attempts=3) as client:
            return await redeliver_failed(client, self.engine, since=since)


def periodic_redelivery(engine: Engine, settings: Settings) -> PeriodicRedelivery | None:
    """The worker's redelivery step; None unless ghcapture acts as a GitHub App (the deliveries API is the
    App's)."""
    if not (settings.github_app_id and settings.github_app_private_key):
        log.info("worker: not asking for failed webhook deliveries again (needs GitHub App credentials)")
        return None
    interval = float(read_setting_values()["redeliver_seconds"])
    return PeriodicRedelivery(engine, settings, interval=interval)
