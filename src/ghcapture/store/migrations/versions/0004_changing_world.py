"""A world that changes: deleted comments kept for history, truncated file lists, the head commit, and
each pull request's commits with their author and committer.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("comments") as batch:
        batch.add_column(sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("pull_requests") as batch:
        batch.add_column(sa.Column("head_sha", sa.String(), nullable=True))
        batch.add_column(sa.Column("files_truncated", sa.Boolean(), nullable=True))
    op.create_table(
        "pr_commits",
        sa.Column("pull_request_id", sa.BigInteger(), nullable=False),
        sa.Column("sha", sa.String(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=True),
        sa.Column("author_name", sa.Text(), nullable=True),
        sa.Column("author_email", sa.Text(), nullable=True),
        sa.Column("author_login", sa.String(), nullable=True),
        sa.Column("author_id", sa.BigInteger(), nullable=True),
        sa.Column("authored_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("committer_name", sa.Text(), nullable=True),
        sa.Column("committer_email", sa.Text(), nullable=True),
        sa.Column("committer_login", sa.String(), nullable=True),
        sa.Column("committer_id", sa.BigInteger(), nullable=True),
        sa.Column("committed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["pull_request_id"],
            ["pull_requests.github_id"],
            name="fk_pr_commits_pull_request_id_pull_requests",
        ),
        sa.PrimaryKeyConstraint("pull_request_id", "sha", name="pk_pr_commits"),
    )


def downgrade() -> None:
    op.drop_table("pr_commits")
    with op.batch_alter_table("pull_requests") as batch:
        batch.drop_column("files_truncated")
        batch.drop_column("head_sha")
    with op.batch_alter_table("comments") as batch:
        batch.drop_column("deleted_at")
