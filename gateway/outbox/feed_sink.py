"""The bytes of one feed on their way to disk: written, copied and digested on another core.

A nightly export is mostly copies of the previous feed (unchanged fragments) and the sha256
and crc32 of every byte; done in the exporting thread, they would take most of its time.
Here one thread per feed performs, in the order they were given, the writes of new blocks and
the copies of old spans into the `.xml` and `.xml.gz`, and digests what it writes (syscalls,
hashlib and zlib release the GIL), while the exporting thread goes on reading the store.

Commands are sent in batches of about 1 MB through a short queue, so at most ~16 MB of new
blocks wait (copies hold no bytes). A cold export has no copies: there the thread would only
add hand-offs, so it is started for warm exports only (`background=True`); cold ones do the
same work inline, in the same order.
The first error (a full disk, a truncated source) stops the work; `check()` raises it in the
exporting thread at its next call, `finish()` at the latest.
"""

from __future__ import annotations

import hashlib
import os
import queue
import threading
import zlib
from collections.abc import Iterator
from typing import BinaryIO

BATCH_BYTES = 1 << 20
COPY_PIECE = 4 << 20  # bytes of an old span read at a time
# A background sink makes what it wrote durable as it goes, so the commit's fsync has little left
# to wait for (a warm run writes ~3 GB at 100,000 offers; the disk works while the pass reads on).
SYNC_EVERY = 256 << 20
_QUEUE_BATCHES = 16

_Block = tuple[bytearray, bytearray]  # fragments and their deflate blocks, joined
_Copy = tuple[int, int, int, int, int, int]  # xml fd, offset, length; gz fd, offset, length
_Command = _Block | _Copy


class FeedSink(threading.Thread):
    def __init__(self, xml: BinaryIO, gz: BinaryIO, *, background: bool = True) -> None:
        """`background=False`: every batch is done by the caller when it is full — for a cold
        export, whose workers already keep both cores busy: a thread would only compete with
        the exporting thread for the GIL (measured: 4 destinations ~8 % slower)."""
        super().__init__(name="feed-sink", daemon=True)
        self.xml_sha = hashlib.sha256()
        self.gz_sha = hashlib.sha256()
        self.crc = 0  # crc32 of the .xml, for the gzip trailer
        self._xml, self._gz = xml, gz
        self._queue: queue.Queue[list[_Command] | None] = queue.Queue(maxsize=_QUEUE_BATCHES)
        self._batch: list[_Command] = []
        self._batched = 0
        self._error: BaseException | None = None
        self._abandoned = False
        self._background = background
        self._buffer: memoryview | None = None
        self._unsynced = 0
        if background:
            self.start()

    def block(self, data: bytes, deflated: bytes) -> None:
        # Consecutive blocks are joined here (a memcpy): the thread then takes the GIL a few times
        # per MB rather than five times per ~10 KB fragment, which would slow the exporting thread.
        batch = self._batch
        if batch and len(batch[-1]) == 2:
            xml, gz = batch[-1]
            xml += data
            gz += deflated
            self._batched += len(data)
            if self._batched >= BATCH_BYTES:
                self._send()
            return
        self._add((bytearray(data), bytearray(deflated)), len(data))

    def copy(self, xml_fd: int, xml_span: tuple[int, int], gz_fd: int, gz_span: tuple[int, int]) -> None:
        """The caller keeps both descriptors open until `finish()` returns."""
        # Weighed by the bytes to copy: a long span is handed over at once (else it waited for
        # 63 more copies, often until the end of the pass); short ones still go by batches.
        self._add((xml_fd, *xml_span, gz_fd, *gz_span), max(BATCH_BYTES // 64, xml_span[1] + gz_span[1]))

    def _add(self, command: _Command, weight: int) -> None:
        self.check()
        self._batch.append(command)
        self._batched += weight
        if self._batched >= BATCH_BYTES:
            self._send()

    def _send(self) -> None:
        if self._batch:
            batch, self._batch, self._batched = self._batch, [], 0
            if self._background:
                self._queue.put(batch)
            else:
                self._do(batch)

    def check(self) -> None:
        if self._error is not None:
            raise self._error

    def finish(self) -> None:
        """Wait until every command is done, then raise the first error if there was one."""
        if not self._background:
            self.check()
            self._send()
        elif self.is_alive():
            self._send()
            self._queue.put(None)
            self.join()
        self.check()

    def abandon(self) -> None:
        """Stop as soon as possible, whatever is left undone (an aborted feed); never raises."""
        self._abandoned = True
        self._batch = []
        if self.is_alive():
            self._queue.put(None)
            self.join()

    def run(self) -> None:
        while (batch := self._queue.get()) is not None:
            self._do(batch)

    def _do(self, batch: list[_Command]) -> None:
        if self._error is not None or self._abandoned:
            return  # drained, not done: the feed is lost anyway
        try:
            for command in batch:
                if len(command) == 2:
                    self._write(*command)
                else:
                    self._copy(*command)
            if self._background and self._unsynced >= SYNC_EVERY:
                for out in (self._xml, self._gz):
                    out.flush()
                    os.fdatasync(out.fileno())
                self._unsynced = 0
        except BaseException as exc:  # raised again in the exporting thread
            self._error = exc

    def _write(self, data: bytearray, deflated: bytearray) -> None:
        self._unsynced += len(data)
        self._xml.write(data)
        self._gz.write(deflated)
        self.xml_sha.update(data)
        self.crc = zlib.crc32(data, self.crc)
        self.gz_sha.update(deflated)

    def _copy(self, xml_fd: int, xml_offset: int, xml_length: int, gz_fd: int, gz_offset: int, gz_length: int) -> None:
        self._unsynced += xml_length
        for piece in self._pieces(xml_fd, xml_offset, xml_length):
            self._xml.write(piece)
            self.xml_sha.update(piece)
            self.crc = zlib.crc32(piece, self.crc)
        for piece in self._pieces(gz_fd, gz_offset, gz_length):
            self._gz.write(piece)
            self.gz_sha.update(piece)

    def _pieces(self, fd: int, offset: int, left: int) -> Iterator[memoryview]:
        """The span in pieces read into one reused buffer: each piece costs this thread four
        hand-offs of the GIL (read, write, two digests), so pieces are large."""
        if self._buffer is None:
            self._buffer = memoryview(bytearray(COPY_PIECE))
        while left > 0:
            view = self._buffer[: min(left, COPY_PIECE)]
            got = os.preadv(fd, [view], offset)
            if not got:
                raise OSError(f"flux précédent tronqué à l'octet {offset}")
            yield view[:got]
            offset += got
            left -= got
