"""Read helpers over the store shared by intake, export and the CLI."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.intake.models import FormationStatus
from gateway.problems import Problem
from gateway.rules.store_checks import ExportedSessionDates
from gateway.store.bulk import driver_marks, rows_where_in
from gateway.store.tables import OfferRow, SessionHistoryRow

LIVE_STATUSES = (FormationStatus.BROUILLON, FormationStatus.PUBLIEE, FormationStatus.VALIDEE)
_CHUNK = 500


def load_problems(row: OfferRow) -> list[Problem]:
    return [Problem.model_validate(item) for item in json.loads(row.problems)]


def load_problems_json(text: str) -> list[Problem]:
    return [Problem.model_validate(item) for item in json.loads(text)]


def dump_problems(problems: Iterable[Problem]) -> str:
    return json.dumps([p.model_dump(mode="json") for p in problems], ensure_ascii=False, sort_keys=True)


def session_history(db: Session, references: Iterable[str]) -> dict[str, ExportedSessionDates]:
    # Driver-level (gateway.store.bulk): this runs for every page of every export (300,000
    # look-ups at 100,000 offers), and SQLAlchemy's IN-list expansion and row objects cost more
    # than the look-ups.
    rows = rows_where_in(
        db,
        f'SELECT session_reference, formation_reference, start, "end" FROM {SessionHistoryRow.__tablename__}',
        "session_reference",
        references,
    )
    return {reference: ExportedSessionDates(formation, start, end) for reference, formation, start, end in rows}


def existing_digests(db: Session, references: Iterable[str]) -> dict[str, tuple[str, str]]:
    """(payload digest, stored problems) of the offers already in the store."""
    wanted = sorted(set(references))
    found: dict[str, tuple[str, str]] = {}
    for start in range(0, len(wanted), _CHUNK):
        rows = db.execute(
            select(OfferRow.reference, OfferRow.payload_sha256, OfferRow.problems).where(
                OfferRow.reference.in_(wanted[start : start + _CHUNK])
            )
        )
        for reference, digest, problems in rows:
            found[reference] = (digest, problems)
    return found


class StoredOffer(NamedTuple):
    """An offer as an export reads it (a tuple: built for every offer of every export, and sent to workers)."""

    reference: str
    payload: str
    accepted: bool
    problems: str
    session_references: tuple[str, ...] = ()
    payload_sha256: str = ""


def count_exportable(db: Session) -> int:
    query = select(func.count()).select_from(OfferRow).where(OfferRow.bo_status == FormationStatus.VALIDEE.value)
    return db.scalar(query) or 0


def exportable_pages(db: Session, page_size: int = _CHUNK, *, payloads: bool = True) -> Iterator[list[StoredOffer]]:
    """Validated offers in reference order, page by page (keyset) so memory stays flat.

    Plain rows, not ORM objects: nothing accumulates in the session's identity map, and no
    cursor stays open while the export writes in the same transaction. Without `payloads`, the
    payload is left empty (`payloads_of` fetches the few an export must parse again).
    """
    last = ""
    connection = db.connection()
    # A DB-API cursor and tuples: every export reads every validated offer this way, and
    # SQLAlchemy's row objects cost more than the (covering-index) read itself.
    marks = driver_marks(connection, 1)
    payload = "payload" if payloads else "''"
    query = (
        f"SELECT reference, {payload}, accepted, problems, session_references, "
        f"payload_sha256 FROM {OfferRow.__tablename__} WHERE bo_status = {marks} AND reference > {marks} "
        f"ORDER BY reference LIMIT {int(page_size)}"
    )
    cursor = connection.connection.cursor()
    try:
        while True:
            cursor.execute(query, (FormationStatus.VALIDEE.value, last))
            page = cursor.fetchall()
            if not page:
                return
            yield [
                StoredOffer(ref, payload, bool(accepted), problems, tuple(refs.split()), digest)
                for ref, payload, accepted, problems, refs, digest in page
            ]
            last = page[-1][0]
    finally:
        cursor.close()


def payloads_of(db: Session, references: Iterable[str]) -> dict[str, str]:
    wanted = sorted(set(references))
    found: dict[str, str] = {}
    for start in range(0, len(wanted), _CHUNK):
        rows = db.execute(
            select(OfferRow.reference, OfferRow.payload).where(OfferRow.reference.in_(wanted[start : start + _CHUNK]))
        )
        found.update({reference: payload for reference, payload in rows})
    return found
