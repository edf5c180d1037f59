"""Planning one pass of an export: what each offer of each page takes from the last export.

The store is read page by page (each page whole segments of the fragment index, `segments`);
for every destination, each segment is taken whole when it can be, else each offer reuses its
cached entry (`page_reuse`, `_reusable`) or is sent to the workers, parsed once for every
destination that needs it. `one_pass` then writes the pages in order as the workers answer.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.orm import Session

from gateway.pipeline.cache_keys import (
    OfferFacts,
    approval_signature,
    dated_signature,
    history_signature,
    problems_signature,
)
from gateway.pipeline.chunks import CHUNK_SIZE, Chunk
from gateway.pipeline.destination_pass import DestinationPass
from gateway.pipeline.fragment_index import BLOCKED, Entry, Field
from gateway.pipeline.offer_decision import Approval, Verdict
from gateway.pipeline.page_reuse import quick_entries
from gateway.pipeline.segment_header import Block, segment_bounds
from gateway.pipeline.segments import inputs_digest
from gateway.rules.store_checks import ExportedSessionDates
from gateway.store.approvals import approvals_between
from gateway.store.queries import StoredOffer, exportable_pages, payloads_of, session_history

_EXPORTED = Verdict.EXPORTED.value


@dataclass
class Plan:
    """A page of the store (whole segments) and, per destination, what each offer reuses: a cached
    entry, None (to decide), or `BLOCKED` inside a segment taken whole (`blocks`, by its start)."""

    page: list[StoredOffer]
    bounds: list[tuple[int, int]]  # its segments
    history: dict[str, ExportedSessionDates]
    approvals: dict[str, dict[str, Approval]]
    reuse: dict[str, list[Entry | None]]
    problems: list[str]  # problems_signature of each offer
    quick: dict[str, list[bool]]  # per destination, the entries taken as they are (`page_reuse`)
    blocks: dict[str, dict[int, Block]]
    to_decide: list[int]  # the offers sent to the workers, in the order their results come back
    # First exports this page records (any destination): with `history`, what the store will say
    # once the run is recorded, which the new index's segment digests are computed from.
    recorded: dict[str, ExportedSessionDates] = field(default_factory=dict)


def _whole_segments(db: Session) -> Iterator[tuple[list[StoredOffer], list[tuple[int, int]]]]:
    """The store's pages, cut so that each holds whole segments (the rest goes with the next)."""
    tail: list[StoredOffer] = []
    for page in exportable_pages(db, CHUNK_SIZE, payloads=False):
        offers = tail + page
        bounds, start = segment_bounds(offers)
        tail = offers[start:]
        if bounds:
            yield offers[:start], bounds
    if tail:
        yield tail, [(0, len(tail))]


def _blockable(dest: DestinationPass) -> bool:
    cache = dest.cache_in
    return (
        dest.live
        and dest.on_offer is None
        and dest.spool is not None
        and dest.writer is not None
        and cache is not None
        and cache.usable
        and dest.carry_from is not None
    )


def _whole_segment(
    dest: DestinationPass,
    page: list[StoredOffer],
    start: int,
    end: int,
    digest: str,
    approvals: dict[str, Approval],
    today: date,
) -> Block | None:
    """The last export's segment for page[start:end], if it can be taken whole (`segments`)."""
    assert dest.cache_in is not None
    header = dest.cache_in.peek_segment()
    if header is None or not header.sealed or header.count != end - start or header.digest != digest:
        return None
    if header.first_reference != page[start].reference or header.last_reference != page[end - 1].reference:
        return None
    if header.exported and (header.first_dictionary != dest.planned_sha or dest.cache_in.xml_fd is None):
        return None  # another fragment comes before it now (its first deflate block is redone), or no feed
    if approvals and any(page[i].reference in approvals for i in range(start, end)):
        return None
    if not header.reads_the_same(dest.profile, today):
        return None
    return dest.cache_in.take_segment()


