"""Store look-ups of the importer's file-wide rules (issue #8): what was stored before the file,
session owners, and the groups compared for duplicates."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.store.queries import LIVE_STATUSES
from gateway.store.tables import OfferRow, SessionHistoryRow, SessionOwnerRow

_CHUNK = 500


def _chunks(values: Iterable[str]) -> Iterable[list[str]]:
    wanted = sorted(set(values))
    for start in range(0, len(wanted), _CHUNK):
        yield wanted[start : start + _CHUNK]


@dataclass(frozen=True, slots=True)
class StoredState:
    """An offer as stored before this file: what decides created / updated / unchanged."""

    payload_sha256: str
    problems: str
    duplicate_key: str | None
    intake_digest: str | None = None  # the record it was computed from (gateway.intake.recall)


def stored_states(db: Session, references: Iterable[str]) -> dict[str, StoredState]:
    found: dict[str, StoredState] = {}
    for chunk in _chunks(references):
        rows = db.execute(
            select(
                OfferRow.reference,
                OfferRow.payload_sha256,
                OfferRow.problems,
                OfferRow.duplicate_key,
                OfferRow.intake_digest,
            ).where(OfferRow.reference.in_(chunk))
        )
        for reference, digest, problems, key, intake in rows:
            found[reference] = StoredState(digest, problems, key, intake)
    return found


@dataclass(frozen=True)
class StoredRow:
    """An offer row found by the digest of the record it was computed from (gateway.intake.recall)."""

    reference: str
    state: StoredState
    accepted: bool


def rows_by_digest(db: Session, digests: Iterable[str]) -> dict[str, StoredRow]:
    found: dict[str, StoredRow] = {}
    for chunk in _chunks(digests):
        rows = db.execute(
            select(
                OfferRow.intake_digest,
                OfferRow.reference,
                OfferRow.payload_sha256,
                OfferRow.problems,
                OfferRow.duplicate_key,
                OfferRow.accepted,
            ).where(OfferRow.intake_digest.in_(chunk))
        )
        for digest, reference, payload_sha256, problems, key, accepted in rows:
            found[str(digest)] = StoredRow(
                reference, StoredState(payload_sha256, problems, key, digest), bool(accepted)
            )
    return found


def session_owners(db: Session, references: Iterable[str]) -> tuple[dict[str, str], dict[str, str]]:
    """(owner of each claimed session reference, formation each exported one was exported with)."""
    owners: dict[str, str] = {}
    exported: dict[str, str] = {}
    for chunk in _chunks(references):
        for session, formation in db.execute(
            select(SessionOwnerRow.session_reference, SessionOwnerRow.formation_reference).where(
                SessionOwnerRow.session_reference.in_(chunk)
            )
        ):
            owners[session] = formation
        for session, formation in db.execute(
            select(SessionHistoryRow.session_reference, SessionHistoryRow.formation_reference).where(
                SessionHistoryRow.session_reference.in_(chunk)
            )
        ):
            exported[session] = formation
    return owners, exported


def owned_sessions(db: Session, formations: Iterable[str]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for chunk in _chunks(formations):
        for session, formation in db.execute(
            select(SessionOwnerRow.session_reference, SessionOwnerRow.formation_reference).where(
                SessionOwnerRow.formation_reference.in_(chunk)
            )
        ):
            found.setdefault(formation, set()).add(session)
    return found


@dataclass(frozen=True)
class LookAlike:
    reference: str
    certifinfo: str
    spans: tuple[str, ...]
    problems: str


def duplicate_groups(db: Session, keys: Iterable[str]) -> Iterator[list[LookAlike]]:
    """Live offers of each duplicate key (same Certifinfo and formateur), in reference order.

    Yielded key chunk by key chunk: a first import of 100,000 offers has a key for each, and
    holding every group at once cost ~200 MB."""
    live = {s.value for s in LIVE_STATUSES}
    for chunk in _chunks(keys):
        found: dict[str, list[LookAlike]] = {}
        # The status is tested here, not in SQL: given both, SQLite's planner may walk the
        # (status, reference) index over every validated offer instead of the key's index.
        rows = db.execute(
            select(
                OfferRow.duplicate_key,
                OfferRow.reference,
                OfferRow.certifinfo,
                OfferRow.session_spans,
                OfferRow.problems,
                OfferRow.bo_status,
            )
            .where(OfferRow.duplicate_key.in_(chunk))
            .order_by(OfferRow.reference)
        )
        for key, reference, certifinfo, spans, problems, status in rows:
            if key is None or status not in live:
                continue
            found.setdefault(key, []).append(LookAlike(reference, certifinfo or "", tuple(spans.split()), problems))
        yield from found.values()
