"""offers: searchable columns, FTS5 index (SQLite), filter indexes; alerts (incidents)

Revision ID: 0008
Revises: 0004
Create Date: 2026-12-01 23:30:00

The columns are filled from each stored payload here, then by every import. On SQLite the
`offers_search` FTS5 table indexes `search_text` (external content: the text lives once, in
`offers`), kept in step by triggers so no writer can forget it. Other databases search with
LIKE on the same folded column.
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

from gateway.problems import Problem
from gateway.store.fts import TRIGGERS, ensure_offer_search
from gateway.store.search_fields import search_columns

revision = "0008"
down_revision = "0005"
branch_labels = None
depends_on = None

COLUMNS = ("organisme_names", "sirets", "towns", "problem_codes", "search_text")
# Sorts end on the reference (same direction) so an index gives pages without sorting; the
# small search columns get an index each so LIKE '%…%' scans it instead of the payload pages.
INDEXES = {
    "ix_offers_updated_reference": ["updated_at", "reference"],
    "ix_offers_status_updated": ["bo_status", "updated_at", "reference"],
    "ix_offers_title_reference": ["title", "reference"],
    "ix_offers_towns": ["towns"],
    "ix_offers_sirets": ["sirets"],
    "ix_offers_problem_codes": ["problem_codes", "reference"],
}


def _create_alerts() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("destination", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("opened_notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("notified_channels", sa.Text(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_alerts_opened_at", "alerts", ["opened_at"], unique=False)
    op.create_index(
        "uq_alerts_open",
        "alerts",
        ["destination", "kind"],
        unique=True,
        sqlite_where=sa.text("closed_at IS NULL"),
        postgresql_where=sa.text("closed_at IS NULL"),
    )


def upgrade() -> None:
    _create_alerts()
    with op.batch_alter_table("offers", schema=None) as batch_op:
        for name in COLUMNS:
            batch_op.add_column(sa.Column(name, sa.Text(), nullable=False, server_default=""))
        for name, columns in INDEXES.items():
            batch_op.create_index(name, columns, unique=False)
    with op.batch_alter_table("quarantine", schema=None) as batch_op:
        batch_op.create_index("ix_quarantine_run_code", ["run_id", "code"], unique=False)
    connection = op.get_bind()
    offers = sa.table("offers", sa.column("reference"), sa.column("payload"), sa.column("problems"))
    statement = sa.text(
        "UPDATE offers SET " + ", ".join(f"{name} = :{name}" for name in COLUMNS) + " WHERE reference = :ref"
    )
    last = ""
    while True:  # page by page: 100,000 payloads would not fit in memory at once
        rows = connection.execute(
            sa.select(offers.c.reference, offers.c.payload, offers.c.problems)
            .where(offers.c.reference > last)
            .order_by(offers.c.reference)
            .limit(1000)
        ).all()
        if not rows:
            break
        updates = []
        for reference, payload, problems in rows:
            try:
                data = json.loads(payload)
                found = [Problem.model_validate(item) for item in json.loads(problems)]
            except ValueError:
                data, found = {}, []
            updates.append({"ref": reference, **search_columns(data, found)})
        connection.execute(statement, updates)
        last = rows[-1][0]
    ensure_offer_search(connection)  # SQLite: the FTS5 table, its triggers, built from the offers


def downgrade() -> None:
    op.drop_index("uq_alerts_open", table_name="alerts")
    op.drop_index("ix_alerts_opened_at", table_name="alerts")
    op.drop_table("alerts")
    if op.get_bind().dialect.name == "sqlite":
        for name in TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS offers_search")
    with op.batch_alter_table("quarantine", schema=None) as batch_op:
        batch_op.drop_index("ix_quarantine_run_code")
    with op.batch_alter_table("offers", schema=None) as batch_op:
        for name in INDEXES:
            batch_op.drop_index(name)
        for name in COLUMNS:
            batch_op.drop_column(name)
