"""Leases in the store: which instance runs a destination (or leads), safe across machines.

A lease is a row (name, owner, expiry). Taking it is one INSERT … ON CONFLICT DO UPDATE that
only updates when the lease is free, already ours, or expired — no failing insert, so
PostgreSQL logs no error per attempt. The holder's heartbeat renews its leases (`renew`);
when the holder dies, its leases expire after the TTL and another instance takes them over.

Times come from the store's clock on PostgreSQL (`now()`), so instances whose clocks disagree
still agree on who holds what; SQLite is one machine and uses its clock.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import case, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from gateway import clock
from gateway.store.database import Database
from gateway.store.tables import InstanceRow, LockRow

LEADER = "leader"


def destination_lease(destination: str) -> str:
    return f"destination:{destination}"


def aware(moment: datetime) -> datetime:
    # SQLite returns naive datetimes for timezone-aware columns; they are stored in UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def store_now(db: Session) -> datetime:
    """The store's notion of now (the PostgreSQL server's clock, or this machine's for SQLite)."""
    if db.get_bind().dialect.name == "postgresql":
        return aware(db.execute(select(func.now())).scalar_one())
    return clock.now()


def try_acquire(database: Database, name: str, owner: str, ttl: timedelta) -> bool:
    """Take (or extend) the lease `name` for `owner` unless another owner holds it unexpired."""
    with database.session() as db, db.begin():
        now = store_now(db)
        dialect = db.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = insert(LockRow).values(name=name, owner=owner, acquired_at=now, expires_at=now + ttl)
        statement = statement.on_conflict_do_update(
            index_elements=[LockRow.name],
            set_={
                # Re-taking one's own lease keeps its age; a takeover starts a new one.
                "acquired_at": case(
                    (LockRow.owner == owner, LockRow.acquired_at), else_=statement.excluded.acquired_at
                ),
                "owner": statement.excluded.owner,
                "expires_at": statement.excluded.expires_at,
            },
            where=(LockRow.owner == owner) | (LockRow.expires_at < now),
        )
        if db.execute(statement.returning(LockRow.owner)).first() is not None:
            return True
        holder = db.scalar(select(LockRow.owner).where(LockRow.name == name))
        if holder is None or not dead_here(db, holder):
            return False
        # The holder ran on this machine and its process is gone (kill -9): no need to wait for
        # the lease to expire.
        taken = db.execute(
            update(LockRow)
            .where(LockRow.name == name, LockRow.owner == holder)
            .values(owner=owner, acquired_at=now, expires_at=now + ttl)
        )
        return bool(taken.rowcount == 1)  # type: ignore[attr-defined]


def dead_here(db: Session, owner: str) -> bool:
    """True when `owner` is an instance of this machine whose process no longer exists."""
    row = db.get(InstanceRow, owner)
    if row is None or row.host != clock.host_name() or row.pid == os.getpid():
        return False
    try:
        os.kill(row.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def holds(db: Session, name: str, owner: str, now: datetime) -> bool:
    """Whether `owner` still holds `name` (checked inside the caller's transaction: a fence)."""
    expires = db.scalar(select(LockRow.expires_at).where(LockRow.name == name, LockRow.owner == owner))
    return expires is not None and aware(expires) > now


def renew(database: Database, owner: str, ttl: timedelta) -> int:
    """Extend every lease of `owner` (called by its heartbeat); returns how many it holds."""
    with database.session() as db, db.begin():
        now = store_now(db)
        renewed = db.execute(
            update(LockRow).where(LockRow.owner == owner, LockRow.expires_at >= now).values(expires_at=now + ttl)
        )
        return int(renewed.rowcount)  # type: ignore[attr-defined]


def release(database: Database, name: str, owner: str) -> None:
    with database.session() as db, db.begin():
        db.execute(delete(LockRow).where(LockRow.name == name, LockRow.owner == owner))


def release_all(database: Database, owner: str) -> None:
    with database.session() as db, db.begin():
        db.execute(delete(LockRow).where(LockRow.owner == owner))


@dataclass(frozen=True)
class Lease:
    name: str
    owner: str
    acquired_at: datetime
    expires_at: datetime


def leases(db: Session) -> list[Lease]:
    rows = db.scalars(select(LockRow).order_by(LockRow.name)).all()
    return [Lease(row.name, row.owner, aware(row.acquired_at), aware(row.expires_at)) for row in rows]


@contextmanager
def held(database: Database, name: str, owner: str, ttl: timedelta) -> Iterator[bool]:
    """`with held(...) as acquired:` — the body decides what to do when it was not acquired."""
    acquired = try_acquire(database, name, owner, ttl)
    try:
        yield acquired
    finally:
        if acquired:
            release(database, name, owner)
