"""Engines, connection checks and schema migrations for SQLite and PostgreSQL."""

from __future__ import annotations

import functools
import os
import re
import sqlite3
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import URL, ExceptionContext, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.pool import StaticPool

from ghcapture.errors import ConfigError, GhcaptureError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Its own name, so a database shared with other Alembic users keeps the two histories apart.
VERSION_TABLE = "ghcapture_alembic_version"
# pg_advisory_xact_lock key serialising concurrent upgrades (the bytes of "ghcaptur" as an int64).
_UPGRADE_LOCK_KEY = 0x6768636170747572
_SQLITE_BUSY_TIMEOUT_S = 30
_POSTGRES_DRIVERS = {"postgres", "postgresql", "postgresql+psycopg"}
_SQLITE_DRIVERS = {"sqlite", "sqlite+pysqlite"}
_URL_EXAMPLES = "sqlite:///ghcapture.db or postgresql://user:password@host:5432/database"


class DatabaseUnavailableError(GhcaptureError):
    """The database cannot be reached or opened."""


class SchemaError(GhcaptureError):
    """The database's schema revision is one this version of ghcapture does not know."""


def redact_url(url: str | URL) -> str:
    """The URL with any password replaced by ***, fit for messages and logs."""
    raw = url if isinstance(url, str) else url.render_as_string(hide_password=False)
    try:
        shown = make_url(raw).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        shown = re.sub(r"(://[^/@:]*:)[^@]*@", r"\1***@", raw)
    # libpq also accepts the password as a query parameter.
    return re.sub(r"(?i)([?&]password=)[^&]*", r"\1***", shown)


def _parse(url: str) -> URL:
    try:
        parsed = make_url(url.strip())
    except (ArgumentError, ValueError):
        raise ConfigError(
            f"GHCAPTURE_DATABASE_URL: not a database URL: {redact_url(url)!r} (expected {_URL_EXAMPLES})"
        ) from None
    if parsed.drivername in _POSTGRES_DRIVERS:
        return parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername in _SQLITE_DRIVERS:
        return parsed.set(drivername="sqlite+pysqlite")
    raise ConfigError(
        f"GHCAPTURE_DATABASE_URL: unsupported database {parsed.drivername!r} (expected {_URL_EXAMPLES})"
    )


def create_engine_for(url: str, *, writes: bool = True) -> Engine:
    """An engine for a sqlite:/// or postgresql:// (postgres://, postgresql+psycopg://) URL.

    SQLite gets WAL, a 30 s busy timeout, enforced foreign keys and its directory created; its transactions
    take the write lock up front unless `writes` is False (a reader that never writes need not wait for it).
    """
    parsed = _parse(url)
    if parsed.drivername == "postgresql+psycopg":
        return create_engine(parsed, pool_pre_ping=True, connect_args={"connect_timeout": 10})
    database = parsed.database or ""
    if database in ("", ":memory:"):
        engine = create_engine(parsed, poolclass=StaticPool, connect_args={"check_same_thread": False})
    else:
        directory = Path(database).expanduser().parent
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            # mkdir says "File exists" when a file stands where a directory of the path should be.
            in_the_way = next(
                (p for p in (directory, *directory.parents) if p.exists() and not p.is_dir()), None
            )
            reason = (
                f"{in_the_way} is not a directory"
                if in_the_way
                else f"cannot create {directory} ({exc.strerror})"
            )
            raise DatabaseUnavailableError(f"cannot create database sqlite:///{database}: {reason}") from None
        engine = create_engine(parsed, connect_args={"timeout": _SQLITE_BUSY_TIMEOUT_S})
    _configure_sqlite(engine, writes=writes)
    return engine


