"""Stable numeros (issue #7 part 1): never from row order, the same organism the same numero."""

from __future__ import annotations

from pathlib import Path

from gateway.intake.models import Offer, Organisation, Place
from gateway.mapping import numeros
from gateway.mapping.formation_view import build_view
from gateway.mapping.profiles import load_profiles
from tests.conftest import REPO, base_offer

BORDEAUX = {"lines": ["1 rue du Port"], "postcode": "33000", "city": "Bordeaux", "insee": "33063"}
MERIGNAC = {"lines": ["3 avenue de l'Aéroport"], "postcode": "33700", "city": "Mérignac", "insee": "33281"}


def _organisation(**changes: object) -> Organisation:
    data: dict[str, object] = {"siret": "73282932000074", "name": "CFA Exemple"}
    data.update(changes)
    return Organisation.model_validate(data)


def test_prefix() -> None:
    assert numeros.prefixed("NA", "202611270001") == "NA_202611270001"
    assert numeros.prefixed("", "202611270001") == "202611270001"


def test_organisation_numero_is_its_back_office_id_or_derived_from_its_siret() -> None:
    assert numeros.organisation_local_id(_organisation(id="OF-1042")) == "OF-1042"
    assert numeros.organisation_local_id(_organisation()) == "SIRET73282932000074"
    # Same establishment, other names or contacts: same numero.
    assert numeros.organisation_local_id(_organisation(name="Autre nom", phone="05")) == "SIRET73282932000074"


def test_place_token_ignores_case_and_spacing_but_not_the_place() -> None:
    place = Place.model_validate(BORDEAUX)
    same = Place.model_validate(dict(BORDEAUX, lines=["1  RUE du port "], city="BORDEAUX"))
    other = Place.model_validate(MERIGNAC)
    assert numeros.place_token(place) == numeros.place_token(same)
    assert numeros.place_token(place) != numeros.place_token(other)
    assert numeros.place_token(place).startswith("L") and len(numeros.place_token(place)) == 11
    with_uai = Place.model_validate(dict(BORDEAUX, uai="0330000W"))
    assert numeros.place_token(with_uai) != numeros.place_token(place)


def test_unique_tokens_keeps_order_and_marks_repeats() -> None:
    assert numeros.unique_tokens(["LA", "LB", "LA", "LA"]) == ["LA", "LB", "LA-2", "LA-3"]


def test_action_tokens_do_not_depend_on_the_other_places() -> None:
    [profile] = load_profiles(Path(REPO / "mappings"), ["intercarif"])
    one = base_offer(session_refs=("00100001",))
    two = base_offer(session_refs=("00100001", "00100002"))
    two["sessions"][1]["place"] = MERIGNAC
    two["sessions"].reverse()  # row order must not matter either
    view_one = build_view(Offer.model_validate(one), profile, ())
    view_two = build_view(Offer.model_validate(two), profile, ())
    assert view_one is not None and view_two is not None
    [bordeaux] = [a.token for a in view_one.actions]
    assert bordeaux in {a.token for a in view_two.actions}
    assert len({a.token for a in view_two.actions}) == 2


def test_same_address_declared_two_ways_gives_two_distinct_action_tokens() -> None:
    [profile] = load_profiles(Path(REPO / "mappings"), ["intercarif"])
    offer = base_offer(session_refs=("00100001", "00100002"))
    offer["sessions"][1]["place"] = dict(BORDEAUX, insee=None)  # same place, INSEE not declared
    view = build_view(Offer.model_validate(offer), profile, ())
    assert view is not None
    tokens = [a.token for a in view.actions]
    assert len(set(tokens)) == 2 and tokens[1] == tokens[0] + "-2"
