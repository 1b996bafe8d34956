"""Which alerts to send now, to each destination: a new alert at once, a firing one again once its
cool-down has passed, and its clearing once; an event (a failed, cancelled or interrupted job) once only.

The state lives in `alert_states`, one row per destination (the log, a webhook by a digest of its URL, a
repository's issues) and alert, so every process that sends to a destination agrees on what it was sent,
while a run that sends elsewhere (a `ghcapture alerts` without the webhook, say) takes nothing from it. Each
notice is claimed with a conditional write: of two processes evaluating at once, one sends it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Engine, and_, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from ghcapture.monitor.alerts import EVENT_RULES, Alert
from ghcapture.store.tables import alert_states as states

Status = Literal["firing", "resolved"]
KEY_COLUMNS = ("destination", "rule", "subject")


@dataclass(frozen=True)
class Notice:
    """What is sent about an alert: it fires (for the first time, or again after the cool-down) or it has
    resolved. `issue_number` is the issue opened for it earlier, if one was."""

    status: Status
    alert: Alert
    fired_at: datetime
    at: datetime
    repeat: bool = False
    issue_number: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "repeat": self.repeat,
            **self.alert.as_dict(),
            "fired_at": self.fired_at.isoformat(),
            "at": self.at.isoformat(),
        }


@dataclass(frozen=True)
class Claim:
    """A notice this process won the right to send to `destination`, and the row as it was before (None:
    there was none)."""

    destination: str
    notice: Notice
    before: dict[str, Any] | None


def _where(destination: str, rule: str, subject: str) -> Any:
    return and_(states.c.destination == destination, states.c.rule == rule, states.c.subject == subject)


def claim_notices(
    engine: Engine, destination: str, alerts: list[Alert], now: datetime, cooldown: timedelta
) -> list[Claim]:
    """Compare the alerts holding now with what `destination` was sent; claim and return what it is to be
    sent. Each claim is its own short transaction, so a slow delivery never holds the table."""
    current = {(alert.rule, alert.subject): alert for alert in alerts}
    with engine.connect() as connection:
        rows = {
            (row.rule, row.subject): row._asdict()
            for row in connection.execute(select(states).where(states.c.destination == destination))
        }
    claims: list[Claim] = []
    for key, alert in current.items():
        claim = _claim_firing(engine, destination, alert, rows.get(key), now, cooldown)
        if claim is not None:
            claims.append(claim)
    for key, row in rows.items():
        if key not in current and row["firing"]:
            claim = _claim_resolved(engine, destination, row, now)
            if claim is not None:
                claims.append(claim)
    return claims


def _claim_firing(
    engine: Engine,
    destination: str,
    alert: Alert,
    row: dict[str, Any] | None,
    now: datetime,
    cooldown: timedelta,
) -> Claim | None:
    facts = {"severity": alert.severity, "message": alert.message}
    if row is None:
        try:
            with engine.begin() as connection:
                connection.execute(
                    insert(states).values(
                        destination=destination,
                        rule=alert.rule,
                        subject=alert.subject,
                        firing=True,
                        fired_at=now,
                        sent_at=now,
                        **facts,
                    )
                )
        except IntegrityError:  # another process raised it first, and sends it
            return None
        return Claim(destination, Notice("firing", alert, now, now), None)
    where = _where(destination, alert.rule, alert.subject)
    with engine.begin() as connection:
        if not row["firing"]:
            moved = connection.execute(
                update(states)
                .where(where, states.c.firing.is_(False))
                .values(firing=True, fired_at=now, sent_at=now, cleared_at=None, issue_number=None, **facts)
            ).rowcount
            return Claim(destination, Notice("firing", alert, now, now), row) if moved else None
        repeat_due = row["sent_at"] is None or now - row["sent_at"] >= cooldown
        if alert.rule in EVENT_RULES or not repeat_due:
            connection.execute(update(states).where(where).values(**facts))
            return None
        moved = connection.execute(
            update(states)
            .where(where, states.c.firing.is_(True), _same_sent_at(row["sent_at"]))
            .values(sent_at=now, **facts)
        ).rowcount
    if not moved:
        return None
    notice = Notice("firing", alert, row["fired_at"], now, repeat=True, issue_number=row["issue_number"])
    return Claim(destination, notice, row)


def _claim_resolved(engine: Engine, destination: str, row: dict[str, Any], now: datetime) -> Claim | None:
    event = row["rule"] in EVENT_RULES
    with engine.begin() as connection:
        moved = connection.execute(
            update(states)
            .where(
                _where(destination, row["rule"], row["subject"]),
                states.c.firing.is_(True),
                _same_sent_at(row["sent_at"]),
            )
            .values(firing=False, cleared_at=now, **({} if event else {"sent_at": now}))
        ).rowcount
    if not moved or event:
        return None
    alert = Alert(row["severity"], row["rule"], row["subject"], row["message"])
    notice = Notice("resolved", alert, row["fired_at"], now, issue_number=row["issue_number"])
    return Claim(destination, notice, row)


def _same_sent_at(sent_at: datetime | None) -> Any:
    return states.c.sent_at.is_(None) if sent_at is None else states.c.sent_at == sent_at


def release(engine: Engine, claim: Claim) -> None:
    """The notice could not be sent: put its row back as it was, so that the next run sends it again."""
    alert = claim.notice.alert
    where = _where(claim.destination, alert.rule, alert.subject)
    with engine.begin() as connection:
        if claim.before is None:
            connection.execute(delete(states).where(where))
        else:
            values = {k: v for k, v in claim.before.items() if k not in KEY_COLUMNS}
            connection.execute(update(states).where(where).values(**values))


def remember_issue(engine: Engine, destination: str, alert: Alert, number: int | None) -> None:
    with engine.begin() as connection:
        connection.execute(
            update(states).where(_where(destination, alert.rule, alert.subject)).values(issue_number=number)
        )
