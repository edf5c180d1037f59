"""Write LHÉO `adresse` elements with the codes consumers read: département, INSEE, region, pays.

Anotea files an address without `region` under Île-de-France, data·inclusion drops places
whose `departement` or `code-INSEE-commune` is empty, Trèfle reads both: so every address
gets them whenever the official geography (`gateway.rules.geography`, passed in) knows them.
- `code-INSEE-commune`: the declared code when it is a current commune (a former code gives
  the commune it became part of, an unknown one is not published); for an address without
  one, the commune the town's name designates uniquely among those of its postcode (or, for
  a CEDEX postcode, of its département): "Bordeaux" + 33076 CEDEX is 33063. A CEDEX postcode
  alone never names a commune.
- `departement`, `region`: the commune's; without a commune, the postcode's département (CEDEX
  codes, Corsica 2A/2B, overseas 97x and communes served from a neighbouring département are
  handled by the geography) and its current INSEE region.
- `pays`: FR (the input format only takes French postcodes).
"""

from __future__ import annotations

from gateway.intake.models import Address
from gateway.lheo.xml_text import XmlText, short_text
from gateway.rules.address_lines import fit_address_lines
from gateway.rules.geography import Geography, Location

COUNTRY = "FR"


def address_codes(address: Address, geography: Geography) -> Location:
    return geography.locate(address.postcode, address.insee, address.city)


class AddressWriter:
    """Writes addresses; an address met again at the same depth is replayed, not recomputed."""

    __slots__ = ("geography", "rendered")

    def __init__(self, geography: Geography) -> None:
        self.geography = geography
        self.rendered: dict[tuple[int, int], list[str]] = {}

    def write(self, out: XmlText, address: Address) -> None:
        # Keyed by identity: the view hands the same Address object to every session using it.
        key = (id(address), out.mark()[1])
        cached = self.rendered.get(key)
        if cached is not None:
            out.replay(cached)
            return
        mark = out.mark()
        self._write(out, address)
        self.rendered[key] = out.written_since(mark)

    def _write(self, out: XmlText, address: Address) -> None:
        out.start("adresse")
        if address.name and address.name.strip():
            out.leaf("denomination", short_text(address.name))
        for line in fit_address_lines([short_text(line) for line in address.lines]) or []:
            out.leaf("ligne", line)
        out.leaf("codepostal", address.postcode)
        out.leaf("ville", town_text(address))
        codes = address_codes(address, self.geography)
        if codes.department:
            out.leaf("departement", codes.department)
        if codes.insee:
            out.leaf("code-INSEE-commune", codes.insee)
        if codes.region:
            out.leaf("region", codes.region)
        out.leaf("pays", COUNTRY)
        if address.latitude and address.longitude:
            out.start("geolocalisation")
            out.leaf("latitude", address.latitude)
            out.leaf("longitude", address.longitude)
            out.end("geolocalisation")
        out.end("adresse")


def town_text(address: Address) -> str:
    # LHÉO has no CEDEX element: the mention goes with the town, beside the CEDEX postcode.
    city = short_text(address.city)
    return f"{city} {short_text(address.cedex)}" if address.cedex else city
