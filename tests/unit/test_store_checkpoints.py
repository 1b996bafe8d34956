from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from ghcapture.store.checkpoints import clear_checkpoint, load_checkpoint, save_checkpoint
from ghcapture.store.counts import repository_counts, table_counts
from ghcapture.store.tables import comments, pr_files, pull_requests, repositories, reviews
from ghcapture.store.upsert import upsert_contributors, upsert_rows

WATERMARK = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def test_save_load_clear(store_engine: Engine) -> None:
    with store_engine.begin() as conn:
        assert load_checkpoint(conn, "octo/hello", "pull_requests", "") is None
        save_checkpoint(conn, "octo/hello", "pull_requests", "", cursor="Y3Vyc29yOjE=", watermark=None)
        save_checkpoint(conn, "octo/hello", "pull_requests", "", cursor="Y3Vyc29yOjI=", watermark=WATERMARK)
        save_checkpoint(conn, "octo/hello", "review_comments", "", cursor="other", watermark=None)
    with store_engine.begin() as conn:
        checkpoint = load_checkpoint(conn, "octo/hello", "pull_requests", "")
        assert checkpoint is not None
        assert (checkpoint.cursor, checkpoint.watermark) == ("Y3Vyc29yOjI=", WATERMARK)
        assert checkpoint.updated_at.tzinfo is not None
        clear_checkpoint(conn, "octo/hello", "pull_requests", "")
    with store_engine.connect() as conn:
        assert load_checkpoint(conn, "octo/hello", "pull_requests", "") is None
        other = load_checkpoint(conn, "octo/hello", "review_comments", "")
        assert other is not None and other.cursor == "other"


def test_rolled_back_transaction_leaves_neither_rows_nor_checkpoint(store_engine: Engine) -> None:
    with pytest.raises(RuntimeError), store_engine.begin() as conn:
        upsert_rows(
            conn,
            repositories,
            [{"github_id": 1, "owner": "o", "name": "r", "full_name": "o/r"}],
            key=["github_id"],
        )
        save_checkpoint(conn, "o/r", "pull_requests", "", cursor="page-2", watermark=WATERMARK)
        raise RuntimeError("crash after the page, before commit")
    with store_engine.connect() as conn:
        assert load_checkpoint(conn, "o/r", "pull_requests", "") is None
        assert table_counts(conn)["repositories"] == 0


def test_counts(store_engine: Engine) -> None:
    with store_engine.begin() as conn:
        upsert_rows(
            conn,
            repositories,
            [
                {"github_id": 1, "owner": "o", "name": "r", "full_name": "o/r"},
                {"github_id": 2, "owner": "o", "name": "s", "full_name": "o/s"},
            ],
            key=["github_id"],
        )
        upsert_contributors(conn, [{"github_id": n, "login": f"u{n}"} for n in (100, 101, 102, 103)])
        upsert_rows(
            conn,
            pull_requests,
            [
                {"github_id": 11, "repository_id": 1, "number": 1, "author_id": 100, "merged_by_id": 101},
                {"github_id": 12, "repository_id": 1, "number": 2, "author_id": None},
                {"github_id": 21, "repository_id": 2, "number": 1, "author_id": 103},
            ],
            key=["github_id"],
        )
        upsert_rows(
            conn, reviews, [{"github_id": 31, "pull_request_id": 11, "author_id": 102}], key=["github_id"]
        )
        upsert_rows(
            conn,
            comments,
            [
                {"github_id": 41, "pull_request_id": 11, "author_id": 100, "kind": "issue_comment"},
                {"github_id": 42, "pull_request_id": 12, "author_id": 102, "kind": "review_comment"},
                {"github_id": 43, "pull_request_id": 12, "author_id": None, "kind": "review_comment"},
                {"github_id": 44, "pull_request_id": 21, "author_id": 103, "kind": "review_comment"},
                # Deleted on GitHub: its row stays, counted apart, its author not among the people.
                {
                    "github_id": 45,
                    "pull_request_id": 11,
                    "author_id": 104,
                    "kind": "issue_comment",
                    "deleted_at": datetime(2026, 1, 1, tzinfo=UTC),
                },
            ],
            key=["github_id"],
        )
        upsert_rows(conn, pr_files, [{"pull_request_id": 11, "path": "a"}], key=["pull_request_id", "path"])
    with store_engine.connect() as conn:
        assert table_counts(conn) == {
            "repositories": 2,
            "contributors": 4,
            "pull_requests": 3,
            "reviews": 1,
            "comments": 5,
            "pr_files": 1,
            "pr_commits": 0,
        }
        assert repository_counts(conn, "o/r") == {
            "pull_requests": 2,
            "reviews": 1,
            "review_comments": 2,
            "issue_comments": 1,
            "pr_files": 1,
            "pr_commits": 0,
            "files_truncated": 0,
            "deleted_comments": 1,
            "contributors": 4,  # 100, 101, 102 and the ghost (PR 12's author, comment 43's)
        }
        assert set(repository_counts(conn, "nobody/nothing").values()) == {0}
