"""Keep an offer's last valid version when an update of it is rejected.

Every feed is a full snapshot: an offer absent from it is unpublished by the partners. So a
re-import that breaks a valid offer (one bad field) must not replace it: the stored row keeps
its last valid version — exported as before — and the refused update is kept beside it in
`rejected_updates`, with its reasons, for staff (`offers show`, the console's offer page).
A later valid update replaces the offer and clears the rejected one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert
from sqlalchemy.orm import Session

from gateway.problems import Problem
from gateway.store.bulk import rows_where_in
from gateway.store.tables import OfferRow, RejectedUpdateRow

_CHUNK = 500
_OFFERS = OfferRow.__tablename__
_REJECTED = RejectedUpdateRow.__tablename__


def _chunks(references: Iterable[str]) -> Iterable[list[str]]:
    wanted = sorted(set(references))
    for start in range(0, len(wanted), _CHUNK):
        yield wanted[start : start + _CHUNK]


def accepted_references(db: Session, references: Iterable[str]) -> set[str]:
    """The references whose stored version is valid (a rejected update must not replace it)."""
    # `accepted` is tested here, not in SQL: given both, SQLite's planner chose the index on
    # `accepted` and scanned every accepted offer for each chunk (29 s of a 100,000-offer import).
    rows = rows_where_in(db, f"SELECT reference, accepted FROM {_OFFERS}", "reference", references)
    return {reference for reference, accepted in rows if accepted}


def rejected_digests(db: Session, references: Iterable[str]) -> dict[str, tuple[str, str]]:
    """(payload digest, problems) of the rejected updates already kept, to stay idempotent."""
    rows = rows_where_in(db, f"SELECT reference, payload_sha256, problems FROM {_REJECTED}", "reference", references)
    return {reference: (digest, problems) for reference, digest, problems in rows}


def save_rejected(db: Session, held: dict[str, dict[str, Any]], cleared: set[str]) -> None:
    """Replace the kept rejected updates of `held`, and drop those of `cleared` (fixed since)."""
    gone = set(held) | cleared
    for chunk in _chunks(gone):
        db.execute(delete(RejectedUpdateRow).where(RejectedUpdateRow.reference.in_(chunk)))
    if held:
        db.execute(insert(RejectedUpdateRow), list(held.values()))


def held_row(row: dict[str, Any], received_at: datetime) -> dict[str, Any]:
    """The values of a `rejected_updates` row, from the offer row the update would have written."""
    return {
        "reference": row["reference"],
        "payload": row["payload"],
        "payload_sha256": row["payload_sha256"],
        "problems": row["problems"],
        "source": row["source"],
        "received_at": received_at,
    }


@dataclass(frozen=True)
class RejectedUpdate:
    """What staff see beside an offer's kept version."""

    source: str | None
    received_at: datetime
    problems: list[Problem]
    payload: str


def rejected_update(db: Session, reference: str) -> RejectedUpdate | None:
    row = db.get(RejectedUpdateRow, reference)
    if row is None:
        return None
    problems = [Problem.model_validate(item) for item in json.loads(row.problems)]
    return RejectedUpdate(row.source, row.received_at, problems, row.payload)
