"""A repository renamed or transferred on GitHub: what is kept under its name (checkpoints, its tracked
schedule) moves to the new name, as GitHub redirects the old one."""

from __future__ import annotations

from sqlalchemy import Connection, and_, delete, exists, select, update

from ghcapture.store.tables import capture_checkpoints, tracked_repositories


def move_repository(conn: Connection, old: str, new: str) -> None:
    """Moves checkpoints and the tracked schedule from `old` to `new`; where `new` already has one,
    the newer name's is kept."""
    if old == new:
        return
    cp = capture_checkpoints
    newer = cp.alias("newer")
    clash = exists(
        select(newer.c.entity).where(
            newer.c.repository == new, newer.c.entity == cp.c.entity, newer.c.scope == cp.c.scope
        )
    )
    conn.execute(delete(cp).where(and_(cp.c.repository == old, clash)))
    conn.execute(update(cp).where(cp.c.repository == old).values(repository=new))
    tracked = tracked_repositories
    already = conn.execute(select(tracked.c.repository).where(tracked.c.repository == new)).first()
    if already is not None:
        conn.execute(delete(tracked).where(tracked.c.repository == old))
    else:
        conn.execute(update(tracked).where(tracked.c.repository == old).values(repository=new))
