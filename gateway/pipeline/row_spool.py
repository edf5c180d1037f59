"""Rows an export will record, kept in a temporary file until the feed is written.

An export reads for a minute or more on large catalogues; if it wrote as it went, SQLite's
single write lock would be held all that time and staff could not even log in to the console.
Spooling keeps memory flat (rows go to disk in batches) and shrinks the write to one short
transaction at the end, which also makes the run's records all-or-nothing.
"""

from __future__ import annotations

import pickle
import tempfile
from collections.abc import Iterator
from typing import IO, Any

BATCH = 1000


class RowSpool:
    def __init__(self) -> None:
        self._file: IO[bytes] = tempfile.TemporaryFile(prefix="lheo-export-rows-")  # noqa: SIM115 - see close()
        self._pending: dict[str, list[dict[str, Any]]] = {}

    def add(self, kind: str, row: dict[str, Any]) -> None:
        rows = self._pending.setdefault(kind, [])
        rows.append(row)
        if len(rows) >= BATCH:
            self._spill(kind)

    def _spill(self, kind: str) -> None:
        rows = self._pending.pop(kind, [])
        if rows:
            pickle.dump((kind, rows), self._file, protocol=pickle.HIGHEST_PROTOCOL)

    def batches(self) -> Iterator[tuple[str, list[dict[str, Any]]]]:
        """Every batch, in the order it was spooled (kinds interleaved)."""
        for kind in list(self._pending):
            self._spill(kind)
        self._file.flush()
        self._file.seek(0)
        while True:
            try:
                yield pickle.load(self._file)  # our own file, written just above: trusted
            except EOFError:
                return

    def close(self) -> None:
        self._file.close()
