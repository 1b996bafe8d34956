"""Indexes the dashboard's pages read by: jobs by when they were created and ended, open and completed jobs
per repository, Actions jobs' billing, and the few pull requests whose file list GitHub truncates.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TRUNCATED = sa.text("files_truncated")
BILLED = sa.text("billable_ms IS NOT NULL")
BILLING_COLUMNS = ["completed_at", "repository", "billable_ms", "cost_usd", "items_done"]


def upgrade() -> None:
    # Covering: a window's jobs by lane and status are counted from the index alone.
    op.create_index(
        "ix_progressive_capture_jobs_created_at_lane_status",
        "progressive_capture_jobs",
        ["created_at", "lane", "status"],
    )
    op.create_index("ix_progressive_capture_jobs_completed_at", "progressive_capture_jobs", ["completed_at"])
    op.create_index(
        "ix_progressive_capture_jobs_status_repository_completed_at",
        "progressive_capture_jobs",
        ["status", "repository", "completed_at"],
    )
    # Covering: the cost page's sums by day, month and repository read this index alone.
    op.create_index(
        "ix_progressive_capture_jobs_actions_billing",
        "progressive_capture_jobs",
        BILLING_COLUMNS,
        sqlite_where=BILLED,
        postgresql_where=BILLED,
    )
    op.create_index(
        "ix_pull_requests_truncated_file_lists",
        "pull_requests",
        ["repository_id"],
        sqlite_where=TRUNCATED,
        postgresql_where=TRUNCATED,
    )


def downgrade() -> None:
    op.drop_index("ix_pull_requests_truncated_file_lists", table_name="pull_requests")
    op.drop_index("ix_progressive_capture_jobs_actions_billing", table_name="progressive_capture_jobs")
    op.drop_index(
        "ix_progressive_capture_jobs_status_repository_completed_at", table_name="progressive_capture_jobs"
    )
    op.drop_index("ix_progressive_capture_jobs_completed_at", table_name="progressive_capture_jobs")
    op.drop_index("ix_progressive_capture_jobs_created_at_lane_status", table_name="progressive_capture_jobs")
