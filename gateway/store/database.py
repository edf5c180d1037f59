"""Engine creation and schema migrations (Alembic), so the store upgrades itself in place.

SQLite is the embedded default (one instance); PostgreSQL lets several instances share one
store. Every command migrates at start-up, so migrations are serialised: a PostgreSQL advisory
lock (held for the migration's transaction), or a file lock beside the SQLite file. Instances
started together on an empty database therefore wait for each other instead of crashing.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from gateway.store.fts import ensure_offer_search

if TYPE_CHECKING:
    from gateway.config import StoreSettings

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# Key of the PostgreSQL advisory lock taken around migrations ("LHEO" in ASCII).
MIGRATION_LOCK_KEY = 0x4C48454F


class StoreError(Exception):
    """The store cannot be reached or used; the message is one French line, without secrets."""


def store_url(settings: StoreSettings) -> URL:
    """The SQLAlchemy URL of the store, with the password read from its variable or file."""
    try:
        url = make_url(settings.url)
    except ArgumentError as exc:
        raise StoreError(
            "[store] url n'est pas une URL de base de données valide (sqlite:///… ou postgresql://…)"
        ) from exc
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")  # psycopg 3, the `postgresql` extra
    password: str | None = None
    if settings.password_env:
        password = os.environ.get(settings.password_env)
        if password is None:
            raise StoreError(
                f"[store] password_env : la variable d'environnement {settings.password_env} n'est pas définie"
            )
    elif settings.password_file:
        try:
            password = settings.password_file.read_text(encoding="utf-8").splitlines()[0].strip()
        except (OSError, IndexError) as exc:
            raise StoreError(f"[store] password_file : {settings.password_file} illisible ou vide") from exc
    return url.set(password=password) if password is not None else url


def masked(url: str | URL) -> str:
    """The URL as it may be printed or logged: the password replaced by ***."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(URL invalide)"


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


def _sqlite_file(url: URL) -> Path | None:
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


def make_engine(url: str | URL, busy_timeout: float = 30) -> Engine:
    url = make_url(url)
    sqlite_file = _sqlite_file(url)
    if sqlite_file is not None:
        sqlite_file.parent.mkdir(parents=True, exist_ok=True)
    try:
        if url.get_backend_name() == "postgresql":
            # pre_ping: a server restart costs one reconnect, not a failed job.
            # lock_timeout: a statement never waits forever on a row another session holds; the
            # job fails and its next poll tries again.
            connect_args = {"connect_timeout": 10, "options": "-c lock_timeout=30000"}
            engine = create_engine(url, pool_pre_ping=True, connect_args=connect_args)
        else:
            engine = create_engine(url)
    except ModuleNotFoundError as exc:
        raise StoreError(
            f"pilote de base absent ({exc.name}) pour {masked(url)} : installer lheo-gateway[postgresql]"
        ) from exc
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas(int(busy_timeout * 1000)))
    return engine


def explain_connection_error(url: str | URL, exc: DBAPIError) -> StoreError:
    """One French line for a refused connection (server down, password, unknown database)."""
    where = masked(url)
    state = getattr(exc.orig, "sqlstate", None)
    detail = str(exc.orig).strip().splitlines()[0] if exc.orig else ""
    if state == "28P01" or "password authentication failed" in detail:
        return StoreError(f"base {where} : mot de passe refusé (vérifier [store] password_env / password_file)")
    if state == "28000":
        return StoreError(f"base {where} : accès refusé à cet utilisateur ({detail})")
    if state == "3D000" or "does not exist" in detail:
        return StoreError(f"base {where} : cette base de données n'existe pas sur le serveur")
    if "unable to open database file" in detail:
        return StoreError(
            f"base de données inutilisable : {where} : fichier SQLite impossible à ouvrir (dossier et droits ?)"
        )
    if "Connection refused" in detail or "could not connect" in detail or "timeout" in detail.lower():
        return StoreError(f"base {where} : serveur injoignable (arrêté, ou mauvais hôte/port ?)")
    return StoreError(f"base {where} : connexion impossible ({detail})")


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def upgrade(engine: Engine) -> None:
    """Bring the schema to the latest migration (idempotent, serialised between processes)."""
    alembic_cfg = AlembicConfig()
    alembic_cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    sqlite_file = _sqlite_file(engine.url)
    lock = _file_lock(sqlite_file.with_name(sqlite_file.name + ".migrate-lock")) if sqlite_file else None
    if lock is not None:
        lock.__enter__()
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                # Released at commit: the next instance then finds the schema at head. Waiting
                # for another instance's (possibly long) migration is fine: no lock_timeout here.
                connection.execute(text("SET LOCAL lock_timeout = 0"))
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            alembic_cfg.attributes["connection"] = connection
            command.upgrade(alembic_cfg, "head")
            # A later migration may have rebuilt the offers table and dropped the search triggers.
            ensure_offer_search(connection)
    finally:
        if lock is not None:
            lock.__exit__(None, None, None)


class Database:
    """The store: an engine plus a session factory. Created once per command, passed explicitly.

    Raises StoreError (one French line, password masked) when the store cannot be reached.
    """

    def __init__(self, url: str | URL, *, migrate: bool = True, busy_timeout: float = 30) -> None:
        self.engine = make_engine(url, busy_timeout)
        try:
            if migrate:
                upgrade(self.engine)
            else:
                with self.engine.connect():
                    pass
        except DBAPIError as exc:
            self.engine.dispose()
            raise explain_connection_error(url, exc) from exc
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def session(self) -> Session:
        return self.sessions()

    def close(self) -> None:
        self.engine.dispose()
