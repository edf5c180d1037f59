"""One destination's share of an export pass: its feed writer, row spool and fragment caches.

Fragments reach the feed either copied from the last feed (consecutive ones in one copy) or
written anew; every deflate block is compressed with the fragment before it in *this* feed as
dictionary, so whichever way a fragment came, the `.xml.gz` is the one a cold run writes.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from gateway.faults import os_reason
from gateway.lheo.document import DOCUMENT_TAIL, document_head
from gateway.mapping.profiles import DestinationProfile
from gateway.outbox.feed_file import FeedFileWriter, deflate_block
from gateway.pipeline.chunks import Blob
from gateway.pipeline.fragment_index import Entry, Field, IndexReader, IndexWriter, entry_line
from gateway.pipeline.offer_decision import OfferDecision
from gateway.pipeline.recording import DestinationResult
from gateway.pipeline.row_spool import RowSpool
from gateway.pipeline.segment_header import Block

COPY_AHEAD = 16 << 20  # bytes of consecutive reused fragments handed to the writer at once


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
    follower: Blob | None = None  # the next reused fragment, deflated by a worker after the last fresh one
    dated_memo: dict[str | None, str] = field(default_factory=dict)  # end of validity → dated signature, today
    # The run whose feed_offers rows offers taken unchanged carry over (None: each gets its row
    # spooled), and the range of consecutive index entries being carried: first, last reference,
    # exported offers among them, ordinal of the last.
    carry_from: int | None = None
    _carrying: list[str | int] = field(default_factory=list)
    # The new index, segment by segment (`segments`): lines of the segment being written, then
    # per segment of the page (start, end, its lines or the block taken whole), written out once
    # every destination has taken the page.
    _lines: list[str] = field(default_factory=list)
    pending: list[tuple[int, int, list[str] | Block]] = field(default_factory=list)
    # What the last fragment planned is (by `page_plan.plan_pages`): its digest, or None when it is a
    # fresh one whose bytes are not known yet.
    planned_sha: str | None = ""

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
        xml_offset, xml_length = entry.xml_offset, entry.xml_length
        gz_offset, gz_length = entry.gz_offset, entry.gz_length
        self._extend_copy(xml_offset, xml_length, gz_offset, gz_length)
        self.last_sha, self._last_data, self._last_span = fields[Field.FRAGMENT_SHA], None, (xml_offset, xml_length)
        self.follower = None
        return True

    def _extend_copy(self, xml_offset: int, xml_length: int, gz_offset: int, gz_length: int) -> None:
        pending = self._copy
        # Consecutive reused fragments sit side by side in the old feed: copied at once.
        if pending[1] and pending[0] + pending[1] == xml_offset and pending[2] + pending[3] == gz_offset:
            pending[1] += xml_length
            pending[3] += gz_length
            if pending[1] >= COPY_AHEAD:  # the feed's writer copies while this pass reads on
                self.flush_copies()
        else:
            self.flush_copies()
            pending[:] = [xml_offset, xml_length, gz_offset, gz_length]

    def reuse(self, entry: Entry) -> str:
        """Take a cached fragment: copied, or, with another fragment before it now, its deflate
        block redone. Returns the index line to write for it."""
        if self.copy(entry):
            return entry.line
        fields = list(entry.fields)
        fields[Field.DICTIONARY] = self.last_sha
        follower = self.follower
        if follower is not None and follower.sha256 == fields[Field.FRAGMENT_SHA]:
            xml_length, gz_length = self.append(follower.data, follower.sha256, follower)
        else:
            xml_length, gz_length = self.append(self.read_old(entry), fields[Field.FRAGMENT_SHA])
        fields[Field.XML_LENGTH], fields[Field.GZ_LENGTH] = str(xml_length), str(gz_length)
        return entry_line(fields)

    def append(self, data: bytes, sha: str, blob: Blob | None = None) -> tuple[int, int]:
        """Write a fragment (new, or reused with another one before it); returns (xml, gz) lengths."""
        assert self.writer is not None
        self.flush_copies()
        self.follower = None
        if blob is not None and blob.dictionary_sha256 == self.last_sha:
            deflated = blob.deflated
        else:
            deflated = deflate_block(data, self.writer.gzip_level, self._previous())
        self.writer.write_block(data, deflated)
        self.last_sha, self._last_data, self._last_span = sha, data, (0, 0)
        return len(data), len(deflated)

    def read_old(self, entry: Entry, tail: int | None = None) -> bytes:
        """A cached fragment's bytes in the old feed (only its last `tail` bytes if given)."""
        assert self.cache_in is not None and self.cache_in.xml_fd is not None
        offset, length = entry.xml_span
        if tail is not None and tail < length:
            offset, length = offset + length - tail, tail
        return os.pread(self.cache_in.xml_fd, length, offset)

    def carry(self, entry: Entry, *, exported: bool) -> bool:
        """An entry taken unchanged: its row will be copied from the last run's (False: spool it).

        Consecutive entries of the old index make one range of references, copied in one
        statement; any other entry in between (rebuilt, removed) ends the range, so a range
        holds exactly the offers the last run exported between its two ends."""
        if self.carry_from is None:
            return False
        run = self._carrying
        if run and run[3] == entry.ordinal - 1:
            run[1], run[3] = entry.reference, entry.ordinal
            run[2] = int(run[2]) + exported
        else:
            self.flush_carry()
            run[:] = [entry.reference, entry.reference, int(exported), entry.ordinal]
        return True

    def index_line(self, line: str) -> None:
        self._lines.append(line)

    def end_segment(self, start: int, end: int) -> None:
        self.pending.append((start, end, self._lines))
        self._lines = []

    def take_block(self, block: Block, start: int, end: int) -> None:
        """A whole segment of the last export: its fragments copied in one span, its rows carried."""
        header = block.header
        result = self.result
        result.reused += header.count
        result.considered += header.count
        result.exported += header.exported
        result.out_of_perimeter += header.count - header.exported
        result.sessions_exported += header.sessions
        if header.exported:
            assert header.first_dictionary == self.last_sha  # checked when it was planned
            self._extend_copy(block.xml_offset, header.xml_length, block.gz_offset, header.gz_length)
            self.last_sha, self._last_data = header.last_sha, None
            self._last_span = (block.xml_offset + header.xml_length - header.last_length, header.last_length)
            self.follower = None
        run = self._carrying
        last_ordinal = block.ordinal + header.count - 1
        if run and run[3] == block.ordinal - 1:
            run[1], run[3] = header.last_reference, last_ordinal
            run[2] = int(run[2]) + header.exported
        else:
            self.flush_carry()
            run[:] = [header.first_reference, header.last_reference, header.exported, last_ordinal]
        self.pending.append((start, end, block))

    def flush_carry(self) -> None:
        run = self._carrying
        if run and run[2] and self.spool is not None:
            self.spool.add(
                "feed_offer_range", {"from_run": self.carry_from, "first": run[0], "last": run[1], "count": run[2]}
            )
        run.clear()

    def read_last_of(self, block: Block, tail: int) -> bytes:
        """The last `tail` bytes of a block's last fragment, in the old feed."""
        assert self.cache_in is not None and self.cache_in.xml_fd is not None
        length = min(tail, block.header.last_length)
        end = block.xml_offset + block.header.xml_length
        return os.pread(self.cache_in.xml_fd, length, end - length)

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
        if self.writer is not None:
            self.writer.abort()  # after a commit: nothing left to remove; first, as it may copy from cache_in
        if self.cache_in is not None:
            self.cache_in.close()
        if self.cache_out is not None:
            self.cache_out.abort()
        if self.spool is not None:
            self.spool.close()


def close_all(passes: list[DestinationPass]) -> None:
    for dest in passes:
        with contextlib.suppress(OSError):
            dest.close()
