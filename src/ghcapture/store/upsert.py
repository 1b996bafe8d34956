"""Idempotent writes: INSERT ... ON CONFLICT DO UPDATE on GitHub's natural keys, for both dialects."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Table, func
from sqlalchemy.dialects import postgresql, sqlite

from ghcapture.store.tables import GHOST_LOGIN, contributors

_CONTRIBUTOR_COLUMNS = ("github_id", "node_id", "login", "type", "name", "avatar_url")
# REST's user objects carry no name; GraphQL's may lack a type or node id. Neither may erase the other.
_CONTRIBUTOR_KEEP_WHEN_NULL = ("node_id", "type", "name", "avatar_url")


def _insert_for(conn: Connection, table: Table) -> Any:
    dialect = conn.dialect.name
    if dialect == "sqlite":
        return sqlite.insert(table)
    if dialect == "postgresql":
        return postgresql.insert(table)
    raise NotImplementedError(f"upserts are not written for the {dialect} dialect")


def _normalise(
    table: Table, rows: Sequence[Mapping[str, Any]], key: Sequence[str]
) -> tuple[list[str], list[dict[str, Any]]]:
    """Every row with the same columns (missing ones as None), one row per key (the last one wins),
    in key order."""
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    unknown = [name for name in columns if name not in table.c]
    if unknown:
        raise ValueError(f"{table.name} has no column(s) {', '.join(sorted(unknown))}")
    missing_key = [name for name in key if name not in columns]
    if missing_key:
        raise ValueError(f"rows for {table.name} lack key column(s) {', '.join(missing_key)}")
    by_key: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        full = {name: row.get(name) for name in columns}
        identity = tuple(full[name] for name in key)
        by_key.pop(identity, None)  # re-inserting keeps the last occurrence's position
        by_key[identity] = full
    # Key order, so concurrent writers lock shared rows (contributors) in the same order: no deadlocks.
    ordered = sorted(by_key.items(), key=lambda item: tuple((v is None, str(type(v)), v) for v in item[0]))
    return list(columns), [row for _identity, row in ordered]


def upsert_rows(
    conn: Connection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    key: Sequence[str],
    keep_when_null: Collection[str] = (),
) -> int:
    """Insert rows, or update the row with the same key; returns how many distinct rows were written.

    Every column named by any row is written (a row lacking it writes NULL), except `keep_when_null`
    columns, where NULL keeps the stored value. Columns no row names are left as they are.
    """
    if not rows:
        return 0
    if not key:
        raise ValueError("upsert_rows needs at least one key column")
    columns, unique_rows = _normalise(table, rows, key)
    insert = _insert_for(conn, table)
    updates = {
        name: (
            func.coalesce(insert.excluded[name], table.c[name])
            if name in keep_when_null
            else insert.excluded[name]
        )
        for name in columns
        if name not in key
    }
    if updates:
        statement = insert.on_conflict_do_update(index_elements=list(key), set_=updates)
    else:
        statement = insert.on_conflict_do_nothing(index_elements=list(key))
    # One statement, many parameter sets: SQLAlchemy compiles it once (its compiled cache recognises the
    # same statement on the next call) and the driver runs it for every row (sqlite3's and psycopg's
    # executemany), instead of compiling a new multi-row VALUES clause for every batch.
    conn.execute(statement, unique_rows)
    return len(unique_rows)


def upsert_contributors(conn: Connection, people: Sequence[Mapping[str, Any]]) -> None:
    """Store people by GitHub id; the ghost (no GitHub id) is one row with login 'ghost', never two.

    A NULL name, avatar_url, node_id or type never erases a stored one.
    """
    known = [
        {column: person.get(column) for column in _CONTRIBUTOR_COLUMNS}
        for person in people
        if person.get("github_id") is not None
    ]
    upsert_rows(conn, contributors, known, key=["github_id"], keep_when_null=_CONTRIBUTOR_KEEP_WHEN_NULL)
    if len(known) < len(people):
        insert = _insert_for(conn, contributors)
        conn.execute(
            insert.values(login=GHOST_LOGIN, type="User").on_conflict_do_nothing(
                index_elements=["login"], index_where=contributors.c.github_id.is_(None)
            )
        )
