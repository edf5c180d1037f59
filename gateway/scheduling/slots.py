"""Scheduled slots: which cron fire time is due, and one decision per (destination, fire time).

Every instance polls; the one holding the destination's lease claims the due slot in the
`slots` table. A slot is completed once: another instance (or a clock running ahead, which only
makes an instance see the slot early) finds it completed and does nothing. A slot claimed but
never completed belongs to a dead instance (its lease expired): the next lease holder takes it
over and finishes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from gateway.store.database import Database
from gateway.store.locks import aware, store_now
from gateway.store.tables import SlotRow

MISFIRE_GRACE = timedelta(minutes=15)  # a slot up to 15 minutes late still runs


def parse_schedule(expression: str, timezone: str) -> CronTrigger:
    """Five cron fields (minute hour day month weekday), or six with seconds first (short test schedules)."""
    fields = expression.split()
    if len(fields) == 6:
        second, minute, hour, day, month, weekday = fields
        return CronTrigger(
            second=second,
            minute=minute,
            hour=hour,
            day=day,
            month=month,
            day_of_week=weekday,
            timezone=ZoneInfo(timezone),
        )
    return CronTrigger.from_crontab(expression, timezone=ZoneInfo(timezone))


def due_slot(trigger: CronTrigger, now: datetime, grace: timedelta = MISFIRE_GRACE) -> datetime | None:
    """The latest fire time in (now - grace, now], or None (coalesced: older missed slots are skipped)."""
    window = timedelta(seconds=1)
    while True:
        start = now - min(window, grace)
        fire = trigger.get_next_fire_time(None, start)
        if fire is not None and fire <= now:
            break
        if window >= grace:
            return None
        window *= 8
    latest: datetime = fire
    while True:
        following = trigger.get_next_fire_time(latest, latest + timedelta(microseconds=1))
        if following is None or following > now:
            return latest.astimezone(ZoneInfo("UTC"))
        latest = following


class Claim(StrEnum):
    NEW = "new"  # this instance runs the slot
    TAKEOVER = "takeover"  # claimed by an instance that died: this one finishes it
    DONE = "done"  # already completed: nothing to do


@dataclass(frozen=True)
class SlotClaim:
    outcome: Claim
    previous_owner: str | None = None
    claimed_at: datetime | None = None


def is_completed(database: Database, destination: str, fire_at: datetime) -> bool:
    with database.session() as db:
        done = db.scalar(
            select(SlotRow.completed_at).where(SlotRow.destination == destination, SlotRow.fire_at == fire_at)
        )
    return done is not None


def unfinished(database: Database, destination: str, now: datetime) -> list[datetime]:
    """Slots claimed but never completed (their claimer died), oldest first, within the grace."""
    with database.session() as db:
        rows = db.scalars(
            select(SlotRow.fire_at)
            .where(
                SlotRow.destination == destination,
                SlotRow.completed_at.is_(None),
                SlotRow.fire_at > now - MISFIRE_GRACE,
            )
            .order_by(SlotRow.fire_at)
        ).all()
    return [aware(moment) for moment in rows]


def store_time(database: Database) -> datetime:
    with database.session() as db:
        return store_now(db)


def claim(database: Database, destination: str, fire_at: datetime, owner: str) -> SlotClaim:
    """Claim the slot; call it while holding the destination's lease (so a claimer is dead or us)."""
    with database.session() as db, db.begin():
        now = store_now(db)
        insert = postgresql.insert if db.get_bind().dialect.name == "postgresql" else sqlite.insert
        created = db.execute(
            insert(SlotRow)
            .values(destination=destination, fire_at=fire_at, claimed_by=owner, claimed_at=now, takeovers=0)
            .on_conflict_do_nothing(index_elements=[SlotRow.destination, SlotRow.fire_at])
            .returning(SlotRow.claimed_by)
        ).first()
        if created is not None:
            return SlotClaim(Claim.NEW)
        row = db.get(SlotRow, (destination, fire_at), with_for_update=True)
        assert row is not None
        if row.completed_at is not None:
            return SlotClaim(Claim.DONE)
        previous, since = row.claimed_by, aware(row.claimed_at)
        if previous != owner:
            row.takeovers += 1
        row.claimed_by = owner
        row.claimed_at = now
        return SlotClaim(Claim.TAKEOVER if previous != owner else Claim.NEW, previous, since)


def complete(
    database: Database, destination: str, fire_at: datetime, owner: str, feed_id: str | None, note: str
) -> bool:
    with database.session() as db, db.begin():
        now = store_now(db)
        done = db.execute(
            update(SlotRow)
            .where(
                SlotRow.destination == destination,
                SlotRow.fire_at == fire_at,
                SlotRow.claimed_by == owner,
                SlotRow.completed_at.is_(None),
            )
            .values(completed_at=now, feed_id=feed_id, note=note or None)
        )
        return bool(done.rowcount == 1)  # type: ignore[attr-defined]
