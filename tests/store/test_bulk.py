"""Driver-level bulk statements store and find exactly what the ORM would (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any, cast

from sqlalchemy import Table, insert, select

from gateway.store.bulk import CHUNK, insert_rows, rows_where_in, update_rows
from gateway.store.database import Database
from gateway.store.tables import SessionOwnerRow

OWNERS = cast(Table, SessionOwnerRow.__table__)
PARIS = timezone(timedelta(hours=1))


def _owners(database: Database) -> dict[str, tuple[str, datetime]]:
    with database.session() as db:
        rows = db.execute(select(OWNERS.c.session_reference, OWNERS.c.formation_reference, OWNERS.c.claimed_at))
        return {session: (formation, claimed) for session, formation, claimed in rows}


def _row(session: str, formation: str, claimed: datetime) -> dict[str, Any]:
    return {"session_reference": session, "formation_reference": formation, "claimed_at": claimed}


def test_rows_written_in_bulk_read_back_as_the_orm_writes_them(store_url: str) -> None:
    database = Database(store_url)
    try:
        claimed = datetime(2026, 12, 3, 13, 45, 12, 345678, tzinfo=UTC)
        with database.session() as db, db.begin():
            db.execute(insert(OWNERS), [_row("00000001", "900000000001", claimed)])  # the ORM's way
            insert_rows(db, OWNERS, [_row("00000002", "900000000001", claimed), _row("00000003", "9", claimed)])
        with database.session() as db:  # the values as the database holds them (SQLite: text)
            raw = dict(
                db.connection().exec_driver_sql(f"SELECT session_reference, claimed_at FROM {OWNERS.name}").all()
            )
        assert raw["00000002"] == raw["00000003"] == raw["00000001"]
        stored = _owners(database)
        assert stored["00000002"] == stored["00000001"] == ("900000000001", stored["00000001"][1])
        assert stored["00000003"][1] == stored["00000001"][1]
        assert stored["00000001"][1].replace(tzinfo=UTC) == claimed  # SQLite keeps no offset: UTC as written

        later = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)
        with database.session() as db, db.begin():
            update_rows(
                db,
                OWNERS,
                "session_reference",
                [_row("00000002", "900000000002", later), _row("00000003", "900000000003", later)],
            )
        stored = _owners(database)
        assert stored["00000001"][0] == "900000000001"  # untouched
        assert (stored["00000002"][0], stored["00000003"][0]) == ("900000000002", "900000000003")
        assert stored["00000002"][1].replace(tzinfo=UTC) == later == stored["00000003"][1].replace(tzinfo=UTC)
    finally:
        database.close()


def test_look_ups_of_more_values_than_one_statement_holds(store_url: str) -> None:
    database = Database(store_url)
    try:
        claimed = datetime(2026, 12, 3, tzinfo=UTC)
        sessions = [f"{n:08d}" for n in range(CHUNK * 2 + 7)]
        with database.session() as db, db.begin():
            insert_rows(db, OWNERS, [_row(s, f"9000000{int(s) % 3:05d}", claimed) for s in sessions])
        wanted = [*sessions[::2], "99999999", sessions[0]]  # an unknown value, a repeated one
        with database.session() as db:
            found = list(rows_where_in(db, f"SELECT session_reference FROM {OWNERS.name}", "session_reference", wanted))
            assert sorted(session for (session,) in found) == sessions[::2]
            ordered = list(
                rows_where_in(
                    db,
                    f"SELECT formation_reference, session_reference FROM {OWNERS.name}",
                    "formation_reference",
                    ["900000000002", "900000000001"],
                    then="ORDER BY session_reference DESC",
                )
            )
            assert [session for _, session in ordered] == sorted(
                (s for s in sessions if int(s) % 3 in (1, 2)), reverse=True
            )
            assert list(rows_where_in(db, f"SELECT * FROM {OWNERS.name}", "session_reference", [])) == []
    finally:
        database.close()
