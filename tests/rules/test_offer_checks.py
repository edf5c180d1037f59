"""The seed guide's rules (§0) and the gateway-side checks the XSD cannot make (§A, §D, §F 11–20)."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.config import ApprovedFormateur, RulesSettings
from gateway.intake.models import Offer
from gateway.problems import Scope, Severity
from gateway.rules.offer_checks import check_offer
from tests.conftest import Gateway, base_offer, with_changes


def _codes(data: dict[str, Any], rules: RulesSettings | None = None) -> list[tuple[str, str]]:
    problems = check_offer(Offer.model_validate(data), rules or RulesSettings())
    return [(p.code.value, p.path) for p in problems]


def test_valid_offer_has_no_problem() -> None:
    assert _codes(base_offer()) == []


def test_rule_at_least_one_modality() -> None:
    none = {"formation_continue": False, "contrat_professionnalisation": False, "contrat_apprentissage": False}
    codes = _codes(with_changes(base_offer(), modalities=none, apprenticeship_years=[]))
    assert codes == [("MODALITIES_NONE", "modalities")]


def test_rule_curriculum_years_required_iff_apprenticeship() -> None:
    assert _codes(with_changes(base_offer(), apprenticeship_years=[])) == [
        ("APPRENTICESHIP_YEARS_MISSING", "apprenticeship_years")
    ]
    cp_only = {"formation_continue": False, "contrat_professionnalisation": True, "contrat_apprentissage": False}
    assert _codes(with_changes(base_offer(), modalities=cp_only)) == [
        ("APPRENTICESHIP_YEARS_UNEXPECTED", "apprenticeship_years")
    ]


def test_rule_curriculum_years_within_course_length() -> None:
    codes = _codes(with_changes(base_offer(), duration_years=2, apprenticeship_years=[2, 3]))
    assert codes == [("APPRENTICESHIP_YEARS_BEYOND_DURATION", "apprenticeship_years[1]")]
    assert _codes(with_changes(base_offer(), apprenticeship_years=[6])) == [
        ("INPUT_INVALID", "apprenticeship_years[0]")
    ]


def _with_formateur(siret: str) -> dict[str, Any]:
    offer = base_offer()
    offer["formateur"] = {"siret": siret, "name": "Autre organisme"}
    return offer


def test_rule_formateur_with_another_siren_needs_approval() -> None:
    other = "44306184100047"  # valid SIRET, another SIREN
    problems = check_offer(Offer.model_validate(_with_formateur(other)), RulesSettings())
    assert [(p.code.value, p.path) for p in problems] == [("FORMATEUR_SIREN_NOT_APPROVED", "formateur.siret")]
    assert "443061841" in problems[0].message and "732829320" in problems[0].message
    approved = RulesSettings(
        approved_formateurs=[ApprovedFormateur(responsable_siren="732829320", formateur_siren="443061841")]
    )
    assert _codes(_with_formateur(other), approved) == []


def test_rule_formateur_with_same_siren_needs_no_approval() -> None:
    assert _codes(_with_formateur("73282932000009")) == []


def test_rule_title_length_of_the_form() -> None:
    assert _codes(with_changes(base_offer(), title="x" * 301)) == [("TEXT_TOO_LONG", "title")]
    assert _codes(with_changes(base_offer(), title="   ")) == [("TEXT_EMPTY", "title")]


@pytest.mark.parametrize("field", ["objective", "expected_results", "content", "rhythm"])
def test_blank_long_texts_are_refused_at_intake(field: str) -> None:
    assert _codes(with_changes(base_offer(), **{field: " \n\t "})) == [("TEXT_EMPTY", field)]


def test_rule_one_certifinfo_code_of_at_most_ten_digits() -> None:
    assert _codes(with_changes(base_offer(), certifinfo="12345678901")) == [("CERTIFINFO_FORMAT", "certifinfo")]
    assert _codes(with_changes(base_offer(), certifinfo="12AB")) == [("CERTIFINFO_FORMAT", "certifinfo")]


def test_case18_rncp_with_six_digits_is_flagged() -> None:
    assert _codes(with_changes(base_offer(), rncp="RNCP383680")) == [("RNCP_FORMAT", "rncp")]


def test_case20_url_longer_than_400_rejected() -> None:
    url = "https://www.cfa-exemple.example/" + "a" * 400
    assert _codes(with_changes(base_offer(), web_links=[url])) == [("URL_FORMAT", "web_links[0]")]


def test_stale_or_wrong_suffix_is_a_warning() -> None:
    title = "BTS MCO (Contrat de professionnalisation possible)"
    problems = check_offer(Offer.model_validate(with_changes(base_offer(), title=title)), RulesSettings())
    assert [(p.code.value, p.severity) for p in problems] == [("TITLE_SUFFIX_INCONSISTENT", Severity.WARNING)]


def test_case05_right_suffix_with_typographic_apostrophe_is_not_a_warning() -> None:
    title = "BTS MCO  ( contrat d’Apprentissage possible)"
    assert _codes(with_changes(base_offer(), title=title)) == []


def _session_problems(**session: Any) -> list[tuple[str, str, Scope]]:
    offer = base_offer()
    offer["sessions"][0].update(session)
    problems = check_offer(Offer.model_validate(offer), RulesSettings())
    return [(p.code.value, p.path, p.scope) for p in problems]


def test_case11_session_ending_before_it_starts_is_held_back() -> None:
    assert _session_problems(start="2027-09-01", end="2027-06-30") == [
        ("SESSION_END_BEFORE_START", "sessions[0].end", Scope.SESSION)
    ]


@pytest.mark.parametrize("value", ["20251339", "20250231", "2026-02-30"])
def test_case12_calendar_impossible_dates_rejected(value: str) -> None:
    assert _session_problems(start=value) == [("DATE_IMPOSSIBLE", "sessions[0].start", Scope.SESSION)]


def test_case12_unknown_and_partial_dates_accepted() -> None:
    assert _session_problems(start=None, end=None) == []
    assert _session_problems(start="2027-09", end="2029") == []


def test_session_reference_must_have_eight_digits_and_be_unique() -> None:
    assert _session_problems(reference="1234") == [("SESSION_REFERENCE_FORMAT", "sessions[0].reference", Scope.SESSION)]
    offer = base_offer(session_refs=("00100001", "00100001"))
    codes = [p.code.value for p in check_offer(Offer.model_validate(offer), RulesSettings())]
    assert codes == ["SESSION_REFERENCE_DUPLICATE"]


def test_case14_wrong_uai_letter_flagged_and_lowercase_accepted() -> None:
    codes = _codes(with_changes(base_offer(), responsable__uai="0330000A"))
    assert codes == [("UAI_CHECK_LETTER", "responsable.uai")]
    assert _codes(with_changes(base_offer(), responsable__uai="0330000w")) == []


def test_case15_corsican_insee_code_is_valid() -> None:
    place = {"lines": ["Boulevard Sampiero"], "postcode": "20000", "city": "Ajaccio", "insee": "2A004"}
    assert _session_problems(place=place) == []
    place_bad = dict(place, insee="20004")
    assert _session_problems(place=place_bad) == [("INSEE_FORMAT", "sessions[0].place.insee", Scope.SESSION)]


def test_case17_address_that_cannot_fit_four_lines_is_rejected_at_intake() -> None:
    place = {"lines": ["x " * 120], "postcode": "33000", "city": "Bordeaux"}
    assert _session_problems(place=place) == [("ADDRESS_TOO_LONG", "sessions[0].place.lines", Scope.SESSION)]


def test_place_required_unless_full_distance() -> None:
    assert _session_problems(place=None) == [("PLACE_MISSING", "sessions[0].place", Scope.SESSION)]


def test_postcode_must_have_five_digits() -> None:
    place = {"lines": ["1 rue du Port"], "postcode": "3300", "city": "Bordeaux"}
    assert _session_problems(place=place) == [("POSTCODE_FORMAT", "sessions[0].place.postcode", Scope.SESSION)]


def test_rule_session_dates_never_change_once_exported(gateway: Gateway) -> None:
    offer = base_offer(session_refs=("00100001", "00100002"))
    gateway.import_offers(offer)
    assert gateway.export("intercarif")["intercarif"].sessions_exported == 2
    moved = with_changes(offer)
    moved["sessions"][0]["start"] = "2027-10-01"
    report = gateway.import_offers(moved)
    [problem] = report.results[0].problems
    assert (problem.code.value, problem.scope, problem.session_reference) == (
        "SESSION_DATES_CHANGED",
        Scope.SESSION,
        "00100001",
    )
    assert "créez une nouvelle session" in problem.message
    result = gateway.export("intercarif")["intercarif"]
    assert result.exported == 1 and result.sessions_exported == 1 and result.sessions_held_back == 1
    # Moving the dates back restores the session.
    gateway.import_offers(offer)
    assert gateway.export("intercarif")["intercarif"].sessions_exported == 2


def test_rule_an_offer_whose_only_session_changed_dates_is_quarantined(gateway: Gateway) -> None:
    offer = base_offer()
    gateway.import_offers(offer)
    gateway.export("intercarif")
    moved = with_changes(offer)
    moved["sessions"][0]["end"] = "2029-07-15"
    gateway.import_offers(moved)
    result = gateway.export("intercarif")["intercarif"]
    assert result.quarantined == 1 and result.feed is None
    codes = [p.code.value for p in result.decisions[0].problems]
    assert codes == ["SESSION_NONE", "SESSION_DATES_CHANGED"]
