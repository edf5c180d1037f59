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

import contextlib
import json
import os
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy.orm import Session

from gateway.config import GatewayConfig
from gateway.faults import os_reason
from gateway.lheo.document import DOCUMENT_TAIL, document_head
from gateway.mapping.profiles import DestinationProfile
from gateway.outbox.feed_file import FeedFileWriter, deflate_block
from gateway.pipeline.cache_keys import (
    OfferFacts,
    approval_signature,
    dated_signature,
    history_signature,
    pack_sessions,
    problems_signature,
    unpack_sessions,
)
from gateway.pipeline.chunks import CHUNK_SIZE, Blob, Chunk, ChunkResult, ChunkRunner, ExportJob, OfferResult
from gateway.pipeline.fragment_index import Entry, Field, IndexReader, IndexWriter, entry_line
from gateway.pipeline.offer_decision import Approval, OfferDecision, Verdict
from gateway.pipeline.recording import DestinationResult, count, spool_decision
from gateway.pipeline.row_spool import RowSpool
from gateway.problems import Problem
from gateway.rules.store_checks import ExportedSessionDates
from gateway.store.approvals import approvals_for
from gateway.store.database import Database
from gateway.store.queries import StoredOffer, exportable_pages, payloads_of, session_history

_EXPORTED = Verdict.EXPORTED.value
_OUT = Verdict.OUT_OF_PERIMETER.value


def failure_note(exc: OSError) -> str:
    return f"export impossible : {os_reason(exc)} — aucun flux écrit, rien d'enregistré"


@dataclass
class DestinationPass:
    """One destination's share of the pass: its feed writer, spool and caches (none for a dry run)."""

    profile: DestinationProfile
    context: str
    result: DestinationResult
    writer: FeedFileWriter | None = None
    spool: RowSpool | None = None
    cache_in: IndexReader | None = None
    cache_out: IndexWriter | None = None
    on_offer: Callable[[OfferDecision], None] | None = None
    starts: tuple[int, int] = (0, 0)  # where the first fragment goes in the .xml and the .xml.gz
    _copy: list[int] = field(default_factory=lambda: [0, 0, 0, 0])  # spans of the old feed not yet copied
    last_sha: str = ""  # the fragment written last, which the next deflate block refers back to
    _last_data: bytes | None = None
    _last_span: tuple[int, int] = (0, 0)  # …or where it is in the old feed

    @property
    def name(self) -> str:
        return self.profile.name

    @property
    def live(self) -> bool:
        return not self.result.error

    def fail(self, exc: OSError) -> None:
        """A disk fault fails this destination alone; the pass goes on for the others."""
        self.result.error = self.result.note = failure_note(exc)
        self.close()

    def start(self, exported_at: datetime) -> None:
        if self.writer is not None:
            self.writer.write(document_head(exported_at))
            self.starts = self.writer.positions

    def _previous(self) -> bytes:
        if self._last_data is None and self._last_span[1] and self.cache_in is not None:
            assert self.cache_in.xml_fd is not None
            self._last_data = os.pread(self.cache_in.xml_fd, self._last_span[1], self._last_span[0])
        return self._last_data or b""

    def copy(self, entry: Entry) -> bool:
        """Reuse a cached fragment's bytes; False if its deflate block must be redone (another fragment before it)."""
        fields = entry.fields
        if fields[Field.DICTIONARY] != self.last_sha:
            return False
        (xml_offset, xml_length), (gz_offset, gz_length) = entry.xml_span, entry.gz_span
        pending = self._copy
        # Consecutive reused fragments sit side by side in the old feed: copied at once.
        if pending[1] and pending[0] + pending[1] == xml_offset and pending[2] + pending[3] == gz_offset:
            pending[1] += xml_length
            pending[3] += gz_length
        else:
            self.flush_copies()
            pending[:] = [xml_offset, xml_length, gz_offset, gz_length]
        self.last_sha, self._last_data, self._last_span = fields[Field.FRAGMENT_SHA], None, (xml_offset, xml_length)
        return True

    def append(self, data: bytes, sha: str, blob: Blob | None = None) -> tuple[int, int]:
        """Write a fragment (new, or reused with another one before it); returns (xml, gz) lengths."""
        assert self.writer is not None
        self.flush_copies()
        if blob is not None and blob.dictionary_sha256 == self.last_sha:
            deflated = blob.deflated
        else:
            deflated = deflate_block(data, self.profile_gzip_level, self._previous())
        self.writer.write_block(data, deflated)
        self.last_sha, self._last_data, self._last_span = sha, data, (0, 0)
        return len(data), len(deflated)

    @property
    def profile_gzip_level(self) -> int:
        assert self.writer is not None
        return self.writer.gzip_level

    def read_old(self, entry: Entry) -> bytes:
        assert self.cache_in is not None and self.cache_in.xml_fd is not None
        offset, length = entry.xml_span
        return os.pread(self.cache_in.xml_fd, length, offset)

    def flush_copies(self) -> None:
        xml_offset, xml_length, gz_offset, gz_length = self._copy
        if xml_length and self.writer is not None and self.cache_in is not None:
            assert self.cache_in.xml_fd is not None and self.cache_in.gz_fd is not None
            self.writer.copy_from(
                self.cache_in.xml_fd, (xml_offset, xml_length), self.cache_in.gz_fd, (gz_offset, gz_length)
            )
        self._copy[:] = [0, 0, 0, 0]

    def finish_bytes(self) -> None:
        self.flush_copies()
        if self.writer is not None and self.result.exported:
            self.writer.write(DOCUMENT_TAIL)

    def close(self) -> None:
        """Release everything; what was not committed (a failure, an interruption) is removed."""
        if self.cache_in is not None:
            self.cache_in.close()
        if self.writer is not None:
            self.writer.abort()  # after a commit: nothing left to remove
        if self.cache_out is not None:
            self.cache_out.abort()
        if self.spool is not None:
            self.spool.close()


