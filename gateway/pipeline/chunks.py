"""Process offers in fixed-size chunks, in this process or in a pool of worker processes.

A chunk's work — parse each offer once, then decide, render, validate and deflate it for every
destination that needs it — depends only on the chunk and the job, so chunks can run on every
core while the main process writes results in order. Each fragment is deflated on its own, so
the feed and its gzip are byte-identical whatever the parallelism or the cache reuses.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

from gateway.config import LheoSettings, RulesSettings
from gateway.mapping.profiles import DestinationProfile
from gateway.outbox.feed_file import deflate_block
from gateway.pipeline.cache_keys import OfferFacts
from gateway.pipeline.offer_decision import Approval, OfferDecision, Verdict, decide_safely, parse_stored
from gateway.rules.geography import Geography
from gateway.rules.store_checks import ExportedSessionDates
from gateway.store.queries import StoredOffer
from gateway.validation.fragment_validator import FragmentValidator, SchemaViolation
from gateway.worker_pool import start_pool

CHUNK_SIZE = 250
MAX_AHEAD = 8  # chunks in flight at most, however light (each holds a page of index entries)


@dataclass(frozen=True)
class ExportJob:
    """What a worker needs to decide offers for the destinations of one export (small, sent with each chunk)."""

    profiles: Mapping[str, DestinationProfile]
    lheo: LheoSettings
    schema_path: Path
    gzip_level: int
    today: date | None = None  # the export's date: campaign and certification validity are judged on it
    rules: RulesSettings | None = None  # the [rules] of this export (formateur approvals)


@dataclass(frozen=True)
class Chunk:
    """Offers to decide, and for each the destinations that need a decision (the others reuse theirs)."""

    offers: list[StoredOffer]
    wanted: list[tuple[str, ...]]
    history: Mapping[str, ExportedSessionDates]
    approvals: Mapping[str, Mapping[str, Approval]] = field(default_factory=dict)  # by destination
    # Warm runs: the reused fragments around a changed offer, (offer's index, destination) ->
    # (sha256, bytes). `before`: the one it follows (its deflate dictionary); `after`: the one
    # that follows it, deflated here again with the new fragment as dictionary.
    before: Mapping[tuple[int, str], tuple[str, bytes]] = field(default_factory=dict)
    after: Mapping[tuple[int, str], tuple[str, bytes]] = field(default_factory=dict)


@dataclass
class OfferResult:
    facts: OfferFacts
    # destination -> (decision with its fragment left empty, index of its bytes in `blobs` or -1)
    decisions: dict[str, tuple[OfferDecision, int]]
    followers: dict[str, int] = field(default_factory=dict)  # destination -> blob of `Chunk.after`


@dataclass(frozen=True)
class Blob:
    """A fragment and its raw deflate block, compressed with the fragment before it as dictionary."""

    data: bytes
    sha256: str
    deflated: bytes
    dictionary_sha256: str  # "" when compressed without (the first fragment a worker saw)


@dataclass
class ChunkResult:
    offers: list[OfferResult]
    # One per distinct (fragment, dictionary): destinations that render the same bytes after
    # the same fragment share one validation, one compression and one transfer.
    blobs: list[Blob]


class _OfferMemo:
    """Validation results of one offer's fragments: destinations that render the same bytes share them."""

    def __init__(self, validator: FragmentValidator) -> None:
        self.validator = validator
        self.seen: dict[bytes, list[SchemaViolation]] = {}

    def violations_in(self, document: bytes) -> list[SchemaViolation]:
        found = self.seen.get(document)
        if found is None:
            found = self.seen[document] = self.validator.violations_in(document)
        return found


