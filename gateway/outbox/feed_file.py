"""Write one feed into the outbox atomically: a `.xml` and its `.xml.gz`, named after their content.

Bytes go to temporary files in the destination's folder, are fsynced, then renamed to
`<UTC time>_<sha256 prefix>.xml(.gz)`: a reader (SFTP job, partner API) never sees a
half-written feed, and a crash leaves only `.tmp-*` files, which `sweep_temporaries` removes.
The gzip stream is compressed in a helper thread (zlib releases the GIL) so it overlaps
with rendering, and its header carries no time or name, so the same XML gives the same .gz.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import queue
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

SHA_PREFIX_LENGTH = 12
TEMP_PREFIX = ".tmp-"
_BUFFER = 1 << 20


@dataclass(frozen=True)
class WrittenFeed:
    stem: str
    path: Path
    gz_path: Path
    sha256: str
    gz_sha256: str
    size: int
    gz_size: int


def feed_stem(exported_at: datetime, sha256: str) -> str:
    return f"{exported_at.strftime('%Y%m%dT%H%M%SZ')}_{sha256[:SHA_PREFIX_LENGTH]}"


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _HashingFile:
    """File wrapper that hashes and counts what goes through it."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.sha = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.sha.update(data)
        self.size += len(data)
        return self.raw.write(data)

    def flush(self) -> None:
        self.raw.flush()


class _GzipWorker(threading.Thread):
    def __init__(self, target: BinaryIO, level: int) -> None:
        super().__init__(name="outbox-gzip", daemon=True)
        self.hashing = _HashingFile(target)
        self.stream = gzip.GzipFile(filename="", mode="wb", fileobj=self.hashing, compresslevel=level, mtime=0)
        self.chunks: queue.Queue[bytes | None] = queue.Queue(maxsize=64)
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while (chunk := self.chunks.get()) is not None:
                self.stream.write(chunk)
            self.stream.close()
        except BaseException as exc:  # surfaced by the writer's commit
            self.error = exc
            while self.chunks.get() is not None:  # drain so the producer never blocks
                pass


class FeedFileWriter:
    """Accepts the feed's bytes in order; `commit()` makes them visible under their final name."""

    def __init__(self, folder: Path, exported_at: datetime, gzip_level: int = 6) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.exported_at = exported_at
        token = uuid.uuid4().hex
        self._tmp_xml = folder / f"{TEMP_PREFIX}{token}.xml"
        self._tmp_gz = folder / f"{TEMP_PREFIX}{token}.xml.gz"
        self._xml_raw = open(self._tmp_xml, "wb")  # noqa: SIM115 - closed in commit/abort
        self._gz_raw = open(self._tmp_gz, "wb")  # noqa: SIM115
        self._xml = _HashingFile(self._xml_raw)
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._gzip = _GzipWorker(self._gz_raw, gzip_level)
        self._gzip.start()
        self._closed = False

    def write(self, data: bytes) -> None:
        self._pending.append(data)
        self._pending_size += len(data)
        if self._pending_size >= _BUFFER:
            self._flush_pending()

    def _flush_pending(self) -> None:
        if not self._pending:
            return
        block = b"".join(self._pending)
        self._pending.clear()
        self._pending_size = 0
        self._xml.write(block)
        self._gzip.chunks.put(block)

    def commit(self) -> WrittenFeed:
        self._flush_pending()
        self._gzip.chunks.put(None)
        self._gzip.join()
        self._closed = True
        try:
            if self._gzip.error is not None:
                raise self._gzip.error
            for raw in (self._xml_raw, self._gz_raw):
                raw.flush()
                os.fsync(raw.fileno())
                raw.close()
            sha256 = self._xml.sha.hexdigest()
            stem = feed_stem(self.exported_at, sha256)
            path = self.folder / f"{stem}.xml"
            gz_path = self.folder / f"{stem}.xml.gz"
            # The .gz first: whoever sees the .xml can rely on its .gz being there too.
            os.replace(self._tmp_gz, gz_path)
            os.replace(self._tmp_xml, path)
            _fsync_dir(self.folder)
        except BaseException:
            self._remove_temporaries()
            raise
        return WrittenFeed(
            stem=stem,
            path=path,
            gz_path=gz_path,
            sha256=sha256,
            gz_sha256=self._gzip.hashing.sha.hexdigest(),
            size=self._xml.size,
            gz_size=self._gzip.hashing.size,
        )

    def abort(self) -> None:
        if not self._closed:
            self._closed = True
            self._pending.clear()
            self._gzip.chunks.put(None)
            self._gzip.join()
        self._remove_temporaries()

    def _remove_temporaries(self) -> None:
        for raw in (self._xml_raw, self._gz_raw):
            raw.close()
        for tmp in (self._tmp_xml, self._tmp_gz):
            tmp.unlink(missing_ok=True)


def sweep_temporaries(folder: Path) -> list[Path]:
    """Remove temporary files left by an interrupted export; returns what was removed."""
    removed = []
    if folder.is_dir():
        for tmp in sorted(folder.glob(f"*/{TEMP_PREFIX}*")):
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return removed
