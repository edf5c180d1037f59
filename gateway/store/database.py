"""Engine creation and schema migrations (Alembic), so the store upgrades itself in place."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from gateway.store.fts import ensure_offer_search

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def _sqlite_pragmas(busy_timeout_ms: int) -> Any:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # WAL lets a reader (the future web console) work while an export writes;
        # foreign keys are off by default in SQLite.
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.close()

    return on_connect


def make_engine(url: str, busy_timeout: float = 30) -> Engine:
    if url.startswith("sqlite:///") and ":memory:" not in url:
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas(int(busy_timeout * 1000)))
    return engine


def upgrade(engine: Engine) -> None:
    """Bring the schema to the latest migration (idempotent)."""
    alembic_cfg = AlembicConfig()
    alembic_cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        alembic_cfg.attributes["connection"] = connection
        command.upgrade(alembic_cfg, "head")
        # A later migration may have rebuilt the offers table and dropped the search triggers.
        ensure_offer_search(connection)


class Database:
    """The store: an engine plus a session factory. Created once per command, passed explicitly."""

    def __init__(self, url: str, *, migrate: bool = True, busy_timeout: float = 30) -> None:
        self.engine = make_engine(url, busy_timeout)
        if migrate:
            upgrade(self.engine)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    def session(self) -> Session:
        return self.sessions()

    def close(self) -> None:
        self.engine.dispose()