def plan_pages(db: Session, passes: list[DestinationPass], today: date, plans: deque[Plan]) -> Iterator[Chunk]:
    last_planned: dict[str, Entry | Block | int | None] = {}  # per destination, the last exported fragment planned
    for page, bounds in _whole_segments(db):
        references = [stored.reference for stored in page]
        history = session_history(db, (ref for stored in page for ref in stored.session_references))
        approvals = approvals_between(db, (p.name for p in passes), references[0], references[-1])
        problems = [problems_signature(stored) for stored in page]
        digests = (
            [inputs_digest(page[a:b], problems[a:b], history) for a, b in bounds]
            if any(_blockable(d) for d in passes)
            else []
        )
        reuse: dict[str, list[Entry | None]] = {}
        quick: dict[str, list[bool]] = {}
        blocks: dict[str, dict[int, Block]] = {}
        facts_of: dict[tuple[str, str], tuple[OfferFacts | None, str]] = {}  # once per offer, not per destination
        own: dict[tuple[str, str, bool], bool] = {}  # likewise (`quick_entries`)
        for dest in passes:
            rows: list[Entry | None] = [None] * len(page)
            fast = [False] * len(page)
            taken: dict[int, Block] = {}
            cache = dest.cache_in
            if cache is not None and dest.live:
                whole = _blockable(dest)
                offer_approvals = approvals[dest.name]
                for k, (a, b) in enumerate(bounds):
                    block = _whole_segment(dest, page, a, b, digests[k], offer_approvals, today) if whole else None
                    if block is not None:
                        taken[a] = block
                        rows[a:b] = [BLOCKED] * (b - a)
                        if block.header.exported:
                            dest.planned_sha = block.header.last_sha
                        continue
                    found = cache.find_all(references[a:b])
                    taken_quickly = quick_entries(
                        dest, page[a:b], found, problems[a:b], history, offer_approvals, today, own
                    )
                    for i in range(a, b):
                        entry = found[i - a]
                        if taken_quickly[i - a]:
                            fast[i] = True
                        else:
                            entry = _reusable(
                                dest, page[i], entry, problems[i], history, offer_approvals, today, facts_of
                            )
                        rows[i] = entry
                        if entry is None:
                            dest.planned_sha = None  # a fresh fragment: its digest is not known yet
                        elif entry.fields[Field.VERDICT] == _EXPORTED:
                            dest.planned_sha = entry.fields[Field.FRAGMENT_SHA]
            reuse[dest.name], quick[dest.name], blocks[dest.name] = rows, fast, taken
        live = [d for d in passes if d.live]
        to_decide = sorted({i for d in live for i, entry in enumerate(reuse[d.name]) if entry is None})
        wanted = {i: tuple(d.name for d in live if reuse[d.name][i] is None) for i in to_decide}
        payloads = payloads_of(db, (page[i].reference for i in to_decide)) if to_decide else {}
        offers = [_with_payload(page[i], payloads) for i in to_decide]
        plans.append(Plan(page, bounds, history, approvals, reuse, problems, quick, blocks, to_decide))
        before, after = _neighbours(passes, reuse, blocks, to_decide, last_planned) if to_decide else ({}, {})
        if not to_decide:
            _carry_last(passes, reuse, blocks, last_planned)
        yield Chunk(offers, [wanted[i] for i in to_decide], history, approvals, before, after)


_FRESH = -1  # in `last_planned`: the last fragment planned is a fresh one (its bytes come from a worker)


