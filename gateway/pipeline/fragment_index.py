"""The fragment cache of one destination: where each offer's validated bytes sit in the last feed.

The last feed itself holds the fragments (and its `.xml.gz` their deflate blocks, one per
offer, byte-aligned): a side file, `<outbox>/.cache/<destination>.fragment-index`, lists for
every offer of the last export, in feed order, what its decision depended on
(`cache_keys`), the decision, and the lengths of its bytes in both files (offsets follow from
the order). The next export copies the bytes of every offer whose signature is unchanged
instead of parsing, rendering, validating and compressing it again; an entry whose inputs are
all unchanged is written back verbatim.

The index is written under a temporary name and renamed into place only once the export is
recorded; its header names the feed files it points into and their sizes, and the index is
ignored whenever they no longer match (a purged or damaged feed: the next export is cold).
Format: a JSON header line (padded to 1 KB: it is written last, in place), then segments
(`segment_header`, `segments`): a header line starting with `#`, then one tab-separated line
per offer of the segment (`Field` below).
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections import OrderedDict
from pathlib import Path
from typing import IO

from gateway.outbox.feed_file import TEMP_PREFIX
from gateway.pipeline.cache_keys import CACHE_FORMAT
from gateway.pipeline.segment_header import Block, SegmentHeader

CACHE_FOLDER = ".cache"  # in the outbox; a dot folder, never taken for a destination
INDEX_SUFFIX = ".fragment-index"
_LOOKAHEAD = 4096  # at most, entries read past (offers no longer in the store) to find one
# The header is written last, in place (no copy of a 50 MB body): its line is padded to this size.
_HEADER_SPACE = 1024


class Field:
    """Positions of an index line's fields. Plain ints, not an IntEnum: a nightly run indexes
    lines with them millions of times, and an IntEnum member costs ~5× as much as an int there."""

    REFERENCE = 0
    PAYLOAD = 1  # payload digest of the stored offer
    PROBLEMS = 2  # digest of the problems stored at import
    HISTORY = 3  # signature of the session history that made a difference
    APPROVAL = 4  # signature of the operator's approval for this destination
    DATED = 5  # what the rules read of the export date (campaign year, validity passed)
    VERDICT = 6
    XML_LENGTH = 7
    GZ_LENGTH = 8
    FRAGMENT_SHA = 9
    DICTIONARY = 10  # digest of the fragment before it, which its deflate block refers back to
    FACTS = 11  # cache_keys.OfferFacts, packed
    EXPORTED = 12  # exported sessions "ref␟start␟end␞…"
    DETAILS = 13  # JSON of reasons / problems / trace, or empty


FIELDS = 14


class Entry:
    """One line of an index, with the offsets its position gives it."""

    __slots__ = ("fields", "gz_length", "gz_offset", "line", "ordinal", "xml_length", "xml_offset")

    def __init__(self, line: str, xml_offset: int, gz_offset: int, ordinal: int = 0) -> None:
        """Raises ValueError for a line that is not an entry (damaged index)."""
        self.line = line
        self.fields = fields = line.rstrip("\n").split("\t")
        if len(fields) != FIELDS:
            raise ValueError("wrong field count")
        self.xml_offset = xml_offset
        self.gz_offset = gz_offset
        self.xml_length = int(fields[Field.XML_LENGTH])
        self.gz_length = int(fields[Field.GZ_LENGTH])
        self.ordinal = ordinal  # its line number in the index: consecutive entries, consecutive offers

    @property
    def reference(self) -> str:
        return self.fields[Field.REFERENCE]

    @property
    def xml_span(self) -> tuple[int, int]:
        return self.xml_offset, self.xml_length

    @property
    def gz_span(self) -> tuple[int, int]:
        return self.gz_offset, self.gz_length


# Where a plan holds no entry because the offer is inside a segment taken whole (`segments`).
BLOCKED = Entry("\t".join(["", "", "", "", "", "", "", "0", "0", "", "", "", "", ""]) + "\n", 0, 0)


def entry_line(fields: list[str]) -> str:
    return "\t".join(fields) + "\n"


class IndexReader:
    """Entries of the previous export, looked up in store order with a bounded window."""

    def __init__(self, outbox: Path, destination: str, context: str) -> None:
        self.path = outbox / CACHE_FOLDER / f"{destination}{INDEX_SUFFIX}"
        self.folder = outbox / destination  # where the feeds it points into are
        self.usable = False
        self.xml_fd: int | None = None
        self.gz_fd: int | None = None
        self._file: IO[bytes] | None = None
        self._window: OrderedDict[str, Entry] = OrderedDict()
        self._xml_at = self._gz_at = 0
        self._ordinal = 0
        self._left = 0  # entries of the current segment not read yet
        self._peeked: tuple[str, SegmentHeader] | None = None  # the next segment's header, read ahead
        self.run_id: int | None = None  # the export run that wrote it, and how many offers it exported
        self.exported = 0
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            self._open(context)

    def _open(self, context: str) -> None:
        handle = open(self.path, "rb")  # noqa: SIM115 - closed in close()
        self._file = handle
        header = json.loads(handle.readline())
        if header["format"] != CACHE_FORMAT or header["context"] != context:
            return  # another code version, schema, profile or setting: nothing is reusable
        if header["xml"] is not None:
            xml, gz = self.folder / header["xml"], self.folder / header["gz"]
            if xml.stat().st_size != header["xml_size"] or gz.stat().st_size != header["gz_size"]:
                return
            self.xml_fd = os.open(xml, os.O_RDONLY)
            self.gz_fd = os.open(gz, os.O_RDONLY)
        self._xml_at, self._gz_at = header["xml_start"], header["gz_start"]
        self.run_id, self.exported = int(header["run_id"]), int(header["exported"])
        self.usable = True

    def _next(self) -> Entry | None:
        assert self._file is not None
        try:
            if not self._left:
                if self._peeked is None:
                    head = self._file.readline()
                    if not head:
                        return None
                    self._peeked = head.decode(), SegmentHeader.parse(head.decode())
                self._left = self._peeked[1].count
                self._peeked = None
            line = self._file.readline()
            entry = Entry(line.decode(), self._xml_at, self._gz_at, self._ordinal)
        except ValueError:  # damaged (or not UTF-8): stop reusing from here on, the rest is rebuilt
            self.usable = False
            return None
        self._left -= 1
        self._ordinal += 1
        self._xml_at += entry.xml_length
        self._gz_at += entry.gz_length
        return entry

    def peek_segment(self) -> SegmentHeader | None:
        """The next segment's header, if the reader stands right before it with nothing read ahead."""
        if not self.usable or self._left or self._window:
            return None
        assert self._file is not None
        if self._peeked is None:
            try:
                head = self._file.readline()
                if not head:
                    return None
                self._peeked = head.decode(), SegmentHeader.parse(head.decode())
            except ValueError:
                self.usable = False
                return None
        return self._peeked[1]

    def take_segment(self) -> Block | None:
        """The segment `peek_segment` returned, whole (None, and nothing reusable after, if damaged)."""
        assert self._file is not None and self._peeked is not None
        line, header = self._peeked
        self._peeked = None
        # A damaged header could ask for any length (reading it would exhaust memory first).
        if header.body_bytes > os.fstat(self._file.fileno()).st_size - self._file.tell():
            self.usable = False
            return None
        body = self._file.read(header.body_bytes)
        if len(body) != header.body_bytes or body.count(b"\n") != header.count or not body.endswith(b"\n"):
            self.usable = False
            return None
        block = Block(line, header, body, self._xml_at, self._gz_at, self._ordinal)
        self._xml_at += header.xml_length
        self._gz_at += header.gz_length
        self._ordinal += header.count
        return block

    def find(self, reference: str) -> Entry | None:
        if not self.usable:
            return None
        if self._window:
            found = self._window.pop(reference, None)
            if found is not None:
                return found
            for stale in [read for read in self._window if read < reference]:
                del self._window[stale]  # offers no longer in the store
        for _ in range(_LOOKAHEAD):
            entry = self._next()
            if entry is None:
                break
            read = entry.fields[0]
            if read == reference:
                return entry
            if read < reference:
                continue  # before it in store order: an offer no longer in the store
            self._window[read] = entry
            if len(self._window) > _LOOKAHEAD:
                self._window.popitem(last=False)
            break  # after it: `reference` is new (a store that orders otherwise only loses reuse)
        return None

    def find_all(self, references: list[str]) -> list[Entry | None]:
        """`find` for each reference in turn (a page of the store, in index order)."""
        return [self.find(reference) for reference in references]

    def close(self) -> None:
        for fd in (self.xml_fd, self.gz_fd):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        if self._file is not None:
            self._file.close()
        self.xml_fd = self.gz_fd = None
        self.usable = False


