"""Approvals of "to_validate" offers: recorded, audited, and looked up by exports (issue #8).

An approval names the payload digest of the offer as it was approved: once the offer changes
(a new import with other data), the approval no longer applies and the offer waits again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.pipeline.offer_decision import Approval
from gateway.store.audit import record
from gateway.store.tables import ApprovalRow, ExportRunRow, OfferRow, PendingApprovalRow

_CHUNK = 500


def approvals_for(db: Session, destination: str, references: Iterable[str]) -> dict[str, Approval]:
    """The latest approval of each offer for `destination` (whatever payload it names)."""
    wanted = sorted(set(references))
    found: dict[str, Approval] = {}
    for start in range(0, len(wanted), _CHUNK):
        rows = db.execute(
            select(
                ApprovalRow.formation_reference,
                ApprovalRow.payload_sha256,
                ApprovalRow.approved_by,
                ApprovalRow.approved_at,
            )
            .where(
                ApprovalRow.destination == destination,
                ApprovalRow.formation_reference.in_(wanted[start : start + _CHUNK]),
            )
            .order_by(ApprovalRow.id)
        )
        for reference, digest, by, at in rows:
            found[reference] = Approval(digest, by, at)  # ordered by id: the latest wins
    return found


def approvals_between(
    db: Session, destinations: Iterable[str], first: str, last: str
) -> dict[str, dict[str, Approval]]:
    """`approvals_for` of every destination for the offers whose reference is in [first, last]:
    one range query per page of an export instead of one IN list per destination."""
    names = sorted(set(destinations))
    found: dict[str, dict[str, Approval]] = {name: {} for name in names}
    rows = db.connection().execute(
        select(
            ApprovalRow.destination,
            ApprovalRow.formation_reference,
            ApprovalRow.payload_sha256,
            ApprovalRow.approved_by,
            ApprovalRow.approved_at,
        )
        .where(
            ApprovalRow.destination.in_(names),
            ApprovalRow.formation_reference >= first,
            ApprovalRow.formation_reference <= last,
        )
        .order_by(ApprovalRow.id)
    )
    for destination, reference, digest, by, at in rows:
        found[destination][reference] = Approval(digest, by, at)  # ordered by id: the latest wins
    return found


class ApprovalRefused(Exception):
    """The offer cannot be approved (unknown, or changed since it was shown); message in French."""


def approve(
    db: Session, destination: str, reference: str, actor: str, *, payload_sha256: str | None = None
) -> ApprovalRow:
    """Approve the offer as it is stored now (or as shown: `payload_sha256`), audited in the same transaction."""
    offer = db.get(OfferRow, reference)
    if offer is None:
        raise ApprovalRefused(f"Offre « {reference} » introuvable dans le stock.")
    if payload_sha256 is not None and payload_sha256 != offer.payload_sha256:
        raise ApprovalRefused(f"L'offre {reference} a changé depuis son affichage : relisez-la avant de l'approuver.")
    row = ApprovalRow(
        destination=destination,
        formation_reference=reference,
        payload_sha256=offer.payload_sha256,
        approved_by=actor,
        approved_at=datetime.now(UTC),
    )
    db.add(row)
    record(db, actor, "approve", f"{destination}/{reference}", f"empreinte {offer.payload_sha256[:12]}")
    return row


@dataclass(frozen=True)
class Waiting:
    """An offer the latest run of a destination held back for approval, still unapproved."""

    destination: str
    reference: str
    title: str | None
    payload_sha256: str
    reasons: list[str]
    changed_since_run: bool  # the stored offer differs from what the run saw


def waiting_approvals(db: Session, destination: str | None = None) -> list[Waiting]:
    latest = (
        select(func.max(ExportRunRow.id))
        .where(ExportRunRow.finished_at.is_not(None))
        .group_by(ExportRunRow.destination)
    )
    query = (
        select(PendingApprovalRow, OfferRow.title, OfferRow.payload_sha256)
        .join(OfferRow, OfferRow.reference == PendingApprovalRow.formation_reference)
        .where(PendingApprovalRow.run_id.in_(latest))
        .order_by(PendingApprovalRow.destination, PendingApprovalRow.formation_reference)
    )
    if destination:
        query = query.where(PendingApprovalRow.destination == destination)
    rows = db.execute(query).all()
    references = sorted({pending.formation_reference for pending, _, _ in rows})
    approved: set[tuple[str, str, str]] = set()
    for start in range(0, len(references), _CHUNK):
        rows_found = db.execute(
            select(ApprovalRow.destination, ApprovalRow.formation_reference, ApprovalRow.payload_sha256).where(
                ApprovalRow.formation_reference.in_(references[start : start + _CHUNK])
            )
        )
        approved.update((dest, ref, digest) for dest, ref, digest in rows_found)
    waiting = []
    for pending, title, current in rows:
        if (pending.destination, pending.formation_reference, current) in approved:
            continue  # approved since the run: goes out at the next export
        waiting.append(
            Waiting(
                pending.destination,
                pending.formation_reference,
                title,
                current,
                [line for line in pending.reasons.splitlines() if line],
                changed_since_run=current != pending.payload_sha256,
            )
        )
    return waiting
