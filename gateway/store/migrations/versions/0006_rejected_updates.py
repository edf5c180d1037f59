"""rejected_updates: a refused update kept beside the offer's last valid version

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-01 23:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rejected_updates",
        sa.Column(
            "reference", sa.String(length=64), sa.ForeignKey("offers.reference", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("payload_sha256", sa.String(length=64), nullable=False),
        sa.Column("problems", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("rejected_updates")
