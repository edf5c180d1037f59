"""The records of one file, batch by batch and in file order: recalled, or prepared (maybe in workers).

Each batch is first looked up by digest (gateway.intake.recall); the records that cannot be
recalled are prepared — in this process for small files, else in a pool of worker processes
while the main process stores the batches before them. At most `2 × workers` batches are in
flight, so memory stays bounded whatever the size of the file.

The last recall conditions (no earlier record of the same reference in the file) can only be
checked when the batch's turn comes, after the batches before it were stored: a candidate that
fails them then is prepared on the spot, like any other record.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Container, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from gateway.config import RulesSettings
from gateway.intake.last_valid import rejected_digests
from gateway.intake.prepare import Prepared, prepare, prepare_lines
from gateway.intake.reader import RawLine, RawRecord
from gateway.intake.recall import RecordDigests, recallable
from gateway.store.intake_queries import StoredRow, rows_by_digest
from gateway.worker_pool import start_pool

# Starting a worker takes ~0.5 s (a fresh interpreter importing the gateway): below this size
# (≈ 1,500 offers) a file is prepared in this process.
PARALLEL_BYTES = 8 << 20

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recalled:
    """A record recognised as the one its offer row was computed from: the row stays as it is."""

    line: int
    row: StoredRow

    @property
    def reference(self) -> str:
        return self.row.reference


@dataclass
class _Batch:
    entries: list[RawRecord | RawLine]
    digests: dict[int, str]  # line -> digest, JSON Lines records only
    candidates: dict[int, StoredRow]  # line -> row it may be recalled as
    lines: list[tuple[RawLine, str]]  # the other JSON Lines records, with their digests
    prepared: Future[list[Prepared | None]]  # ... prepared, in order


def _prepare_in_worker(path: Path, rules: RulesSettings, lines: list[tuple[RawLine, str]]) -> list[Prepared | None]:
    return prepare_lines(path, rules, lines)


class RecordBatches:
    """Yields each batch of a file as prepared or recalled records, in file order."""

    def __init__(
        self, path: Path, rules: RulesSettings, digests: RecordDigests, *, recall: bool = True, workers: int = 1
    ) -> None:
        # recall=False: every record is parsed (digests are still stored, for the next import).
        self.path, self.rules, self.digests, self.recall, self.workers = path, rules, digests, recall, workers
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> RecordBatches:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._close_pool()

    def _close_pool(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def batches(
        self, db: Session, entries: Iterable[RawRecord | RawLine], seen: Container[str], *, size: int
    ) -> Iterator[list[Prepared | Recalled]]:
        """`seen`: references stored from earlier batches (read when each batch's turn comes)."""
        in_flight: deque[_Batch] = deque()
        for group in _groups(entries, size):
            in_flight.append(self._submit(db, group))
            if len(in_flight) > 2 * max(self.workers, 1) or self._pool is None:
                yield self._assemble(in_flight.popleft(), seen)
        while in_flight:
            yield self._assemble(in_flight.popleft(), seen)

    def _submit(self, db: Session, entries: list[RawRecord | RawLine]) -> _Batch:
        digests = {entry.line: self.digests.of(entry.raw) for entry in entries if isinstance(entry, RawLine)}
        stored = rows_by_digest(db, digests.values()) if digests and self.recall else {}
        candidates = {line: stored[digest] for line, digest in digests.items() if digest in stored}
        candidates = {line: row for line, row in candidates.items() if recallable(row)}
        if candidates:  # a kept rejected update is replaced by this record: not recalled
            kept = rejected_digests(db, {row.reference for row in candidates.values()})
            candidates = {line: row for line, row in candidates.items() if row.reference not in kept}
        lines = [(e, digests[e.line]) for e in entries if isinstance(e, RawLine) and e.line not in candidates]
        if self.workers > 1 and self._pool is None and lines:
            self._pool = start_pool(self.workers)
        future: Future[list[Prepared | None]] | None = None
        if self._pool is not None and lines:
            try:
                future = self._pool.submit(_prepare_in_worker, self.path, self.rules, lines)
            except BrokenProcessPool:
                self._lost_workers()
        if future is None:
            future = Future()
            try:
                future.set_result(prepare_lines(self.path, self.rules, lines))
            except Exception as exc:  # raised in file order, when the batch's turn comes
                future.set_exception(exc)
        return _Batch(entries, digests, candidates, lines, future)

    def _lost_workers(self) -> None:
        """A worker died (killed, out of memory): the rest of the file is prepared in this process."""
        log.warning("un processus de préparation de l'import s'est arrêté : la suite est préparée sans lui")
        self._close_pool()
        self.workers = 1

    def _prepared(self, batch: _Batch) -> list[Prepared | None]:
        try:
            return batch.prepared.result()
        except BrokenProcessPool:  # its work is done again here: nothing of the file is lost
            self._lost_workers()
            return prepare_lines(self.path, self.rules, batch.lines)

    def _assemble(self, batch: _Batch, seen: Container[str]) -> list[Prepared | Recalled]:
        prepared = iter(self._prepared(batch))
        out: list[Prepared | Recalled] = []
        earlier: set[str] = set()
        for entry in batch.entries:
            item: Prepared | Recalled | None
            if isinstance(entry, RawRecord):
                item = prepare(entry.line, entry.data, self.rules, surrogate_free=entry.surrogate_free)
            elif (row := batch.candidates.get(entry.line)) is None:
                item = next(prepared)
            elif row.reference in seen or row.reference in earlier:
                [item] = prepare_lines(self.path, self.rules, [(entry, batch.digests[entry.line])])
            else:
                item = Recalled(entry.line, row)
            if item is not None:
                out.append(item)
                if item.reference:
                    earlier.add(item.reference)
        return out


def _groups(entries: Iterable[RawRecord | RawLine], size: int) -> Iterator[list[RawRecord | RawLine]]:
    group: list[RawRecord | RawLine] = []
    for entry in entries:
        group.append(entry)
        if len(group) >= size:
            yield group
            group = []
    if group:
        yield group
