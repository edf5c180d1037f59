"""A batch of records made ready for the store: parsed and checked, or recognised unchanged.

`prepare` runs what needs no store: parsing into the pydantic model, the guide's and LHÉO's
rules, the canonical JSON that is stored and hashed. `resolve` first recognises, by digest, the
records an offer row was computed from (gateway.intake.recall): those are not parsed at all.
"""

from __future__ import annotations

import json
from collections.abc import Container, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from gateway.config import RulesSettings
from gateway.intake.input_errors import problems_from_validation_error
from gateway.intake.last_valid import rejected_digests
from gateway.intake.models import Offer
from gateway.intake.reader import RawLine, RawRecord, parse_line
from gateway.intake.recall import RecordDigests, StoredRow, rows_by_digest
from gateway.intake.safe_values import value_problems, without_surrogates
from gateway.problems import Code, Problem, error
from gateway.rules.offer_checks import check_offer


def canonical_json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def duplicate_key(offer: Offer) -> str:
    """Offers sharing this key (certification + formateur) are compared for duplicates."""
    return f"{offer.certifinfo}|{offer.effective_formateur.siret}"


@dataclass
class Prepared:
    """A record after parsing and the rules that need no store."""

    line: int
    data: Any
    reference: str | None
    offer: Offer | None
    problems: list[Problem]
    payload: str = ""  # canonical JSON of `data`, computed once (stored, hashed, scanned for controls)
    digest: str | None = None  # of the record as read (JSON Lines only): stored with its row


@dataclass(frozen=True)
class Recalled:
    """A record recognised as the one its offer row was computed from: the row stays as it is."""

    line: int
    row: StoredRow

    @property
    def reference(self) -> str:
        return self.row.reference


def prepare(line: int, data: Any, rules: RulesSettings, *, surrogate_free: bool = False) -> Prepared:
    # Lone surrogates first: no store can hold them, not even in a rejection's message.
    # (The reader says when the text had none: the walk of every string is then skipped.)
    unsafe: list[Problem] = []
    if not surrogate_free:
        data, unsafe = without_surrogates(data)
    if not isinstance(data, dict):
        problem = error(Code.INPUT_INVALID, "", "L'enregistrement n'est pas un objet JSON décrivant une offre.")
        return Prepared(line, data, None, None, [problem])
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
        return Prepared(line, data, reference, None, problems, canonical_json(data))
    payload = canonical_json(data)
    problems = unsafe + value_problems(offer, data) + check_offer(offer, rules, data, dumped=payload)
    return Prepared(line, data, reference, offer, problems, payload)


class BatchResolver:
    """Turns the entries read from one file into prepared or recalled records, in file order."""

    def __init__(self, path: Path, rules: RulesSettings, digests: RecordDigests, *, recall: bool = True) -> None:
        # recall=False: every record is parsed (digests are still stored, for the next import).
        self.path, self.rules, self.digests, self.recall = path, rules, digests, recall

    def resolve(
        self, db: Session, entries: Sequence[RawRecord | RawLine], seen: Container[str]
    ) -> list[Prepared | Recalled]:
        """`seen`: references met earlier in the file (their next record is never recalled)."""
        lines = [entry for entry in entries if isinstance(entry, RawLine)]
        digests = {entry.line: self.digests.of(entry.raw) for entry in lines}
        stored = rows_by_digest(db, digests.values()) if digests and self.recall else {}
        candidates = {line: stored[digest] for line, digest in digests.items() if digest in stored}
        kept = rejected_digests(db, {row.reference for row in candidates.values()}) if candidates else {}
        out: list[Prepared | Recalled] = []
        earlier: set[str] = set()
        for entry in entries:
            row = candidates.get(entry.line) if isinstance(entry, RawLine) else None
            if (
                row is not None
                and row.recallable
                and row.reference not in seen
                and row.reference not in earlier
                and row.reference not in kept
            ):
                out.append(Recalled(entry.line, row))
                earlier.add(row.reference)
                continue
            item = self._prepare(entry, digests.get(entry.line) if isinstance(entry, RawLine) else None)
            if item is not None:
                out.append(item)
                if item.reference:
                    earlier.add(item.reference)
        return out

    def _prepare(self, entry: RawRecord | RawLine, digest: str | None) -> Prepared | None:
        record = parse_line(self.path, entry) if isinstance(entry, RawLine) else entry
        if record is None:
            return None
        item = prepare(record.line, record.data, self.rules, surrogate_free=record.surrogate_free)
        item.digest = digest
        return item
