"""What the cluster looks like: instances and their heartbeats, leader, leases, slots.

Read by `lheo-gateway status`, the console's cluster page and the cluster metrics. Also the
operator's way out for a lease stuck with a dead holder: `release_lease` (audited, refuses a
live holder unless forced).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select

from gateway.config import GatewayConfig
from gateway.scheduling.slots import due_slot, parse_schedule
from gateway.store import audit
from gateway.store.database import Database
from gateway.store.locks import LEADER, aware, store_now
from gateway.store.tables import InstanceRow, LockRow, SlotRow


@dataclass(frozen=True)
class InstanceState:
    id: str
    host: str
    pid: int
    role: str
    version: str
    started_at: datetime
    heartbeat_age: float  # seconds since its last heartbeat
    alive: bool
    stopped: bool


@dataclass(frozen=True)
class LeaseState:
    name: str
    owner: str
    age: float  # seconds since it was taken
    expires_in: float  # negative: expired
    holder_alive: bool

    @property
    def stuck(self) -> bool:
        """Held by an instance that is not alive (dead before it could release it)."""
        return not self.holder_alive


@dataclass(frozen=True)
class DestinationState:
    name: str
    schedule: str | None
    last_slot: datetime | None
    last_completed_at: datetime | None
    last_feed_id: str | None
    running_by: str | None  # a slot claimed and not completed
    next_run: datetime | None  # only when an alive `run` instance will run it


@dataclass(frozen=True)
class ClusterStatus:
    now: datetime
    instances: list[InstanceState]
    leases: list[LeaseState]
    destinations: list[DestinationState]
    leader: str | None

    @property
    def alive(self) -> list[InstanceState]:
        return [instance for instance in self.instances if instance.alive]

    @property
    def scheduler_alive(self) -> bool:
        return any(instance.role == "run" for instance in self.alive)


def cluster_status(database: Database, config: GatewayConfig) -> ClusterStatus:
    lease = timedelta(seconds=config.store.lease_seconds)
    with database.session() as db:
        now = store_now(db)
        instances = [
            InstanceState(
                id=row.id,
                host=row.host,
                pid=row.pid,
                role=row.role,
                version=row.version,
                started_at=aware(row.started_at),
                heartbeat_age=(now - aware(row.heartbeat_at)).total_seconds(),
                alive=row.stopped_at is None and now - aware(row.heartbeat_at) < lease,
                stopped=row.stopped_at is not None,
            )
            for row in db.scalars(select(InstanceRow).order_by(InstanceRow.started_at.desc()))
        ]
        alive_ids = {instance.id for instance in instances if instance.alive}
        leases = [
            LeaseState(
                name=row.name,
                owner=row.owner,
                age=(now - aware(row.acquired_at)).total_seconds(),
                expires_in=(aware(row.expires_at) - now).total_seconds(),
                holder_alive=row.owner in alive_ids and aware(row.expires_at) > now,
            )
            for row in db.scalars(select(LockRow).order_by(LockRow.name))
        ]
        destinations = []
        scheduler_alive = any(i.role == "run" and i.alive for i in instances)
        for name, settings in sorted(config.destinations.items()):
            last = db.scalars(
                select(SlotRow).where(SlotRow.destination == name).order_by(SlotRow.fire_at.desc()).limit(1)
            ).first()
            done = db.scalars(
                select(SlotRow)
                .where(SlotRow.destination == name, SlotRow.completed_at.is_not(None))
                .order_by(SlotRow.fire_at.desc())
                .limit(1)
            ).first()
            next_run = None
            if settings.schedule and scheduler_alive:
                trigger = parse_schedule(settings.schedule, settings.timezone)
                following = trigger.get_next_fire_time(due_slot(trigger, now), now)
                next_run = following
            destinations.append(
                DestinationState(
                    name=name,
                    schedule=settings.schedule,
                    last_slot=aware(last.fire_at) if last else None,
                    last_completed_at=aware(done.completed_at) if done and done.completed_at else None,
                    last_feed_id=done.feed_id if done else None,
                    running_by=last.claimed_by if last and last.completed_at is None else None,
                    next_run=next_run,
                )
            )
    leader = next((lease_.owner for lease_ in leases if lease_.name == LEADER and lease_.holder_alive), None)
    return ClusterStatus(now, instances, leases, destinations, leader)


class LeaseError(Exception):
    """Why a lease cannot be released (French, for the operator)."""


def release_lease(database: Database, config: GatewayConfig, name: str, actor: str, *, force: bool = False) -> str:
    """Delete a lease (audited); refuses one whose holder is alive unless `force`. Returns the holder."""
    status = cluster_status(database, config)
    found = next((lease for lease in status.leases if lease.name == name), None)
    if found is None:
        known = ", ".join(lease.name for lease in status.leases) or "aucun"
        raise LeaseError(f"bail inconnu : {name} (baux actuels : {known})")
    if found.holder_alive and not force:
        raise LeaseError(
            f"le bail {name} est tenu par l'instance vivante {found.owner} (battement il y a moins de "
            f"{config.store.lease_seconds:.0f} s) ; --force pour le libérer quand même"
        )
    with database.session() as db, db.begin():
        db.execute(delete(LockRow).where(LockRow.name == name, LockRow.owner == found.owner))
        detail = f"holder={found.owner} holder_alive={found.holder_alive} age_s={found.age:.0f} force={force}"
        audit.record(db, actor, "lease-release", f"lease:{name}", detail)
    return found.owner


def store_counts(database: Database) -> dict[str, int]:
    """Store-wide figures for the cluster metrics (exported once, see `web/cluster_metrics.py`)."""
    with database.session() as db:
        instances = db.scalar(select(func.count()).select_from(InstanceRow).where(InstanceRow.stopped_at.is_(None)))
        unfinished = db.scalar(select(func.count()).select_from(SlotRow).where(SlotRow.completed_at.is_(None)))
    return {"instances_registered": int(instances or 0), "slots_unfinished": int(unfinished or 0)}
