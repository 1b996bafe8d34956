"""What GitHub no longer shows: lists replaced when a pull request's head moves, and deleted comments kept
for history with the time their deletion was found (`deleted_at`), counted nowhere as live."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, and_, delete, select, update

from ghcapture.store.tables import comments, reviews

_BATCH = 500


def replace_lists(conn: Connection, table: Table, pull_request_ids: Collection[int]) -> None:
    """Drops the stored rows of `table` (files or commits) for these pull requests, before their whole
    current list is written in the same transaction."""
    ids = sorted(pull_request_ids)
    for start in range(0, len(ids), _BATCH):
        conn.execute(delete(table).where(table.c.pull_request_id.in_(ids[start : start + _BATCH])))


def mark_deleted_comments(
    conn: Connection,
    whole: Iterable[tuple[int, str]],
    listed: Iterable[Mapping[str, Any]],
    at: datetime,
) -> int:
    """For each (pull request, kind) whose every live comment is in `listed`, marks the stored live
    comments not among them deleted at `at`; returns how many were marked."""
    seen: dict[tuple[int, str], set[int]] = {}
    for row in listed:
        seen.setdefault((row["pull_request_id"], row["kind"]), set()).add(int(row["github_id"]))
    marked = 0
    for pr_id, kind in sorted(whole):
        keep = sorted(seen.get((pr_id, kind), set()))
        condition = and_(
            comments.c.pull_request_id == pr_id,
            comments.c.kind == kind,
            comments.c.deleted_at.is_(None),
        )
        if keep:
            condition = and_(condition, comments.c.github_id.not_in(keep))
        marked += conn.execute(update(comments).where(condition).values(deleted_at=at)).rowcount or 0
    return marked


def mark_comments_deleted_by_id(conn: Connection, ids: Collection[int], at: datetime) -> int:
    """Marks these stored comments deleted at `at` (those not already marked); returns how many."""
    marked = 0
    ordered = sorted(ids)
    for start in range(0, len(ordered), _BATCH):
        chunk = ordered[start : start + _BATCH]
        result = conn.execute(
            update(comments)
            .where(comments.c.github_id.in_(chunk), comments.c.deleted_at.is_(None))
            .values(deleted_at=at)
        )
        marked += result.rowcount or 0
    return marked


def deleted_authors(
    conn: Connection, review_rows: Iterable[Mapping[str, Any]], comment_rows: Iterable[Mapping[str, Any]]
) -> set[int]:
    """Accounts whose stored reviews or comments are about to be written as the ghost's (author NULL):
    GitHub deleted them."""
    found: set[int] = set()
    for table, rows in ((reviews, review_rows), (comments, comment_rows)):
        ghostly = sorted({int(r["github_id"]) for r in rows if r.get("author_id") is None})
        for start in range(0, len(ghostly), _BATCH):
            found.update(
                a
                for a in conn.execute(
                    select(table.c.author_id).where(
                        table.c.github_id.in_(ghostly[start : start + _BATCH]), table.c.author_id.is_not(None)
                    )
                ).scalars()
            )
    return found
