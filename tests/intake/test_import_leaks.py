"""The session and duplicate rules that leaked (issue #8), each case by name."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from gateway.intake.report import ImportReport, Outcome
from gateway.problems import Code
from gateway.store.queries import load_problems
from gateway.store.tables import OfferRow
from tests.conftest import FIXED_TIME, Gateway, base_offer, q, with_changes


def _codes(report: ImportReport, reference: str) -> list[str]:
    [result] = [r for r in report.results if r.reference == reference and r.outcome is not Outcome.REPEATED]
    return [p.code.value for p in result.problems]


def _elsewhere(reference: str, sessions: tuple[str, ...], city: str = "Pessac", insee: str = "33318") -> dict[str, Any]:
    """A look-alike of base_offer taught at another place."""
    offer = base_offer(reference, sessions)
    for session in offer["sessions"]:
        session["place"] = {"lines": ["2 avenue des Sports"], "postcode": "33600", "city": city, "insee": insee}
    return offer


# --- one session reference = one formation, in every destination alike -------------------


def test_session_reference_shared_by_two_formations_of_one_file_belongs_to_the_first(gateway: Gateway) -> None:
    first = base_offer("202611270001", ("00100001",))
    second = with_changes(base_offer("202611270002", ("00100001", "00100002")), certifinfo="108541")
    report = gateway.import_offers(first, second)
    assert _codes(report, "202611270001") == []
    [reused] = [p for p in report.results[1].problems if p.code is Code.SESSION_REFERENCE_REUSED]
    assert reused.session_reference == "00100001" and "202611270001" in reused.message
    assert Code.SESSION_DATES_CHANGED.value not in _codes(report, "202611270002")
    results = gateway.export("intercarif", "pole-emploi", "parcoursup")
    for name, result in results.items():
        root = gateway.feed_xml(result)
        numbers = {
            formation.get("numero"): [s.get("numero") for s in formation.iter(q("session"))]
            for formation in root.iter(q("formation"))
        }
        # Every destination alike: the session under its owner only, the other formation without it.
        assert numbers == {"202611270001": ["00100001"], "202611270002": ["00100002"]}, name


def test_session_reference_reused_by_a_later_file_keeps_its_own_code(gateway: Gateway) -> None:
    gateway.import_offers(base_offer("202611270001", ("00100001",)))
    gateway.export("intercarif")
    report = gateway.import_offers(
        with_changes(base_offer("202611270002", ("00100001", "00100002")), certifinfo="108541"), name="later.jsonl"
    )
    assert _codes(report, "202611270002") == ["SESSION_REFERENCE_REUSED"]
    assert "déjà été transmise" in report.results[0].problems[0].message
    later = gateway.export("intercarif", at=FIXED_TIME + timedelta(hours=1))["intercarif"]
    [decision] = [d for d in later.decisions if d.reference == "202611270002"]
    assert [(p.code, p.session_reference) for p in decision.problems] == [(Code.SESSION_REFERENCE_REUSED, "00100001")]


def test_session_reference_is_free_again_once_its_unexported_owner_drops_it(gateway: Gateway) -> None:
    gateway.import_offers(base_offer("202611270001", ("00100001",)))
    gateway.import_offers(base_offer("202611270001", ("00100009",)), name="fixed.jsonl")
    report = gateway.import_offers(
        with_changes(base_offer("202611270002", ("00100001",)), certifinfo="108541"), name="other.jsonl"
    )
    assert _codes(report, "202611270002") == []


# --- duplicates: overlapping sessions, same Certifinfo, formateur and place -----------------


def test_duplicates_flagged_on_overlapping_sessions_two_weeks_apart(gateway: Gateway) -> None:
    later = base_offer("202611270002", ("00100002",))
    later["sessions"][0]["start"] = "2027-09-15"  # base_offer starts on 2027-09-01, ends 2029-06-30
    report = gateway.import_offers(base_offer("202611270001", ("00100001",)), later)
    assert _codes(report, "202611270001") == ["DUPLICATE_SUSPECTED"]
    assert _codes(report, "202611270002") == ["DUPLICATE_SUSPECTED"]


def test_no_duplicate_at_another_place_or_without_overlap(gateway: Gateway) -> None:
    apart = base_offer("202611270003", ("00100003",))
    apart["sessions"][0] |= {"start": "2029-09-01", "end": "2031-06-30"}
    report = gateway.import_offers(
        base_offer("202611270001", ("00100001",)), _elsewhere("202611270002", ("00100002",)), apart
    )
    assert all(not result.problems for result in report.results)


def test_duplicate_message_is_bounded(gateway: Gateway) -> None:
    offers = [base_offer(f"2026112700{n:02d}", (f"001000{n:02d}",)) for n in range(1, 31)]
    report = gateway.import_offers(*offers)
    message = report.results[0].problems[0].message
    assert "et 26 autre(s) offre(s)" in message  # 29 look-alikes: 3 named, then a count
    assert len(message) < 400


# --- a formation reference repeated in one file ----------------------------------------------


def test_repeated_reference_in_one_file_is_reported_and_the_last_record_wins(gateway: Gateway) -> None:
    first = base_offer("202611270001", ("00100001",))
    last = with_changes(first, title="BTS MCO — version corrigée")
    report = gateway.import_offers(first, last)
    assert [r.outcome for r in report.results] == [Outcome.REPEATED, Outcome.CREATED]
    counts = report.counts()
    assert counts[Outcome.CREATED] == 1 and counts[Outcome.UPDATED] == 0  # no "mise à jour" for a new offer
    [warning] = report.results[1].problems
    assert warning.code is Code.FORMATION_REFERENCE_REPEATED and "ligne 2" in warning.message
    with gateway.database.session() as db:
        row = db.get(OfferRow, "202611270001")
        assert row is not None and row.title == "BTS MCO — version corrigée"
    again = gateway.import_offers(first, last)
    assert [r.outcome for r in again.results] == [Outcome.REPEATED, Outcome.UNCHANGED]


def test_repeated_reference_across_batches_is_counted_right(gateway: Gateway) -> None:
    from gateway.intake import importer

    offers = [base_offer(f"20261127{n:04d}", (f"0010{n:04d}",)) for n in range(1, 8)]
    for offer in offers:
        offer["certifinfo"] = offer["reference"][-6:]  # no duplicates
    repeated = with_changes(offers[0], title="Autre intitulé")
    saved = importer.BATCH_SIZE
    importer.BATCH_SIZE = 3  # the repeat lands in a later batch than the first record
    try:
        report = gateway.import_offers(*offers, repeated)
    finally:
        importer.BATCH_SIZE = saved
    counts = report.counts()
    assert counts[Outcome.CREATED] == 7 and counts[Outcome.REPEATED] == 1 and counts[Outcome.UPDATED] == 0


# --- re-import is idempotent from the first time ---------------------------------------------


def test_reimport_is_idempotent_from_the_first_time(gateway: Gateway) -> None:
    # Look-alikes in both orders and a repeated reference: the second import changes nothing.
    offers = [base_offer(f"2026112700{n:02d}", (f"001000{n:02d}",)) for n in (3, 1, 2)]
    offers.append(_elsewhere("202611270004", ("00100004",)))
    offers.append(with_changes(offers[0], title="BTS MCO (corrigé)"))
    first = gateway.import_offers(*offers)
    second = gateway.import_offers(*offers, name="again.jsonl")
    assert first.counts()[Outcome.CREATED] == 4
    assert [r.outcome for r in second.results if r.outcome is not Outcome.REPEATED] == [Outcome.UNCHANGED] * 4
    for before, after in zip(first.results, second.results, strict=True):
        assert before.problems == after.problems


def test_duplicate_warnings_do_not_depend_on_what_was_stored_before(gateway: Gateway) -> None:
    one, two = base_offer("202611270001", ("00100001",)), base_offer("202611270002", ("00100002",))
    gateway.import_offers(one)
    gateway.import_offers(two, name="two.jsonl")  # the stored one gets its warning too
    with gateway.database.session() as db:
        for reference in ("202611270001", "202611270002"):
            row = db.get(OfferRow, reference)
            assert row is not None and [p.code for p in load_problems(row)] == [Code.DUPLICATE_SUSPECTED]
    report = gateway.import_offers(one, two, name="both.jsonl")
    assert [r.outcome for r in report.results] == [Outcome.UNCHANGED, Outcome.UNCHANGED]


def test_archiving_a_look_alike_clears_the_other_warning(gateway: Gateway) -> None:
    one, two = base_offer("202611270001", ("00100001",)), base_offer("202611270002", ("00100002",))
    gateway.import_offers(one, two)
    report = gateway.import_offers(with_changes(two, status="archivee"), name="archive.jsonl")
    assert report.results[0].problems == []
    with gateway.database.session() as db:
        row = db.get(OfferRow, "202611270001")
        assert row is not None and json.loads(row.problems) == []
