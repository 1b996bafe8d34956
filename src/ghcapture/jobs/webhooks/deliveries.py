"""The record of deliveries: every X-GitHub-Delivery id once, what it did, and the version of the object it
carried where the object has no timestamp of its own to order by (a workflow run's attempt and status)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, Engine, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from ghcapture.store.tables import utc_now, webhook_deliveries

APPLIED, STALE, JOB, IGNORED = "applied", "stale", "job", "ignored"


@dataclass(frozen=True)
class Delivery:
    """What GitHub's headers and the payload's envelope say of one delivery."""

    delivery_id: str
    event: str
    action: str | None = None
    hook_id: int | None = None
    installation_id: int | None = None
    repository: str | None = None
    pull_request_number: int | None = None


def record(conn: Connection, delivery: Delivery) -> bool:
    """Records the delivery in the caller's transaction; False when its id was recorded before (a repeat).

    The row is written before anything is applied: a concurrent repeat of the same id waits on it, then
    finds it, so a delivery is applied once even when GitHub sends it twice at once.
    """
    if seen_in(conn, delivery.delivery_id):
        return False
    try:
        with conn.begin_nested():
            record_applied(conn, delivery, IGNORED, None)
    except IntegrityError:
        return False
    return True


def record_applied(
    conn: Connection,
    delivery: Delivery,
    outcome: str,
    detail: str | None,
    *,
    object_key: str | None = None,
    version: str | None = None,
) -> None:
    """Records a delivery with what it did, in the transaction that did it; IntegrityError when its id was
    recorded before (the caller rolls its work back: a repeat changes nothing)."""
    conn.execute(
        insert(webhook_deliveries).values(
            delivery_id=delivery.delivery_id,
            event=delivery.event,
            action=delivery.action,
            hook_id=delivery.hook_id,
            installation_id=delivery.installation_id,
            repository=delivery.repository,
            pull_request_number=delivery.pull_request_number,
            outcome=outcome,
            detail=detail,
            object_key=object_key,
            version=version,
            received_at=utc_now(),
        )
    )


def settle(
    conn: Connection,
    delivery_id: str,
    outcome: str,
    detail: str | None = None,
    *,
    job_id: str | None = None,
    object_key: str | None = None,
    version: str | None = None,
) -> None:
    """What the delivery did, once it is applied."""
    conn.execute(
        update(webhook_deliveries)
        .where(webhook_deliveries.c.delivery_id == delivery_id)
        .values(outcome=outcome, detail=detail, job_id=job_id, object_key=object_key, version=version)
    )


def forget(engine: Engine, delivery_id: str) -> None:
    """Takes a delivery back (its work could not be recorded): a redelivery of it is then applied."""
    with engine.begin() as conn:
        conn.execute(delete(webhook_deliveries).where(webhook_deliveries.c.delivery_id == delivery_id))


def newest_version(conn: Connection, object_key: str) -> str | None:
    """The newest version of an object any applied delivery carried."""
    found: str | None = conn.execute(
        select(func.max(webhook_deliveries.c.version)).where(
            webhook_deliveries.c.object_key == object_key, webhook_deliveries.c.outcome == APPLIED
        )
    ).scalar()
    return found


def seen_in(conn: Connection, delivery_id: str) -> bool:
    """True when a delivery of this id was recorded."""
    found = conn.execute(
        select(webhook_deliveries.c.delivery_id).where(webhook_deliveries.c.delivery_id == delivery_id)
    ).first()
    return found is not None
