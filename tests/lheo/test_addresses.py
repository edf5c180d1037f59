"""Address codes consumers read (issue #7 part 4): département, region, INSEE, pays.

Expected codes are the COG's, from public knowledge, not read back from the snapshot.
"""

from __future__ import annotations

import pytest

from gateway.intake.models import Address
from gateway.lheo.addresses import AddressWriter, address_codes
from gateway.lheo.xml_text import XmlText
from gateway.rules.geography import Geography


@pytest.fixture(scope="module")
def geo() -> Geography:
    return Geography.bundled()


def _codes(geo: Geography, postcode: str, city: str, insee: str | None = None) -> tuple[str | None, ...]:
    address = Address(lines=["1 rue"], postcode=postcode, city=city, insee=insee)
    found = address_codes(address, geo)
    return found.department, found.region, found.insee


@pytest.mark.parametrize(
    ("postcode", "city", "insee", "expected"),
    [
        ("33000", "Bordeaux", "33063", ("33", "75", "33063")),
        ("33076", "Bordeaux", None, ("33", "75", "33063")),  # CEDEX: the town's commune
        ("20000", "Ajaccio", "2A004", ("2A", "94", "2A004")),  # Corsica
        ("20200", "Bastia", None, ("2B", "94", "2B033")),
        ("97400", "Saint-Denis", None, ("974", "04", "97411")),  # La Réunion
        ("37160", "Buxeuil", "86041", ("86", "75", "86041")),  # Vienne, served from Indre-et-Loire
        ("33700", "Lieu-dit inconnu", None, ("33", "75", None)),  # no commune of that name: none
        ("33000", "Bordeaux", "33999", ("33", "75", None)),  # unknown code: not published
    ],
)
def test_codes(geo: Geography, postcode: str, city: str, insee: str | None, expected: tuple[str | None, ...]) -> None:
    assert _codes(geo, postcode, city, insee) == expected


def test_written_in_lheo_order_and_replayed(geo: Geography) -> None:
    writer = AddressWriter(geo)
    address = Address(name="Site", lines=["1 rue du Port"], postcode="33000", city="Bordeaux", insee="33063")
    out = XmlText()
    writer.write(out, address)
    writer.write(out, address)
    text = out.text()
    first = text[: len(text) // 2]
    assert text == first * 2
    tags = [line.strip().split(">")[0].lstrip("<") for line in first.splitlines()]
    assert tags == [
        "adresse",
        "denomination",
        "ligne",
        "codepostal",
        "ville",
        "departement",
        "code-INSEE-commune",
        "region",
        "pays",
        "/adresse",
    ]
