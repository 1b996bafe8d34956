"""Database outages during a job: telling a lost connection from other errors, and waiting one out.

A restart of the database (a failover, maintenance) drops every connection for a while. A running capture
stores each page with its checkpoint in one transaction, so nothing is lost: waiting until the database
answers again and carrying on from the checkpoint is cheaper than failing the attempt.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

from sqlalchemy import Engine, text

if TYPE_CHECKING:
    from ghcapture.config import Settings

log = logging.getLogger("ghcapture.jobs")

# How long a run waits for its database to come back before the attempt fails (GHCAPTURE_DB_OUTAGE_SECONDS).
DEFAULT_OUTAGE_SECONDS = 60.0
FIRST_PAUSE_SECONDS = 0.5
MAX_PAUSE_SECONDS = 8.0


def outage_seconds(settings: Settings) -> float:
    """GHCAPTURE_DB_OUTAGE_SECONDS, checked with the other settings when they were read."""
    return float(settings.extra.get("db_outage_seconds", DEFAULT_OUTAGE_SECONDS))


def is_connection_error(exc: BaseException) -> bool:
    """The database could not be reached or dropped the connection (not a bad query, not a conflict)."""
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, (OperationalError, InterfaceError)):
            orig = getattr(current, "orig", None)
            code = getattr(orig, "sqlstate", None) or ""
            # Class 08 is "connection exception"; 57P01-57P03: the server is shutting down or starting.
            if code.startswith("08") or code in {"57P01", "57P02", "57P03"}:
                return True
            message = str(orig or current).lower()
            if any(m in message for m in _CONNECTION_MESSAGES):
                return True
        current = current.__cause__ or current.__context__
    return False


_CONNECTION_MESSAGES = (
    "connection refused",
    "server closed the connection",
    "terminating connection",
    "connection is closed",
    "the database system is",
    "could not connect",
    "connection failed",
    "consuming input failed",
    "no such file or directory",  # the server's Unix socket is gone while it restarts
)


def wait_for_database(engine: Engine, seconds: float, stop: threading.Event | None = None) -> bool:
    """Ping the database with growing pauses until it answers (True) or `seconds` have passed (False)."""
    deadline = time.monotonic() + seconds
    pause = FIRST_PAUSE_SECONDS
    while True:
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except Exception as exc:
            if not is_connection_error(exc):
                raise
        left = deadline - time.monotonic()
        if left <= 0 or (stop is not None and stop.is_set()):
            return False
        time.sleep(min(pause, left))
        pause = min(MAX_PAUSE_SECONDS, pause * 2)


def database_came_back(
    exc: BaseException, engine: Engine, seconds: float, *, who: str, stop: threading.Event | None = None
) -> bool:
    """True when `exc` is the database going away and it answers again within `seconds`: the run may then
    carry on from its checkpoint. One log line when it goes and one when it is back; False for any other
    error, or when the outage lasts longer (the caller lets its error through)."""
    return is_connection_error(exc) and outlast_outage(engine, seconds, who=who, stop=stop)


def outlast_outage(engine: Engine, seconds: float, *, who: str, stop: threading.Event | None = None) -> bool:
    """Wait up to `seconds` for the database to answer again, saying so in a line when the wait begins and
    in one when it is back."""
    log.warning("%s: the database is unreachable; waiting up to %g s for it", who, seconds)
    began = time.monotonic()
    if not wait_for_database(engine, seconds, stop):
        return False
    log.warning(
        "%s: the database is back after %.0f s; resuming from the checkpoint", who, time.monotonic() - began
    )
    return True


class QuietOutageFilter(logging.Filter):
    """Drops DBOS's log records about a lost database connection: its queue, scheduler and listener threads
    each log every retry, with tracebacks, while ghcapture's own lines already say once that the database
    is unreachable and once that it is back."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None and is_connection_error(record.exc_info[1]):
            return False
        text = record.getMessage().lower()
        return not any(m in text for m in (*_CONNECTION_MESSAGES, "database connection failed"))


QUIET_OUTAGES = QuietOutageFilter()
