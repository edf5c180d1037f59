"""Import checks on the fields consumers read (issue #7): ids, hours, dates, geography."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.config import RulesSettings
from gateway.intake.models import Offer
from gateway.intake.report import Outcome
from gateway.problems import Severity
from gateway.rules.geography import Geography
from gateway.rules.offer_checks import check_offer
from tests.conftest import Gateway, base_offer, with_changes


def _problems(data: dict[str, Any]) -> list[tuple[str, str, Severity]]:
    problems = check_offer(Offer.model_validate(data), RulesSettings(), data, geography=Geography.bundled())
    return [(p.code.value, p.path, p.severity) for p in problems]


def test_complete_offer_has_no_problem() -> None:
    offer = with_changes(
        base_offer(),
        created_at="2026-01-05T10:00:00+01:00",
        updated_at="2026-02-01T10:00:00+01:00",
        hours={"centre": 1350, "company": 1800, "total": 3150},
        indicative_duration="2 ans",
        recruitment_perimeter="region",
        recruitment_terms="Entretien",
        responsable__id="OF-1042",
    )
    assert _problems(offer) == []


def test_total_hours_must_be_the_sum() -> None:
    offer = with_changes(base_offer(), hours={"centre": 1350, "company": 1800, "total": 3000})
    assert _problems(offer) == [("HOURS_TOTAL_MISMATCH", "hours.total", Severity.ERROR)]
    [problem] = check_offer(Offer.model_validate(offer), RulesSettings())
    assert "3000 h" in problem.message and "1350 h" in problem.message and "1800 h" in problem.message
    # Two of the three are not checked against each other.
    assert _problems(with_changes(base_offer(), hours={"centre": 1350, "total": 3000})) == []


def test_hours_are_whole_numbers_at_import(gateway: Gateway) -> None:
    report = gateway.import_offers(with_changes(base_offer(), hours={"centre": 12.5}))
    [result] = report.results
    assert result.outcome is Outcome.REJECTED
    [problem] = result.problems
    assert problem.code.value == "INPUT_INVALID" and problem.path == "hours.centre"
    assert "nombre entier" in problem.message


@pytest.mark.parametrize("value", ["SIRET73282932000074", "a b", "", "x" * 31, "-abc"])
def test_organisation_id_must_fit_a_numero(value: str) -> None:
    codes = _problems(with_changes(base_offer(), responsable__id=value))
    assert codes == [("ORGANISATION_ID_FORMAT", "responsable.id", Severity.ERROR)]


def test_update_before_creation_is_a_warning() -> None:
    offer = with_changes(base_offer(), created_at="2026-03-01T10:00:00Z", updated_at="2026-02-01T10:00:00Z")
    assert _problems(offer) == [("RECORD_DATES_INCONSISTENT", "updated_at", Severity.WARNING)]
    offer = base_offer()
    offer["sessions"][0].update(created_at="2026-03-01T10:00:00Z", updated_at="2026-01-01T10:00:00Z")
    assert _problems(offer) == [("RECORD_DATES_INCONSISTENT", "sessions[0].updated_at", Severity.WARNING)]


def test_unknown_insee_code_is_a_warning_in_french() -> None:
    offer = base_offer()
    offer["sessions"][0]["place"]["insee"] = "33999"
    problems = check_offer(Offer.model_validate(offer), RulesSettings())
    assert [(p.code.value, p.path, p.severity) for p in problems] == [
        ("INSEE_UNKNOWN", "sessions[0].place.insee", Severity.WARNING)
    ]
    assert "33999" in problems[0].message and "commune" in problems[0].message


def test_insee_code_of_another_commune_than_the_postcode_is_a_warning() -> None:
    offer = base_offer()
    offer["sessions"][0]["place"]["insee"] = "33281"  # Mérignac, with Bordeaux's 33000
    assert _problems(offer) == [("INSEE_POSTCODE_MISMATCH", "sessions[0].place.insee", Severity.WARNING)]


def test_a_place_used_by_every_session_is_reported_once() -> None:
    offer = base_offer(session_refs=("00100001", "00100002", "00100003"))
    for session in offer["sessions"]:
        session["place"]["insee"] = "33999"
    assert [code for code, _, _ in _problems(offer)] == ["INSEE_UNKNOWN"]


def test_a_malformed_insee_code_keeps_its_own_error_only() -> None:
    offer = base_offer()
    offer["sessions"][0]["place"]["insee"] = "20004"  # Corsica before 1976: INSEE_FORMAT
    assert [code for code, _, _ in _problems(offer)] == ["INSEE_FORMAT"]
