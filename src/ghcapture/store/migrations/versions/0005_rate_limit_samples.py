"""Rate-limit samples, with the console's other state: alert states, worker heartbeats, and an index of jobs
by status and lane.

Revision ID: 0005
Revises: 0003
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_progressive_capture_jobs_status_lane", "progressive_capture_jobs", ["status", "lane"])
    op.create_table(
        "rate_limit_samples",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("budget", sa.String(), nullable=False),
        sa.Column("resource", sa.String(), nullable=False),
        sa.Column("limit", sa.Integer(), nullable=False),
        sa.Column("remaining", sa.Integer(), nullable=False),
        sa.Column("used", sa.Integer(), nullable=False),
        sa.Column("reset_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sampled_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_rate_limit_samples"),
    )
    op.create_index(
        "ix_rate_limit_samples_budget_resource_sampled_at",
        "rate_limit_samples",
        ["budget", "resource", "sampled_at"],
    )
    op.create_index("ix_rate_limit_samples_sampled_at", "rate_limit_samples", ["sampled_at"])
    op.create_table(
        "alert_states",
        sa.Column("destination", sa.String(), nullable=False),
        sa.Column("rule", sa.String(), nullable=False),
        sa.Column("subject", sa.String(), nullable=False),
        sa.Column("severity", sa.String(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("firing", sa.Boolean(), nullable=False),
        sa.Column("fired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cleared_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("issue_number", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("destination", "rule", "subject", name="pk_alert_states"),
    )
    op.create_table(
        "workers",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("host", sa.String(), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("listens", sa.Boolean(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("running", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_workers"),
    )


def downgrade() -> None:
    op.drop_index("ix_progressive_capture_jobs_status_lane", "progressive_capture_jobs")
    op.drop_table("workers")
    op.drop_table("alert_states")
    op.drop_index("ix_rate_limit_samples_sampled_at", "rate_limit_samples")
    op.drop_index("ix_rate_limit_samples_budget_resource_sampled_at", "rate_limit_samples")
    op.drop_table("rate_limit_samples")
