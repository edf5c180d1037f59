"""Segments of the fragment index taken whole by a nightly export (`gateway/pipeline/segments.py`).

An unchanged night takes every segment in one go (nothing rendered, nothing taken offer by
offer), and whatever makes a segment read differently — a change of one of its offers, an end
of validity passed, a first-export row recorded by another formation, a damaged index — sends it
back offer by offer: the feeds, indexes and rows stay those of a cold export.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

import gateway.pipeline.offer_decision as offer_decision
import gateway.pipeline.one_pass as one_pass
from gateway.mapping.profiles import load_profiles
from gateway.pipeline.export import run_export
from gateway.pipeline.fragment_index import CACHE_FOLDER
from gateway.pipeline.segment_header import MAX_SEGMENT, SegmentHeader, ends_segment, segment_bounds
from gateway.store.queries import StoredOffer
from gateway.store.tables import FeedOfferRow, FeedRow, SessionHistoryRow
from tests.conftest import FIXED_TIME, REPO, Gateway, base_offer, with_changes

COUNT = 40


def _offers(valid_until: str = "2030-08-31") -> list[dict[str, Any]]:
    return [
        with_changes(
            base_offer(f"2026112701{i:02d}", (f"0011{i:04d}",)),
            certifinfo=f"1086{i:02d}",
            diploma__valid_until=valid_until,
        )
        for i in range(COUNT)
    ]


def _export(gateway: Gateway, at: datetime, *, no_cache: bool = False) -> dict[str, Any]:
    results = run_export(gateway.database, gateway.config, exported_at=at, no_cache=no_cache)
    return {r.destination: r for r in results}


def _state(gateway: Gateway, results: dict[str, Any]) -> dict[str, Any]:
    """What a run produced: feed bytes, counts and feed rows of every destination."""
    state: dict[str, Any] = {}
    with gateway.database.session() as db:
        for name, r in results.items():
            rows: set[tuple[str, str, int]] = set()
            if r.feed_id is not None:
                run_id = db.scalar(select(FeedRow.run_id).where(FeedRow.id == r.feed_id))
                rows = {
                    (ref, sha, n)
                    for ref, sha, n in db.execute(
                        select(
                            FeedOfferRow.formation_reference, FeedOfferRow.fragment_sha256, FeedOfferRow.session_count
                        ).where(FeedOfferRow.run_id == run_id)
                    )
                }
            feed = (r.feed.path.read_bytes(), r.feed.gz_path.read_bytes()) if r.feed else None
            state[name] = (feed, r.considered, r.exported, r.out_of_perimeter, r.quarantined, r.sessions_exported, rows)
    return state


def _index(gateway: Gateway, destination: str) -> bytes:
    """The index's segments and entries (its header names the run that wrote it)."""
    return (gateway.outbox / CACHE_FOLDER / f"{destination}.fragment-index").read_bytes().split(b"\n", 1)[1]


