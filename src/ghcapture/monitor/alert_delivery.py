"""Where alerts go: the log always, a webhook (a JSON POST, retried with backoff) when
GHCAPTURE_ALERT_WEBHOOK_URL is set, and an issue in the jobs repository when GHCAPTURE_ALERT_ISSUES is on.
Each destination keeps its own record of what it was sent; a notice a destination did not take is released
there, and sent to it again by the next run."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol
from urllib.parse import urlsplit

import httpx
import stamina
from sqlalchemy import Engine

from ghcapture.config import Settings
from ghcapture.errors import GhcaptureError
from ghcapture.monitor.alert_state import Notice, claim_notices, release, remember_issue
from ghcapture.monitor.alerts import Alert

log = logging.getLogger("ghcapture.alerts")

ISSUE_LABEL = "ghcapture-alert"


class DeliveryFailed(GhcaptureError):
    """A destination did not take a notice (after its retries)."""


class _Unavailable(Exception):
    """An answer worth retrying: the receiver is overloaded or failing for now."""


class Channel(Protocol):
    name: str

    @property
    def destination(self) -> str:
        """Names where notices go, for the record of what was sent there; never a secret."""

    def send(self, notice: Notice) -> None:
        """Deliver one notice or raise DeliveryFailed."""


def headline(notice: Notice) -> str:
    """One line about the notice, as the log and chat webhooks show it."""
    alert = notice.alert
    state = "RESOLVED" if notice.status == "resolved" else ("STILL FIRING" if notice.repeat else "FIRING")
    return f"[{state}] {alert.severity} {alert.rule} {alert.subject}: {alert.message}"


@dataclass
class LogChannel:
    name: str = "log"

    @property
    def destination(self) -> str:
        return "log"

    def send(self, notice: Notice) -> None:
        level = (
            logging.ERROR
            if notice.alert.severity == "error" and notice.status == "firing"
            else logging.WARNING
        )
        log.log(level, "%s", headline(notice))


@dataclass
class WebhookChannel:
    """POSTs each notice as JSON; a connection failure, a 429 or a 5xx is retried with exponential backoff
    and jitter (stamina), any other non-2xx answer fails at once. The URL is a secret (chat webhooks carry
    their credential in it), so errors name its host only."""

    url: str
    attempts: int = 5
    wait_initial: float = 0.5
    wait_max: float = 30.0
    timeout: float = 10.0
    name: str = "webhook"

    @property
    def destination(self) -> str:
        # A digest: the URL may carry the receiver's credential.
        return "webhook:" + hashlib.sha256(self.url.encode()).hexdigest()[:16]

    def send(self, notice: Notice) -> None:
        payload = {"source": "ghcapture", "text": headline(notice), **notice.as_dict()}
        host = urlsplit(self.url).hostname or "?"
        try:
            for attempt in stamina.retry_context(
                on=(httpx.TransportError, _Unavailable),
                attempts=self.attempts,
                wait_initial=self.wait_initial,
                wait_max=self.wait_max,
                timeout=None,
            ):
                with attempt:
                    answer = httpx.post(self.url, json=payload, timeout=self.timeout)
                    if answer.status_code == 429 or answer.status_code >= 500:
                        raise _Unavailable(f"answered {answer.status_code}")
        except _Unavailable as exc:
            raise DeliveryFailed(f"alert webhook at {host} {exc} after {self.attempts} attempts") from None
        except httpx.TransportError as exc:
            reason = type(exc).__name__
            raise DeliveryFailed(
                f"alert webhook at {host} unreachable ({reason}) after {self.attempts} attempts"
            ) from None
        if not answer.is_success:
            raise DeliveryFailed(f"alert webhook at {host} refused the alert: {answer.status_code}")


@dataclass
class IssueChannel:
    """Opens an issue in the jobs repository when an alert fires and closes it when the alert resolves; a
    repeat of a firing alert leaves its open issue as it is."""

    settings: Settings
    repository: str
    engine: Engine
    transport: httpx.AsyncBaseTransport | None = None
    name: str = "issue"

    @property
    def destination(self) -> str:
        return f"issues:{self.repository}"

    def send(self, notice: Notice) -> None:
        if notice.status == "firing" and notice.repeat and notice.issue_number is not None:
            return
        try:
            number = asyncio.run(self._send(notice))
        except GhcaptureError as exc:
            raise DeliveryFailed(f"alert issue in {self.repository}: {exc}") from None
        if notice.status == "firing":
            remember_issue(self.engine, self.destination, notice.alert, number)

    async def _send(self, notice: Notice) -> int | None:
        from ghcapture.github.http import GitHubClient

        alert = notice.alert
        async with GitHubClient(self.settings, transport=self.transport, max_attempts=3) as client:
            if notice.status == "resolved":
                if notice.issue_number is None:
                    return None
                path = f"/repos/{self.repository}/issues/{notice.issue_number}"
                await client.rest("PATCH", path, json={"state": "closed", "state_reason": "completed"})
                return notice.issue_number
            body = (
                f"{alert.message}\n\n- severity: {alert.severity}\n- rule: `{alert.rule}`\n"
                f"- subject: `{alert.subject}`\n- fired at: {notice.fired_at:%Y-%m-%d %H:%M} UTC\n\n"
                "Closed by ghcapture when the alert resolves."
            )
            answer = await client.rest(
                "POST",
                f"/repos/{self.repository}/issues",
                json={
                    "title": f"ghcapture alert: {alert.rule} {alert.subject}",
                    "body": body,
                    "labels": [ISSUE_LABEL],
                },
            )
            return int(answer.data["number"])


@dataclass
class DeliveryReport:
    """What each destination was sent (by channel name), and what it did not take."""

    sent: list[Notice] = field(default_factory=list)
    failed: list[tuple[Notice, str]] = field(default_factory=list)
    sent_to: dict[str, list[Notice]] = field(default_factory=dict)


def deliver(
    engine: Engine,
    alerts: list[Alert],
    now: datetime,
    cooldown: timedelta,
    channels: Sequence[Channel],
) -> DeliveryReport:
    """For each channel, claim what is due there (new, repeated after `cooldown`, resolved) and send it.
    A notice a channel refused is released for the next run; Ctrl-C during a delivery releases what was not
    sent yet. `sent` holds each notice once, however many channels took it."""
    report = DeliveryReport()
    seen: set[tuple[str, str, str, bool]] = set()
    for channel in channels:
        pending = claim_notices(engine, channel.destination, alerts, now, cooldown)
        try:
            while pending:
                claim = pending[0]
                try:
                    channel.send(claim.notice)
                except DeliveryFailed as exc:
                    release(engine, claim)
                    report.failed.append((claim.notice, str(exc)))
                    log.warning("alert not delivered, to be sent again: %s", exc)
                else:
                    report.sent_to.setdefault(channel.name, []).append(claim.notice)
                    notice = claim.notice
                    key = (notice.status, notice.alert.rule, notice.alert.subject, notice.repeat)
                    if key not in seen:
                        seen.add(key)
                        report.sent.append(notice)
                pending.pop(0)
        except BaseException:
            for claim in pending:
                release(engine, claim)
            raise
    return report
