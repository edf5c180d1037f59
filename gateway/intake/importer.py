"""Import an offers file into the store: upsert by formation reference, idempotently.

Every record ends up somewhere: an offer row (accepted or not, with its problems) or, when it
cannot even be tied to a formation reference, an import rejection row. The whole file is one
transaction, so a file that turns out to be malformed halfway changes nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import insert, update
from sqlalchemy.orm import Session

from gateway.config import RulesSettings
from gateway.intake.input_errors import problems_from_validation_error
from gateway.intake.last_valid import accepted_references, held_row, rejected_digests, save_rejected
from gateway.intake.models import Offer
from gateway.intake.reader import read_records
from gateway.intake.safe_values import value_problems, without_surrogates
from gateway.problems import Code, Problem, error
from gateway.rules.offer_checks import check_offer
from gateway.rules.store_checks import OfferSummary, duplicate_problems, session_history_problems, session_starts
from gateway.store.database import Database
from gateway.store.queries import dump_problems, existing_digests, look_alikes, session_history
from gateway.store.tables import ImportRejectionRow, OfferRow


class Outcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    REJECTED = "rejected"  # stored, but not exportable until fixed


@dataclass(frozen=True)
class RecordResult:
    line: int
    reference: str | None
    outcome: Outcome
    problems: list[Problem]
    # A rejected update of a valid offer: the offer keeps (and still exports) its last valid version.
    kept_last_valid: bool = False


@dataclass
class ImportReport:
    source: str
    results: list[RecordResult] = field(default_factory=list)

    def counts(self) -> Counter[Outcome]:
        return Counter(result.outcome for result in self.results)


def canonical_json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


BATCH_SIZE = 500


@dataclass
class _Prepared:
    """A record after parsing and the rules that need no store."""

    line: int
    data: Any
    reference: str | None
    offer: Offer | None
    problems: list[Problem]


def import_file(database: Database, path: Path, rules: RulesSettings, *, now: datetime | None = None) -> ImportReport:
    """Import every record of `path` in one transaction, working by batches of store look-ups."""
    now = now or datetime.now(UTC)
    report = ImportReport(source=str(path))
    with database.session() as db, db.begin():
        batch: list[_Prepared] = []
        for record in read_records(path):
            batch.append(_prepare(record.line, record.data, rules))
            if len(batch) >= BATCH_SIZE:
                _import_batch(db, batch, str(path), now, report)
                batch = []
        _import_batch(db, batch, str(path), now, report)
    return report


def _prepare(line: int, data: Any, rules: RulesSettings) -> _Prepared:
    # Lone surrogates first: no store can hold them, not even in a rejection's message.
    data, unsafe = without_surrogates(data)
    if not isinstance(data, dict):
        problem = error(Code.INPUT_INVALID, "", "L'enregistrement n'est pas un objet JSON décrivant une offre.")
        return _Prepared(line, data, None, None, [problem])
    reference = data.get("reference")
    # A reference with a NUL could not be a key in PostgreSQL: kept apart, like an absent one.
    usable = (
        isinstance(reference, str)
        and reference.strip()
        and "\x00" not in reference
        and not any(p.path == "reference" for p in unsafe)
    )
    reference = reference if usable else None
    try:
        offer = Offer.model_validate(data)
    except ValidationError as exc:
        problems = unsafe + problems_from_validation_error(exc)
        if reference is None and not any(p.path == "reference" for p in problems):
            problems.insert(0, error(Code.INPUT_MISSING_FIELD, "reference", "La référence formation est absente."))
        return _Prepared(line, data, reference, None, problems)
    problems = unsafe + value_problems(offer, data) + check_offer(offer, rules)
    return _Prepared(line, data, reference, offer, problems)


def duplicate_key(offer: Offer) -> str:
    """Offers sharing this key (certification + formateur) are compared for duplicates."""
    return f"{offer.certifinfo}|{offer.effective_formateur.siret}"


def _import_batch(db: Session, batch: list[_Prepared], source: str, now: datetime, report: ImportReport) -> None:
    if not batch:
        return
    offers = [item.offer for item in batch if item.offer is not None]
    references = [item.reference for item in batch if item.reference]
    stored = existing_digests(db, references)
    valid = accepted_references(db, references)  # stored versions a rejected update must not replace
    kept = rejected_digests(db, references)
    held: dict[str, dict[str, Any]] = {}
    cleared: set[str] = set()
    history = session_history(db, (s.reference for offer in offers for s in offer.sessions))
    alikes = look_alikes(db, {duplicate_key(offer) for offer in offers})
    inserts: dict[str, dict[str, Any]] = {}
    updates: dict[str, dict[str, Any]] = {}
    rejections: list[dict[str, Any]] = []
    for item in batch:
        problems = item.problems
        if item.offer is not None:
            key = duplicate_key(item.offer)
            problems = problems + session_history_problems(item.offer, history)
            problems += duplicate_problems(item.offer, alikes.get(key, []))
            # Later records of the file are compared with this one too.
            alikes.setdefault(key, []).append(OfferSummary(item.offer.reference, session_starts(item.offer)))
        if item.reference is None:
            rejections.append(
                {
                    "source": source,
                    "line": item.line,
                    "raw": canonical_json(item.data),
                    "problems": dump_problems(problems),
                    "rejected_at": now,
                }
            )
            report.results.append(RecordResult(item.line, None, Outcome.REJECTED, problems))
            continue
        row = _row_values(item, problems, source, now)
        accepted = row["accepted"]
        previous = stored.get(item.reference)
        if not accepted and item.reference in valid:
            # Keep the last valid version (still exported); the refused update waits beside it.
            digest = (row["payload_sha256"], row["problems"])
            if kept.get(item.reference) != digest:
                held[item.reference] = held_row(row, now)
                cleared.discard(item.reference)
                kept[item.reference] = digest
            report.results.append(RecordResult(item.line, item.reference, Outcome.REJECTED, problems, True))
            continue
        if item.reference in kept:  # replaced by this record: the kept rejected update is obsolete
            cleared.add(item.reference)
            held.pop(item.reference, None)
            del kept[item.reference]
        if accepted:
            valid.add(item.reference)
        else:
            valid.discard(item.reference)
        if previous is None:
            outcome = Outcome.CREATED
            inserts[item.reference] = row | {"first_imported_at": now}
        elif previous == (row["payload_sha256"], row["problems"]):
            outcome = Outcome.UNCHANGED
        else:
            outcome = Outcome.UPDATED
            if item.reference in inserts:  # repeated within the batch: the later record wins
                inserts[item.reference] = inserts[item.reference] | row
            else:
                updates[item.reference] = row
        stored[item.reference] = (row["payload_sha256"], row["problems"])
        report.results.append(
            RecordResult(item.line, item.reference, outcome if accepted else Outcome.REJECTED, problems)
        )
    if inserts:
        db.execute(insert(OfferRow), list(inserts.values()))
    if updates:
        db.execute(update(OfferRow), [row | {"reference": ref} for ref, row in updates.items()])
    if rejections:
        db.execute(insert(ImportRejectionRow), rejections)
    if held or cleared:
        save_rejected(db, held, cleared)


def _row_values(item: _Prepared, problems: list[Problem], source: str, now: datetime) -> dict[str, Any]:
    offer, data = item.offer, item.data
    payload = canonical_json(data)
    status = data.get("status")
    return {
        "reference": item.reference,
        "bo_status": offer.status.value if offer else (status if isinstance(status, str) else None),
        # Display columns hold no NUL (PostgreSQL texts refuse it; the payload keeps it, escaped).
        "title": _text_or_none(offer.title if offer else data.get("title")),
        "certifinfo": _text_or_none(offer.certifinfo if offer else data.get("certifinfo")),
        "duplicate_key": _text_or_none(duplicate_key(offer)) if offer else None,
        "session_references": _text_or_none(" ".join(s.reference for s in offer.sessions)) or "" if offer else "",
        "session_starts": " ".join(sorted(session_starts(offer))) if offer else "",
        "payload": payload,
        "payload_sha256": hashlib.sha256(payload.encode()).hexdigest(),
        "accepted": offer is not None and not any(p.blocks_offer for p in problems),
        "problems": dump_problems(problems),
        "source": f"{source}:{item.line}",
        "updated_at": now,
    }


def _text_or_none(value: Any) -> str | None:
    return value.replace("\x00", "") if isinstance(value, str) else None
