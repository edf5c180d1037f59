"""A rejected update of a valid, exported offer keeps the offer — in its last valid version — in the feeds."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from gateway.intake.report import Outcome
from gateway.store.tables import OfferRow, RejectedUpdateRow
from tests.conftest import FIXED_TIME, LHEO_NS, Gateway, base_offer, with_changes

REF = "202611270001"


def _titles(gateway: Gateway, destination: str, at_offset: int) -> dict[str, str]:
    result = gateway.export(destination, at=FIXED_TIME + timedelta(hours=at_offset))[destination]
    root = gateway.feed_xml(result)
    found = {}
    for formation in root.iter(f"{{{LHEO_NS}}}formation"):
        title = formation.find(f"{{{LHEO_NS}}}intitule-formation")
        assert title is not None
        found[formation.get("numero") or ""] = title.text or ""
    return found


def test_rejected_update_keeps_the_last_valid_version_in_the_next_feeds(gateway: Gateway) -> None:
    other = base_offer("202611270002", ("00100002",))
    gateway.import_offers(base_offer(), other)
    assert REF in _titles(gateway, "intercarif", 0)

    broken = with_changes(base_offer(), duration_years="deux ans", title="Nouvel intitulé")
    report = gateway.import_offers(broken)
    [result] = report.results
    assert result.outcome is Outcome.REJECTED and result.kept_last_valid
    assert any(p.path == "duration_years" for p in result.problems)

    titles = _titles(gateway, "intercarif", 1)
    assert titles[REF] == base_offer()["title"]  # the last valid version, not the rejected one
    with gateway.database.session() as db:
        row = db.get(OfferRow, REF)
        assert row is not None and row.accepted
        kept = db.get(RejectedUpdateRow, REF)
        assert kept is not None and "deux ans" in kept.payload

    # The same bad file again: still rejected, nothing rewritten.
    again = gateway.import_offers(broken)
    assert again.results[0].outcome is Outcome.REJECTED and again.results[0].kept_last_valid

    # A valid update replaces the offer and clears the rejected one.
    fixed = gateway.import_offers(with_changes(base_offer(), title="Nouvel intitulé"))
    assert fixed.results[0].outcome is Outcome.UPDATED
    assert _titles(gateway, "intercarif", 2)[REF] == "Nouvel intitulé"
    with gateway.database.session() as db:
        assert db.scalars(select(RejectedUpdateRow)).all() == []


def test_rejected_record_of_a_never_valid_offer_replaces_it(gateway: Gateway) -> None:
    gateway.import_offers(with_changes(base_offer(), responsable__siret="73282932000075"))
    report = gateway.import_offers(with_changes(base_offer(), duration_years="deux ans"))
    assert report.results[0].outcome is Outcome.REJECTED and not report.results[0].kept_last_valid
    with gateway.database.session() as db:
        row = db.get(OfferRow, REF)
        assert row is not None and "deux ans" in row.payload


def test_within_one_file_a_later_bad_record_does_not_replace_an_earlier_good_one(gateway: Gateway) -> None:
    report = gateway.import_offers(base_offer(), with_changes(base_offer(), duration_years="deux ans"))
    assert [r.outcome for r in report.results] == [Outcome.CREATED, Outcome.REJECTED]
    assert REF in _titles(gateway, "intercarif", 0)
