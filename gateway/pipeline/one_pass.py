"""One pass over the store for every destination of an export.

Each page of validated offers is read once (without payloads) and planned (`page_plan`): for
every destination, a segment of the last export's index whose inputs are all unchanged is taken
whole (`segments`); otherwise an offer whose index line (`fragment_index`) still matches — same
payload, same stored problems, same telling session history, same approval, same reading of the
export date, in a context (code, schema, profile, settings) that did not change — reuses the
last export's decision and bytes. The others are parsed once and decided for all the
destinations that need them, in worker processes (`chunks`). Each feed is written in store order
and each fragment's deflate block refers back to the fragment before it, whichever way it was
obtained, so a warm run gives the same bytes as a cold one.
"""

from __future__ import annotations

import json
from collections import deque
from datetime import date, datetime

from gateway.config import GatewayConfig
from gateway.pipeline.cache_keys import (
    approval_signature,
    dated_signature,
    history_signature,
    pack_sessions,
    unpack_sessions,
)
from gateway.pipeline.chunks import ChunkResult, ChunkRunner, ExportJob, OfferResult
from gateway.pipeline.destination_pass import DestinationPass
from gateway.pipeline.fragment_index import Entry, Field, entry_line
from gateway.pipeline.offer_decision import OfferDecision, Verdict
from gateway.pipeline.page_plan import Plan, plan_pages
from gateway.pipeline.page_reuse import take_quick
from gateway.pipeline.recording import count, spool_decision
from gateway.pipeline.segment_header import Block
from gateway.pipeline.segments import write_segments
from gateway.problems import Problem
from gateway.rules.store_checks import ExportedSessionDates
from gateway.store.database import Database
from gateway.store.queries import StoredOffer

_EXPORTED = Verdict.EXPORTED.value
_OUT = Verdict.OUT_OF_PERIMETER.value


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
    plans: deque[Plan] = deque()
    with database.session() as reader:
        chunks = plan_pages(reader, passes, today, plans)
        for _chunk, outcome in runner.run(job, chunks):
            _write_page(plans.popleft(), outcome, passes, today, started_at)


def take_block(dest: DestinationPass, block: Block, start: int, end: int) -> None:
    dest.take_block(block, start, end)


def _write_page(
    plan: Plan, outcome: ChunkResult, passes: list[DestinationPass], today: date, started_at: datetime
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


def _take_cached(dest: DestinationPass, stored: StoredOffer, entry: Entry, plan: Plan, started_at: datetime) -> None:
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
    plan: Plan,
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


def _account(dest: DestinationPass, decision: OfferDecision, plan: Plan, started_at: datetime) -> None:
    count(dest.result, decision, dry_run=dest.writer is None)
    if dest.on_offer is not None:
        dest.on_offer(decision)
    if dest.spool is not None:
        spool_decision(dest.spool, dest.name, decision, plan.history, started_at, plan.recorded)
