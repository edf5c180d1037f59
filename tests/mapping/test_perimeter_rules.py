"""The shipped Parcoursup and Affelnet profiles decide as the ministries' catalogue does (issue #8).

A table test: for each diploma type the rules name, an offer inside and one outside, for both
platforms; the campaign window's edges (31 July / 1 August); the certification's validity.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from gateway.intake.models import Offer
from gateway.mapping.perimeter import perimeter_outcome
from gateway.mapping.perimeter_rules import RuleStatus
from gateway.mapping.profiles import DestinationProfile, load_profile
from tests.conftest import REPO, base_offer, with_changes

TODAY = date(2026, 11, 27)  # campaign 2027: entries from 1 August 2027 to 31 July 2028
PUBLISH, VALIDATE, OUT = RuleStatus.PUBLISH, RuleStatus.TO_VALIDATE, RuleStatus.OUT


def _profile(name: str) -> DestinationProfile:
    return load_profile(REPO / "mappings" / f"{name}.toml")


def _offer(
    diploma: str | None,
    level: int,
    duration: int = 2,
    years: list[int] | None = None,
    **changes: Any,
) -> Offer:
    data = with_changes(
        base_offer(),
        exit_level=level,
        duration_years=duration,
        apprenticeship_years=years if years is not None else list(range(1, duration + 1)),
        diploma={"type": diploma, "valid_until": "2031-08-31"} if diploma else None,
        **changes,
    )
    return Offer.model_validate(data)


PARCOURSUP = [
    # (diploma, exit level, duration, years open to apprenticeship, expected status)
    ("BTS", 5, 2, [1, 2], PUBLISH),
    ("BTS", 5, 2, [2], OUT),  # not open in the 1st year
    ("BTSA", 5, 2, [1, 2], PUBLISH),
    ("BTSA", 4, 2, [1, 2], OUT),
    ("BUT", 6, 3, [1, 2, 3], PUBLISH),
    ("BUT", 6, 3, [2, 3], OUT),
    ("CS", 4, 1, [1], PUBLISH),
    ("CS", 3, 1, [1], OUT),
    ("MC", 4, 1, [1], VALIDATE),
    ("MC", 3, 1, [1], OUT),
    ("TH", 5, 1, [1], PUBLISH),
    ("TH", 6, 1, [1], VALIDATE),  # "vérifier accès direct postbac"
    ("TH", 4, 1, [1], OUT),
    ("DCG", 6, 3, [1, 2, 3], VALIDATE),
    ("DCG", 7, 3, [1, 2, 3], OUT),
    ("BM", 5, 2, [1, 2], PUBLISH),
    ("BM", 4, 2, [1, 2], OUT),
    ("LICENCE PRO", 6, 1, [1], OUT),  # no direct post-bac access: no rule admits it
    ("CAP", 3, 2, [1, 2], OUT),  # named by no Parcoursup rule
    ("DE", 4, 2, [1, 2], OUT),
]

AFFELNET = [
    ("CAP", 3, 2, [1, 2], PUBLISH),
    ("CAP", 3, 3, [1, 2, 3], VALIDATE),
    ("CAP", 3, 1, [1], VALIDATE),
    ("CAP", 3, 2, [2], OUT),
    ("CAPA", 3, 2, [1, 2], PUBLISH),
    ("CAPA", 4, 2, [1, 2], OUT),
    ("BAC PRO", 4, 3, [1, 2, 3], PUBLISH),
    ("BAC PRO", 4, 2, [1, 2], VALIDATE),
    ("BAC PRO", 4, 3, [2, 3], OUT),
    ("BAC PRO AGRICOLE", 4, 3, [1, 2, 3], PUBLISH),
    ("BAC PRO AGRICOLE", 5, 3, [1, 2, 3], OUT),
    ("BP", 4, 2, [1, 2], VALIDATE),
    ("BP", 5, 2, [1, 2], OUT),
    ("BPA", 3, 2, [1, 2], VALIDATE),
    ("BPA", 4, 2, [1, 2], OUT),
    ("BMA", 4, 2, [1, 2], VALIDATE),
    ("BMA", 3, 2, [1, 2], OUT),
    ("MC", 3, 1, [1], VALIDATE),
    ("MC", 4, 1, [1], OUT),
    ("TH", 3, 1, [1], OUT),  # never titres professionnels
    ("DE", 4, 2, [1, 2], OUT),  # never health / social diplômes d'État
    ("BTS", 5, 2, [1, 2], OUT),
]


@pytest.mark.parametrize(("diploma", "level", "duration", "years", "expected"), PARCOURSUP)
def test_parcoursup_rules_table(
    diploma: str, level: int, duration: int, years: list[int], expected: RuleStatus
) -> None:
    outcome = perimeter_outcome(_offer(diploma, level, duration, years), _profile("parcoursup"), TODAY)
    assert outcome.status is expected, outcome.trace
    assert outcome.trace, "staff must see which rule decided"
    if expected is not PUBLISH:
        assert outcome.reasons


@pytest.mark.parametrize(("diploma", "level", "duration", "years", "expected"), AFFELNET)
def test_affelnet_rules_table(diploma: str, level: int, duration: int, years: list[int], expected: RuleStatus) -> None:
    outcome = perimeter_outcome(_offer(diploma, level, duration, years), _profile("affelnet"), TODAY)
    assert outcome.status is expected, outcome.trace
    if expected is not PUBLISH:
        assert outcome.reasons


def test_every_diploma_type_of_the_rules_has_an_inside_and_an_outside_case() -> None:
    for name, table in (("parcoursup", PARCOURSUP), ("affelnet", AFFELNET)):
        named = {kind.value for rule in _profile(name).rules for kind in rule.diploma}
        for kind in named:
            statuses = {row[4] for row in table if row[0] == kind}
            assert OUT in statuses, f"{name}: no outside case for {kind}"
            if any(r.status is not OUT for r in _profile(name).rules if kind in {d.value for d in r.diploma}):
                assert statuses - {OUT}, f"{name}: no inside case for {kind}"


CAMPAIGN_EDGES = [
    ("2027-07-31", OUT),  # still the 2026 campaign
    ("2027-08-01", PUBLISH),  # first day of the 2027 entry window
    ("2027-08", PUBLISH),  # month-only start: August 2027
    ("2028-07-31", PUBLISH),  # last day of the window
    ("2028-08-01", OUT),  # next campaign
    (None, OUT),  # unknown start: in no campaign
]


@pytest.mark.parametrize("platform", ["parcoursup", "affelnet"])
@pytest.mark.parametrize(("start", "expected"), CAMPAIGN_EDGES)
def test_campaign_window_edges(platform: str, start: str | None, expected: RuleStatus) -> None:
    diploma, level, duration = ("BTS", 5, 2) if platform == "parcoursup" else ("CAP", 3, 2)
    offer = _offer(diploma, level, duration)
    offer = offer.model_copy(update={"sessions": [offer.sessions[0].model_copy(update={"start": start})]})
    outcome = perimeter_outcome(offer, _profile(platform), TODAY)
    assert outcome.status is expected, outcome.trace
    if expected is OUT:
        assert any("campagne 2027" in reason for reason in outcome.reasons)


VALIDITY = [
    ("2026-08-31", OUT, "expirée"),  # expired before today
    ("2028-08-30", OUT, "avant le 31/08/2028"),  # expires before 31 August of the year after the campaign
    ("2028-08-31", PUBLISH, ""),
    (None, PUBLISH, ""),  # not declared: no check (the trace says so)
]


@pytest.mark.parametrize("platform", ["parcoursup", "affelnet"])
@pytest.mark.parametrize(("valid_until", "expected", "said"), VALIDITY)
def test_certification_validity(platform: str, valid_until: str | None, expected: RuleStatus, said: str) -> None:
    diploma, level, duration = ("BTS", 5, 2) if platform == "parcoursup" else ("CAP", 3, 2)
    offer = _offer(diploma, level, duration)
    assert offer.diploma is not None
    offer = offer.model_copy(update={"diploma": offer.diploma.model_copy(update={"valid_until": valid_until})})
    outcome = perimeter_outcome(offer, _profile(platform), TODAY)
    assert outcome.status is expected, outcome.trace
    assert all(said in reason for reason in outcome.reasons)


@pytest.mark.parametrize("platform", ["parcoursup", "affelnet"])
def test_no_diploma_type_is_out_with_the_field_named(platform: str) -> None:
    outcome = perimeter_outcome(_offer(None, 5), _profile(platform), TODAY)
    assert outcome.status is OUT
    assert "diploma.type" in outcome.reasons[0]


@pytest.mark.parametrize("platform", ["parcoursup", "affelnet"])
def test_full_distance_is_a_status_not_an_error(platform: str) -> None:
    diploma, level = ("BTS", 5) if platform == "parcoursup" else ("CAP", 3)
    offer = _offer(diploma, level, teaching_mode="distance")
    offer = offer.model_copy(update={"sessions": [s.model_copy(update={"place": None}) for s in offer.sessions]})
    outcome = perimeter_outcome(offer, _profile(platform), TODAY)
    assert outcome.status is OUT
    assert any("100 % à distance" in reason for reason in outcome.reasons)


def test_excluded_siret_is_out() -> None:
    profile = _profile("parcoursup")
    profile = profile.model_copy(
        update={"perimeter": profile.perimeter.model_copy(update={"excluded_sirets": ["73282932000074"]})}
    )
    outcome = perimeter_outcome(_offer("BTS", 5), profile, TODAY)
    assert outcome.status is OUT and "73282932000074" in outcome.reasons[0]


def test_campaign_year_follows_the_export_date_when_not_set() -> None:
    profile = _profile("parcoursup")
    profile = profile.model_copy(update={"campaign": profile.campaign.model_copy(update={"year": None})})  # type: ignore[union-attr]
    offer = _offer("BTS", 5)  # sessions from September 2027
    assert perimeter_outcome(offer, profile, date(2026, 9, 30)).status is OUT  # campaign 2026
    assert perimeter_outcome(offer, profile, date(2026, 10, 1)).status is PUBLISH  # campaign 2027 from 1 October


def test_the_first_matching_rule_decides_and_the_trace_names_every_rule_consulted() -> None:
    outcome = perimeter_outcome(_offer("CAP", 3, 3, [1, 2, 3]), _profile("affelnet"), TODAY)
    assert outcome.status is VALIDATE
    rule_lines = [line for line in outcome.trace if line.startswith("règle")]
    assert "ne s'applique pas" in rule_lines[0] and "durée 3" in rule_lines[0]
    assert rule_lines[1].endswith("s'applique")


def test_pole_emploi_and_intercarif_keep_their_perimeters() -> None:
    offer = _offer(None, 3)  # no diploma type, sessions in any campaign: still sent there
    for name in ("pole-emploi", "intercarif"):
        assert perimeter_outcome(offer, _profile(name), TODAY).status is PUBLISH
