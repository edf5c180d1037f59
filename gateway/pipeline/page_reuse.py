"""Unchanged offers of a nightly run, checked page by page and taken without a decision object.

When an offer keeps, for one destination, the entry of the last export — same
payload and stored problems, no approval, no first-export date recorded by another offer or
with other dates, the same reading of the export date, exported without reservation or out of
the perimeter — its index line is written back, its fragment copied (with its neighbours, in
one span; its deflate block redone where another fragment now comes before it) and its row
spooled, without unpacking its facts or building a decision. Anything else (a change, a
quarantine, a dry run, a feed followed offer by offer) goes through `one_pass._reusable` /
`_take_cached`, which decide the same way with every case handled: this module only
recognises the offers where nothing can differ.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from gateway.pipeline.cache_keys import RECORD, UNIT, dated_signature_for
from gateway.pipeline.destination_pass import DestinationPass
from gateway.pipeline.fragment_index import Entry, Field
from gateway.pipeline.offer_decision import Verdict
from gateway.rules.store_checks import ExportedSessionDates
from gateway.store.queries import StoredOffer

_EXPORTED = Verdict.EXPORTED.value
_OUT = Verdict.OUT_OF_PERIMETER.value
_UNPACKABLE = "!"


def quick_entries(
    dest: DestinationPass,
    page: list[StoredOffer],
    entries: list[Entry | None],
    problems: list[str],
    history: dict[str, ExportedSessionDates],
    approvals: Mapping[str, object],
    today: date,
    own: dict[tuple[str, str, bool], bool],
) -> list[bool]:
    """For each offer of `page`: may its entry be taken by `take_quick` (see module doc)?

    `own` is shared by the destinations of a page: an offer's facts are the same in every index
    (they come from its payload), so its session history is checked once, not per destination."""
    if not dest.live or dest.on_offer is not None or dest.spool is None or dest.writer is None:
        return [False] * len(page)
    if dest.cache_in is None:
        return [False] * len(page)
    with_feed = dest.cache_in.xml_fd is not None
    profile = dest.profile
    dated = dest.dated_memo
    quick = []
    for stored, entry, problem in zip(page, entries, problems, strict=True):
        if entry is None:
            quick.append(False)
            continue
        f = entry.fields
        verdict = f[Field.VERDICT]
        packed = f[Field.FACTS]
        exported = verdict == _EXPORTED
        if not (
            f[Field.PAYLOAD] == stored.payload_sha256
            and f[Field.PROBLEMS] == problem
            and not f[Field.APPROVAL]
            and not f[Field.HISTORY]
            and stored.reference not in approvals
            and ((exported and not f[Field.DETAILS] and with_feed) or verdict == _OUT)
            and packed != _UNPACKABLE
        ):
            quick.append(False)
            continue
        key = (stored.reference, packed, exported)
        known = own.get(key)
        if known is None:
            known = own[key] = own_history(stored, packed, history, exported)
        if known:
            valid_until = packed.split(RECORD, 1)[0] or None
            signature = dated.get(valid_until)
            if signature is None:
                signature = dated[valid_until] = dated_signature_for(profile, valid_until, today)
            known = f[Field.DATED] == signature
        quick.append(known)
    return quick


def own_history(stored: StoredOffer, packed: str, history: Mapping[str, ExportedSessionDates], exported: bool) -> bool:
    """No first-export date of the offer's sessions tells anything (each was this offer's, with
    the dates it still has), and, when it is exported, none is to be recorded (all known)."""
    facts = packed + RECORD
    for session in stored.session_references:
        first = history.get(session)
        if first is None:
            if exported:
                return False  # its first export would be recorded now: offer by offer
            continue
        if first.formation_reference != stored.reference:
            return False
        if f"{RECORD}{session}{UNIT}{first.start}{UNIT}{first.end}{RECORD}" not in facts:
            return False
    return True


def take_quick(dest: DestinationPass, stored: StoredOffer, entry: Entry) -> None:
    """Reuse an entry `quick_entries` accepted, in store order."""
    assert dest.spool is not None and dest.cache_out is not None
    result = dest.result
    result.reused += 1
    result.considered += 1
    fields = entry.fields
    if fields[Field.VERDICT] != _EXPORTED:
        dest.index_line(entry.line)
        result.out_of_perimeter += 1
        dest.carry(entry, exported=False)
        return
    dest.index_line(dest.reuse(entry))  # copied, or its deflate block redone after another fragment
    exported = fields[Field.EXPORTED]
    sessions = exported.count(RECORD) + 1 if exported else 0
    result.exported += 1
    result.sessions_exported += sessions
    if dest.carry(entry, exported=True):
        return  # its feed_offers row is copied from the last run's, with its neighbours, in SQL
    dest.spool.add(
        "feed_offer",
        {
            "formation_reference": stored.reference,
            "fragment_sha256": fields[Field.FRAGMENT_SHA],
            "session_count": sessions,
        },
    )