def process_chunk(job: ExportJob, chunk: Chunk, validator: FragmentValidator, geography: Geography) -> ChunkResult:
    results = []
    blobs: list[Blob] = []
    blob_of: dict[tuple[str, str], int] = {}
    previous: dict[str, Blob] = {}  # per destination, the last fragment exported in this chunk
    for position, (stored, wanted) in enumerate(zip(chunk.offers, chunk.wanted, strict=True)):
        offer = parse_stored(stored)  # once for every destination
        memo = _OfferMemo(validator)
        decisions: dict[str, tuple[OfferDecision, int]] = {}
        followers: dict[str, int] = {}
        for name in wanted:
            decision = decide_safely(
                stored,
                offer,
                job.profiles[name],
                job.lheo,
                chunk.history,
                memo,
                geography,
                today=job.today,
                rules=job.rules,
                approvals=chunk.approvals.get(name, {}),
            )
            index = -1
            if decision.verdict is Verdict.EXPORTED:
                before = previous.get(name)
                dictionary_sha, dictionary = (before.sha256, before.data) if before is not None else ("", b"")
                dictionary_sha, dictionary = chunk.before.get((position, name), (dictionary_sha, dictionary))
                index = blob_of.get((decision.fragment_sha256, dictionary_sha), -1)
                if index < 0:
                    index = blob_of[(decision.fragment_sha256, dictionary_sha)] = len(blobs)
                    deflated = deflate_block(decision.fragment, job.gzip_level, dictionary)
                    blobs.append(Blob(decision.fragment, decision.fragment_sha256, deflated, dictionary_sha))
                previous[name] = blobs[index]
                follower = chunk.after.get((position, name))
                if follower is not None:
                    follower_sha, data = follower
                    followers[name] = len(blobs)
                    deflated = deflate_block(data, job.gzip_level, decision.fragment)
                    blobs.append(Blob(data, follower_sha, deflated, decision.fragment_sha256))
                decision = replace(decision, fragment=b"")
            decisions[name] = (decision, index)
        results.append(OfferResult(OfferFacts.of(offer), decisions, followers))
    return ChunkResult(results, blobs)


class _WorkerValidators:
    """Per-process cache: a worker compiles each XSD once, not once per chunk."""

    cache: dict[Path, FragmentValidator] = {}  # noqa: RUF012 - process-local by design

    @classmethod
    def get(cls, schema_path: Path) -> FragmentValidator:
        if schema_path not in cls.cache:
            cls.cache[schema_path] = FragmentValidator(schema_path)
        return cls.cache[schema_path]


def _process_in_worker(job: ExportJob, chunk: Chunk) -> ChunkResult:
    # The geography snapshot is loaded once per worker process, not sent with every chunk.
    return process_chunk(job, chunk, _WorkerValidators.get(job.schema_path), Geography.bundled())


class ChunkRunner:
    """Runs chunks inline (`workers <= 1`) or on a process pool, yielding results in order.

    At most `2 × workers` full chunks (and `MAX_AHEAD` chunks in all) are in flight, so memory
    stays bounded however many offers the store holds.
    """

    def __init__(self, workers: int, geography: Geography | None = None) -> None:
        self.workers = workers
        self._geography = geography  # loaded on first inline use: a warm run may never need it
        self._pool: ProcessPoolExecutor | None = None
        self._validators: dict[Path, FragmentValidator] = {}

    def __enter__(self) -> ChunkRunner:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def run(self, job: ExportJob, chunks: Iterable[Chunk]) -> Iterator[tuple[Chunk, ChunkResult]]:
        if self.workers <= 1:
            for chunk in chunks:
                if not chunk.offers:
                    yield chunk, ChunkResult([], [])
                    continue
                # Compiled and loaded on first use: a warm run may never need them.
                validator = self._validators.get(job.schema_path) or FragmentValidator(job.schema_path)
                self._validators[job.schema_path] = validator
                if self._geography is None:
                    self._geography = Geography.bundled()
                yield chunk, process_chunk(job, chunk, validator, self._geography)
            return
        if self._pool is None:
            self._pool = start_pool(self.workers)
        in_flight: deque[tuple[Chunk, Future[ChunkResult]]] = deque()
        offers_in_flight = 0
        for chunk in chunks:
            if chunk.offers:
                future = self._pool.submit(_process_in_worker, job, chunk)
            else:  # every destination reuses its cached entries: nothing to send
                future = Future()
                future.set_result(ChunkResult([], []))
            in_flight.append((chunk, future))
            offers_in_flight += len(chunk.offers)
            # Full chunks: 2 per worker. A warm run's chunks carry a few changed offers each:
            # more of them go ahead, so the main process is not idle while workers start.
            while len(in_flight) >= MAX_AHEAD or (
                len(in_flight) >= 2 * self.workers and offers_in_flight >= 2 * self.workers * CHUNK_SIZE // 4
            ):
                done, future = in_flight.popleft()
                offers_in_flight -= len(done.offers)
                yield done, future.result()
        while in_flight:
            done, future = in_flight.popleft()
            yield done, future.result()
