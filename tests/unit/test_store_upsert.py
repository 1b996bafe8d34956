from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from ghcapture.store.tables import comments, contributors, pr_files, pull_requests, repositories
from ghcapture.store.upsert import upsert_contributors, upsert_rows

REPOSITORY = {"github_id": 10, "owner": "octo", "name": "hello", "full_name": "octo/hello"}


def pull_request(github_id: int, number: int, **fields: Any) -> dict[str, Any]:
    return {"github_id": github_id, "repository_id": 10, "number": number, **fields}


@pytest.fixture
def engine(store_engine: Engine) -> Engine:
    with store_engine.begin() as conn:
        upsert_rows(conn, repositories, [REPOSITORY], key=["github_id"])
    return store_engine


def test_upsert_twice_leaves_one_row_with_new_values(engine: Engine) -> None:
    with engine.begin() as conn:
        assert upsert_rows(conn, pull_requests, [pull_request(1, 7, title="first")], key=["github_id"]) == 1
    with engine.begin() as conn:
        upsert_rows(
            conn, pull_requests, [pull_request(1, 7, title="second", state="closed")], key=["github_id"]
        )
    with engine.connect() as conn:
        rows = conn.execute(select(pull_requests.c.title, pull_requests.c.state)).all()
    assert [tuple(row) for row in rows] == [("second", "closed")]


def test_duplicate_keys_in_one_call_last_wins(engine: Engine) -> None:
    rows = [
        pull_request(1, 7, title="old"),
        pull_request(2, 8, title="other"),
        pull_request(1, 7, title="new"),
    ]
    with engine.begin() as conn:
        assert upsert_rows(conn, pull_requests, rows, key=["github_id"]) == 2
    with engine.connect() as conn:
        titles = dict(conn.execute(select(pull_requests.c.github_id, pull_requests.c.title)).all())
    assert titles == {1: "new", 2: "other"}


def test_missing_column_is_null_and_unnamed_column_is_kept(engine: Engine) -> None:
    with engine.begin() as conn:
        upsert_rows(
            conn, pull_requests, [pull_request(1, 7, title="t", body="b", html_url="u")], key=["github_id"]
        )
        # `title` is named by one row, so the other row's missing title is NULL; html_url is named by none.
        upsert_rows(
            conn,
            pull_requests,
            [pull_request(1, 7, body="b2"), pull_request(2, 8, title="t2")],
            key=["github_id"],
        )
    with engine.connect() as conn:
        row = conn.execute(select(pull_requests).where(pull_requests.c.github_id == 1)).one()
    assert (row.title, row.body, row.html_url) == (None, "b2", "u")


def test_composite_key(engine: Engine) -> None:
    with engine.begin() as conn:
        upsert_rows(conn, pull_requests, [pull_request(1, 7)], key=["github_id"])
        files = [
            {"pull_request_id": 1, "path": "a.py", "additions": 1},
            {"pull_request_id": 1, "path": "b.py"},
        ]
        upsert_rows(conn, pr_files, files, key=["pull_request_id", "path"])
        upsert_rows(
            conn,
            pr_files,
            [{"pull_request_id": 1, "path": "a.py", "additions": 5}],
            key=["pull_request_id", "path"],
        )
    with engine.connect() as conn:
        stored = dict(conn.execute(select(pr_files.c.path, pr_files.c.additions)).all())
    assert stored == {"a.py": 5, "b.py": None}


def test_thousands_of_rows_in_one_call(engine: Engine) -> None:
    rows = [pull_request(n, n, title=f"pr {n}", body="x" * 10) for n in range(1, 3001)]
    with engine.begin() as conn:
        assert upsert_rows(conn, pull_requests, rows, key=["github_id"]) == 3000
        upsert_rows(conn, pull_requests, rows[::-1], key=["github_id"])
    with engine.connect() as conn:
        assert conn.execute(select(pull_requests.c.github_id)).scalars().all().__len__() == 3000
        assert conn.execute(
            select(pull_requests.c.title).where(pull_requests.c.number == 2999)
        ).scalar_one() == ("pr 2999")