def _neighbours(
    passes: list[DestinationPass],
    reuse: dict[str, list[Entry | None]],
    blocks: dict[str, dict[int, Block]],
    to_decide: list[int],
    last_planned: dict[str, Entry | Block | int | None],
) -> tuple[dict[tuple[int, str], tuple[str, bytes]], dict[tuple[int, str], tuple[str, bytes]]]:
    """The reused fragments right before and after each offer to decide, per destination, so the
    worker deflates them against their new neighbours (else the main process would)."""
    before: dict[tuple[int, str], tuple[str, bytes]] = {}
    after: dict[tuple[int, str], tuple[str, bytes]] = {}
    position_of = {index: position for position, index in enumerate(to_decide)}
    for dest in passes:
        if not dest.live or dest.cache_in is None or dest.cache_in.xml_fd is None or dest.writer is None:
            continue
        last = last_planned.get(dest.name)
        fresh_at = -1  # chunk position of the fresh offer planned last, while nothing reused came after it
        taken = blocks[dest.name]
        for index, entry in enumerate(reuse[dest.name]):
            block = taken.get(index)
            if block is not None:
                if block.header.exported:  # never right after a fresh one (`_whole_segment`)
                    last, fresh_at = block, -1
                continue
            if entry is None:
                if index in position_of:
                    position = position_of[index]
                    if isinstance(last, Entry):
                        before[position, dest.name] = (last.fields[Field.FRAGMENT_SHA], dest.read_old(last, 32768))
                    elif isinstance(last, Block):
                        before[position, dest.name] = (last.header.last_sha, dest.read_last_of(last, 32768))
                    last, fresh_at = _FRESH, position
                continue
            if entry.fields[Field.VERDICT] != _EXPORTED:
                continue
            if fresh_at >= 0:
                after[fresh_at, dest.name] = (entry.fields[Field.FRAGMENT_SHA], dest.read_old(entry))
            last, fresh_at = entry, -1
        last_planned[dest.name] = last
    return before, after


def _carry_last(
    passes: list[DestinationPass],
    reuse: dict[str, list[Entry | None]],
    blocks: dict[str, dict[int, Block]],
    last_planned: dict[str, Entry | Block | int | None],
) -> None:
    for dest in passes:
        rows = reuse[dest.name]
        for index in range(len(rows) - 1, -1, -1):
            entry = rows[index]
            if entry is BLOCKED:
                block = blocks[dest.name].get(index)
                if block is not None and block.header.exported:
                    last_planned[dest.name] = block
                    break
                continue
            if entry is not None and entry.fields[Field.VERDICT] == _EXPORTED:
                last_planned[dest.name] = entry
                break


def _with_payload(stored: StoredOffer, payloads: dict[str, str]) -> StoredOffer:
    return StoredOffer(
        stored.reference,
        payloads.get(stored.reference, ""),
        stored.accepted,
        stored.problems,
        stored.session_references,
        stored.payload_sha256,
    )


def _reusable(
    dest: DestinationPass,
    stored: StoredOffer,
    entry: Entry | None,
    problems: str,
    history: dict[str, ExportedSessionDates],
    approvals: dict[str, Approval],
    today: date,
    facts_of: dict[tuple[str, str], tuple[OfferFacts | None, str]],
) -> Entry | None:
    if entry is None or dest.cache_in is None or not dest.live:
        return None
    fields = entry.fields
    if fields[Field.PAYLOAD] != stored.payload_sha256 or fields[Field.PROBLEMS] != problems:
        return None
    if fields[Field.VERDICT] == _EXPORTED and dest.cache_in.xml_fd is None:
        return None  # its bytes are in no feed any more
    packed = fields[Field.FACTS]
    known = facts_of.get((stored.reference, packed))
    if known is None:
        try:
            facts = OfferFacts.unpack(packed)
        except ValueError:  # a damaged index line: that offer is rebuilt
            facts = None
        telling = history_signature(stored.reference, facts, history) if facts is not None else ""
        known = facts_of[stored.reference, packed] = (facts, telling)
    facts, telling = known
    if facts is None or fields[Field.HISTORY] != telling:
        return None
    if fields[Field.APPROVAL] != approval_signature(approvals.get(stored.reference)):
        return None
    if fields[Field.DATED] != dated_signature(dest.profile, facts, today):
        return None
    return entry