class IndexWriter:
    """The new index, under a temporary name until `commit()`."""

    def __init__(self, outbox: Path, destination: str, context: str) -> None:
        """Call with the destination's export lock held: temporaries of a dead export go first."""
        folder = outbox / CACHE_FOLDER
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.path = folder / f"{destination}{INDEX_SUFFIX}"
        self._prefix = f"{destination}{INDEX_SUFFIX}{TEMP_PREFIX}"
        for stale in folder.glob(f"{self._prefix}*"):
            with contextlib.suppress(OSError):
                stale.unlink()
        self.context = context
        self._tmp = folder / f"{self._prefix}{uuid.uuid4().hex}"
        self._body = open(self._tmp, "wb", buffering=1 << 20)  # noqa: SIM115 - see abort()
        self._body.write(b" " * (_HEADER_SPACE - 1) + b"\n")  # the header's place, filled by commit()
        self.write_bytes = self._body.write

    def write(self, text: str) -> None:
        self._body.write(text.encode())

    def commit(
        self, feed: tuple[str, str, int, int] | None, starts: tuple[int, int], run_id: int, exported: int
    ) -> None:
        """Header written in its place, then the file renamed: readers never see a partial index.

        `feed`: (xml name, gz name, xml size, gz size), None when no feed was emitted;
        `starts`: where the first fragment sits in each file (after the document head);
        `run_id`, `exported`: the run recorded for it and its number of exported offers (the
        next export copies that run's `feed_offers` rows for the offers it takes unchanged).
        """
        self._body.close()
        xml, gz, xml_size, gz_size = feed or (None, None, 0, 0)
        header = {
            "format": CACHE_FORMAT,
            "context": self.context,
            "xml": xml,
            "gz": gz,
            "xml_size": xml_size,
            "gz_size": gz_size,
            "xml_start": starts[0],
            "gz_start": starts[1],
            "run_id": run_id,
            "exported": exported,
        }
        line = json.dumps(header).encode()
        try:
            if len(line) >= _HEADER_SPACE:
                raise ValueError("fragment index header too long")  # our names and digests: never
            with open(self._tmp, "r+b") as out:
                out.write(line.ljust(_HEADER_SPACE - 1) + b"\n")  # JSON allows the trailing spaces
            os.replace(self._tmp, self.path)
        finally:
            with contextlib.suppress(OSError):
                self._tmp.unlink(missing_ok=True)

    def abort(self) -> None:
        with contextlib.suppress(OSError):
            self._body.close()  # closing twice is harmless
        with contextlib.suppress(OSError):
            self._tmp.unlink(missing_ok=True)
