"""Official geography (issue #7 part 4): département, region and INSEE checks of a place.

Expected values are the INSEE COG's, written here by hand from public knowledge (Bordeaux is
33063 in Gironde, Nouvelle-Aquitaine 75...), not read back from the snapshot under test.
"""

from __future__ import annotations

import gzip
import re
from importlib import resources
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.rules.commune_names import fold_town
from gateway.rules.geography import Geography, GeographyIssueKind, Location
from tools.geography import regenerate


@pytest.fixture(scope="module")
def geo() -> Geography:
    return Geography.bundled()


def kinds(geo: Geography, postcode: str, insee: str | None) -> list[str]:
    return [issue.kind.value for issue in geo.check(postcode, insee)]


# --- the snapshot ---------------------------------------------------------------------------


def test_bundled_is_loaded_once_and_names_its_source(geo: Geography) -> None:
    assert Geography.bundled() is geo
    assert geo.version == "npm:@etalab/decoupage-administratif@6.0.0"
    assert geo.label == "Code officiel géographique 2026"


def test_snapshot_stays_small() -> None:
    data = resources.files("gateway.rules").joinpath("data/geography.tsv.gz").read_bytes()
    assert len(data) < 500_000


def test_current_regions(geo: Geography) -> None:
    assert geo.region_of_department("33") == "75"
    assert geo.region_name("75") == "Nouvelle-Aquitaine"
    assert geo.region_of_department("67") == "44"  # Bas-Rhin, Grand Est (not the old Alsace 42)
    assert geo.region_of_department("2A") == geo.region_of_department("2B") == "94"
    assert [geo.region_of_department(d) for d in ("971", "972", "973", "974", "976")] == ["01", "02", "03", "04", "06"]
    assert geo.region_of_department("75") == "11"
    assert geo.region_of_department("20") is None  # split in 1976
    assert geo.region_of_department("99") is None


def test_overseas_collectivities_have_no_insee_region(geo: Geography) -> None:
    for code in ("975", "977", "978", "986", "987", "988"):
        assert geo.department_name(code)
        assert geo.region_of_department(code) is None


def test_every_department_the_feed_accepts_has_a_region(geo: Geography) -> None:
    # The departments of the gateway's XSD: 01..95 without 20, 2A, 2B, 971..976.
    codes = [f"{n:02d}" for n in range(1, 96) if n != 20] + ["2A", "2B", "971", "972", "973", "974", "976"]
    for code in codes:
        region = geo.region_of_department(code)
        assert region is not None and re.fullmatch(r"[0-9]{2}", region), code


# --- communes and INSEE codes ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("postcode", "insee", "expected"),
    [
        ("33000", "33063", Location("33", "75", "33063")),  # Bordeaux
        ("20000", "2A004", Location("2A", "94", "2A004")),  # Ajaccio
        ("20200", "2B033", Location("2B", "94", "2B033")),  # Bastia
        ("97110", "97120", Location("971", "01", "97120")),  # Pointe-à-Pitre (its INSEE code is 97120)
        ("97400", "97411", Location("974", "04", "97411")),  # Saint-Denis de La Réunion
        ("97600", "97611", Location("976", "06", "97611")),  # Mamoudzou
        ("97500", "97502", Location("975", None, "97502")),  # Saint-Pierre (collectivité, no region)
        ("75001", "75101", Location("75", "11", "75101")),  # a municipal arrondissement is a COG code too
    ],
)
def test_known_insee_code_gives_its_department_and_region(
    geo: Geography, postcode: str, insee: str, expected: Location
) -> None:
    assert geo.locate(postcode, insee) == expected
    assert geo.check(postcode, insee) == []


def test_commune_record(geo: Geography) -> None:
    bordeaux = geo.commune("33063")
    assert bordeaux is not None
    assert (bordeaux.name, bordeaux.department, bordeaux.region) == ("Bordeaux", "33", "75")
    assert "33000" in bordeaux.postcodes and "33800" in bordeaux.postcodes
    assert geo.commune("33000") is None  # a postcode is not an INSEE code
    assert geo.commune("2A004") is not None and geo.commune("20004") is None  # never parsed as a number


def test_insee_code_wins_over_a_postcode_of_the_neighbouring_department(geo: Geography) -> None:
    # Buxeuil (Vienne, Nouvelle-Aquitaine) is served as 37160 by Descartes' office in
    # Indre-et-Loire (Centre-Val de Loire): the postcode's digits name the wrong département.
    assert geo.locate("37160", "86042") == Location("86", "75", "86042")
    assert geo.check("37160", "86042") == []
    assert geo.locate("37160", None) == Location("37", "24", None)
    # Éloise (Haute-Savoie) is 01200 like Bellegarde (Ain).
    assert geo.locate("01200", "74109") == Location("74", "84", "74109")


