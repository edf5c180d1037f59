"""What an offer's decision and fragment for one destination depend on, as one digest.

A cached fragment may be reused only when its key is unchanged, so the key covers everything
that can change its bytes or the decision around it:
- the **context** of the destination: the gateway's own code and data (every module and data
  file of the package: a new version invalidates everything), the XSD files, the profile, the
  `[lheo]` and `[rules]` settings, the gzip level, the cache format;
- the **offer**: its reference, payload digest and the problems stored at import;
- what the store says **now** about it: the first-export dates of its sessions that would
  make a difference (a date recorded by this very offer with the same dates makes none), the
  operator's approval for this destination;
- the **export date**, only through what the rules read of it: the campaign year, and whether
  the certification's end of validity has passed.

The context is the index's header; the rest are fields of the offer's index line, compared one
by one. The per-offer facts they need (session dates, end of validity) come from the offer's
payload; they are kept with the cached entry, which is only used for the same payload digest.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from gateway.code_version import files_digest
from gateway.config import GatewayConfig
from gateway.intake.models import Offer
from gateway.mapping.profiles import DestinationProfile
from gateway.pipeline.offer_decision import Approval
from gateway.rules.field_checks import validity_date
from gateway.rules.lheo_dates import DateProblem, parse_lheo_date
from gateway.rules.store_checks import ExportedSessionDates
from gateway.store.queries import StoredOffer

CACHE_FORMAT = 3  # 2: the header names the run whose feed_offers rows carry over; 3: segments
KEY_LENGTH = 32  # hex digits kept of each sha256: 128 bits, ample for 10⁶ offers × destinations


RECORD, UNIT = "\x1e", "\x1f"  # separators no value of ours contains (refused at import)
_RECORD, _UNIT = RECORD, UNIT
_UNPACKABLE = "!"


@dataclass(frozen=True)
class OfferFacts:
    """What the key reads of the payload: (reference, start, end) of each session (dates as the
    history check normalises them, None when unreadable), and the certification's end of validity."""

    sessions: tuple[tuple[str, str | None, str | None], ...] = ()
    valid_until: str | None = None  # ISO date

    @classmethod
    def of(cls, offer: Offer | None) -> OfferFacts:
        if offer is None:
            return cls()
        sessions = []
        for session in offer.sessions:
            try:
                start: str | None = parse_lheo_date(session.start, is_end=False).text
                end: str | None = parse_lheo_date(session.end, is_end=True).text
            except DateProblem:
                start = end = None  # the history check skips such a session too
            sessions.append((session.reference, start, end))
        text = offer.diploma.valid_until if offer.diploma else None
        until = validity_date(text) if text else None
        return cls(tuple(sessions), until.isoformat() if until else None)

    def pack(self) -> str:
        """One field of an index line; `!` (never reused) if a value holds a separator."""
        parts = [self.valid_until or ""]
        parts += [_UNIT.join((ref, start or "", end or "")) for ref, start, end in self.sessions]
        packed = _RECORD.join(parts)
        return (
            _UNPACKABLE
            if any(c in packed for c in "\t\n\r") or packed.count(_UNIT) != 2 * len(self.sessions)
            else packed
        )

    @classmethod
    def unpack(cls, packed: str) -> OfferFacts | None:
        if packed == _UNPACKABLE:
            return None
        until, *sessions = packed.split(_RECORD)
        triples = []
        for item in sessions:
            ref, start, end = item.split(_UNIT)
            triples.append((ref, start or None, end or None))
        return cls(tuple(triples), until or None)


def pack_sessions(sessions: Iterable[tuple[str, str, str]]) -> str:
    return _RECORD.join(_UNIT.join(triple) for triple in sessions)


def unpack_sessions(packed: str) -> list[tuple[str, str, str]]:
    if not packed:
        return []
    out = []
    for item in packed.split(_RECORD):
        ref, start, end = item.split(_UNIT)
        out.append((ref, start, end))
    return out


def _digest(*parts: object) -> str:
    text = json.dumps(parts, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:KEY_LENGTH]


def schema_fingerprint(schema_path: Path) -> str:
    """The configured XSD and every schema beside it (it may include or import them)."""
    folder = schema_path.resolve().parent
    return files_digest({schema_path.resolve(), *folder.glob("*.xsd")}, folder)


def context_key(profile: DestinationProfile, config: GatewayConfig, code: str, schema: str) -> str:
    return _digest(
        CACHE_FORMAT,
        code,
        schema,
        profile.model_dump(mode="json"),
        config.lheo.model_dump(mode="json"),
        config.rules.model_dump(mode="json"),
        config.outbox.gzip_level,
    )


def problems_signature(stored: StoredOffer) -> str:
    return hashlib.sha256(f"{stored.accepted}|{stored.problems}".encode()).hexdigest()[:KEY_LENGTH]


def history_signature(reference: str, facts: OfferFacts, history: Mapping[str, ExportedSessionDates]) -> str:
    """The first-export dates that make a difference to this offer ('' when none does)."""
    telling = []
    for session, start, end in facts.sessions:
        first = history.get(session)
        if first is None or start is None or end is None:
            continue
        if first.formation_reference == reference and first.start == start and first.end == end:
            continue  # this offer's own first export, dates unchanged: no problem either way
        telling.append((session, first.formation_reference, first.start, first.end))
    return _digest(telling) if telling else ""


def approval_signature(approval: Approval | None) -> str:
    if approval is None:
        return ""
    return _digest(approval.payload_sha256, approval.approved_by, approval.approved_at.isoformat())


def dated_signature(profile: DestinationProfile, facts: OfferFacts, today: date) -> str:
    return dated_signature_for(profile, facts.valid_until, today)


def dated_signature_for(profile: DestinationProfile, valid_until: str | None, today: date) -> str:
    campaign = profile.campaign
    if campaign is None:
        return ""
    signature = str(campaign.year_at(today))
    if campaign.check_validity and valid_until is not None:
        signature += "<" if valid_until < today.isoformat() else ">="
    return signature
