"""Process offers in fixed-size chunks, in this process or in a pool of worker processes.

A chunk's work — decide, render, validate each offer, then deflate the chunk's bytes — depends
only on the chunk and the job, so chunks can run on every core while the main process writes
results in order. Chunk boundaries do not depend on the number of workers, so the feed and its
gzip are byte-identical whatever the parallelism.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

from gateway.config import LheoSettings, RulesSettings
from gateway.mapping.profiles import DestinationProfile
from gateway.outbox.feed_file import deflate_block
from gateway.pipeline.offer_decision import Approval, OfferDecision, Verdict, decide_safely, parse_stored
from gateway.rules.geography import Geography
from gateway.rules.store_checks import ExportedSessionDates
from gateway.store.queries import StoredOffer
from gateway.validation.fragment_validator import FragmentValidator

CHUNK_SIZE = 250


@dataclass(frozen=True)
class ExportJob:
    """What a worker needs to process chunks of one destination (small, sent with each chunk)."""

    profile: DestinationProfile
    lheo: LheoSettings
    schema_path: Path
    gzip_level: int
    today: date | None = None  # the export's date: campaign and certification validity are judged on it
    rules: RulesSettings | None = None  # the [rules] of this export (formateur approvals)


@dataclass(frozen=True)
class Chunk:
    offers: list[StoredOffer]
    history: Mapping[str, ExportedSessionDates]
    approvals: Mapping[str, Approval] = field(default_factory=dict)


@dataclass
class ChunkResult:
    decisions: list[OfferDecision]  # fragments left empty: their bytes are in `data`
    data: bytes  # the exported fragments, concatenated in order
    deflated: bytes  # `data` as raw deflate, sync-flushed: gzip members can be spliced


def process_chunk(job: ExportJob, chunk: Chunk, validator: FragmentValidator, geography: Geography) -> ChunkResult:
    decisions = []
    fragments = []
    for stored in chunk.offers:
        decision = decide_safely(
            stored,
            parse_stored(stored),
            job.profile,
            job.lheo,
            chunk.history,
            validator,
            geography,
            today=job.today,
            rules=job.rules,
            approvals=chunk.approvals,
        )
        if decision.verdict is Verdict.EXPORTED:
            fragments.append(decision.fragment)
            decision = replace(decision, fragment=b"")
        decisions.append(decision)
    data = b"".join(fragments)
    return ChunkResult(decisions, data, deflate_block(data, job.gzip_level))


class _WorkerValidators:
    """Per-process cache: a worker compiles each XSD once, not once per chunk."""

    cache: dict[Path, FragmentValidator] = {}  # noqa: RUF012 - process-local by design

    @classmethod
    def get(cls, schema_path: Path) -> FragmentValidator:
        if schema_path not in cls.cache:
            cls.cache[schema_path] = FragmentValidator(schema_path)
        return cls.cache[schema_path]


_PR_SET_PDEATHSIG = 1  # linux/prctl.h
_PARENT_POLL_SECONDS = 0.5


def _poll_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(_PARENT_POLL_SECONDS)
    os._exit(1)  # the export is gone (killed): rendering for nobody helps no one


def die_with_parent(parent: int) -> None:
    """Worker initializer: a killed export (even by SIGKILL) takes its workers with it.

    On Linux the kernel sends SIGKILL to the worker when the parent dies (PR_SET_PDEATHSIG);
    elsewhere, and as a fallback, a daemon thread notices the worker was re-parented.
    """
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)
    threading.Thread(target=_poll_parent, args=(parent,), name="watch-export", daemon=True).start()


def _process_in_worker(job: ExportJob, chunk: Chunk) -> ChunkResult:
    # The geography snapshot is loaded once per worker process, not sent with every chunk.
    return process_chunk(job, chunk, _WorkerValidators.get(job.schema_path), Geography.bundled())


class ChunkRunner:
    """Runs chunks inline (`workers <= 1`) or on a process pool, yielding results in order.

    At most `2 × workers` chunks are in flight, so memory stays bounded however many offers
    the store holds.
    """

    def __init__(self, workers: int, geography: Geography | None = None) -> None:
        self.workers = workers
        self.geography = geography or Geography.bundled()
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
            validator = self._validators.get(job.schema_path) or FragmentValidator(job.schema_path)
            self._validators[job.schema_path] = validator
            for chunk in chunks:
                yield chunk, process_chunk(job, chunk, validator, self.geography)
            return
        if self._pool is None:
            # spawn: workers start clean, without the parent's open database connections.
            self._pool = ProcessPoolExecutor(
                self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=die_with_parent,
                initargs=(os.getpid(),),
            )
        in_flight: deque[tuple[Chunk, Future[ChunkResult]]] = deque()
        for chunk in chunks:
            in_flight.append((chunk, self._pool.submit(_process_in_worker, job, chunk)))
            if len(in_flight) >= 2 * self.workers:
                done, future = in_flight.popleft()
                yield done, future.result()
        while in_flight:
            done, future = in_flight.popleft()
            yield done, future.result()