def _switch_to_wal(cursor: Any) -> None:
    # Switching a fresh file to WAL needs an exclusive lock, and SQLite reports "locked" at once rather
    # than through busy_timeout while another connection is opening the same file: retry within the timeout.
    deadline = time.monotonic() + _SQLITE_BUSY_TIMEOUT_S
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _configure_sqlite(engine: Engine, *, writes: bool = True) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # SQLAlchemy emits BEGIN itself (below), so DDL and savepoints are transactional too.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {_SQLITE_BUSY_TIMEOUT_S * 1000}")
        _switch_to_wal(cursor)
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # IMMEDIATE takes the write lock up front (waiting up to busy_timeout), so a transaction that
        # reads before it writes never fails on a lock upgrade when another writer got in between.
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")

    database = engine.url.database or ":memory:"

    @event.listens_for(engine, "handle_error")
    def _on_error(context: ExceptionContext) -> None:
        # A read-only, damaged or unopenable file fails at whichever statement first touches it, deep in
        # a capture or a job; here every such statement becomes the same one-line error, and the
        # transaction it was in is rolled back as usual, so nothing already stored is lost.
        problem = _sqlite_problem(context.original_exception, database)
        if problem is not None:
            raise DatabaseUnavailableError(problem) from None


def _sqlite_problem(exc: BaseException, database: str) -> str | None:
    """One line naming the SQLite file and what is wrong with it, for errors that no retry will fix."""
    if not isinstance(exc, sqlite3.Error):
        return None
    code = str(getattr(exc, "sqlite_errorname", ""))
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else code
    shown = f"sqlite:///{database}"
    path = Path(database).expanduser()
    directory = path.parent
    if code.startswith("SQLITE_READONLY") or "readonly database" in detail:
        if path.exists() and not os.access(path, os.W_OK):
            return f"database {shown} is read-only (check the file's permissions)"
        if not os.access(directory, os.W_OK):
            return (
                f"database {shown} is read-only: its directory {directory} is not writable "
                "(SQLite keeps its -wal and -shm files beside the database)"
            )
        return f"database {shown} is read-only ({detail})"
    if code in ("SQLITE_NOTADB", "SQLITE_CORRUPT") or detail in (
        "file is not a database",
        "database disk image is malformed",
    ):
        return f"database {shown} is not a SQLite database or is damaged ({detail})"
    if code.startswith("SQLITE_CANTOPEN") or detail == "unable to open database file":
        if not path.exists():
            if not directory.is_dir():
                return f"cannot create database {shown}: {directory} is not a directory"
            if not os.access(directory, os.W_OK):
                return f"cannot create database {shown}: directory {directory} is not writable"
        elif not os.access(path, os.R_OK):
            return f"cannot open database {shown}: the file is not readable (check its permissions)"
        elif not os.access(directory, os.W_OK):
            return (
                f"cannot open database {shown}: its directory {directory} is not writable "
                "(SQLite keeps its -wal and -shm files beside the database)"
            )
        return f"cannot open database {shown} ({detail})"
    # A full disk or a busy file is left to the caller: the capture says what it kept and how to resume.
    return None


def _describe(engine: Engine) -> str:
    url = engine.url
    if url.get_backend_name() == "sqlite":
        return f"SQLite database {url.database or ':memory:'}"
    host = url.host or "localhost"
    port = f":{url.port}" if url.port else ""
    return f"PostgreSQL database {url.database or '(default)'!s} at {host}{port}"


def _reason(exc: DBAPIError, engine: Engine) -> str:
    original = str(exc.orig or exc).strip()
    lines = [line.strip() for line in original.splitlines() if line.strip()]
    reason = lines[0] if lines else type(exc.orig or exc).__name__
    password = engine.url.password
    if password:
        reason = reason.replace(str(password), "***")
    return reason