def test_unknown_insee_code(geo: Geography) -> None:
    issues = geo.check("33000", "33999")
    assert [i.kind for i in issues] == [GeographyIssueKind.INSEE_UNKNOWN]
    assert "33999" in issues[0].message and "Code officiel géographique 2026" in issues[0].message
    # Not published; the postcode still gives the département and region.
    assert geo.locate("33000", "33999") == Location("33", "75", None)


def test_mismatching_pair(geo: Geography) -> None:
    issues = geo.check("75001", "33063")
    assert [i.kind for i in issues] == [GeographyIssueKind.INSEE_POSTCODE_MISMATCH]
    message = issues[0].message
    assert "33063" in message and "Bordeaux" in message and "75001" in message and "Paris" in message
    # The INSEE code names the commune: it still decides where the place is.
    assert geo.locate("75001", "33063") == Location("33", "75", "33063")


def test_arrondissement_with_another_arrondissement_postcode(geo: Geography) -> None:
    assert kinds(geo, "75008", "75101") == ["insee_postcode_mismatch"]
    assert kinds(geo, "75008", "75056") == []  # Paris as a whole has every Paris postcode


def test_former_code_is_published_as_its_current_commune(geo: Geography) -> None:
    # Saint-Bois (01340) merged into Arboys en Bugey (01015) in 2016.
    assert geo.commune("01340") is None
    assert geo.locate("01300", "01340") == Location("01", "84", "01015")
    issues = geo.check("01300", "01340")
    assert [i.kind for i in issues] == [GeographyIssueKind.INSEE_NOT_CURRENT]
    assert "01015" in issues[0].message and "Arboys en Bugey" in issues[0].message


def test_former_code_split_between_two_communes(geo: Geography) -> None:
    # Lamarche-en-Woëvre (55273) went to two communes: no code is guessed, the département is known.
    assert geo.successor("55273") is None
    assert geo.locate("55210", "55273") == Location("55", "44", None)
    assert kinds(geo, "55210", "55273") == ["insee_not_current"]


# --- postcodes alone (CEDEX, places without INSEE code) -------------------------------------


@pytest.mark.parametrize(
    ("postcode", "department", "region"),
    [
        ("33000", "33", "75"),
        ("33076", "33", "75"),  # Bordeaux CEDEX: not a geographic postcode, the digits tell
        ("51724", "51", "44"),  # Reims CEDEX
        ("20000", "2A", "94"),
        ("20090", "2A", "94"),
        ("20167", "2A", "94"),
        ("20176", "2A", "94"),  # Ajaccio CEDEX
        ("20200", "2B", "94"),
        ("20600", "2B", "94"),
        ("20401", "2B", "94"),  # Bastia CEDEX
        ("97120", "971", "01"),
        ("97200", "972", "02"),
        ("97300", "973", "03"),
        ("97400", "974", "04"),
        ("97600", "976", "06"),
        ("97500", "975", None),
        ("97133", "977", None),  # Saint-Barthélemy: a 971 postcode for a collectivité
        ("97150", "978", None),  # Saint-Martin
        ("98800", "988", None),  # Nouméa
    ],
)
def test_department_of_postcode(geo: Geography, postcode: str, department: str, region: str | None) -> None:
    assert geo.department_of_postcode(postcode) == department
    assert geo.locate(postcode, None) == Location(department, region, None)


@pytest.mark.parametrize("postcode", ["98000", "96000", "99999", "00100", "3300", "330000", "2A004", ""])
def test_postcode_naming_no_department(geo: Geography, postcode: str) -> None:
    assert geo.department_of_postcode(postcode) is None
    assert geo.locate(postcode, None) == Location(None, None, None)


def test_postcode_naming_no_department_is_reported_without_insee(geo: Geography) -> None:
    assert kinds(geo, "98000", None) == ["postcode_department_unknown"]  # Monaco
    assert kinds(geo, "3300", None) == []  # a malformed postcode is `identifiers`' to report


def test_postcode_shared_by_two_departments(geo: Geography) -> None:
    # 33220: Sainte-Foy-la-Grande (Gironde) and Port-Sainte-Foy-et-Ponchapt (Dordogne).
    departments = {c.department for c in geo.communes_of_postcode("33220")}
    assert departments == {"24", "33"}
    assert geo.department_of_postcode("33220") == "33"
    assert geo.locate("33220", "24335") == Location("24", "75", "24335")