@dataclass
class _Plan:
    """A page of the store and, per destination, the cached entry each offer reuses (None: to decide)."""

    page: list[StoredOffer]
    history: dict[str, ExportedSessionDates]
    approvals: dict[str, dict[str, Approval]]
    reuse: dict[str, list[Entry | None]]
    problems: list[str]  # problems_signature of each offer


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


def _chunks(db: Session, passes: list[DestinationPass], today: date, plans: deque[_Plan]) -> Iterator[Chunk]:
    for page in exportable_pages(db, CHUNK_SIZE, payloads=False):
        references = [stored.reference for stored in page]
        history = session_history(db, (ref for stored in page for ref in stored.session_references))
        approvals = {p.name: approvals_for(db, p.name, references) for p in passes}
        problems = [problems_signature(stored) for stored in page]
        reuse: dict[str, list[Entry | None]] = {p.name: [] for p in passes}
        for index, stored in enumerate(page):
            facts_of: dict[str, tuple[OfferFacts | None, str]] = {}  # packed facts -> (facts, history signature)
            for dest in passes:
                reuse[dest.name].append(
                    _reusable(dest, stored, problems[index], history, approvals[dest.name], today, facts_of)
                )
        wanted = [tuple(d.name for d in passes if d.live and reuse[d.name][i] is None) for i in range(len(page))]
        to_decide = [i for i, names in enumerate(wanted) if names]
        payloads = payloads_of(db, (page[i].reference for i in to_decide)) if to_decide else {}
        offers = [_with_payload(page[i], payloads) for i in to_decide]
        plans.append(_Plan(page, history, approvals, reuse, problems))
        yield Chunk(offers, [wanted[i] for i in to_decide], history, approvals)


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
    problems: str,
    history: dict[str, ExportedSessionDates],
    approvals: dict[str, Approval],
    today: date,
    facts_of: dict[str, tuple[OfferFacts | None, str]],
) -> Entry | None:
    if dest.cache_in is None or not dest.live:
        return None
    entry = dest.cache_in.find(stored.reference)
    if entry is None:
        return None
    fields = entry.fields
    if fields[Field.PAYLOAD] != stored.payload_sha256 or fields[Field.PROBLEMS] != problems:
        return None
    if fields[Field.VERDICT] == _EXPORTED and dest.cache_in.xml_fd is None:
        return None  # its bytes are in no feed any more
    packed = fields[Field.FACTS]
    known = facts_of.get(packed)
    if known is None:  # once per offer, not per destination
        facts = OfferFacts.unpack(packed)
        telling = history_signature(stored.reference, facts, history) if facts is not None else ""
        known = facts_of[packed] = (facts, telling)
    facts, telling = known
    if facts is None or fields[Field.HISTORY] != telling:
        return None
    if fields[Field.APPROVAL] != approval_signature(approvals.get(stored.reference)):
        return None
    if fields[Field.DATED] != dated_signature(dest.profile, facts, today):
        return None
    return entry


def _write_page(
    plan: _Plan, outcome: ChunkResult, passes: list[DestinationPass], today: date, started_at: datetime
) -> None:
    decided: Iterator[OfferResult] = iter(outcome.offers)
    for index, stored in enumerate(plan.page):
        fresh: OfferResult | None = None
        if any(d.live and plan.reuse[d.name][index] is None for d in passes):
            fresh = next(decided)
        for dest in passes:
            if not dest.live:
                continue
            entry = plan.reuse[dest.name][index]
            try:
                if entry is not None:
                    _take_cached(dest, stored, entry, plan, started_at)
                else:
                    assert fresh is not None
                    _take_fresh(dest, stored, fresh, outcome, plan, index, today, started_at)
            except OSError as exc:
                dest.fail(exc)


def _take_cached(dest: DestinationPass, stored: StoredOffer, entry: Entry, plan: _Plan, started_at: datetime) -> None:
    """The common case of a warm run, kept lean: no decision object unless one is needed."""
    fields = entry.fields
    verdict = fields[Field.VERDICT]
    result = dest.result
    result.reused += 1
    line = entry.line
    if verdict == _EXPORTED and dest.writer is not None and not dest.copy(entry):
        # Reused fragment, but another one before it now: only its deflate block is redone.
        fields = list(fields)
        fields[Field.DICTIONARY] = dest.last_sha
        xml_length, gz_length = dest.append(dest.read_old(entry), fields[Field.FRAGMENT_SHA])
        fields[Field.XML_LENGTH], fields[Field.GZ_LENGTH] = str(xml_length), str(gz_length)
        line = entry_line(fields)
    if dest.cache_out is not None:
        dest.cache_out.write(line)
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
        dest.cache_out.write(entry_line(fields))
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
        spool_decision(dest.spool, dest.name, decision, plan.history, started_at)


def close_all(passes: list[DestinationPass]) -> None:
    for dest in passes:
        with contextlib.suppress(OSError):
            dest.close()
