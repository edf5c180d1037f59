"""initial store

Revision ID: 0001
Revises:
Create Date: 2026-11-27 07:05:53.459900
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "export_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("destination", sa.String(length=64), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("feed_id", sa.String(length=128), nullable=True),
        sa.Column("offers_considered", sa.Integer(), nullable=False),
        sa.Column("offers_exported", sa.Integer(), nullable=False),
        sa.Column("offers_out_of_perimeter", sa.Integer(), nullable=False),
        sa.Column("offers_quarantined", sa.Integer(), nullable=False),
        sa.Column("sessions_held_back", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("export_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_export_runs_destination"), ["destination"], unique=False)

    op.create_table(
        "import_rejections",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("problems", sa.Text(), nullable=False),
        sa.Column("rejected_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "offers",
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("bo_status", sa.String(length=16), nullable=True),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("certifinfo", sa.String(length=32), nullable=True),
        sa.Column("duplicate_key", sa.String(length=64), nullable=True),
        sa.Column("session_references", sa.Text(), nullable=False),
        sa.Column("session_starts", sa.Text(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("payload_sha256", sa.String(length=64), nullable=False),
        sa.Column("accepted", sa.Boolean(), nullable=False),
        sa.Column("problems", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("first_imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("reference"),
    )
    with op.batch_alter_table("offers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_offers_accepted"), ["accepted"], unique=False)
        batch_op.create_index(batch_op.f("ix_offers_bo_status"), ["bo_status"], unique=False)
        batch_op.create_index(batch_op.f("ix_offers_certifinfo"), ["certifinfo"], unique=False)
        batch_op.create_index(batch_op.f("ix_offers_duplicate_key"), ["duplicate_key"], unique=False)

    op.create_table(
        "session_history",
        sa.Column("session_reference", sa.String(length=16), nullable=False),
        sa.Column("formation_reference", sa.String(length=64), nullable=False),
        sa.Column("start", sa.String(length=8), nullable=False),
        sa.Column("end", sa.String(length=8), nullable=False),
        sa.Column("first_exported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_feed_id", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("session_reference"),
    )
    op.create_table(
        "feed_offers",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("formation_reference", sa.String(length=64), nullable=False),
        sa.Column("fragment_sha256", sa.String(length=64), nullable=False),
        sa.Column("session_count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["export_runs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("run_id", "formation_reference"),
    )
    with op.batch_alter_table("feed_offers", schema=None) as batch_op:
        batch_op.create_index("ix_feed_offers_reference", ["formation_reference"], unique=False)

    op.create_table(
        "feeds",
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("destination", sa.String(length=64), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("lheo_version", sa.String(length=8), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("gz_path", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("gz_sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("gz_size", sa.Integer(), nullable=False),
        sa.Column("offer_count", sa.Integer(), nullable=False),
        sa.Column("session_count", sa.Integer(), nullable=False),
        sa.Column("quarantined_count", sa.Integer(), nullable=False),
        sa.Column("exported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("purged_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["export_runs.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("feeds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_feeds_destination"), ["destination"], unique=False)

    op.create_table(
        "quarantine",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("destination", sa.String(length=64), nullable=False),
        sa.Column("formation_reference", sa.String(length=64), nullable=False),
        sa.Column("session_reference", sa.String(length=16), nullable=True),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["export_runs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("quarantine", schema=None) as batch_op:
        batch_op.create_index("ix_quarantine_offer", ["formation_reference"], unique=False)
        batch_op.create_index("ix_quarantine_run", ["run_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("quarantine", schema=None) as batch_op:
        batch_op.drop_index("ix_quarantine_run")
        batch_op.drop_index("ix_quarantine_offer")

    op.drop_table("quarantine")
    with op.batch_alter_table("feeds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feeds_destination"))

    op.drop_table("feeds")
    with op.batch_alter_table("feed_offers", schema=None) as batch_op:
        batch_op.drop_index("ix_feed_offers_reference")

    op.drop_table("feed_offers")
    op.drop_table("session_history")
    with op.batch_alter_table("offers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_offers_duplicate_key"))
        batch_op.drop_index(batch_op.f("ix_offers_certifinfo"))
        batch_op.drop_index(batch_op.f("ix_offers_bo_status"))
        batch_op.drop_index(batch_op.f("ix_offers_accepted"))

    op.drop_table("offers")
    op.drop_table("import_rejections")
    with op.batch_alter_table("export_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_export_runs_destination"))

    op.drop_table("export_runs")
