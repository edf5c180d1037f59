"""Runs of consecutive offers a nightly export takes from the last one at once (issue #12).

The fragment index is cut into segments: an offer ends one when its reference's crc32 is a
multiple of `SEGMENT_MODULUS` (or the segment is `MAX_SEGMENT` long), so two exports of nearly
the same store cut it in the same places. Each segment's header line says what its offers'
decisions depended on — one digest of their references, payload digests, stored problems and
the first-export rows of their sessions, as they will stand once that export is recorded — and
what it holds: its entries' bytes in the index, its fragments' spans in the `.xml` and
`.xml.gz`, its counts.

The next export computes the same digest from the store. When it is equal, nothing that decides
those offers changed (their session history included); if moreover the segment was sealed
(every entry could be taken as it is: exported without reservation or out of the perimeter, no
approval, no first export to record), no approval came since, the export date reads the same,
and the fragment before it is still the one its first deflate block refers to, the whole
segment is taken in one go: its index lines copied as bytes, its fragments in one span, its
`feed_offers` rows with the range around it. Any other segment is taken offer by offer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

from gateway.pipeline.cache_keys import KEY_LENGTH, RECORD
from gateway.pipeline.destination_pass import DestinationPass
from gateway.pipeline.fragment_index import Field
from gateway.pipeline.offer_decision import Verdict
from gateway.pipeline.page_reuse import own_history
from gateway.pipeline.segment_header import Block, SegmentHeader
from gateway.rules.store_checks import ExportedSessionDates
from gateway.store.queries import StoredOffer

_EXPORTED = Verdict.EXPORTED.value
_OUT = Verdict.OUT_OF_PERIMETER.value
_UNPACKABLE = "!"


def inputs_digest(
    offers: Sequence[StoredOffer], problems: Sequence[str], history: Mapping[str, ExportedSessionDates]
) -> str:
    parts: list[str] = []
    for stored, problem in zip(offers, problems, strict=True):
        sessions = stored.session_references
        parts += (stored.reference, stored.payload_sha256, problem, str(len(sessions)))
        for session in sessions:
            first = history.get(session)
            parts.append(f"{session}={first[0]}/{first[1]}/{first[2]}" if first is not None else session)
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:KEY_LENGTH]


def build_header(
    lines: Sequence[str],
    offers: Sequence[StoredOffer],
    problems: Sequence[str],
    expected: Mapping[str, ExportedSessionDates],
) -> SegmentHeader:
    """The header of a segment written entry by entry; `expected`: the first-export rows once
    this export is recorded (the store's, and those this export records)."""
    xml = gz = exported = sessions = last_length = 0
    first_dictionary = last_sha = year = passed_max = open_min = ""
    sealed = True
    for stored, problem, line in zip(offers, problems, lines, strict=True):
        f = line.rstrip("\n").split("\t")
        verdict = f[Field.VERDICT]
        xml_length = int(f[Field.XML_LENGTH])
        xml += xml_length
        gz += int(f[Field.GZ_LENGTH])
        is_exported = verdict == _EXPORTED
        if is_exported:
            if not exported:
                first_dictionary = f[Field.DICTIONARY]
            exported += 1
            last_sha, last_length = f[Field.FRAGMENT_SHA], xml_length
            packed_sessions = f[Field.EXPORTED]
            sessions += packed_sessions.count(RECORD) + 1 if packed_sessions else 0
        packed = f[Field.FACTS]
        valid_until = packed.split(RECORD, 1)[0]
        dated = f[Field.DATED]
        if dated.endswith("<"):
            year, passed_max = dated[:-1], max(passed_max, valid_until)
        elif dated.endswith(">="):
            year, open_min = dated[:-2], min(open_min or valid_until, valid_until)
        else:
            year = dated
        sealed = (
            sealed
            and f[Field.REFERENCE] == stored.reference
            and f[Field.PAYLOAD] == stored.payload_sha256
            and f[Field.PROBLEMS] == problem
            and not f[Field.APPROVAL]
            and not f[Field.HISTORY]
            and ((is_exported and not f[Field.DETAILS]) or verdict == _OUT)
            and packed != _UNPACKABLE
            and own_history(stored, packed, expected, is_exported)
        )
    return SegmentHeader(
        len(lines),
        len("".join(lines).encode()),
        inputs_digest(offers, problems, expected),
        sealed,
        xml,
        gz,
        exported,
        sessions,
        first_dictionary,
        last_sha,
        last_length,
        year,
        passed_max,
        open_min,
        offers[0].reference,
        offers[-1].reference,
    )


def write_segments(
    dest: DestinationPass,
    page: Sequence[StoredOffer],
    problems: Sequence[str],
    expected: Mapping[str, ExportedSessionDates],
) -> None:
    """Write the page's segments into the destination's new index, in order."""
    out = dest.cache_out
    assert out is not None
    for start, end, item in dest.pending:
        if isinstance(item, Block):
            out.write(item.header_line)
            out.write_bytes(item.body)
            continue
        header = build_header(item, page[start:end], problems[start:end], expected)
        out.write(header.line())
        out.write("".join(item))
    dest.pending.clear()