# Postcodes La Poste gives to communes of two départements (2026); the digits name the sorting
# office's département, where most of their inhabitants live.
SHARED_POSTCODES = ["01200", "01410", "01590", "05110", "05130", "05160", "05700", "06260",
                    "13780", "21340", "33220", "37160", "42620", "43450", "48250", "52100"]  # fmt: skip


@pytest.mark.parametrize("postcode", SHARED_POSTCODES)
def test_every_shared_postcode_resolves_to_its_office_department(geo: Geography, postcode: str) -> None:
    departments = {c.department for c in geo.communes_of_postcode(postcode)}
    assert len(departments) == 2
    assert geo.department_of_postcode(postcode) == postcode[:2]


# --- CEDEX and checks -----------------------------------------------------------------------


def test_cedex_postcode_of_the_same_department_agrees(geo: Geography) -> None:
    assert geo.check("33076", "33063") == []  # Bordeaux CEDEX
    assert geo.locate("33076", "33063") == Location("33", "75", "33063")
    assert geo.check("20176", "2A004") == []  # Ajaccio CEDEX


def test_cedex_postcode_of_the_sorting_office_department_agrees(geo: Geography) -> None:
    # Buxeuil (86) is served from Indre-et-Loire: a 37 CEDEX code is the same office's.
    assert geo.check("37169", "86042") == []


def test_cedex_postcode_of_another_department_disagrees(geo: Geography) -> None:
    issues = geo.check("69401", "33063")
    assert [i.kind for i in issues] == [GeographyIssueKind.INSEE_POSTCODE_MISMATCH]
    assert "CEDEX" in issues[0].message and "Rhône" in issues[0].message


def test_malformed_insee_code_is_left_to_identifiers(geo: Geography) -> None:
    assert geo.check("33000", "3306") == []
    assert geo.check("33000", None) == []


@given(st.from_regex(r"[0-9]{5}", fullmatch=True))
def test_any_postcode_gives_a_known_department_or_none(postcode: str) -> None:
    geo = Geography.bundled()  # not the fixture: hypothesis re-runs the body
    department = geo.department_of_postcode(postcode)
    assert department is None or geo.department_name(department) is not None
    location = geo.locate(postcode, None)
    assert location.department == department and location.insee is None
    assert location.region == (geo.region_of_department(department) if department else None)


@settings(deadline=None)  # the first call builds the town index (lazily, once)
@given(st.text(max_size=8), st.none() | st.text(max_size=8), st.none() | st.text(max_size=40))
def test_hostile_input_never_raises(postcode: str, insee: str | None, town: str | None) -> None:
    geo = Geography.bundled()
    geo.locate(postcode, insee, town)
    for issue in geo.check(postcode, insee):
        assert issue.message


# --- the town's name, for places without INSEE code ------------------------------------------


@pytest.mark.parametrize(
    ("typed", "folded"),
    [
        ("Saint-Étienne CEDEX 2", "SAINT ETIENNE"),
        ("ST ETIENNE", "SAINT ETIENNE"),
        ("Ste-Foy-la-Grande", "SAINTE FOY LA GRANDE"),
        ("L’Haÿ-les-Roses", "L HAY LES ROSES"),  # typographic apostrophe
        ("L'Hay les Roses", "L HAY LES ROSES"),
        ("Œuilly", "OEUILLY"),
        ("Saint-E\u0301tienne", "SAINT ETIENNE"),  # decomposed accent (as some systems send it)
        ("Cedexville", "CEDEXVILLE"),  # "CEDEX" only as a word
        ("  ", ""),
    ],
)
def test_fold_town(typed: str, folded: str) -> None:
    assert fold_town(typed) == folded


@pytest.mark.parametrize(
    ("postcode", "town", "expected"),
    [
        ("33076", "BORDEAUX CEDEX", Location("33", "75", "33063")),
        ("69403", "LYON CEDEX 03", Location("69", "84", "69123")),
        ("20176", "Ajaccio Cedex 1", Location("2A", "94", "2A004")),
        ("20401", "BASTIA CEDEX 9", Location("2B", "94", "2B033")),
        ("51724", "REIMS CEDEX", Location("51", "44", "51454")),
        ("97110", "Pointe a Pitre", Location("971", "01", "97120")),
        ("37160", "Buxeuil", Location("86", "75", "86042")),  # the postcode of another département
        ("33220", "Port Sainte Foy et Ponchapt", Location("24", "75", "24335")),
        ("01300", "Saint-Bois", Location("01", "84", "01015")),  # a commune déléguée's name
        ("33000", "Le Bouscat", Location("33", "75", None)),  # not a commune served as 33000
        ("33000", "Lieu-dit des Trois Chênes", Location("33", "75", None)),
        ("69401", "BORDEAUX CEDEX", Location("69", "84", None)),  # Bordeaux is not in the Rhône
    ],
)
def test_town_finds_the_commune_without_insee(geo: Geography, postcode: str, town: str, expected: Location) -> None:
    assert geo.locate(postcode, None, town) == expected


