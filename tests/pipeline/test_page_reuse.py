"""Unchanged offers taken quickly (`page_reuse`) give exactly what offer-by-offer reuse gives.

Two stores get the same offers, the same cold export and the same changes; the warm export then
runs with the quick path in one and offer by offer in the other (a per-offer callback
forces that path): feeds, fragment indexes, recorded rows and counts must all be equal, and
the quick path must really have been taken for the unchanged offers.
"""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

import gateway.pipeline.one_pass as one_pass
import gateway.pipeline.page_plan as page_plan
from gateway.config import GatewayConfig, OutboxSettings, StoreSettings, ValidationSettings
from gateway.pipeline.export import run_export
from gateway.pipeline.fragment_index import CACHE_FOLDER
from gateway.store.database import Database
from tests.conftest import FIXED_TIME, REPO, Gateway, base_offer, with_changes

LATER = FIXED_TIME + timedelta(days=1)
PAGE = 4


def _gateway(root: Path) -> Gateway:
    root.mkdir()
    config = GatewayConfig(
        store=StoreSettings(url=f"sqlite:///{root / 'gateway.sqlite3'}"),
        outbox=OutboxSettings(path=root / "outbox"),
        validation=ValidationSettings(schema_path=REPO / "xsd" / "lheo-2.3-gateway.xsd"),
        mappings_path=REPO / "mappings",
    )
    return Gateway(root, config, Database(config.store.url))


def _offers() -> list[dict[str, Any]]:
    offers = [
        with_changes(base_offer(f"2026112700{i:02d}", (f"0010{i:04d}",)), certifinfo=f"1085{i:02d}")
        for i in range(1, 19)
    ]
    offers[9] = with_changes(offers[9], responsable__siret="73282932000075")  # quarantined: never in bulk
    offers[3] = with_changes(offers[3], diploma__valid_until="2027-06-30")  # expired in the last export
    return offers


def _state(gw: Gateway, results: dict[str, Any]) -> dict[str, Any]:
    counts = {
        name: (r.considered, r.exported, r.reused, r.rebuilt, r.quarantined, r.out_of_perimeter, r.sessions_exported)
        for name, r in results.items()
    }
    files = {p.relative_to(gw.outbox).as_posix(): p.read_bytes() for p in sorted(gw.outbox.rglob("*")) if p.is_file()}
    files = {name: data for name, data in files.items() if "lock" not in name}
    with sqlite3.connect(gw.root / "gateway.sqlite3") as db:
        rows = {
            "feed_offers": db.execute(
                "SELECT r.destination, f.formation_reference, f.fragment_sha256, f.session_count "
                "FROM feed_offers f JOIN export_runs r ON r.id = f.run_id ORDER BY 1, 2, r.id"
            ).fetchall(),
            "history": db.execute(
                'SELECT session_reference, formation_reference, start, "end" FROM session_history ORDER BY 1'
            ).fetchall(),
            "quarantine": db.execute("SELECT formation_reference, code FROM quarantine ORDER BY 1, 2").fetchall(),
        }
    return {"counts": counts, "files": files, "rows": rows}


def _scenario(gw: Gateway, offers: list[dict[str, Any]], *, bulk: bool) -> dict[str, Any]:
    callback = None if bulk else (lambda _name, _decision: None)

    def export(at: Any) -> dict[str, Any]:
        on_offer: Any = callback
        results = run_export(gw.database, gw.config, exported_at=at, on_offer=on_offer)
        return {r.destination: r for r in results}

    gw.import_offers(*offers)
    export(FIXED_TIME)
    changed = [
        with_changes(offers[5], title="BTS Négociation et digitalisation de la relation client"),
        with_changes(offers[14], status="archivee"),  # the fragment after it: deflate block redone
        base_offer("202611270099", ("00109999",)),  # a new one at the end
    ]
    gw.import_offers(*changed, name="changes.jsonl")
    with sqlite3.connect(gw.root / "gateway.sqlite3") as db:  # another formation exported it first
        db.execute(
            "UPDATE session_history SET formation_reference = '202601019999' WHERE session_reference = '00100016'"
        )
    warm = export(LATER)
    state = _state(gw, warm)
    again = export(LATER + timedelta(days=1))  # nothing changed: every page in bulk when allowed
    state["again"] = _state(gw, again)
    # Ten months on: another campaign year for Parcoursup and Affelnet, which reread every offer.
    next_year = export(LATER + timedelta(days=300))
    state["next_year"] = _state(gw, next_year)
    gw.database.close()
    return state


