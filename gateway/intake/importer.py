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
from sqlalchemy import insert

from gateway.config import RulesSettings
from gateway.intake.input_errors import problems_from_validation_error
from gateway.intake.models import Offer
from gateway.intake.reader import read_records
from gateway.problems import Code, Problem, error
from gateway.rules.offer_checks import check_offer
from gateway.rules.store_checks import duplicate_problems, session_history_problems
from gateway.store.database import Database
from gateway.store.queries import dump_problems, look_alikes, session_history
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


@dataclass
class ImportReport:
    source: str
    results: list[RecordResult] = field(default_factory=list)

    def counts(self) -> Counter[Outcome]:
        return Counter(result.outcome for result in self.results)


def canonical_json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def evaluate(db_session: Any, data: dict[str, Any], rules: RulesSettings) -> tuple[Offer | None, list[Problem]]:
    """Parse a record and run every rule on it (including those that need the store)."""
    try:
        offer = Offer.model_validate(data)
    except ValidationError as exc:
        return None, problems_from_validation_error(exc)
    problems = check_offer(offer, rules)
    history = session_history(db_session, (s.reference for s in offer.sessions))
    problems += session_history_problems(offer, history)
    problems += duplicate_problems(offer, look_alikes(db_session, offer))
    return offer, problems


def import_file(database: Database, path: Path, rules: RulesSettings, *, now: datetime | None = None) -> ImportReport:
    now = now or datetime.now(UTC)
    report = ImportReport(source=str(path))
    with database.session() as db, db.begin():
        for record in read_records(path):
            report.results.append(_import_record(db, record.line, record.data, rules, str(path), now))
    return report


def _import_record(db: Any, line: int, data: Any, rules: RulesSettings, source: str, now: datetime) -> RecordResult:
    if not isinstance(data, dict):
        problem = error(Code.INPUT_INVALID, "", "L'enregistrement n'est pas un objet JSON décrivant une offre.")
        _reject(db, source, line, data, [problem], now)
        return RecordResult(line, None, Outcome.REJECTED, [problem])
    reference = data.get("reference")
    offer, problems = evaluate(db, data, rules)
    if not isinstance(reference, str) or not reference.strip():
        if not any(p.path == "reference" for p in problems):
            problems.insert(0, error(Code.INPUT_MISSING_FIELD, "reference", "La référence formation est absente."))
        _reject(db, source, line, data, problems, now)
        return RecordResult(line, None, Outcome.REJECTED, problems)

    payload = canonical_json(data)
    digest = hashlib.sha256(payload.encode()).hexdigest()
    accepted = offer is not None and not any(p.blocks_offer for p in problems)
    stored_problems = dump_problems(problems)
    row = db.get(OfferRow, reference)
    if row is None:
        row = OfferRow(reference=reference, first_imported_at=now)
        db.add(row)
        outcome = Outcome.CREATED
    elif row.payload_sha256 == digest and row.problems == stored_problems:
        return RecordResult(line, reference, Outcome.UNCHANGED if accepted else Outcome.REJECTED, problems)
    else:
        outcome = Outcome.UPDATED
    status = data.get("status")
    row.bo_status = offer.status.value if offer else (status if isinstance(status, str) else None)
    row.title = offer.title if offer else _text_or_none(data.get("title"))
    row.certifinfo = offer.certifinfo if offer else _text_or_none(data.get("certifinfo"))
    row.formateur_siret = offer.effective_formateur.siret if offer else None
    row.session_references = " ".join(s.reference for s in offer.sessions) if offer else ""
    row.payload = payload
    row.payload_sha256 = digest
    row.accepted = accepted
    row.problems = stored_problems
    row.source = f"{source}:{line}"
    row.updated_at = now
    # Later records of the same file must see this one (duplicates, repeated references).
    db.flush()
    db.expunge(row)  # keep the session small on large files
    return RecordResult(line, reference, outcome if accepted else Outcome.REJECTED, problems)


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _reject(db: Any, source: str, line: int, data: Any, problems: list[Problem], now: datetime) -> None:
    db.execute(
        insert(ImportRejectionRow).values(
            source=source,
            line=line,
            raw=canonical_json(data),
            problems=dump_problems(problems),
            rejected_at=now,
        )
    )
