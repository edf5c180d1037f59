"""Recovery: transmissions left in `sending` by a dead process go back to pending.

A sender registered in `instances` is dead when its heartbeat is older than the lease (or it
stopped, or it ran on this machine and its process is gone); any other sender (older gateways,
the console) when it ran on this machine and its process is gone, or its claim is too old. The
survivor that holds the destination's lease recovers them, before delivering, so the
recovered (older) feeds still leave first.
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import timedelta

from sqlalchemy import or_, select

from gateway.outbox.states import Status, _aware, process_owner, utcnow
from gateway.store.database import Database
from gateway.store.locks import dead_here, store_now
from gateway.store.tables import AttemptRow, InstanceRow, TransmissionRow

log = logging.getLogger(__name__)


def _owner_alive(owner: str | None) -> bool:
    """Liveness of an owner that is not a registered instance (`host:pid`, older gateways)."""
    if not owner:
        return False
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname():
        return True  # another machine's process: only the age limit can tell
    try:
        os.kill(int(pid), 0)
    except (ProcessLookupError, ValueError):
        return False
    except PermissionError:
        return True
    return True


def recover_interrupted(
    database: Database,
    *,
    stale_after: timedelta = timedelta(hours=2),
    lease: timedelta = timedelta(seconds=45),
    destination: str | None = None,
    me: str | None = None,
) -> list[int]:
    """Transmissions left in `sending` by a crashed process go back to pending (before any dispatch).

    A sender registered in `instances` is dead when its heartbeat is older than `lease` (or it
    stopped); any other sender is dead when it ran on this machine and its process is gone, or
    when its claim is older than `stale_after`. The interrupted attempt is recorded.
    """
    now = utcnow()
    recovered = []
    with database.session() as db, db.begin():
        store_time = store_now(db)
        instances = {
            row.id: row.stopped_at is None and store_time - _aware(row.heartbeat_at) < lease
            for row in db.execute(select(InstanceRow.id, InstanceRow.heartbeat_at, InstanceRow.stopped_at))
        }
        instances = {owner: alive and not dead_here(db, owner) for owner, alive in instances.items()}
        query = select(TransmissionRow).where(TransmissionRow.status == Status.SENDING)
        if destination is not None:
            query = query.where(TransmissionRow.destination == destination)
        for row in db.scalars(query.with_for_update()).all():
            claimed = _aware(row.claimed_at) if row.claimed_at else now
            if row.owner in (process_owner(), me):
                continue
            if row.owner in instances:
                if instances[row.owner]:
                    continue
            elif _owner_alive(row.owner) and now - claimed < stale_after:
                continue
            log.warning("transmission %s: interrupted by the end of %s, back to pending", row.id, row.owner)
            db.add(
                AttemptRow(
                    transmission_id=row.id,
                    number=row.attempts,
                    started_at=claimed,
                    finished_at=now,
                    outcome="interrupted",
                    error_code="DELIVERY_INTERRUPTED",
                    error_message=f"process {row.owner} stopped while sending; sent again",
                )
            )
            row.status = Status.PENDING
            row.owner = None
            row.next_attempt_at = now
            row.updated_at = now
            recovered.append(row.id)
    return recovered


def has_work(database: Database, destination: str) -> bool:
    """Whether a delivery run would do anything: a due transmission, or one left in `sending`."""
    now = utcnow()
    with database.session() as db:
        found = db.scalar(
            select(TransmissionRow.id)
            .where(
                TransmissionRow.destination == destination,
                or_(
                    TransmissionRow.status == Status.SENDING,
                    TransmissionRow.status.in_([Status.PENDING, Status.FAILED])
                    & or_(TransmissionRow.next_attempt_at.is_(None), TransmissionRow.next_attempt_at <= now),
                ),
            )
            .limit(1)
        )
    return found is not None
