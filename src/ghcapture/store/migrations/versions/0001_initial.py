"""The initial schema: repositories, contributors, pull requests, reviews, comments, files,
checkpoints, capture jobs and their events.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamp(name: str, *, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _github_id() -> sa.Column[int]:
    return sa.Column("github_id", sa.BigInteger(), autoincrement=False, nullable=False)


def upgrade() -> None:
    op.create_table(
        "repositories",
        _github_id(),
        sa.Column("node_id", sa.String(), nullable=True),
        sa.Column("owner", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("full_name", sa.String(), nullable=False),
        sa.Column("default_branch", sa.String(), nullable=True),
        sa.Column("github_pr_total", sa.Integer(), nullable=True),
        _timestamp("last_synced_at"),
        sa.PrimaryKeyConstraint("github_id", name="pk_repositories"),
        sa.UniqueConstraint("full_name", name="uq_repositories_full_name"),
    )
    op.create_table(
        "contributors",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("github_id", sa.BigInteger(), nullable=True),
        sa.Column("node_id", sa.String(), nullable=True),
        sa.Column("login", sa.String(), nullable=False),
        sa.Column("type", sa.String(), nullable=True),
        sa.Column("name", sa.String(), nullable=True),
        sa.Column("avatar_url", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_contributors"),
        sa.UniqueConstraint("github_id", name="uq_contributors_github_id"),
    )
    op.create_index(
        "uq_contributors_ghost_login",
        "contributors",
        ["login"],
        unique=True,
        sqlite_where=sa.text("github_id IS NULL"),
        postgresql_where=sa.text("github_id IS NULL"),
    )
    op.create_table(
        "pull_requests",
        _github_id(),
        sa.Column("node_id", sa.String(), nullable=True),
        sa.Column("repository_id", sa.BigInteger(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("state", sa.String(), nullable=True),
        sa.Column("draft", sa.Boolean(), nullable=True),
        sa.Column("merged", sa.Boolean(), nullable=True),
        _timestamp("merged_at"),
        sa.Column("merged_by_id", sa.BigInteger(), nullable=True),
        sa.Column("author_id", sa.BigInteger(), nullable=True),
        sa.Column("base_ref", sa.String(), nullable=True),
        sa.Column("head_ref", sa.String(), nullable=True),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        _timestamp("closed_at"),
        sa.Column("additions", sa.Integer(), nullable=True),
        sa.Column("deletions", sa.Integer(), nullable=True),
        sa.Column("changed_files", sa.Integer(), nullable=True),
        sa.Column("commits_count", sa.Integer(), nullable=True),
        sa.Column("html_url", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(
            ["repository_id"],
            ["repositories.github_id"],
            name="fk_pull_requests_repository_id_repositories",
        ),
        sa.PrimaryKeyConstraint("github_id", name="pk_pull_requests"),
        sa.UniqueConstraint("repository_id", "number", name="uq_pull_requests_repository_id_number"),
    )
    op.create_index(
        "ix_pull_requests_repository_id_updated_at", "pull_requests", ["repository_id", "updated_at"]
    )
    op.create_table(
        "reviews",
        _github_id(),
        sa.Column("node_id", sa.String(), nullable=True),
        sa.Column("pull_request_id", sa.BigInteger(), nullable=False),
        sa.Column("author_id", sa.BigInteger(), nullable=True),
        sa.Column("state", sa.String(), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        _timestamp("submitted_at"),
        sa.Column("commit_id", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(
            ["pull_request_id"],
            ["pull_requests.github_id"],
            name="fk_reviews_pull_request_id_pull_requests",
        ),
        sa.PrimaryKeyConstraint("github_id", name="pk_reviews"),
    )
    op.create_index("ix_reviews_pull_request_id", "reviews", ["pull_request_id"])
    op.create_table(
        "comments",
        _github_id(),
        sa.Column("node_id", sa.String(), nullable=True),
        sa.Column("pull_request_id", sa.BigInteger(), nullable=False),
        sa.Column("author_id", sa.BigInteger(), nullable=True),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("path", sa.Text(), nullable=True),
        sa.Column("line", sa.Integer(), nullable=True),
        sa.Column("diff_hunk", sa.Text(), nullable=True),
        sa.Column("in_reply_to_id", sa.BigInteger(), nullable=True),
        sa.Column("review_id", sa.BigInteger(), nullable=True),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        sa.ForeignKeyConstraint(
            ["pull_request_id"],
            ["pull_requests.github_id"],
            name="fk_comments_pull_request_id_pull_requests",
        ),
        sa.PrimaryKeyConstraint("github_id", name="pk_comments"),
    )
    op.create_index("ix_comments_pull_request_id_kind", "comments", ["pull_request_id", "kind"])
    op.create_table(
        "pr_files",
        sa.Column("pull_request_id", sa.BigInteger(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("previous_path", sa.Text(), nullable=True),
        sa.Column("change_type", sa.String(), nullable=True),
        sa.Column("additions", sa.Integer(), nullable=True),
        sa.Column("deletions", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["pull_request_id"],
            ["pull_requests.github_id"],
            name="fk_pr_files_pull_request_id_pull_requests",
        ),
        sa.PrimaryKeyConstraint("pull_request_id", "path", name="pk_pr_files"),
    )
    op.create_table(
        "capture_checkpoints",
        sa.Column("repository", sa.String(), nullable=False),
        sa.Column("entity", sa.String(), nullable=False),
        sa.Column("scope", sa.String(), nullable=False),
        sa.Column("cursor", sa.Text(), nullable=True),
        _timestamp("watermark"),
        _timestamp("updated_at", nullable=False),
        sa.PrimaryKeyConstraint("repository", "entity", "scope", name="pk_capture_checkpoints"),
    )
    op.create_table(
        "progressive_capture_jobs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("repository", sa.String(), nullable=True),
        sa.Column("lane", sa.String(), nullable=True),
        sa.Column("processor", sa.String(), nullable=True),
        sa.Column("route_reason", sa.Text(), nullable=True),
        sa.Column("trigger", sa.String(), nullable=True),
        sa.Column("params", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("max_attempts", sa.Integer(), server_default="3", nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("items_total", sa.Integer(), nullable=True),
        sa.Column("items_done", sa.Integer(), server_default="0", nullable=False),
        sa.Column("items_failed", sa.Integer(), server_default="0", nullable=False),
        sa.Column("points_used", sa.Integer(), server_default="0", nullable=False),
        sa.Column("requests_made", sa.Integer(), server_default="0", nullable=False),
        sa.Column("workflow_run_id", sa.BigInteger(), nullable=True),
        sa.Column("run_url", sa.String(), nullable=True),
        sa.Column("billable_ms", sa.BigInteger(), nullable=True),
        sa.Column("cost_usd", sa.Float(), nullable=True),
        _timestamp("created_at", nullable=False),
        _timestamp("started_at"),
        _timestamp("heartbeat_at"),
        _timestamp("completed_at"),
        sa.PrimaryKeyConstraint("id", name="pk_progressive_capture_jobs"),
    )
    op.create_index("ix_progressive_capture_jobs_status", "progressive_capture_jobs", ["status"])
    op.create_index(
        "ix_progressive_capture_jobs_repository_kind", "progressive_capture_jobs", ["repository", "kind"]
    )
    op.create_table(
        "job_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("job_id", sa.String(length=36), nullable=False),
        _timestamp("at", nullable=False),
        sa.Column("type", sa.String(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["progressive_capture_jobs.id"],
            name="fk_job_events_job_id_progressive_capture_jobs",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_job_events"),
    )
    op.create_index("ix_job_events_job_id", "job_events", ["job_id"])


def downgrade() -> None:
    op.drop_table("job_events")
    op.drop_table("progressive_capture_jobs")
    op.drop_table("capture_checkpoints")
    op.drop_table("pr_files")
    op.drop_table("comments")
    op.drop_table("reviews")
    op.drop_table("pull_requests")
    op.drop_table("contributors")
    op.drop_table("repositories")