def test_unknown_column_is_refused(engine: Engine) -> None:
    with engine.begin() as conn, pytest.raises(ValueError, match="no column"):
        upsert_rows(conn, pull_requests, [pull_request(1, 7, titel="typo")], key=["github_id"])


def test_foreign_key_is_enforced(engine: Engine) -> None:
    with pytest.raises(IntegrityError), engine.begin() as conn:
        upsert_rows(
            conn,
            comments,
            [{"github_id": 5, "pull_request_id": 999, "kind": "issue_comment"}],
            key=["github_id"],
        )


def test_keep_when_null_keeps_a_name(engine: Engine) -> None:
    graphql = {"github_id": 1, "login": "octocat", "type": "User", "name": "The Octocat", "node_id": "MDQ6"}
    rest = {"github_id": 1, "login": "octocat", "type": "User", "avatar_url": "https://a/1"}
    with engine.begin() as conn:
        upsert_contributors(conn, [graphql])
        upsert_contributors(conn, [rest])
    with engine.connect() as conn:
        row = conn.execute(select(contributors)).one()
    assert (row.login, row.name, row.node_id, row.avatar_url) == (
        "octocat",
        "The Octocat",
        "MDQ6",
        "https://a/1",
    )


def test_keep_when_null_still_takes_new_values(engine: Engine) -> None:
    with engine.begin() as conn:
        upsert_contributors(conn, [{"github_id": 1, "login": "octocat", "name": "Old"}])
        upsert_contributors(conn, [{"github_id": 1, "login": "octocat-renamed", "name": "New"}])
    with engine.connect() as conn:
        row = conn.execute(select(contributors)).one()
    assert (row.login, row.name) == ("octocat-renamed", "New")


def test_ghost_is_one_row(engine: Engine) -> None:
    ghost = {"github_id": None, "login": "ghost"}
    with engine.begin() as conn:
        upsert_contributors(conn, [ghost, {"github_id": 2, "login": "hubot", "type": "Bot"}, ghost])
    with engine.begin() as conn:
        upsert_contributors(conn, [ghost])
    with engine.connect() as conn:
        rows = conn.execute(select(contributors.c.github_id, contributors.c.login)).all()
    assert sorted(rows, key=lambda row: row[1]) == [(None, "ghost"), (2, "hubot")]


def test_datetimes_round_trip_as_aware_utc(engine: Engine) -> None:
    created = datetime(2020, 2, 29, 23, 59, 58, 123456, tzinfo=UTC)
    # The same instant written with another offset must read back as UTC.
    merged = datetime(2021, 1, 1, 1, 30, tzinfo=timezone(timedelta(hours=2)))
    with engine.begin() as conn:
        upsert_rows(
            conn, pull_requests, [pull_request(1, 7, created_at=created, merged_at=merged)], key=["github_id"]
        )
    with engine.connect() as conn:
        row = conn.execute(select(pull_requests.c.created_at, pull_requests.c.merged_at)).one()
    assert row.created_at == created and row.created_at.utcoffset() == timedelta(0)
    assert row.merged_at == datetime(2020, 12, 31, 23, 30, tzinfo=UTC)
    assert row.merged_at.tzinfo is not None and row.merged_at.utcoffset() == timedelta(0)


def test_naive_datetime_is_refused(engine: Engine) -> None:
    with pytest.raises(Exception, match="naive datetime"), engine.begin() as conn:
        upsert_rows(
            conn, pull_requests, [pull_request(1, 7, created_at=datetime(2020, 1, 1))], key=["github_id"]
        )


def test_long_non_ascii_body_round_trips(engine: Engine) -> None:
    body = ("Grüße, 世界! 🚀 ʕ•ᴥ•ʔ — \u00a0\n" * 4000)[:70_000]
    assert len(body) == 70_000
    with engine.begin() as conn:
        upsert_rows(conn, pull_requests, [pull_request(1, 7, body=body)], key=["github_id"])
    with engine.connect() as conn:
        assert conn.execute(select(pull_requests.c.body)).scalar_one() == body
