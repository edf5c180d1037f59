"""This process as a member of the cluster: registered in `instances`, with a heartbeat.

The heartbeat thread writes `heartbeat_at` every `heartbeat_seconds` and renews every lease the
instance holds; a `run` instance also competes for the leader lease. An instance whose heartbeat
is older than `lease_seconds` is dead: its leases can be taken over and its transmissions left
in `sending` are recovered by the survivors.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
from datetime import timedelta
from importlib import metadata
from types import TracebackType

from sqlalchemy import delete, select, update

from gateway import clock
from gateway.config import StoreSettings
from gateway.store.database import Database
from gateway.store.locks import LEADER, aware, release_all, renew, store_now, try_acquire
from gateway.store.tables import InstanceRow

log = logging.getLogger(__name__)
FORGET_AFTER = timedelta(days=7)  # stopped or dead instances stay listed this long


def gateway_version() -> str:
    try:
        return metadata.version("lheo-gateway")
    except metadata.PackageNotFoundError:  # running from a source tree
        return "dev"


def alive_instances(database: Database, lease: timedelta) -> set[str]:
    with database.session() as db:
        now = store_now(db)
        rows = db.execute(select(InstanceRow.id, InstanceRow.heartbeat_at, InstanceRow.stopped_at)).all()
    return {row.id for row in rows if row.stopped_at is None and now - aware(row.heartbeat_at) < lease}


def scheduler_alive(database: Database, lease: timedelta) -> bool:
    """Is a `run` instance alive (recent heartbeat)? Without one, scheduled runs will not happen."""
    with database.session() as db:
        now = store_now(db)
        beats = db.scalars(
            select(InstanceRow.heartbeat_at).where(InstanceRow.role == "run", InstanceRow.stopped_at.is_(None))
        ).all()
    return any(now - aware(beat) < lease for beat in beats)


class Instance:
    """`with Instance(database, settings, role="run") as me:` — registered, beating, then stopped."""

    def __init__(self, database: Database, settings: StoreSettings, *, role: str, lead: bool = False) -> None:
        self.database = database
        self.role = role
        self.lead = lead
        self.heartbeat = timedelta(seconds=settings.heartbeat_seconds)
        self.lease = timedelta(seconds=settings.lease_seconds)
        self.id = f"{clock.host_name()}:{os.getpid()}:{secrets.token_hex(3)}"
        self.is_leader = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Instance:
        self.start()
        return self

    def __exit__(self, *_exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()

    def start(self) -> None:
        with self.database.session() as db, db.begin():
            now = store_now(db)
            db.execute(delete(InstanceRow).where(InstanceRow.heartbeat_at < now - FORGET_AFTER))
            db.add(
                InstanceRow(
                    id=self.id,
                    host=clock.host_name(),
                    pid=os.getpid(),
                    role=self.role,
                    version=gateway_version(),
                    started_at=now,
                    heartbeat_at=now,
                )
            )
        self._lead()
        self._thread = threading.Thread(target=self._loop, name=f"heartbeat {self.id}", daemon=True)
        self._thread.start()

    def beat(self) -> None:
        """One heartbeat: alive, leases renewed, leadership kept or taken."""
        with self.database.session() as db, db.begin():
            now = store_now(db)
            db.execute(update(InstanceRow).where(InstanceRow.id == self.id).values(heartbeat_at=now))
        renew(self.database, self.id, self.lease)
        self._lead()

    def _lead(self) -> None:
        if self.lead:
            leader = try_acquire(self.database, LEADER, self.id, self.lease)
            if leader != self.is_leader:
                log.info("instance %s %s the leader", self.id, "is now" if leader else "is no longer")
            self.is_leader = leader

    def _loop(self) -> None:
        while not self._stop.wait(self.heartbeat.total_seconds()):
            try:
                self.beat()
            except Exception as exc:  # the store briefly unreachable: keep beating
                log.warning("heartbeat of %s failed: %s", self.id, exc)

    def stop(self) -> None:
        """Leave the cluster cleanly: leases released, so nobody waits for them to expire."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        try:
            release_all(self.database, self.id)
            with self.database.session() as db, db.begin():
                now = store_now(db)
                db.execute(update(InstanceRow).where(InstanceRow.id == self.id).values(stopped_at=now))
        except Exception as exc:
            log.warning("instance %s: could not record its stop: %s", self.id, exc)