def check_connection(engine: Engine) -> None:
    """Connect once; an unreachable or refused database raises DatabaseUnavailableError (one line)."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except DBAPIError as exc:
        raise DatabaseUnavailableError(f"cannot open {_describe(engine)}: {_reason(exc, engine)}") from None


def check_writable(engine: Engine) -> None:
    """Write once (a row set to itself), so that a read-only database is one line now rather than an error
    at the first job; on SQLite the error names the file and why (see _sqlite_problem)."""
    try:
        with engine.begin() as connection:
            connection.execute(text(f"UPDATE {VERSION_TABLE} SET version_num = version_num"))
    except DBAPIError as exc:
        raise DatabaseUnavailableError(
            f"cannot write to {_describe(engine)}: {_reason(exc, engine)}"
        ) from None


def _alembic_config() -> Config:
    # Alembic is imported only to migrate: opening a current database reads its revision with one query.
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("version_table", VERSION_TABLE)
    return config


_REVISION_LINE = re.compile(r"""^(down_revision|revision)\b[^=]*=\s*(?:"([^"]*)"|None)\s*$""", re.MULTILINE)


@functools.cache
def head_revision() -> str:
    """The latest revision this version of ghcapture knows: the one no other migration follows.

    Read from the migration files' `revision`/`down_revision` lines (one line of history, no branches)
    rather than through Alembic's script directory, which costs a fifth of a second of imports."""
    revisions: set[str] = set()
    followed: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("[0-9]*.py"):
        values = dict(_REVISION_LINE.findall(path.read_text(encoding="utf-8")))
        revisions.add(values["revision"])
        if values.get("down_revision"):
            followed.add(values["down_revision"])
    heads = revisions - followed
    assert len(heads) == 1, f"the migrations directory holds {len(heads)} heads, not one"
    return heads.pop()


def current_revision(engine: Engine) -> str | None:
    """The database's schema revision, or None if it has never been migrated."""
    with engine.connect() as connection:
        return _current_revision(connection)


def _current_revision(connection: Connection) -> str | None:
    # What Alembic's MigrationContext.get_current_revision reads, without importing Alembic.
    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    rows = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
    if len(rows) > 1:
        raise SchemaError(f"{_describe(connection.engine)} records {len(rows)} schema heads, not one")
    return rows[0] if rows else None


def upgrade(engine: Engine) -> None:
    """Apply every migration the database lacks, in one transaction; safe to run concurrently."""
    from alembic import command
    from alembic.util import CommandError

    config = _alembic_config()
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                # Held to commit: a second process waits here, then finds the schema current.
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _UPGRADE_LOCK_KEY})
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except CommandError as exc:
        raise SchemaError(
            f"{_describe(engine)}: cannot migrate ({exc}); is it from a newer ghcapture?"
        ) from None
    except DBAPIError as exc:
        raise DatabaseUnavailableError(
            f"cannot migrate {_describe(engine)}: {_reason(exc, engine)}"
        ) from None


def open_database(url: str, *, migrate: bool = True) -> Engine:
    """An engine on a reachable database whose schema is current (migrated here if it is behind)."""
    engine = create_engine_for(url)
    check_connection(engine)
    if migrate and current_revision(engine) != head_revision():
        upgrade(engine)
    return engine


def open_existing_database(url: str) -> Engine:
    """An engine for reading a database that exists and whose schema is current; nothing is created or
    migrated (a mistyped SQLite path must not become a new empty database)."""
    parsed = _parse(url)
    database = parsed.database or ""
    if parsed.drivername in _SQLITE_DRIVERS and database not in ("", ":memory:"):
        if not Path(database).expanduser().is_file():
            raise DatabaseUnavailableError(
                f"no database at sqlite:///{database} (check GHCAPTURE_DATABASE_URL, or create it with: "
                "ghcapture db upgrade)"
            )
    engine = create_engine_for(url, writes=False)
    check_connection(engine)
    revision, head = current_revision(engine), head_revision()
    if revision is None:
        raise SchemaError(
            f"{_describe(engine)} holds no ghcapture schema (create it with: ghcapture db upgrade)"
        )
    if revision != head:
        raise SchemaError(
            f"{_describe(engine)} is at schema revision {revision}, this ghcapture reads {head} "
            "(run: ghcapture db upgrade)"
        )
    return engine