def test_town_never_replaces_a_declared_code(geo: Geography) -> None:
    assert geo.locate("33076", "33999", "BORDEAUX CEDEX") == Location("33", "75", None)
    assert geo.locate("33076", "33069", "BORDEAUX CEDEX") == Location("33", "75", "33069")  # Le Bouscat


# --- regeneration (no network: a small extract in the package's JSON shape) -----------------


SAMPLE_REGIONS: list[dict[str, Any]] = [
    {"code": "75", "nom": "Nouvelle-Aquitaine"},
    {"code": "975", "nom": "Saint-Pierre-et-Miquelon"},
]
SAMPLE_DEPARTMENTS: list[dict[str, Any]] = [
    {"code": "33", "region": "75", "nom": "Gironde"},
    {"code": "24", "region": "75", "nom": "Dordogne"},
    {"code": "975", "region": "975", "nom": "Saint-Pierre-et-Miquelon"},
]
SAMPLE_COMMUNES: list[dict[str, Any]] = [
    {"code": "33063", "nom": "Bordeaux", "departement": "33", "type": "commune-actuelle",
     "codesPostaux": ["33800", "33000", "33000"], "anciensCodes": ["33999"]},
    {"code": "24335", "nom": "Port-Sainte-Foy-et-Ponchapt", "departement": "24", "type": "commune-actuelle",
     "codesPostaux": ["33220"]},
    {"code": "33402", "nom": "Sainte-Foy-la-Grande", "departement": "33", "type": "commune-actuelle",
     "codesPostaux": ["33220"]},
    {"code": "24500", "nom": "Ancienne", "departement": "24", "type": "commune-deleguee", "chefLieu": "24335"},
    {"code": "33063", "nom": "Bordeaux", "departement": "33", "type": "commune-deleguee", "chefLieu": "33063"},
    {"code": "97502", "nom": "Saint-Pierre", "departement": "975", "type": "commune-actuelle",
     "codesPostaux": ["97500"]},
    # A postcode shared by two départements, neither the one its digits name (none is, in 2026).
    {"code": "24001", "nom": "Un", "departement": "24", "type": "commune-actuelle", "codesPostaux": ["47999"]},
    {"code": "33001", "nom": "Deux", "departement": "33", "type": "commune-actuelle", "codesPostaux": ["47999"]},
]  # fmt: skip


def sample_snapshot() -> bytes:
    lines = regenerate.build_lines(SAMPLE_COMMUNES, SAMPLE_DEPARTMENTS, SAMPLE_REGIONS)
    return regenerate.render(lines)


def test_regeneration_is_deterministic() -> None:
    assert sample_snapshot() == sample_snapshot()


def test_regenerated_snapshot_reads_back() -> None:
    geo = Geography.parse(gzip.decompress(sample_snapshot()).decode("utf-8"))
    assert geo.version == regenerate.SOURCE
    bordeaux = geo.commune("33063")
    assert bordeaux is not None and bordeaux.postcodes == ("33000", "33800")  # sorted, deduplicated
    assert geo.region_of_department("975") is None  # the package's "region 975" is not an INSEE region
    assert geo.region_name("975") is None
    assert geo.successor("33999") == bordeaux
    assert geo.locate("33220", "24500") == Location("24", "75", "24335")
    assert geo.department_of_postcode("33220") == "33"
    assert geo.locate("97500", None) == Location("975", None, None)
    assert geo.department_of_postcode("47999") is None  # ambiguous: no guess
    assert geo.locate("47999", "24001") == Location("24", "75", "24001")  # the INSEE code settles it
    assert geo.locate("47999", None, "Deux") == Location("33", "75", "33001")  # so does the town


def test_regeneration_refuses_a_tampered_tarball() -> None:
    with pytest.raises(SystemExit):
        regenerate.check_integrity(b"not the pinned package")


def test_parse_refuses_what_is_not_a_snapshot() -> None:
    with pytest.raises(ValueError):
        Geography.parse("C\t33063\t33\t33000\tBordeaux\n")
