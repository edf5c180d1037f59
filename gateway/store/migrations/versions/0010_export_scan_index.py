"""offers: a covering index for the export's page scan (SQLite only)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 08:40:00

Every export reads, page by page, the reference, digest, problems and session references of
every validated offer. SQLite keeps a row's columns in declaration order and the ~10 KB payload
comes before those, so each page read followed every row's overflow pages: the whole payload
table, about 1 GB at 100,000 offers, read again by each export.
PostgreSQL keeps large payloads out of line (TOAST) and would cap an index row at ~2.7 KB,
which long problem lists exceed: it gets no such index.
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

INDEX = "ix_offers_export_scan"
COLUMNS = ["bo_status", "reference", "payload_sha256", "accepted", "session_references", "problems"]


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.create_index(INDEX, "offers", COLUMNS)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.drop_index(INDEX, table_name="offers")
