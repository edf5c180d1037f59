"""perimeters and rule leaks (issue #8): session owners, approvals, session spans

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 23:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("offers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("session_spans", sa.Text(), nullable=False, server_default=""))
    with op.batch_alter_table("export_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("offers_awaiting_approval", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "session_owners",
        sa.Column("session_reference", sa.String(16), primary_key=True),
        sa.Column("formation_reference", sa.String(64), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_session_owners_formation_reference", "session_owners", ["formation_reference"])
    # Sessions already exported belong to the formation they were exported with.
    op.execute(
        "INSERT INTO session_owners (session_reference, formation_reference, claimed_at) "
        "SELECT session_reference, formation_reference, first_exported_at FROM session_history"
    )
    op.create_table(
        "approvals",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("destination", sa.String(64), nullable=False),
        sa.Column("formation_reference", sa.String(64), nullable=False),
        sa.Column("payload_sha256", sa.String(64), nullable=False),
        sa.Column("approved_by", sa.String(128), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_approvals_destination_offer", "approvals", ["destination", "formation_reference"])
    op.create_table(
        "pending_approvals",
        sa.Column("run_id", sa.Integer(), sa.ForeignKey("export_runs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("formation_reference", sa.String(64), primary_key=True),
        sa.Column("destination", sa.String(64), nullable=False),
        sa.Column("payload_sha256", sa.String(64), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=False, server_default=""),
    )


def downgrade() -> None:
    op.drop_table("pending_approvals")
    op.drop_index("ix_approvals_destination_offer", table_name="approvals")
    op.drop_table("approvals")
    op.drop_index("ix_session_owners_formation_reference", table_name="session_owners")
    op.drop_table("session_owners")
    with op.batch_alter_table("export_runs", schema=None) as batch_op:
        batch_op.drop_column("offers_awaiting_approval")
    with op.batch_alter_table("offers", schema=None) as batch_op:
        batch_op.drop_column("session_spans")
