"""offers.intake_digest: the record an offer row was last computed from, to recognise it unchanged

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-02 19:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Empty for rows stored before: their next import takes the full path once and fills it.
    with op.batch_alter_table("offers") as batch:
        batch.add_column(sa.Column("intake_digest", sa.String(length=64), nullable=True))
    op.create_index("ix_offers_intake_digest", "offers", ["intake_digest"])


def downgrade() -> None:
    op.drop_index("ix_offers_intake_digest", table_name="offers")
    with op.batch_alter_table("offers") as batch:
        batch.drop_column("intake_digest")
