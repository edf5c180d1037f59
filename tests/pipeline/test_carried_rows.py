"""Offers taken unchanged carry their `feed_offers` row over from the last run, in SQL (issue #12).

A warm run copies the rows of the run that wrote the fragment index, range by range of
consecutive unchanged offers; the rows it records must be exactly those a cold run records,
whatever changed in between (a changed offer, a withdrawn one, a new one inside a range), and
it falls back to writing every row when the last run's rows are gone.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import delete, select

import gateway.pipeline.export as export_module
from gateway.pipeline.export import run_export
from gateway.pipeline.row_spool import RowSpool
from gateway.store.tables import FeedOfferRow, FeedRow
from tests.conftest import FIXED_TIME, Gateway, base_offer, with_changes

DESTINATIONS = ["intercarif", "pole-emploi"]


@pytest.fixture(params=["sqlite", "postgresql"])
def store_kind(request: pytest.FixtureRequest) -> str:
    """The copy is SQL of our own (ranges of references, row counts): both stores run it."""
    return str(request.param)


def _offers() -> list[dict[str, Any]]:
    return [
        with_changes(base_offer(f"2026112700{i:02d}", (f"0010{i:04d}",)), certifinfo=f"1085{i:02d}")
        for i in range(10, 34, 2)
    ]


def _export(gateway: Gateway, minutes: int, *, no_cache: bool = False) -> dict[str, Any]:
    at = FIXED_TIME + timedelta(minutes=minutes)
    results = run_export(gateway.database, gateway.config, destinations=DESTINATIONS, exported_at=at, no_cache=no_cache)
    return {r.destination: r for r in results}


def _rows(gateway: Gateway, feed_id: str) -> set[tuple[str, str, int]]:
    with gateway.database.session() as db:
        run_id = db.scalar(select(FeedRow.run_id).where(FeedRow.id == feed_id))
        rows = db.execute(
            select(FeedOfferRow.formation_reference, FeedOfferRow.fragment_sha256, FeedOfferRow.session_count).where(
                FeedOfferRow.run_id == run_id
            )
        )
        return {(ref, sha, count) for ref, sha, count in rows}


def _spooled_feed_offers(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    spooled: list[str] = []
    add = RowSpool.add

    def counting(self: RowSpool, kind: str, row: dict[str, Any]) -> None:
        if kind == "feed_offer":
            spooled.append(row["formation_reference"])
        add(self, kind, row)

    monkeypatch.setattr(RowSpool, "add", counting)
    return spooled


def _change_some(gateway: Gateway, offers: list[dict[str, Any]]) -> None:
    gateway.import_offers(
        with_changes(offers[3], title="BTS Négociation et digitalisation de la relation client"),
        with_changes(offers[7], status="archivee"),
        # Between two unchanged offers: inside a range the warm run copies.
        with_changes(base_offer("202611270019", ("00109998",)), certifinfo="108599"),
    )


def test_a_warm_run_records_the_rows_of_a_cold_one(gateway: Gateway, monkeypatch: pytest.MonkeyPatch) -> None:
    offers = _offers()
    gateway.import_offers(*offers)
    _export(gateway, 0)
    _change_some(gateway, offers)
    with monkeypatch.context() as patch:
        spooled = _spooled_feed_offers(patch)
        warm = _export(gateway, 10)
    # Only the rebuilt offers' rows were written one by one; the others were copied.
    assert sorted(spooled) == sorted(["202611270019", "202611270016"] * len(DESTINATIONS))
    cold = _export(gateway, 20, no_cache=True)
    for name in DESTINATIONS:
        assert warm[name].reused == 10 and warm[name].rebuilt == 2, name
        expected = _rows(gateway, cold[name].feed_id)
        assert len(expected) == warm[name].exported == 12
        assert _rows(gateway, warm[name].feed_id) == expected, name
    again = _export(gateway, 30)  # a warm run after a warm run copies from the warm run's rows
    for name in DESTINATIONS:
        assert again[name].reused == 12 and _rows(gateway, again[name].feed_id) == _rows(gateway, cold[name].feed_id)


def test_without_the_last_runs_rows_every_row_is_written(gateway: Gateway, monkeypatch: pytest.MonkeyPatch) -> None:
    offers = _offers()
    gateway.import_offers(*offers)
    first = _export(gateway, 0)
    with gateway.database.session() as db, db.begin():
        run_id = db.scalar(select(FeedRow.run_id).where(FeedRow.id == first["intercarif"].feed_id))
        db.execute(delete(FeedOfferRow).where(FeedOfferRow.run_id == run_id))
    _change_some(gateway, offers)
    with monkeypatch.context() as patch:
        spooled = _spooled_feed_offers(patch)
        warm = _export(gateway, 10)
    assert spooled.count("202611270010") == 1  # intercarif's, written anew; pole-emploi's copied
    cold = _export(gateway, 20, no_cache=True)
    for name in DESTINATIONS:
        assert warm[name].reused == 10
        assert _rows(gateway, warm[name].feed_id) == _rows(gateway, cold[name].feed_id), name


def test_rows_that_change_during_the_run_fail_that_destination_alone(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    offers = _offers()
    gateway.import_offers(*offers)
    first = _export(gateway, 0)
    checked = export_module.carried_run

    def then_purged(database: Any, cache: Any) -> int | None:
        run_id = checked(database, cache)
        if cache.path.name.startswith("intercarif"):
            with gateway.database.session() as db, db.begin():
                db.execute(delete(FeedOfferRow).where(FeedOfferRow.run_id == run_id))
        return run_id

    monkeypatch.setattr(export_module, "carried_run", then_purged)
    warm = _export(gateway, 10)
    assert warm["intercarif"].feed is None and "ont changé pendant l'export" in warm["intercarif"].error
    assert warm["pole-emploi"].feed is not None and warm["pole-emploi"].reused == 12
    with gateway.database.session() as db:
        feeds = db.scalars(select(FeedRow.id).where(FeedRow.destination == "intercarif")).all()
    assert feeds == [first["intercarif"].feed_id]  # nothing of the failed run recorded
    monkeypatch.undo()
    after = _export(gateway, 20)  # the old index is still there; its rows are gone: all written anew
    assert after["intercarif"].reused == 12
    assert _rows(gateway, after["intercarif"].feed_id) == _rows(
        gateway, _export(gateway, 30, no_cache=True)["intercarif"].feed_id
    )
