"""Migration 0005 (issue #8) upgrades a store with history in place, and goes back down."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import inspect, text

from gateway.store.database import MIGRATIONS_DIR, Database, make_engine


def _alembic(connection: object) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def test_exported_sessions_belong_to_their_formation_after_upgrade(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    engine = make_engine(url)
    with engine.begin() as connection:
        command.upgrade(_alembic(connection), "0004")
        connection.execute(
            text(
                'INSERT INTO session_history (session_reference, formation_reference, start, "end", '
                "first_exported_at, first_feed_id) VALUES ('00100001', '202611270001', '20270901', "
                "'20290630', :at, 'intercarif_x')"
            ),
            {"at": datetime(2026, 11, 1, tzinfo=UTC)},
        )
    engine.dispose()
    database = Database(url)  # upgrades to head
    with database.engine.connect() as connection:
        owners = connection.execute(text("SELECT session_reference, formation_reference FROM session_owners")).all()
        assert [tuple(row) for row in owners] == [("00100001", "202611270001")]
        columns = {column["name"] for column in inspect(connection).get_columns("offers")}
        assert "session_spans" in columns
    with database.engine.begin() as connection:
        command.downgrade(_alembic(connection), "0004")
        assert "session_owners" not in inspect(connection).get_table_names()
    database.close()
