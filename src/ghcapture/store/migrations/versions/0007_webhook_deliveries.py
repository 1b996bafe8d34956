"""Webhook deliveries: each X-GitHub-Delivery id received once, with what it did; and the failed deliveries
asked for again.

Revision ID: 0007
Revises: 0004
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "webhook_deliveries",
        sa.Column("delivery_id", sa.String(100), nullable=False),
        sa.Column("event", sa.String(), nullable=False),
        sa.Column("action", sa.String(), nullable=True),
        sa.Column("hook_id", sa.BigInteger(), nullable=True),
        sa.Column("installation_id", sa.BigInteger(), nullable=True),
        sa.Column("repository", sa.String(), nullable=True),
        sa.Column("pull_request_number", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("job_id", sa.String(36), nullable=True),
        sa.Column("object_key", sa.String(), nullable=True),
        sa.Column("version", sa.String(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("delivery_id", name="pk_webhook_deliveries"),
    )
    op.create_index(
        "ix_webhook_deliveries_repository_received_at", "webhook_deliveries", ["repository", "received_at"]
    )
    op.create_index("ix_webhook_deliveries_object_key", "webhook_deliveries", ["object_key"])
    op.create_table(
        "webhook_redeliveries",
        sa.Column("attempt_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("delivery_id", sa.String(100), nullable=False),
        sa.Column("event", sa.String(), nullable=True),
        sa.Column("status", sa.Text(), nullable=True),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("attempt_id", name="pk_webhook_redeliveries"),
    )
    op.create_index("ix_webhook_redeliveries_asked_at", "webhook_redeliveries", ["asked_at"])


def downgrade() -> None:
    op.drop_index("ix_webhook_redeliveries_asked_at", "webhook_redeliveries")
    op.drop_table("webhook_redeliveries")
    op.drop_index("ix_webhook_deliveries_object_key", "webhook_deliveries")
    op.drop_index("ix_webhook_deliveries_repository_received_at", "webhook_deliveries")
    op.drop_table("webhook_deliveries")
