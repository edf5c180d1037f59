"""One offer as the console shows it (its story per destination); `latest_runs` is shared with the quarantine."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.config import GatewayConfig
from gateway.intake.last_valid import RejectedUpdate, rejected_update
from gateway.mapping.profiles import ProfileError
from gateway.pipeline.explain import explain_offer
from gateway.pipeline.offer_decision import OfferDecision
from gateway.problems import Problem
from gateway.store.database import Database
from gateway.store.queries import load_problems
from gateway.store.tables import ExportRunRow, FeedOfferRow, OfferRow, PendingApprovalRow, QuarantineRow
from gateway.validation.fragment_validator import SchemaLoadError

VERDICT_LABELS = {
    "exported": "exportée",
    "out_of_perimeter": "hors périmètre",
    "quarantined": "en quarantaine",
    "awaiting_approval": "à valider par un opérateur",
}


def latest_runs(db: Session) -> dict[str, ExportRunRow]:
    """The latest finished export run of each destination."""
    latest = select(func.max(ExportRunRow.id)).where(ExportRunRow.finished_at.is_not(None))
    query = select(ExportRunRow).where(ExportRunRow.id.in_(latest.group_by(ExportRunRow.destination)))
    return {run.destination: run for run in db.scalars(query.order_by(ExportRunRow.destination))}


@dataclass
class Presence:
    """Is the offer in the destination's latest feed, and why (not)?"""

    destination: str
    label: str = ""
    run: ExportRunRow | None = None
    in_feed: bool = False
    sessions_in_feed: int = 0
    held_back: list[QuarantineRow] = field(default_factory=list)
    awaiting_approval: bool = False  # the last run held it back for an operator's approval (issue #8)
    decision: OfferDecision | None = None  # what an export would decide now

    @property
    def verdict_label(self) -> str:
        return VERDICT_LABELS.get(self.decision.verdict.value, "") if self.decision else ""


@dataclass
class OfferPage:
    row: OfferRow
    payload: dict[str, Any]
    problems: list[Problem]
    presences: list[Presence]
    explain_error: str | None = None
    rejected_update: RejectedUpdate | None = None  # refused update kept beside the last valid version

    @property
    def sessions(self) -> list[dict[str, Any]]:
        sessions = self.payload.get("sessions")
        return [item for item in sessions if isinstance(item, dict)] if isinstance(sessions, list) else []

    def organisation(self, key: str) -> dict[str, Any]:
        value = self.payload.get(key)
        return value if isinstance(value, dict) else {}


def _payload(text: str) -> dict[str, Any]:
    # The payload is the record as received: it may not even be an object.
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def offer_page(database: Database, config: GatewayConfig, reference: str) -> OfferPage | None:
    with database.session() as db:
        row = db.get(OfferRow, reference)
        if row is None:
            return None
        presences: dict[str, Presence] = {}
        for name, run in latest_runs(db).items():
            carried = db.get(FeedOfferRow, (run.id, reference))
            held = db.scalars(
                select(QuarantineRow)
                .where(QuarantineRow.run_id == run.id, QuarantineRow.formation_reference == reference)
                .order_by(QuarantineRow.id)
            ).all()
            presences[name] = Presence(
                name,
                run=run,
                in_feed=carried is not None,
                sessions_in_feed=carried.session_count if carried else 0,
                held_back=list(held),
                awaiting_approval=db.get(PendingApprovalRow, (run.id, reference)) is not None,
            )
        refused = rejected_update(db, reference)
    page = OfferPage(row, _payload(row.payload), load_problems(row), [], rejected_update=refused)
    try:
        for profile, decision in explain_offer(database, config, reference) or []:
            presence = presences.setdefault(profile.name, Presence(profile.name))
            presence.label, presence.decision = profile.label, decision
    except (ProfileError, SchemaLoadError) as exc:
        page.explain_error = str(exc)
    page.presences = [presences[name] for name in sorted(presences)]
    return page
