"""How much is stored: rows per table, and per repository."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ColumnElement, Connection, Table, func, inspect, or_, select, union

from ghcapture.store.tables import (
    DATA_TABLES,
    comments,
    pr_commits,
    pr_files,
    pull_requests,
    repositories,
    reviews,
)


def table_counts(conn: Connection, tables: Iterable[Table] = DATA_TABLES) -> dict[str, int]:
    """Rows in each table that exists (by default the tables a capture fills), by table name."""
    existing = set(inspect(conn).get_table_names())
    return {
        table.name: int(conn.execute(select(func.count()).select_from(table)).scalar_one())
        for table in tables
        if table.name in existing
    }


def repository_counts(conn: Connection, full_name: str) -> dict[str, int]:
    """What is stored for one repository (all zero if it is not stored), live rows only (a comment deleted
    on GitHub keeps its row with `deleted_at`, counted apart as deleted_comments):
    pull_requests, reviews, review_comments, issue_comments, pr_files, pr_commits, files_truncated (pull
    requests whose file list GitHub cut at 3,000), deleted_comments, contributors (distinct people
    who authored, reviewed, commented on or merged one of its pull requests, GitHub's deleted user
    "ghost" counted once among them, as the comparison with a simulator's ground truth counts people)."""
    pr_ids = (
        select(pull_requests.c.github_id)
        .join(repositories, repositories.c.github_id == pull_requests.c.repository_id)
        .where(repositories.c.full_name == full_name)
        .scalar_subquery()
    )

    def count(table: Table, *conditions: ColumnElement[bool]) -> int:
        query = (
            select(func.count()).select_from(table).where(table.c.pull_request_id.in_(pr_ids), *conditions)
        )
        return int(conn.execute(query).scalar_one())

    people = union(
        select(pull_requests.c.author_id.label("github_id")).where(pull_requests.c.github_id.in_(pr_ids)),
        # An unmerged PR's NULL merger is nobody; a merged PR's NULL merger is the ghost.
        select(pull_requests.c.merged_by_id).where(
            pull_requests.c.github_id.in_(pr_ids),
            or_(pull_requests.c.merged_by_id.is_not(None), pull_requests.c.merged_at.is_not(None)),
        ),
        select(reviews.c.author_id).where(reviews.c.pull_request_id.in_(pr_ids)),
        select(comments.c.author_id).where(
            comments.c.pull_request_id.in_(pr_ids), comments.c.deleted_at.is_(None)
        ),
    ).subquery()
    # UNION keeps one NULL row however many the ghost wrote: the ghost is one person.
    contributors_involved = conn.execute(select(func.count()).select_from(people)).scalar_one()
    pull_request_total = conn.execute(
        select(func.count()).select_from(pull_requests).where(pull_requests.c.github_id.in_(pr_ids))
    ).scalar_one()
    truncated = conn.execute(
        select(func.count())
        .select_from(pull_requests)
        .where(pull_requests.c.github_id.in_(pr_ids), pull_requests.c.files_truncated.is_(True))
    ).scalar_one()
    live = comments.c.deleted_at.is_(None)
    return {
        "pull_requests": int(pull_request_total),
        "reviews": count(reviews),
        "review_comments": count(comments, comments.c.kind == "review_comment", live),
        "issue_comments": count(comments, comments.c.kind == "issue_comment", live),
        "pr_files": count(pr_files),
        "pr_commits": count(pr_commits),
        "files_truncated": int(truncated),
        "deleted_comments": count(comments, comments.c.deleted_at.is_not(None)),
        "contributors": int(contributors_involved),
    }
