"""Leases: taken with one upsert (no failing insert, so PostgreSQL logs no error per attempt),
renewed by the holder's heartbeat, taken over once the holder stops renewing."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from gateway.store.database import Database
from gateway.store.locks import holds, leases, release, renew, store_now, try_acquire
from tests.pg_server import PgServer


@pytest.fixture
def database(store_url: str) -> Database:
    return Database(store_url)


def test_a_lease_excludes_others_until_it_expires_and_renewal_keeps_it(database: Database) -> None:
    ttl = timedelta(seconds=2)
    assert try_acquire(database, "destination:a", "one", ttl)
    assert not try_acquire(database, "destination:a", "two", ttl)
    [lease] = leases_now(database)
    time.sleep(1.2)
    assert renew(database, "one", ttl) == 1  # the heartbeat
    time.sleep(1.2)
    assert not try_acquire(database, "destination:a", "two", ttl)  # renewed: still held
    assert try_acquire(database, "destination:a", "one", ttl)
    [again] = leases_now(database)
    assert again.acquired_at == lease.acquired_at  # re-taking one's own lease keeps its age
    time.sleep(2.2)  # no heartbeat any more: the holder is dead
    assert try_acquire(database, "destination:a", "two", ttl)
    with database.session() as db:
        assert holds(db, "destination:a", "two", store_now(db)) and not holds(db, "destination:a", "one", store_now(db))
    assert renew(database, "one", ttl) == 0  # the old holder learns it lost the lease
    release(database, "destination:a", "two")
    assert leases_now(database) == []


def leases_now(database: Database) -> list:  # type: ignore[type-arg]
    with database.session() as db:
        return leases(db)


def test_contended_leases_log_no_error_on_postgresql(pg_server: PgServer) -> None:
    name = pg_server.create_database()
    database = Database(pg_server.url(name))
    log = pg_server.root / "server.log"
    before = log.read_text(encoding="utf-8", errors="replace").count("ERROR")
    try:
        wins = [try_acquire(database, "destination:x", f"owner-{i % 3}", timedelta(minutes=1)) for i in range(60)]
        assert wins.count(True) == 20  # owner-0 (first, then re-taking its own)
    finally:
        database.close()
        pg_server.drop_database(name)
    assert log.read_text(encoding="utf-8", errors="replace").count("ERROR") == before
