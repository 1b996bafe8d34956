"""Hours, days and months as SQL grouping keys, the same text on SQLite and PostgreSQL ("2026-03-01 11")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import ColumnElement, func, literal_column

Unit = Literal["hour", "day", "month"]
# SQLite keeps a UTC timestamp as "YYYY-MM-DD HH:MM:SS.ffffff" text: a bucket is a prefix of it.
_SQLITE_LENGTH = {"hour": 13, "day": 10, "month": 7}
_POSTGRES_FORMAT = {"hour": "YYYY-MM-DD HH24", "day": "YYYY-MM-DD", "month": "YYYY-MM"}
_PYTHON_FORMAT = {"hour": "%Y-%m-%d %H", "day": "%Y-%m-%d", "month": "%Y-%m"}


def bucket(column: Any, unit: Unit, dialect: str) -> ColumnElement[str]:
    """The bucket of `column` (a UTC timestamp) as text."""
    if dialect == "postgresql":
        utc = column.op("AT TIME ZONE")(literal_column("'UTC'"))
        return func.to_char(utc, _POSTGRES_FORMAT[unit])
    return func.substr(column, 1, _SQLITE_LENGTH[unit])


def key_of(moment: datetime, unit: Unit) -> str:
    """The bucket text of a Python datetime, as `bucket` writes it."""
    return moment.astimezone(UTC).strftime(_PYTHON_FORMAT[unit])


def last_hours(now: datetime, count: int) -> list[datetime]:
    """The starts of the `count` hours up to and including the current one, oldest first."""
    current = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return [current - timedelta(hours=count - 1 - i) for i in range(count)]


def last_days(now: datetime, count: int) -> list[datetime]:
    current = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return [current - timedelta(days=count - 1 - i) for i in range(count)]


def last_months(now: datetime, count: int) -> list[datetime]:
    year, month = now.astimezone(UTC).year, now.astimezone(UTC).month
    months = []
    for _ in range(count):
        months.append(datetime(year, month, 1, tzinfo=UTC))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months[::-1]


def seconds_between(start: Any, end: Any, dialect: str) -> ColumnElement[Any]:
    """`end - start` in seconds, computed by the database (no timestamps to parse here)."""
    if dialect == "postgresql":
        return func.extract("epoch", end - start)
    return (func.julianday(end) - func.julianday(start)) * 86400.0
