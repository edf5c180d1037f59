"""Write one feed into the outbox atomically: a `.xml` and its `.xml.gz`, named after their content.

Bytes go to temporary files in the destination's folder, are fsynced, then renamed to
`<UTC time>_<sha256 prefix>.xml(.gz)`: a reader (SFTP job, partner API) never sees a
half-written feed, and a crash leaves only `.tmp-*` files (or, killed between rename and manifest,
an unlisted feed), which the next export removes (`gateway.outbox.leftovers`).
The gzip header carries no time or name, so the same XML always gives the same .gz.
"""

from __future__ import annotations

import contextlib
import os
import struct
import time
import uuid
import zlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from gateway.outbox.feed_sink import FeedSink
from gateway.transports.base import FeedToDeliver

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

    def to_deliver(self, feed_id: str, destination: str) -> FeedToDeliver:
        return FeedToDeliver(
            feed_id=feed_id,
            destination=destination,
            path=self.path,
            gz_path=self.gz_path,
            sha256=self.sha256,
            size=self.size,
            gz_sha256=self.gz_sha256,
            gz_size=self.gz_size,
        )


def feed_stem(exported_at: datetime, sha256: str) -> str:
    return f"{exported_at.strftime('%Y%m%dT%H%M%SZ')}_{sha256[:SHA_PREFIX_LENGTH]}"


def fsync_folder(folder: Path) -> None:
    """Make a rename in `folder` durable (the new name survives a power cut)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# gzip member header: deflate, no flags, mtime 0 (reproducible), no extra flags, OS unknown.
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
_FINAL_EMPTY_BLOCK = b"\x03\x00"


def deflate_block(data: bytes, level: int, dictionary: bytes = b"") -> bytes:
    """Raw deflate of `data`, sync-flushed so that blocks compressed apart can be concatenated.

    `dictionary` must be the bytes that come just before `data` in the stream: the block may
    refer back to them (as one continuous compression would), which keeps per-offer blocks
    nearly as small as a whole-file gzip.
    """
    if dictionary:
        compressor = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS, zdict=dictionary[-32768:])
        return compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)
    compressor = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)


class FeedFileWriter:
    """Accepts the feed's bytes in order; `commit()` makes them visible under their final name.

    The `.xml.gz` is one gzip member assembled from deflate blocks (as pigz does), so the
    blocks can be compressed in worker processes and the result still reads with any gunzip.
    """

    def __init__(self, folder: Path, exported_at: datetime, gzip_level: int = 6, *, background: bool = False) -> None:
        """`background`: write and digest on another thread (worth it when most bytes are copies)."""
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.exported_at = exported_at
        self.gzip_level = gzip_level
        token = uuid.uuid4().hex
        self._tmp_xml = folder / f"{TEMP_PREFIX}{token}.xml"
        self._tmp_gz = folder / f"{TEMP_PREFIX}{token}.xml.gz"
        self._xml_raw = open(self._tmp_xml, "wb", buffering=_BUFFER)  # noqa: SIM115 - closed in commit/abort
        self._gz_raw = open(self._tmp_gz, "wb", buffering=_BUFFER)  # noqa: SIM115
        self._sink = FeedSink(self._xml_raw, self._gz_raw, background=background)
        self._xml_size, self._gz_size = 0, 0
        self._sink.block(b"", _GZIP_HEADER)
        self._gz_size = len(_GZIP_HEADER)
        self._closed = False
        self._created: list[Path] = []  # final names this commit created (not there before)

    def write(self, data: bytes) -> None:
        self.write_block(data, deflate_block(data, self.gzip_level))

    def write_block(self, data: bytes, deflated: bytes) -> None:
        """`deflated` must be `deflate_block(data)`, possibly computed elsewhere."""
        if not data:
            return
        self._sink.block(data, deflated)
        self._xml_size += len(data)
        self._gz_size += len(deflated)

    @property
    def positions(self) -> tuple[int, int]:
        """Where the next bytes go in the .xml and in the .xml.gz."""
        return self._xml_size, self._gz_size

    def copy_from(self, xml_fd: int, xml_span: tuple[int, int], gz_fd: int, gz_span: tuple[int, int]) -> None:
        """Append bytes of an earlier feed (fragments and their deflate blocks), hashed like new ones.

        Done in the background: both descriptors must stay open until `commit()` or `abort()`."""
        self._sink.copy(xml_fd, xml_span, gz_fd, gz_span)
        self._xml_size += xml_span[1]
        self._gz_size += gz_span[1]

    def commit(self) -> WrittenFeed:
        self._closed = True
        try:
            sink = self._sink
            sink.finish()  # every byte written (or the error that stopped it raised here)
            trailer = _FINAL_EMPTY_BLOCK + struct.pack("<II", sink.crc, self._xml_size & 0xFFFFFFFF)
            self._gz_raw.write(trailer)
            self._gz_size += len(trailer)
            sink.gz_sha.update(trailer)
            for raw in (self._xml_raw, self._gz_raw):
                raw.flush()
                os.fsync(raw.fileno())
                raw.close()
            sha256 = sink.xml_sha.hexdigest()
            stem = feed_stem(self.exported_at, sha256)
            path = self.folder / f"{stem}.xml"
            gz_path = self.folder / f"{stem}.xml.gz"
            # A re-run with a fixed clock gives the same name and bytes: that file is the earlier
            # feed's, listed in the manifest, and must survive a retraction of this one.
            self._created = [p for p in (gz_path, path) if not p.exists()]
            # The .gz first: whoever sees the .xml can rely on its .gz being there too.
            os.replace(self._tmp_gz, gz_path)
            os.replace(self._tmp_xml, path)
            fsync_folder(self.folder)
        except BaseException:
            self._remove_temporaries()
            raise
        return WrittenFeed(
            stem=stem,
            path=path,
            gz_path=gz_path,
            sha256=sha256,
            gz_sha256=sink.gz_sha.hexdigest(),
            size=self._xml_size,
            gz_size=self._gz_size,
        )

    def abort(self) -> None:
        self._closed = True
        self._remove_temporaries()

    def retract(self) -> None:
        """Undo a commit whose manifest could not be recorded: no file may stay under a final name
        without its manifest row (it would never be delivered, listed or purged)."""
        for created in reversed(self._created):  # the .xml first, as a reader looks for it
            with contextlib.suppress(OSError):  # else the next export's cleanup removes it (unlisted)
                created.unlink(missing_ok=True)
        self._created = []

    def _remove_temporaries(self) -> None:
        # Never raise here: this runs while another error (often ENOSPC) is on its way up, and
        # closing a full file fails again when flushing — the unlinks must happen regardless.
        self._sink.abandon()  # before closing the files it writes to
        for raw in (self._xml_raw, self._gz_raw):
            with contextlib.suppress(OSError):
                raw.close()  # the descriptor is closed even when the final flush fails
        for tmp in (self._tmp_xml, self._tmp_gz):
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)


def sweep_temporaries(folder: Path, older_than_seconds: float = 3600) -> list[Path]:
    """Remove temporary files left by an interrupted export; returns what was removed.

    Age-based, for tools working without the store; exports themselves use
    `gateway.outbox.leftovers`, whose OS lock makes any age limit unnecessary.

    Only files untouched for `older_than_seconds` go: an export running in another process
    keeps writing to its own temporaries.
    """
    removed = []
    if folder.is_dir():
        limit = time.time() - older_than_seconds
        for tmp in sorted(folder.glob(f"*/{TEMP_PREFIX}*")):
            if tmp.stat().st_mtime < limit:
                tmp.unlink(missing_ok=True)
                removed.append(tmp)
    return removed
