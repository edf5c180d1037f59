"""Read helpers over the store shared by intake, export and the CLI."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.intake.models import FormationStatus, Offer
from gateway.problems import Problem
from gateway.rules.store_checks import ExportedSessionDates, OfferSummary, session_starts
from gateway.store.tables import OfferRow, SessionHistoryRow

LIVE_STATUSES = (FormationStatus.BROUILLON, FormationStatus.PUBLIEE, FormationStatus.VALIDEE)
_CHUNK = 500


def load_problems(row: OfferRow) -> list[Problem]:
    return [Problem.model_validate(item) for item in json.loads(row.problems)]


def dump_problems(problems: Iterable[Problem]) -> str:
    return json.dumps([p.model_dump(mode="json") for p in problems], ensure_ascii=False, sort_keys=True)


def session_history(db: Session, references: Iterable[str]) -> dict[str, ExportedSessionDates]:
    wanted = sorted(set(references))
    found: dict[str, ExportedSessionDates] = {}
    for start in range(0, len(wanted), _CHUNK):
        rows = db.scalars(
            select(SessionHistoryRow).where(SessionHistoryRow.session_reference.in_(wanted[start : start + _CHUNK]))
        )
        for row in rows:
            found[row.session_reference] = ExportedSessionDates(row.formation_reference, row.start, row.end)
    return found


def look_alikes(db: Session, offer: Offer) -> list[OfferSummary]:
    rows = db.scalars(
        select(OfferRow).where(
            OfferRow.certifinfo == offer.certifinfo,
            OfferRow.formateur_siret == offer.effective_formateur.siret,
            OfferRow.reference != offer.reference,
            OfferRow.bo_status.in_([s.value for s in LIVE_STATUSES]),
        )
    )
    summaries = []
    for row in rows:
        try:
            other = Offer.model_validate_json(row.payload)
        except ValueError:
            continue
        summaries.append(OfferSummary(row.reference, session_starts(other)))
    return summaries


@dataclass(frozen=True)
class StoredOffer:
    reference: str
    payload: str
    accepted: bool
    problems: str
    session_references: tuple[str, ...] = ()


def count_exportable(db: Session) -> int:
    query = select(func.count()).select_from(OfferRow).where(OfferRow.bo_status == FormationStatus.VALIDEE.value)
    return db.scalar(query) or 0


def exportable_pages(db: Session, page_size: int = _CHUNK) -> Iterator[list[StoredOffer]]:
    """Validated offers in reference order, page by page (keyset) so memory stays flat.

    Plain rows, not ORM objects: nothing accumulates in the session's identity map, and no
    cursor stays open while the export writes in the same transaction.
    """
    last = ""
    while True:
        page = db.execute(
            select(
                OfferRow.reference,
                OfferRow.payload,
                OfferRow.accepted,
                OfferRow.problems,
                OfferRow.session_references,
            )
            .where(OfferRow.bo_status == FormationStatus.VALIDEE.value, OfferRow.reference > last)
            .order_by(OfferRow.reference)
            .limit(page_size)
        ).all()
        if not page:
            return
        yield [
            StoredOffer(ref, payload, accepted, problems, tuple(refs.split()))
            for ref, payload, accepted, problems, refs in page
        ]
        last = page[-1][0]
