"""Store look-ups of the importer's file-wide rules (issue #8): what was stored before the file,
session owners, and the groups compared for duplicates."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from sqlalchemy.orm import Session

from gateway.store.bulk import rows_where_in
from gateway.store.queries import LIVE_STATUSES
from gateway.store.tables import OfferRow, SessionHistoryRow, SessionOwnerRow

_CHUNK = 500
_OFFERS = OfferRow.__tablename__
_OWNERS = SessionOwnerRow.__tablename__
_HISTORY = SessionHistoryRow.__tablename__


@dataclass(frozen=True, slots=True)
class StoredState:
    """An offer as stored before this file: what decides created / updated / unchanged."""

    payload_sha256: str
    problems: str
    duplicate_key: str | None
    intake_digest: str | None = None  # the record it was computed from (gateway.intake.recall)


def stored_states(db: Session, references: Iterable[str]) -> dict[str, StoredState]:
    rows = rows_where_in(
        db,
        f"SELECT reference, payload_sha256, problems, duplicate_key, intake_digest FROM {_OFFERS}",
        "reference",
        references,
    )
    return {reference: StoredState(digest, problems, key, intake) for reference, digest, problems, key, intake in rows}


@dataclass(frozen=True)
class StoredRow:
    """An offer row found by the digest of the record it was computed from (gateway.intake.recall)."""

    reference: str
    state: StoredState
    accepted: bool


def rows_by_digest(db: Session, digests: Iterable[str]) -> dict[str, StoredRow]:
    rows = rows_where_in(
        db,
        f"SELECT intake_digest, reference, payload_sha256, problems, duplicate_key, accepted FROM {_OFFERS}",
        "intake_digest",
        digests,
    )
    return {
        str(digest): StoredRow(reference, StoredState(payload_sha256, problems, key, digest), bool(accepted))
        for digest, reference, payload_sha256, problems, key, accepted in rows
    }


def session_owners(db: Session, references: Iterable[str]) -> tuple[dict[str, str], dict[str, str]]:
    """(owner of each claimed session reference, formation each exported one was exported with)."""
    wanted = set(references)
    claimed = f"SELECT session_reference, formation_reference FROM {_OWNERS}"
    exported = f"SELECT session_reference, formation_reference FROM {_HISTORY}"
    return (
        dict(rows_where_in(db, claimed, "session_reference", wanted)),
        dict(rows_where_in(db, exported, "session_reference", wanted)),
    )


def owned_sessions(db: Session, formations: Iterable[str]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    claimed = f"SELECT session_reference, formation_reference FROM {_OWNERS}"
    for session, formation in rows_where_in(db, claimed, "formation_reference", formations):
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
    query = f"SELECT duplicate_key, reference, certifinfo, session_spans, problems, bo_status FROM {_OFFERS}"
    wanted = sorted(set(keys))
    for start in range(0, len(wanted), _CHUNK):
        found: dict[str, list[LookAlike]] = {}
        # The status is tested here, not in SQL: given both, SQLite's planner may walk the
        # (status, reference) index over every validated offer instead of the key's index.
        rows = rows_where_in(db, query, "duplicate_key", wanted[start : start + _CHUNK], then="ORDER BY reference")
        for key, reference, certifinfo, spans, problems, status in rows:
            if key is None or status not in live:
                continue
            found.setdefault(key, []).append(LookAlike(reference, certifinfo or "", tuple(spans.split()), problems))
        yield from found.values()
