"""One pass over the store for every destination of an export.

Each page of validated offers is read once (without payloads). For every destination, an
offer whose index line (`fragment_index`) still matches — same payload, same stored problems,
same telling session history, same approval, same reading of the export date, in a context
(code, schema, profile, settings) that did not change — reuses the last export's decision and
bytes. The others are parsed once and decided for all the destinations that need them, in
worker processes (`chunks`). Each feed is written in store order and each fragment's deflate
block refers back to the fragment before it, whichever way it was obtained, so a warm run
gives the same bytes as a cold one.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy.orm import Session

from gateway.config import GatewayConfig
from gateway.pipeline.cache_keys import (
    OfferFacts,
    approval_signature,
    dated_signature,
    history_signature,
    pack_sessions,
    problems_signature,
    unpack_sessions,
)
from gateway.pipeline.chunks import CHUNK_SIZE, Chunk, ChunkResult, ChunkRunner, ExportJob, OfferResult
from gateway.pipeline.destination_pass import DestinationPass
from gateway.pipeline.fragment_index import BLOCKED, Entry, Field, entry_line
from gateway.pipeline.offer_decision import Approval, OfferDecision, Verdict
from gateway.pipeline.page_reuse import quick_entries, take_quick
from gateway.pipeline.recording import count, spool_decision
from gateway.pipeline.segment_header import Block, segment_bounds
from gateway.pipeline.segments import inputs_digest, write_segments
from gateway.problems import Problem
from gateway.rules.store_checks import ExportedSessionDates
from gateway.store.approvals import approvals_between
from gateway.store.database import Database
from gateway.store.queries import StoredOffer, exportable_pages, payloads_of, session_history

_EXPORTED = Verdict.EXPORTED.value
_OUT = Verdict.OUT_OF_PERIMETER.value


@dataclass
class _Plan:
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


def run_pass(
    database: Database,
    passes: list[DestinationPass],
    config: GatewayConfig,
    runner: ChunkRunner,
    today: date,
    started_at: datetime,
) -> None:
    job = ExportJob(
        {p.name: p.profile for p in passes},
        config.lheo,
        config.validation.schema_path,
        config.outbox.gzip_level,
        today=today,
        rules=config.rules,
    )
    plans: deque[_Plan] = deque()
    with database.session() as reader:
        chunks = _chunks(reader, passes, today, plans)
        for _chunk, outcome in runner.run(job, chunks):
            _write_page(plans.popleft(), outcome, passes, today, started_at)


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


def _chunks(db: Session, passes: list[DestinationPass], today: date, plans: deque[_Plan]) -> Iterator[Chunk]:
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
        plans.append(_Plan(page, bounds, history, approvals, reuse, problems, quick, blocks, to_decide))
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


def take_block(dest: DestinationPass, block: Block, start: int, end: int) -> None:
    dest.take_block(block, start, end)


def _write_page(
    plan: _Plan, outcome: ChunkResult, passes: list[DestinationPass], today: date, started_at: datetime
) -> None:
    fresh_of: list[OfferResult | None] = [None] * len(plan.page)
    for index, fresh in zip(plan.to_decide, outcome.offers, strict=True):
        fresh_of[index] = fresh
    # Destination by destination (each has its own feed, index and spool): the inner loop, run
    # for every offer × destination of a nightly run, stays free of per-destination look-ups.
    for dest in passes:
        if not dest.live:
            continue
        reuse, quick, blocks = plan.reuse[dest.name], plan.quick[dest.name], plan.blocks[dest.name]
        indexed = dest.cache_out is not None
        try:
            for start, end in plan.bounds:
                block = blocks.get(start)
                if block is not None:
                    take_block(dest, block, start, end)
                    continue
                for index in range(start, end):
                    stored, entry = plan.page[index], reuse[index]
                    if entry is None:
                        decided = fresh_of[index]
                        assert decided is not None
                        _take_fresh(dest, stored, decided, outcome, plan, index, today, started_at)
                    elif quick[index]:
                        take_quick(dest, stored, entry)
                    else:
                        _take_cached(dest, stored, entry, plan, started_at)
                if indexed:
                    dest.end_segment(start, end)
        except OSError as exc:
            dest.fail(exc)
    # Every destination has taken the page: the first exports it records are all known.
    expected = plan.history | {k: v for k, v in plan.recorded.items() if k not in plan.history}
    for dest in passes:
        if dest.live and dest.cache_out is not None:
            try:
                write_segments(dest, plan.page, plan.problems, expected)
            except OSError as exc:
                dest.fail(exc)


def _take_cached(dest: DestinationPass, stored: StoredOffer, entry: Entry, plan: _Plan, started_at: datetime) -> None:
    """The common case of a warm run, kept lean: no decision object unless one is needed."""
    fields = entry.fields
    verdict = fields[Field.VERDICT]
    result = dest.result
    result.reused += 1
    line = entry.line
    if verdict == _EXPORTED and dest.writer is not None:
        line = dest.reuse(entry)
    if dest.cache_out is not None:
        dest.index_line(line)
    quiet = dest.on_offer is None and dest.spool is not None
    if quiet and verdict == _OUT:  # its reasons are only shown by dry runs, which never reuse
        result.considered += 1
        result.out_of_perimeter += 1
        return
    if quiet and verdict == _EXPORTED and not fields[Field.DETAILS]:
        assert dest.spool is not None
        sessions = unpack_sessions(fields[Field.EXPORTED])
        result.considered += 1
        result.exported += 1
        result.sessions_exported += len(sessions)
        dest.spool.add(
            "feed_offer",
            {
                "formation_reference": stored.reference,
                "fragment_sha256": fields[Field.FRAGMENT_SHA],
                "session_count": len(sessions),
            },
        )
        for reference, start, end in sessions:
            if reference not in plan.history:  # recorded by a run that failed since: record it now
                plan.recorded.setdefault(reference, ExportedSessionDates(stored.reference, start, end))
                dest.spool.add(
                    "first_export",
                    {
                        "session_reference": reference,
                        "formation_reference": stored.reference,
                        "start": start,
                        "end": end,
                        "first_exported_at": started_at,
                    },
                )
        return
    _account(dest, _cached_decision(fields), plan, started_at)


def _cached_decision(fields: list[str]) -> OfferDecision:
    details = json.loads(fields[Field.DETAILS]) if fields[Field.DETAILS] else {}
    return OfferDecision(
        fields[Field.REFERENCE],
        Verdict(fields[Field.VERDICT]),
        reasons=list(details.get("reasons", [])),
        problems=[Problem.model_validate(p) for p in details.get("problems", [])],
        fragment_sha256=fields[Field.FRAGMENT_SHA],
        exported_sessions=unpack_sessions(fields[Field.EXPORTED]),
        trace=list(details.get("trace", [])),
        payload_sha256=fields[Field.PAYLOAD],
    )


def _take_fresh(
    dest: DestinationPass,
    stored: StoredOffer,
    fresh: OfferResult,
    outcome: ChunkResult,
    plan: _Plan,
    index: int,
    today: date,
    started_at: datetime,
) -> None:
    decision, blob_index = fresh.decisions[dest.name]
    dest.result.rebuilt += 1
    lengths, dictionary = (0, 0), ""
    if decision.verdict is Verdict.EXPORTED and dest.writer is not None:
        blob = outcome.blobs[blob_index]
        dictionary = dest.last_sha
        lengths = dest.append(blob.data, blob.sha256, blob)
        follower = fresh.followers.get(dest.name)
        if follower is not None:
            dest.follower = outcome.blobs[follower]
    if dest.cache_out is not None:
        facts = fresh.facts
        fields = [
            stored.reference,
            stored.payload_sha256,
            plan.problems[index],
            history_signature(stored.reference, facts, plan.history),
            approval_signature(plan.approvals[dest.name].get(stored.reference)),
            dated_signature(dest.profile, facts, today),
            decision.verdict.value,
            str(lengths[0]),
            str(lengths[1]),
            decision.fragment_sha256,
            dictionary,
            facts.pack(),
            pack_sessions(decision.exported_sessions),
            _details(decision),
        ]
        dest.index_line(entry_line(fields))
    _account(dest, decision, plan, started_at)


def _details(decision: OfferDecision) -> str:
    exported = decision.verdict is Verdict.EXPORTED
    if not (decision.reasons or decision.problems or (decision.trace and not exported)):
        return ""
    details = {
        "reasons": decision.reasons,
        "problems": [p.model_dump(mode="json") for p in decision.problems],
        "trace": [] if exported else decision.trace,
    }
    return json.dumps(details, ensure_ascii=False, separators=(",", ":"))


def _account(dest: DestinationPass, decision: OfferDecision, plan: _Plan, started_at: datetime) -> None:
    count(dest.result, decision, dry_run=dest.writer is None)
    if dest.on_offer is not None:
        dest.on_offer(decision)
    if dest.spool is not None:
        spool_decision(dest.spool, dest.name, decision, plan.history, started_at, plan.recorded)
