"""Leases in the store, so two gateway processes started by mistake never run the same job.

Acquiring is one statement that only succeeds when the lock is free or its lease expired, so
it is safe between processes (and machines sharing a PostgreSQL store).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, or_, update
from sqlalchemy.exc import IntegrityError

from gateway.store.database import Database
from gateway.store.tables import LockRow


def try_acquire(database: Database, name: str, owner: str, ttl: timedelta) -> bool:
    now = datetime.now(UTC)
    with database.session() as db, db.begin():
        taken = db.execute(
            update(LockRow)
            .where(LockRow.name == name, or_(LockRow.owner == owner, LockRow.expires_at < now))
            .values(owner=owner, acquired_at=now, expires_at=now + ttl)
        )
        if taken.rowcount == 1:  # type: ignore[attr-defined]
            return True
    try:
        with database.session() as db, db.begin():
            db.add(LockRow(name=name, owner=owner, acquired_at=now, expires_at=now + ttl))
        return True
    except IntegrityError:
        return False  # held by someone else, lease still running


def release(database: Database, name: str, owner: str) -> None:
    with database.session() as db, db.begin():
        db.execute(delete(LockRow).where(LockRow.name == name, LockRow.owner == owner))


@contextmanager
def held(database: Database, name: str, owner: str, ttl: timedelta) -> Iterator[bool]:
    """`with held(...) as acquired:` — the body decides what to do when it was not acquired."""
    acquired = try_acquire(database, name, owner, ttl)
    try:
        yield acquired
    finally:
        if acquired:
            release(database, name, owner)