def _count_paths(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    counts = {"whole": 0, "quick": 0}
    take_block, take_quick = one_pass.take_block, one_pass.take_quick

    def whole(dest: Any, block: Any, start: int, end: int) -> None:
        counts["whole"] += block.header.count
        take_block(dest, block, start, end)

    def quick(dest: Any, stored: Any, entry: Any) -> None:
        counts["quick"] += 1
        take_quick(dest, stored, entry)

    monkeypatch.setattr(one_pass, "take_block", whole)
    monkeypatch.setattr(one_pass, "take_quick", quick)
    return counts


def test_header_lines_and_boundaries() -> None:
    header = SegmentHeader(
        3, 120, "ab" * 16, True, 30000, 3000, 2, 6, "", "cd" * 16, 12000, "2027", "", "2030-08-31", "a", "c"
    )
    assert SegmentHeader.parse(header.line()) == header
    with pytest.raises(ValueError):
        SegmentHeader.parse("202611270001\t" + "x\t" * 13 + "\n")  # an entry line
    assert ends_segment("any", MAX_SEGMENT)
    offers = [StoredOffer(f"2026112702{i:02d}", "", True, "[]") for i in range(90)]
    bounds, tail = segment_bounds(offers)
    assert bounds[0][0] == 0 and all(a == b for (_, a), (b, _) in pairwise(bounds))
    assert bounds[-1][1] == tail and all(0 < end - start <= MAX_SEGMENT for start, end in bounds)
    assert all(ends_segment(offers[end - 1].reference, end - start) for start, end in bounds)


def test_the_date_is_read_again_when_an_end_of_validity_passes() -> None:
    [parcoursup] = load_profiles(REPO / "mappings", ["parcoursup"])
    today = date(2026, 11, 27)
    year = str(parcoursup.campaign.year_at(today)) if parcoursup.campaign else ""

    def header(passed_max: str, open_min: str, campaign: str = year) -> SegmentHeader:
        return SegmentHeader(1, 1, "", True, 0, 0, 0, 0, "", "", 0, campaign, passed_max, open_min, "a", "a")

    assert header("2026-11-01", "2026-12-01").reads_the_same(parcoursup, today)
    assert not header("", "2026-11-26").reads_the_same(parcoursup, today)  # its validity ended since
    assert not header("2026-11-27", "").reads_the_same(parcoursup, today)  # the clock went back
    assert not header("", "", campaign="2019").reads_the_same(parcoursup, today)  # another campaign


def test_an_unchanged_night_takes_every_segment_whole(gateway: Gateway, monkeypatch: pytest.MonkeyPatch) -> None:
    gateway.import_offers(*_offers())
    _export(gateway, FIXED_TIME)
    later = FIXED_TIME + timedelta(days=1)
    with monkeypatch.context() as patch:
        counts = _count_paths(patch)
        patch.setattr(offer_decision, "render_formation", lambda *a, **k: pytest.fail("rendered again"))
        warm = _export(gateway, later)
    assert counts == {"whole": COUNT * len(warm), "quick": 0}
    indexes = {name: _index(gateway, name) for name in warm}
    cold = _export(gateway, later, no_cache=True)
    assert _state(gateway, warm) == _state(gateway, cold)
    assert {name: _index(gateway, name) for name in cold} == indexes  # the same segments, the same headers


def test_what_changed_is_taken_offer_by_offer(gateway: Gateway, monkeypatch: pytest.MonkeyPatch) -> None:
    offers = _offers(valid_until="2026-12-15")
    gateway.import_offers(*offers)
    _export(gateway, FIXED_TIME)
    gateway.import_offers(
        with_changes(offers[7], title="BTS Négociation et digitalisation de la relation client"),
        with_changes(offers[21], status="archivee"),
        name="changes.jsonl",
    )
    with gateway.database.session() as db, db.begin():  # another formation's first export of a session
        db.execute(
            update(SessionHistoryRow)
            .where(SessionHistoryRow.session_reference == "00110030")
            .values(formation_reference="202601019999")
        )
    for days in (1, 30):  # the ends of validity have passed by the second night
        at = FIXED_TIME + timedelta(days=days)
        with monkeypatch.context() as patch:
            counts = _count_paths(patch)
            warm = _export(gateway, at)
        assert 0 < counts["whole"] < (COUNT - 1) * len(warm), counts
        warm_state = _state(gateway, warm)
        indexes = {name: _index(gateway, name) for name in warm}
        cold = _export(gateway, at, no_cache=True)
        assert warm_state == _state(gateway, cold), days
        assert {name: _index(gateway, name) for name in cold} == indexes


def test_a_damaged_segment_is_not_taken(gateway: Gateway, tmp_path: Path) -> None:
    gateway.import_offers(*_offers())
    _export(gateway, FIXED_TIME)
    index = gateway.outbox / CACHE_FOLDER / "intercarif.fragment-index"
    lines = index.read_bytes().split(b"\n")
    second = [i for i, line in enumerate(lines) if line.startswith(b"#")][1]
    lines[second + 1] = lines[second + 1][:-3]  # an entry of the second segment, cut short
    index.write_bytes(b"\n".join(lines))
    later = FIXED_TIME + timedelta(days=1)
    warm = _export(gateway, later)
    assert 0 < warm["intercarif"].reused < COUNT and warm["intercarif"].rebuilt
    warm_state = _state(gateway, warm)
    assert warm_state == _state(gateway, _export(gateway, later, no_cache=True))


@pytest.mark.parametrize("length", [b"1000000000000", b"-1"])
def test_a_header_asking_for_any_length_is_not_followed(gateway: Gateway, length: bytes) -> None:
    gateway.import_offers(*_offers())
    _export(gateway, FIXED_TIME)
    index = gateway.outbox / CACHE_FOLDER / "intercarif.fragment-index"
    lines = index.read_bytes().split(b"\n")
    first = next(i for i, line in enumerate(lines) if line.startswith(b"#"))
    fields = lines[first].split(b"\t")
    fields[2] = length  # the bytes of its entries
    lines[first] = b"\t".join(fields)
    index.write_bytes(b"\n".join(lines))
    later = FIXED_TIME + timedelta(days=1)
    warm = _export(gateway, later)
    assert warm["intercarif"].reused == 0 and warm["intercarif"].rebuilt == COUNT
    assert _state(gateway, warm) == _state(gateway, _export(gateway, later, no_cache=True))
