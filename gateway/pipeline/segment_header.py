"""The header line of a fragment-index segment, and a segment taken whole (`segments`)."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from gateway.mapping.profiles import DestinationProfile
from gateway.store.queries import StoredOffer

SEGMENT_MODULUS = 8
MAX_SEGMENT = 32
MARK = "#"
_HEADER_FIELDS = 17


def ends_segment(reference: str, length: int) -> bool:
    """Does the offer `reference`, the `length`-th of its segment, end it?"""
    return length >= MAX_SEGMENT or zlib.crc32(reference.encode()) % SEGMENT_MODULUS == 0


def segment_bounds(offers: Sequence[StoredOffer]) -> tuple[list[tuple[int, int]], int]:
    """(start, end) of each whole segment of `offers`, and where the unfinished tail starts."""
    bounds = []
    start = 0
    for index, stored in enumerate(offers):
        if ends_segment(stored.reference, index - start + 1):
            bounds.append((start, index + 1))
            start = index + 1
    return bounds, start


@dataclass(frozen=True)
class SegmentHeader:
    count: int
    body_bytes: int  # UTF-8 length of its entry lines
    digest: str
    sealed: bool
    xml_length: int
    gz_length: int
    exported: int
    sessions: int
    first_dictionary: str  # what its first exported fragment's deflate block refers back to
    last_sha: str  # its last exported fragment…
    last_length: int  # …and that fragment's length in the .xml
    year: str  # the campaign year the rules read ('' without a campaign)
    passed_max: str  # latest end of validity already passed ('' if none)
    open_min: str  # earliest end of validity not passed yet ('' if none)
    first_reference: str
    last_reference: str

    def line(self) -> str:
        values = (
            self.count,
            self.body_bytes,
            self.digest,
            "1" if self.sealed else "",
            self.xml_length,
            self.gz_length,
            self.exported,
            self.sessions,
            self.first_dictionary,
            self.last_sha,
            self.last_length,
            self.year,
            self.passed_max,
            self.open_min,
            self.first_reference,
            self.last_reference,
        )
        return MARK + "\t" + "\t".join(str(v) for v in values) + "\n"

    @classmethod
    def parse(cls, line: str) -> SegmentHeader:
        """Raises ValueError for anything but a header line."""
        fields = line.rstrip("\n").split("\t")
        if len(fields) != _HEADER_FIELDS or fields[0] != MARK:
            raise ValueError("not a segment header")
        count = int(fields[1])
        if count <= 0 or any(int(fields[i]) < 0 for i in (2, 5, 6, 7, 8, 11)):
            raise ValueError("empty segment or negative length")
        return cls(
            count,
            int(fields[2]),
            fields[3],
            fields[4] == "1",
            int(fields[5]),
            int(fields[6]),
            int(fields[7]),
            int(fields[8]),
            fields[9],
            fields[10],
            int(fields[11]),
            fields[12],
            fields[13],
            fields[14],
            fields[15],
            fields[16],
        )

    def reads_the_same(self, profile: DestinationProfile, today: date) -> bool:
        """Does every entry's reading of the export date hold `today` too?"""
        campaign = profile.campaign
        if campaign is None:
            return not self.year
        if str(campaign.year_at(today)) != self.year:
            return False
        day = today.isoformat()
        return (not self.passed_max or self.passed_max < day) and (not self.open_min or self.open_min >= day)


@dataclass(frozen=True)
class Block:
    """A segment of the last export taken whole: its header, its index lines, where it was."""

    header_line: str
    header: SegmentHeader
    body: bytes
    xml_offset: int
    gz_offset: int
    ordinal: int  # of its first entry in the old index

    def references(self) -> list[str]:
        return [line.split(b"\t", 1)[0].decode() for line in self.body.splitlines()]
