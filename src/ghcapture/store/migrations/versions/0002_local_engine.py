"""The local job engine: each job's current workflow, and the repositories kept current by `track`.

Revision ID: 0002
Revises: 0001
Create Date: 2025-01-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("progressive_capture_jobs") as batch:
        batch.add_column(sa.Column("local_workflow_id", sa.String(), nullable=True))
    op.create_table(
        "tracked_repositories",
        sa.Column("repository", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), server_default="prs", nullable=False),
        sa.Column("every_seconds", sa.Integer(), nullable=False),
        sa.Column("backfill_days", sa.Integer(), nullable=True),
        sa.Column("backfill_done", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("priority", sa.Integer(), server_default="1", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_enqueued_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("repository", name="pk_tracked_repositories"),
    )


def downgrade() -> None:
    op.drop_table("tracked_repositories")
    with op.batch_alter_table("progressive_capture_jobs") as batch:
        batch.drop_column("local_workflow_id")
