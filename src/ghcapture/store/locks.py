"""Capture locks: one capture of a repository (and scope) at a time, across processes and machines.

Two captures of the same repository at once would each spend the budget on the same pages. The lock is a
row in `capture_locks` (owner, PID, host, expiry), the same on SQLite and PostgreSQL: a second capture
waits for it and then runs incrementally from what the first stored, or fails fast when told not to wait.
A holder refreshes its expiry while it runs; a killed holder leaves a row that expires, and on its own host
a dead PID frees it at once, so a crash never blocks the next capture for long.

The lock is per (repository, scope): the slices of a bulk backfill (PR-number ranges, time windows) keep
separate checkpoints and are meant to run side by side, while captures of the same scope share one
checkpoint and would repeat each other's work.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Connection, Engine, and_, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from ghcapture.errors import GhcaptureError
from ghcapture.store.tables import capture_locks, utc_now

log = logging.getLogger("ghcapture.capture")

LOCK_TTL = timedelta(seconds=90)  # a holder that stops refreshing loses the lock after this
REFRESH_EVERY_S = 15.0
POLL_EVERY_S = 0.5
# GHCAPTURE_CAPTURE_LOCK_WAIT: seconds a capture waits for another one of the same repository; 0 fails at
# once; unset waits as long as the holder keeps its lock alive.
WAIT_ENV = "GHCAPTURE_CAPTURE_LOCK_WAIT"


class CaptureLockedError(GhcaptureError):
    """Another capture of the same repository holds its lock, and this one was told not to wait."""


@dataclass(frozen=True)
class LockHolder:
    repository: str
    scope: str
    owner: str
    pid: int
    host: str
    acquired_at: datetime
    expires_at: datetime

    def describe(self) -> str:
        return f"PID {self.pid} on {self.host}"


def default_wait() -> float | None:
    """The wait from GHCAPTURE_CAPTURE_LOCK_WAIT (None: wait for as long as the holder lives)."""
    raw = os.environ.get(WAIT_ENV, "").strip()
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        raise GhcaptureError(f"{WAIT_ENV}: not a number of seconds: {raw!r}") from None


def _key(repository: str, scope: str) -> tuple[str, str]:
    return repository.lower(), scope


def _where(repository: str, scope: str) -> ColumnElement[bool]:
    name, key = _key(repository, scope)
    return and_(capture_locks.c.repository == name, capture_locks.c.scope == key)


def current_holder(conn: Connection, repository: str, scope: str) -> LockHolder | None:
    row = conn.execute(select(capture_locks).where(_where(repository, scope))).first()
    if row is None:
        return None
    return LockHolder(
        row.repository, row.scope, row.owner, row.pid, row.host, row.acquired_at, row.expires_at
    )


def _stale(holder: LockHolder, now: datetime) -> bool:
    if holder.expires_at <= now:
        return True
    if holder.host != socket.gethostname():
        return False
    try:
        os.kill(holder.pid, 0)
    except ProcessLookupError:
        return True  # killed on this host: its row need not run out its expiry
    except PermissionError:
        return False  # alive, another user's
    return False


def try_acquire(engine: Engine, repository: str, scope: str, owner: str) -> LockHolder | None:
    """Takes the lock for `owner`; returns None when taken, else the current holder."""
    name, key = _key(repository, scope)
    now = utc_now()
    row = {
        "repository": name,
        "scope": key,
        "owner": owner,
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "acquired_at": now,
        "expires_at": now + LOCK_TTL,
    }
    with engine.begin() as conn:
        holder = current_holder(conn, repository, scope)
        if holder is not None and holder.owner != owner:
            if not _stale(holder, now):
                return holder
            log.info(
                "%s: taking over the capture lock of %s, %s",
                repository,
                holder.describe(),
                "expired" if holder.expires_at <= now else "no longer running",
            )
            # Only the row seen stale: a process that took it over meanwhile keeps its fresh one.
            conn.execute(
                delete(capture_locks).where(_where(repository, scope), capture_locks.c.owner == holder.owner)
            )
        insert = (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(capture_locks)
        conn.execute(insert.values(row).on_conflict_do_nothing())
        holder = current_holder(conn, repository, scope)
    if holder is None or holder.owner == owner:
        return None
    return holder  # another process inserted first (PostgreSQL's read committed)


def refresh(engine: Engine, repository: str, scope: str, owner: str) -> bool:
    """Pushes the expiry on; False when the lock is no longer this owner's."""
    with engine.begin() as conn:
        done = conn.execute(
            update(capture_locks)
            .where(_where(repository, scope), capture_locks.c.owner == owner)
            .values(expires_at=utc_now() + LOCK_TTL)
        )
    return bool(done.rowcount)


# Locks of this process whose release failed (the database was away): freed at the next capture_lock here,
# so that a capture going on after a database restart does not wait for its own lock to expire.
_UNRELEASED: set[tuple[str, str, str]] = set()


def _release_unreleased(engine: Engine) -> None:
    for repository, scope, owner in list(_UNRELEASED):
        try:
            release(engine, repository, scope, owner)
        except Exception:  # still away: it stays on the list, and expires anyway
            continue
        _UNRELEASED.discard((repository, scope, owner))


def release(engine: Engine, repository: str, scope: str, owner: str) -> None:
    with engine.begin() as conn:
        conn.execute(delete(capture_locks).where(_where(repository, scope), capture_locks.c.owner == owner))


@asynccontextmanager
async def capture_lock(
    engine: Engine, repository: str, scope: str, *, wait: float | None = None
) -> AsyncIterator[bool]:
    """Holds the capture lock of (repository, scope) for the block; yields True when it had to wait.

    `wait`: seconds to wait for another holder (None: as long as it lives; 0: fail at once).
    """
    owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
    _release_unreleased(engine)
    started = time.monotonic()
    waited = False
    while True:
        holder = try_acquire(engine, repository, scope, owner)
        if holder is None:
            break
        if wait is not None and time.monotonic() - started >= wait:
            raise CaptureLockedError(
                f"{repository} is being captured by {holder.describe()} (since "
                f"{holder.acquired_at:%Y-%m-%d %H:%M:%S} UTC); not waiting ({WAIT_ENV}={wait:g})"
            )
        if not waited:
            log.info("waiting for the capture of %s held by %s", repository, holder.describe())
            waited = True
        await asyncio.sleep(POLL_EVERY_S)
    if waited:
        log.info(
            "%s: the other capture ended after %.1f s; continuing from what it stored",
            repository,
            time.monotonic() - started,
        )
    keeper = asyncio.create_task(_keep_alive(engine, repository, scope, owner))
    try:
        yield waited
    finally:
        keeper.cancel()
        try:
            await keeper
        except asyncio.CancelledError:
            pass
        try:
            release(engine, repository, scope, owner)
        except Exception as exc:  # a full disk or a lost server: the row expires on its own
            _UNRELEASED.add((repository, scope, owner))
            log.debug(
                "%s: could not release the capture lock (%s); it expires in %d s",
                repository,
                str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
                int(LOCK_TTL.total_seconds()),
            )


async def _keep_alive(engine: Engine, repository: str, scope: str, owner: str) -> None:
    while True:
        await asyncio.sleep(REFRESH_EVERY_S)
        try:
            if not refresh(engine, repository, scope, owner):
                log.warning(
                    "%s: the capture lock was taken over; another capture may run alongside", repository
                )
                return
        except Exception as exc:  # refreshing is best effort; the capture's own writes report failures
            log.warning(
                "%s: could not refresh the capture lock: %s",
                repository,
                str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
            )
