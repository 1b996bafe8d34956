"""Where a capture resumes: one cursor and watermark per (repository, entity, scope).

Callers save a checkpoint in the same transaction as the page of rows it follows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Connection, and_, delete, select

from ghcapture.store.tables import capture_checkpoints, utc_now
from ghcapture.store.upsert import upsert_rows

_KEY = ("repository", "entity", "scope")


@dataclass(frozen=True)
class Checkpoint:
    repository: str
    entity: str
    scope: str
    cursor: str | None
    watermark: datetime | None
    updated_at: datetime


def _where(repository: str, entity: str, scope: str) -> ColumnElement[bool]:
    table = capture_checkpoints.c
    return and_(table.repository == repository, table.entity == entity, table.scope == scope)


def load_checkpoint(conn: Connection, repository: str, entity: str, scope: str) -> Checkpoint | None:
    """The saved checkpoint, or None if there is none (start from the beginning)."""
    row = conn.execute(select(capture_checkpoints).where(_where(repository, entity, scope))).first()
    if row is None:
        return None
    return Checkpoint(
        repository=row.repository,
        entity=row.entity,
        scope=row.scope,
        cursor=row.cursor,
        watermark=row.watermark,
        updated_at=row.updated_at,
    )


def save_checkpoint(
    conn: Connection,
    repository: str,
    entity: str,
    scope: str,
    *,
    cursor: str | None,
    watermark: datetime | None,
) -> None:
    """Record where to resume (insert or replace)."""
    upsert_rows(
        conn,
        capture_checkpoints,
        [
            {
                "repository": repository,
                "entity": entity,
                "scope": scope,
                "cursor": cursor,
                "watermark": watermark,
                "updated_at": utc_now(),
            }
        ],
        key=_KEY,
    )


def clear_checkpoint(conn: Connection, repository: str, entity: str, scope: str) -> None:
    """Forget the checkpoint, so the next capture starts from the beginning."""
    conn.execute(delete(capture_checkpoints).where(_where(repository, entity, scope)))