def test_bulk_pages_equal_offer_by_offer_reuse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(page_plan, "CHUNK_SIZE", PAGE)
    taken: list[int] = []
    original = one_pass.take_quick

    def counting(dest: Any, stored: Any, entry: Any) -> None:
        taken.append(1)
        original(dest, stored, entry)

    monkeypatch.setattr(one_pass, "take_quick", counting)
    original_block = one_pass.take_block

    def counting_blocks(dest: Any, block: Any, start: int, end: int) -> None:
        taken.append(block.header.count)
        original_block(dest, block, start, end)

    monkeypatch.setattr(one_pass, "take_block", counting_blocks)
    offers = _offers()
    bulk = _scenario(_gateway(tmp_path / "bulk"), offers, bulk=True)
    assert taken, "no page was taken in bulk"
    in_bulk = len(taken)
    by_offer = _scenario(_gateway(tmp_path / "by-offer"), offers, bulk=False)
    assert len(taken) == in_bulk, "a per-offer callback must keep the offer-by-offer path"
    assert bulk["counts"] == by_offer["counts"]
    assert bulk["rows"] == by_offer["rows"]
    assert bulk["files"].keys() == by_offer["files"].keys()
    for name, data in bulk["files"].items():
        assert data == by_offer["files"][name], name
    assert bulk["again"] == by_offer["again"]
    assert bulk["next_year"] == by_offer["next_year"]
    assert any(name.startswith(CACHE_FOLDER) for name in bulk["files"])


def test_only_offers_with_nothing_to_report_are_taken_quickly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(page_plan, "CHUNK_SIZE", PAGE)
    quick: list[str] = []
    original = one_pass.take_quick

    def recording(dest: Any, stored: Any, entry: Any) -> None:
        quick.append(stored.reference)
        original(dest, stored, entry)

    monkeypatch.setattr(one_pass, "take_quick", recording)
    whole: list[str] = []
    original_block = one_pass.take_block

    def recording_block(dest: Any, block: Any, start: int, end: int) -> None:
        whole.extend(block.references())
        original_block(dest, block, start, end)

    monkeypatch.setattr(one_pass, "take_block", recording_block)
    gw = _gateway(tmp_path / "gw")
    offers = _offers()
    gw.import_offers(*offers)
    run_export(gw.database, gw.config, destinations=["intercarif"], exported_at=FIXED_TIME)
    gw.import_offers(with_changes(offers[5], title="BTS Négociation et digitalisation de la relation client"))
    quick.clear()
    [result] = run_export(gw.database, gw.config, destinations=["intercarif"], exported_at=LATER)
    assert (result.rebuilt, result.reused) == (1, len(offers) - 1)
    taken = quick + whole  # offer by offer, or in a segment taken whole (`segments`)
    assert offers[5]["reference"] not in taken  # changed: decided again
    assert offers[9]["reference"] not in taken  # quarantined: reused offer by offer, with its problems
    assert sorted(taken) == sorted(o["reference"] for i, o in enumerate(offers) if i not in (5, 9))
    assert whole, "no segment was taken whole"
    gw.database.close()


def test_the_cli_progress_asks_for_decisions_only_when_it_shows_a_bar(tmp_path: Path) -> None:
    from io import StringIO

    from rich.console import Console

    from gateway.cli.progress import ExportProgress

    gw = _gateway(tmp_path / "gw")
    piped = ExportProgress(Console(file=StringIO()), gw.database)
    assert piped.callback is None  # a scheduled or piped export keeps the bulk path
    shown = ExportProgress(Console(file=StringIO(), force_terminal=True), gw.database)
    assert shown.callback == shown.on_offer
    gw.database.close()


def test_the_neighbours_of_a_changed_offer_are_deflated_by_the_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gateway.pipeline.destination_pass as destination_pass

    gw = _gateway(tmp_path / "gw")
    offers = _offers()
    gw.import_offers(*offers)
    run_export(gw.database, gw.config, destinations=["intercarif"], exported_at=FIXED_TIME)
    gw.import_offers(with_changes(offers[5], title="BTS Négociation et digitalisation de la relation client"))
    in_main: list[int] = []
    original = destination_pass.deflate_block

    def counting(data: bytes, level: int, dictionary: bytes = b"") -> bytes:
        in_main.append(len(data))
        return original(data, level, dictionary)

    monkeypatch.setattr(destination_pass, "deflate_block", counting)
    [warm] = run_export(gw.database, gw.config, destinations=["intercarif"], exported_at=LATER)
    assert (warm.rebuilt, warm.reused) == (1, len(offers) - 1)
    assert in_main == []  # the changed fragment and the one after it came deflated from the chunk
    monkeypatch.setattr(destination_pass, "deflate_block", original)
    assert warm.feed is not None
    xml, gz = warm.feed.path.read_bytes(), warm.feed.gz_path.read_bytes()
    [cold] = run_export(gw.database, gw.config, destinations=["intercarif"], exported_at=LATER, no_cache=True)
    assert cold.feed is not None and (cold.feed.path.read_bytes(), cold.feed.gz_path.read_bytes()) == (xml, gz)
    gw.database.close()
