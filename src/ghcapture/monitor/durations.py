"""Seconds between two timestamps of a row, computed by the database (SQLite and PostgreSQL alike)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Float, cast, func
from sqlalchemy.sql.elements import ColumnElement


def seconds_between(dialect: str, start: Any, end: Any) -> ColumnElement[float]:
    """`end - start` in seconds; NULL when either is."""
    if dialect == "sqlite":
        # The store keeps SQLite timestamps as UTC text, which julianday() reads to the millisecond; rounded
        # there, so 110 s is 110 and not 109.99997.
        return cast(func.round((func.julianday(end) - func.julianday(start)) * 86400.0, 3), Float)
    return cast(func.extract("epoch", end - start), Float)
