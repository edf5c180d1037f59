"""A record made ready for the store: parsed, checked, and its row's own columns computed.

`prepare` runs everything that needs neither the store nor the rest of the file: parsing into
the pydantic model, the guide's and LHÉO's rules, the canonical JSON that is stored and hashed,
and the row's columns that follow from the record alone. It is pure, so large files prepare
their records in worker processes (`gateway.intake.batches`); what comes back is small and
cheap to send: the row's columns, the problems, and the sessions the store rules compare.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from gateway.config import RulesSettings
from gateway.intake.input_errors import problems_from_validation_error
from gateway.intake.models import Offer
from gateway.intake.reader import RawLine, parse_line
from gateway.intake.safe_values import value_problems, without_surrogates
from gateway.problems import Code, Problem, error
from gateway.rules.offer_checks import check_offer
from gateway.rules.store_checks import session_spans, session_starts
from gateway.store.search_fields import record_search_columns


def canonical_json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def duplicate_key(offer: Offer) -> str:
    """Offers sharing this key (certification + formateur) are compared for duplicates."""
    return f"{offer.certifinfo}|{offer.effective_formateur.siret}"


@dataclass(frozen=True)
class SessionDates:
    reference: str
    start: str | None
    end: str | None


@dataclass(frozen=True)
class OfferSessions:
    """What the store rules read of a parsed offer (gateway.rules.store_checks.SessionsOf)."""

    reference: str
    sessions: tuple[SessionDates, ...]


@dataclass
class Prepared:
    """A record after parsing and the rules that need no store."""

    line: int
    reference: str | None
    problems: list[Problem]
    payload: str  # canonical JSON of the record: stored, hashed, or kept with a rejection
    columns: dict[str, Any] = field(default_factory=dict)  # the row's values that follow from the record
    offer: OfferSessions | None = None  # None: the record did not fit the input model
    digest: str | None = None  # of the record as read (JSON Lines only): stored with its row


def prepare(line: int, data: Any, rules: RulesSettings, *, surrogate_free: bool = False) -> Prepared:
    # Lone surrogates first: no store can hold them, not even in a rejection's message.
    # (The reader says when the text had none: the walk of every string is then skipped.)
    unsafe: list[Problem] = []
    if not surrogate_free:
        data, unsafe = without_surrogates(data)
    if not isinstance(data, dict):
        problem = error(Code.INPUT_INVALID, "", "L'enregistrement n'est pas un objet JSON décrivant une offre.")
        return Prepared(line, None, [problem], canonical_json(data))
    reference = data.get("reference")
    # A reference with a NUL could not be a key in PostgreSQL: kept apart, like an absent one.
    usable = (
        isinstance(reference, str)
        and reference.strip()
        and "\x00" not in reference
        and not any(p.path == "reference" for p in unsafe)
    )
    reference = reference if usable else None
    payload = canonical_json(data)
    try:
        offer = Offer.model_validate(data)
    except ValidationError as exc:
        problems = unsafe + problems_from_validation_error(exc)
        if reference is None and not any(p.path == "reference" for p in problems):
            problems.insert(0, error(Code.INPUT_MISSING_FIELD, "reference", "La référence formation est absente."))
        return Prepared(line, reference, problems, payload, _columns(data, None, payload))
    problems = unsafe + value_problems(offer, data) + check_offer(offer, rules, data, dumped=payload)
    sessions = tuple(SessionDates(s.reference, s.start, s.end) for s in offer.sessions)
    return Prepared(
        line, reference, problems, payload, _columns(data, offer, payload), OfferSessions(offer.reference, sessions)
    )


def _columns(data: dict[str, Any], offer: Offer | None, payload: str) -> dict[str, Any]:
    status = data.get("status")
    return {
        "bo_status": offer.status.value if offer else (status if isinstance(status, str) else None),
        # Display columns hold no NUL (PostgreSQL texts refuse it; the payload keeps it, escaped).
        "title": _text_or_none(offer.title if offer else data.get("title")),
        "certifinfo": _text_or_none(offer.certifinfo if offer else data.get("certifinfo")),
        "duplicate_key": _text_or_none(duplicate_key(offer)) if offer else None,
        "session_references": _text_or_none(" ".join(s.reference for s in offer.sessions)) or "" if offer else "",
        "session_starts": " ".join(sorted(session_starts(offer))) if offer else "",
        "session_spans": " ".join(session_spans(offer)) if offer else "",
        "payload": payload,
        "payload_sha256": hashlib.sha256(payload.encode()).hexdigest(),
        **record_search_columns(data),
    }


def _text_or_none(value: Any) -> str | None:
    return value.replace("\x00", "") if isinstance(value, str) else None


def prepare_lines(path: Path, rules: RulesSettings, lines: list[tuple[RawLine, str]]) -> list[Prepared | None]:
    """Parse and prepare JSON Lines records (with their digests); None for a blank line.

    Pure: runs in a worker process for large files. A line that is not JSON raises
    `InputFileError`, naming the file and the line, as the reader does.
    """
    out: list[Prepared | None] = []
    for entry, digest in lines:
        record = parse_line(path, entry)
        if record is None:
            out.append(None)
            continue
        item = prepare(record.line, record.data, rules, surrogate_free=record.surrogate_free)
        item.digest = digest
        out.append(item)
    return out
