"""What is wrong right now, per destination: the three conditions an incident can stand for.

Each is computed from the store alone, so any process (the scheduler, `alerts check`) comes to
the same answer, and a condition that still holds at the next check opens nothing new.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.alerts.settings import AlertSettings
from gateway.store.tables import ExportRunRow, TransmissionRow


class Kind(StrEnum):
    DEAD = "transmission_dead"
    NO_DELIVERY = "no_delivery"
    QUARANTINE = "quarantine_high"


KIND_LABELS = {
    Kind.DEAD: "transmission abandonnée",
    Kind.NO_DELIVERY: "aucune livraison réussie",
    Kind.QUARANTINE: "quarantaine au-dessus du seuil",
}


@dataclass(frozen=True)
class Condition:
    destination: str
    kind: Kind
    message: str  # French, for the notice and the console


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _dead(db: Session, destination: str) -> Condition | None:
    """Dead transmissions not made moot by a later successful one."""
    last_sent = db.scalar(
        select(func.max(TransmissionRow.created_at)).where(
            TransmissionRow.destination == destination, TransmissionRow.status == "sent"
        )
    )
    query = select(TransmissionRow).where(TransmissionRow.destination == destination, TransmissionRow.status == "dead")
    if last_sent is not None:
        query = query.where(TransmissionRow.created_at > last_sent)
    dead = list(db.scalars(query.order_by(TransmissionRow.id)))
    if not dead:
        return None
    latest = dead[-1]
    reason = f" ({latest.last_error_code} : {latest.last_error})" if latest.last_error_code else ""
    return Condition(
        destination,
        Kind.DEAD,
        f"{len(dead)} transmission(s) abandonnée(s) vers {destination}, la dernière n° {latest.id}"
        f" (flux {latest.feed_id}){reason}. Rejouez-la depuis la console une fois la cause corrigée.",
    )


def _no_delivery(db: Session, destination: str, hours: float, now: datetime) -> Condition | None:
    last_sent = db.scalar(
        select(func.max(TransmissionRow.sent_at)).where(
            TransmissionRow.destination == destination, TransmissionRow.status == "sent"
        )
    )
    if last_sent is not None:
        since, what = _aware(last_sent), f"la dernière réussie date du {_aware(last_sent):%Y-%m-%d %H:%M} UTC"
    else:
        first = db.scalar(
            select(func.min(TransmissionRow.created_at)).where(TransmissionRow.destination == destination)
        )
        if first is None:
            return None  # nothing was ever due: not a failure
        since, what = _aware(first), "aucune n'a jamais réussi"
    if now - since <= timedelta(hours=hours):
        return None
    return Condition(
        destination,
        Kind.NO_DELIVERY,
        f"Aucune livraison réussie vers {destination} depuis plus de {hours:g} h ({what}).",
    )


def _quarantine(db: Session, destination: str, threshold: int) -> Condition | None:
    run = db.scalars(
        select(ExportRunRow)
        .where(ExportRunRow.destination == destination, ExportRunRow.finished_at.is_not(None))
        .order_by(ExportRunRow.id.desc())
        .limit(1)
    ).first()
    if run is None or run.offers_quarantined <= threshold:
        return None
    return Condition(
        destination,
        Kind.QUARANTINE,
        f"L'export n° {run.id} de {destination} a mis {run.offers_quarantined} offre(s) en quarantaine"
        f" (seuil : {threshold}). Voir la quarantaine de la console.",
    )


def current_conditions(
    db: Session, settings: AlertSettings, destinations: list[str], now: datetime
) -> dict[tuple[str, Kind], Condition]:
    found: dict[tuple[str, Kind], Condition] = {}
    for name in destinations:
        if not settings.rule(name).enabled:
            continue
        for condition in (
            _dead(db, name),
            _no_delivery(db, name, settings.no_delivery_for(name), now),
            _quarantine(db, name, settings.quarantine_threshold_for(name)),
        ):
            if condition is not None:
                found[(name, condition.kind)] = condition
    return found
