"""Every field is checked at import, with a French message naming it (issue #8).

Before, FORMACODE `1234` or a control character in a code was accepted, then quarantined at
every export with an XSD message naming no input field.
"""

from __future__ import annotations

from typing import Any

import pytest

from gateway.config import RulesSettings
from gateway.intake.models import DiplomaType, Offer
from gateway.problems import Scope, Severity
from gateway.rules.offer_checks import check_offer
from tests.conftest import Gateway, base_offer, with_changes


def _problems(data: dict[str, Any]) -> list[tuple[str, str, str, Severity]]:
    problems = check_offer(Offer.model_validate(data), RulesSettings(), data)
    return [(p.code.value, p.path, p.message, p.severity) for p in problems]


@pytest.mark.parametrize(
    ("field", "values", "code", "path", "said"),
    [
        ("formacode", ["1234"], "FORMACODE_FORMAT", "formacode[0]", "5 chiffres"),
        ("formacode", ["34566", "3456a"], "FORMACODE_FORMAT", "formacode[1]", "5 chiffres"),
        ("nsf", ["31"], "NSF_FORMAT", "nsf[0]", "3 chiffres"),
        ("rome", ["M160"], "ROME_FORMAT", "rome[0]", "une lettre de A à N puis 4 chiffres"),
        ("rome", ["Z1607"], "ROME_FORMAT", "rome[0]", "une lettre de A à N"),
        ("formacode", ["34566"] * 6, "FORMACODE_FORMAT", "formacode", "5 au plus"),
        ("nsf", ["312"] * 4, "NSF_FORMAT", "nsf", "3 au plus"),
    ],
)
def test_classification_codes_are_checked(field: str, values: list[str], code: str, path: str, said: str) -> None:
    found = _problems(with_changes(base_offer(), **{field: values}))
    assert [(c, p) for c, p, _, _ in found] == [(code, path)]
    assert said in found[0][2]


def test_good_classification_codes_pass() -> None:
    assert _problems(with_changes(base_offer(), formacode=["34566"], nsf=["312"], rome=["D1214"])) == []


def test_responsable_web_link_is_checked() -> None:
    found = _problems(with_changes(base_offer(), responsable__web="www.cfa-exemple"))
    assert [(c, p) for c, p, _, _ in found] == [("URL_FORMAT", "responsable.web")]
    assert "organisme responsable" in found[0][2]


@pytest.mark.parametrize(
    ("latitude", "longitude", "path"),
    [
        ("44,8378", "-0.5792", "sessions[0].place.latitude"),  # decimal comma
        ("91.0", "-0.5792", "sessions[0].place.latitude"),
        ("44.8378", "-181", "sessions[0].place.longitude"),
        ("44.8378", None, "sessions[0].place"),  # one without the other
    ],
)
def test_coordinates_are_checked(latitude: str, longitude: str | None, path: str) -> None:
    offer = base_offer()
    offer["sessions"][0]["place"] |= {"latitude": latitude, "longitude": longitude}
    problems = check_offer(Offer.model_validate(offer), RulesSettings(), offer)
    assert [(p.code.value, p.path) for p in problems] == [("COORDINATES_FORMAT", path)]
    # A session's place: only that session is held back.
    assert problems[0].scope is Scope.SESSION and problems[0].session_reference == "00100001"


def test_good_coordinates_pass() -> None:
    offer = base_offer()
    offer["sessions"][0]["place"] |= {"latitude": "44.8378", "longitude": "-0.5792"}
    assert _problems(offer) == []


def test_control_character_in_a_code_is_an_error_naming_the_field() -> None:
    found = _problems(with_changes(base_offer(), rome=["M16\x0b07"]))
    codes = {(c, p, s) for c, p, _, s in found}
    assert ("TEXT_CONTROL_CHARACTER", "rome[0]", Severity.ERROR) in codes
    assert ("ROME_FORMAT", "rome[0]", Severity.ERROR) in codes
    message = next(m for c, _, m, _ in found if c == "TEXT_CONTROL_CHARACTER")
    assert "rome[0]" in message and "U+000B" in message


def test_control_character_in_a_free_text_is_a_warning_it_is_removed_at_export() -> None:
    found = _problems(with_changes(base_offer(), content="Gestion\x1f opérationnelle"))
    assert [(c, p, s) for c, p, _, s in found] == [("TEXT_CONTROL_CHARACTER", "content", Severity.WARNING)]


def test_control_character_in_a_contact_email_is_an_error() -> None:
    offer = base_offer()
    offer["contacts"][0]["email"] = "julie\x00@cfa.example"
    found = _problems(offer)
    assert found[0][:2] == ("TEXT_CONTROL_CHARACTER", "contacts[0].email")


@pytest.mark.parametrize(
    ("diploma", "code", "path"),
    [
        ({"cfd": "3203121"}, "CFD_FORMAT", "diploma.cfd"),
        ({"mef": ["241252022"]}, "MEF_FORMAT", "diploma.mef[0]"),
        ({"valid_until": "2028-02-30"}, "VALIDITY_DATE_FORMAT", "diploma.valid_until"),
        ({"valid_until": "31/08/2028"}, "VALIDITY_DATE_FORMAT", "diploma.valid_until"),
    ],
)
def test_diploma_block_is_checked(diploma: dict[str, Any], code: str, path: str) -> None:
    found = _problems(with_changes(base_offer(), diploma={"type": "BTS"} | diploma))
    assert [(c, p, s) for c, p, _, s in found] == [(code, path, Severity.ERROR)]


def test_mef_duration_that_disagrees_with_the_course_is_a_warning() -> None:
    found = _problems(with_changes(base_offer(), diploma={"type": "CAP", "mef": ["2412520231"]}))  # says 3 years
    assert [(c, s) for c, _, _, s in found] == [("MEF_FORMAT", Severity.WARNING)]


@pytest.mark.parametrize("spelling", ["Bac pro", "bac-pro", "BAC  PRO", "bac_pro"])
def test_diploma_type_spellings_are_folded(spelling: str) -> None:
    offer = Offer.model_validate(with_changes(base_offer(), diploma={"type": spelling}))
    assert offer.diploma is not None and offer.diploma.type is DiplomaType.BAC_PRO


def test_unknown_diploma_type_is_rejected_in_french(gateway: Gateway) -> None:
    report = gateway.import_offers(with_changes(base_offer(), diploma={"type": "BREVET"}))
    [problem] = report.results[0].problems
    assert problem.code.value == "INPUT_INVALID" and problem.path == "diploma.type"
    assert "n'est pas une valeur prévue" in problem.message and "LICENCE PRO" in problem.message


def test_two_certifinfo_codes_get_the_one_certification_rule(gateway: Gateway) -> None:
    report = gateway.import_offers(with_changes(base_offer(), certifinfo=["108540", "108541"]))
    [problem] = report.results[0].problems
    assert problem.path == "certifinfo"
    assert "une seule certification" in problem.message and "2 codes" in problem.message
    assert "doit être un texte" not in problem.message


def test_bad_formacode_is_rejected_at_import_not_quarantined_at_export(gateway: Gateway) -> None:
    report = gateway.import_offers(with_changes(base_offer(), formacode=["1234"]))
    assert report.results[0].outcome.value == "rejected"
    result = gateway.export("intercarif")["intercarif"]
    [decision] = result.decisions
    assert [p.code.value for p in decision.problems] == ["FORMACODE_FORMAT"]  # the import's problem, not XSD_INVALID
