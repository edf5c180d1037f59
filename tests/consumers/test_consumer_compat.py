"""Our feeds, read the way real consumers of Carif-Oref LHÉO feeds read them (issue #7).

`lheo_reader` is our own XPath reader, written from the facts of `../shared/realworld/README.md`
(Anotea, data·inclusion, Trèfle). These tests export the bundled demo offers with the shipped
configuration and check every feed; the conftest also runs the reader's structural checks on
every feed any test writes. The side-by-side test compares one of our formations with the real
national extract (`../shared/realworld/rco-national-extract-2.3.xml`, read by the test only).
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from lxml import etree

from gateway.config import load_config
from gateway.intake.models import Offer
from gateway.intake.report import Outcome
from tests.conftest import FIXED_TIME, REPO, Gateway, q
from tests.consumers.lheo_reader import NS, feed_problems, read_feed

SAMPLES = REPO / "gateway" / "demo" / "sample_offers.jsonl"
REAL_EXTRACT = REPO.parent / "shared" / "realworld" / "rco-national-extract-2.3.xml"
PUBLIC_PAGE = "https://www.offres-formation.example/formation/{reference}"


def _demo_gateway(gateway: Gateway) -> Gateway:
    """The test gateway with the shipped configuration's rules and LHÉO settings (prefix NA)."""
    shipped = load_config(REPO / "config" / "gateway.toml")
    lheo = shipped.lheo.model_copy(update={"public_page_url": PUBLIC_PAGE})
    gateway.config = gateway.config.model_copy(update={"lheo": lheo, "rules": shipped.rules})
    return gateway


@pytest.fixture
def demo(gateway: Gateway) -> Gateway:
    demo = _demo_gateway(gateway)
    demo.import_offers(*(json.loads(line) for line in SAMPLES.read_text(encoding="utf-8").splitlines()))
    return demo


def _offers() -> dict[str, Offer]:
    offers = (Offer.model_validate_json(line) for line in SAMPLES.read_text(encoding="utf-8").splitlines())
    return {f"NA_{offer.reference}": offer for offer in offers}


def _numeros(feed: Path) -> set[tuple[str, str]]:
    root = etree.parse(str(feed)).getroot()
    kinds = ("formation", "action", "session", "lieu-de-formation", "organisme-formateur")
    found = {(kind, e.get("numero", "")) for kind in kinds for e in root.iter(q(kind))}
    found |= {("responsable", e.get("numero", "")) for e in root.iter(q("organisme-formation-responsable"))}
    return found


def test_every_demo_feed_reads_right(demo: Gateway) -> None:
    results = demo.export()
    assert {name for name, result in results.items() if result.feed} == {
        "pole-emploi",
        "parcoursup",
        "affelnet",
        "intercarif",
    }
    offers = _offers()
    for result in results.values():
        assert result.feed is not None
        assert feed_problems(result.feed.path) == [], result.destination
        for formation in read_feed(result.feed.path):
            offer = offers[formation.numero or ""]
            # Trèfle reads apprenticeship from extras "dispositif", never from cycle.
            for action in formation.actions:
                assert action.apprenticeship == ("1" if offer.modalities.contrat_apprentissage else "0")
                assert action.professionalisation == ("1" if offer.modalities.contrat_professionnalisation else "0")
                assert action.hours_total == str(offer.hours.total if offer.hours else None)


def test_organisms_have_distinct_numeros_and_keep_theirs_across_offers(demo: Gateway) -> None:
    feed = demo.export("pole-emploi")["pole-emploi"].feed
    assert feed is not None
    formations = read_feed(feed.path)
    organisms = [o for f in formations for o in (f.responsable, *f.formateurs)]
    by_siret: dict[str | None, set[str | None]] = {}
    formations_of: dict[str | None, set[str | None]] = {}
    for formation in formations:
        for organism in (formation.responsable, *formation.formateurs):
            by_siret.setdefault(organism.siret, set()).add(organism.numero)
            formations_of.setdefault(organism.siret, set()).add(formation.numero)
    # data·inclusion de-duplicates formateurs on numero: as many numeros as establishments.
    assert len({o.numero for o in organisms}) == len(by_siret) >= 15
    assert all(len(numbers) == 1 for numbers in by_siret.values())
    shared = [siret for siret, found in formations_of.items() if len(found) > 1]
    assert len(shared) >= 5  # the same organism in several offers, under one numero
    numbers = {o.numero for o in organisms}
    assert "NA_OF-1042" in numbers  # back-office id of the CFA du Bâtiment
    assert any(n and n.startswith("NA_SIRET") for n in numbers)  # derived from the SIRET


def test_two_exports_of_unchanged_offers_give_the_same_numeros(demo: Gateway, tmp_path: Path) -> None:
    first = demo.export("intercarif")["intercarif"].feed
    assert first is not None
    before = _numeros(first.path)
    again = demo.import_offers(*(json.loads(line) for line in SAMPLES.read_text(encoding="utf-8").splitlines()))
    # The import date is not an update date: re-importing the same file changes nothing.
    assert set(again.counts()) <= {Outcome.UNCHANGED, Outcome.REJECTED}  # the 7 deliberately bad ones
    second = demo.export("intercarif", at=FIXED_TIME + timedelta(days=1))["intercarif"].feed
    assert second is not None and second.path != first.path
    assert _numeros(second.path) == before
    assert len({n for kind, n in before if kind == "action"}) >= 40


def test_a_new_place_renumbers_no_other_action(demo: Gateway) -> None:
    offers = [json.loads(line) for line in SAMPLES.read_text(encoding="utf-8").splitlines()]
    target = next(o for o in offers if o["reference"] == "202409024724")
    before = _numeros(_feed(demo.export("intercarif")["intercarif"]))
    added = json.loads(json.dumps(target["sessions"][0]))
    added["reference"] = "09999999"
    # A place that sorts before the others (postcode 33000): order must not matter.
    added["place"] = {"lines": ["2 quai des Chartrons"], "postcode": "33000", "city": "Bordeaux", "insee": "33063"}
    target["sessions"].append(added)
    demo.import_offers(target, name="changed.jsonl")
    after = _numeros(_feed(demo.export("intercarif", at=FIXED_TIME + timedelta(hours=1))["intercarif"]))
    assert before <= after
    assert after - before == {
        ("action", next(n for k, n in after - before if k == "action")),
        ("lieu-de-formation", next(n for k, n in after - before if k == "lieu-de-formation")),
        ("session", "NA_09999999"),
    }


def test_addresses_carry_departement_region_and_insee_like_the_network(demo: Gateway) -> None:
    root = demo.feed_xml(demo.export("pole-emploi")["pole-emploi"])
    places = root.xpath("//l:lieu-de-formation/l:coordonnees/l:adresse", namespaces=NS)

    def codes(town: str) -> set[tuple[str, ...]]:
        return {
            tuple(a.findtext(q(tag)) or "" for tag in ("departement", "region", "code-INSEE-commune", "pays"))
            for a in places
            if (a.findtext(q("ville")) or "").startswith(town)
        }

    assert codes("Ajaccio") == {("2A", "94", "2A004", "FR")}  # Corsica: 2A, region Corse
    # CEDEX: the commune of the town's name in the CEDEX code's département, as real files do.
    assert codes("Bordeaux CEDEX") == {("33", "75", "33063", "FR")}
    assert codes("Poitiers CEDEX") == {("86", "75", "86194", "FR")}
    assert codes("Mérignac") == {("33", "75", "33281", "FR")}
    regions = {a.findtext(q("region")) for a in root.iter(q("adresse"))}
    assert regions == {"75", "94"}  # Nouvelle-Aquitaine, and the Corsican antenna: never Île-de-France


def test_distance_actions_show_a_readable_place_and_stay_out_of_affelnet(demo: Gateway) -> None:
    results = demo.export()
    root = demo.feed_xml(results["pole-emploi"])
    distance = root.xpath("//l:action[l:modalites-enseignement='2']", namespaces=NS)
    assert len(distance) == 3
    for action in distance:
        [place] = action.xpath("l:lieu-de-formation", namespaces=NS)
        assert (place.get("numero") or "").startswith("NA_LAD_")
        assert place.xpath("string(l:extras/l:extra[@info='formation-a-distance'])", namespaces=NS) == "1"
        assert (action.get("numero") or "").endswith("_LAD")
    affelnet = demo.feed_xml(results["affelnet"])
    assert not affelnet.xpath("//l:action[l:modalites-enseignement='2']", namespaces=NS)


def test_dates_come_from_the_back_office_never_from_the_import(demo: Gateway) -> None:
    offers = _offers()
    root = demo.feed_xml(demo.export("pole-emploi")["pole-emploi"])
    for formation in root.iter(q("formation")):
        offer = offers[formation.get("numero", "")]
        assert offer.created_at is not None and offer.updated_at is not None
        assert formation.get("datecrea") == offer.created_at.strftime("%Y%m%d")
        sessions = {f"NA_{s.reference}": s for s in offer.sessions}
        for session in formation.iter(q("session")):
            declared = sessions[session.get("numero", "")]
            expected = declared.updated_at or offer.updated_at
            assert session.get("datemaj") == expected.strftime("%Y%m%d")
        # The formation's update is its latest (an added session updates the offer).
        latest = max(a.get("datemaj", "") for a in formation.iter(q("action")))
        assert formation.get("datemaj") == latest >= offer.updated_at.strftime("%Y%m%d")


def _feed(result: object) -> Path:
    feed = getattr(result, "feed", None)
    assert feed is not None
    return Path(feed.path)


# ------------------------------------------------------------------ side by side with a real file

# What the real national extract fills that our back-office data does not know, or that we leave
# out on purpose. A key covers its whole subtree.
DELIBERATE_EXCEPTIONS: dict[str, str] = {
    "formation/@ref": "the national chain's internal id of the source record; ours is in numero",
    "formation/action/session/@ref": "same: an internal id of the national chain's source",
    "formation/organisme-formation-responsable/@ref": "same",
    "formation/organisme-formation-responsable/@href": "our back-office publishes no page per organism",
    "formation/action/acces-handicapes": "the input format does not collect disabled access (yet)",
    "formation/action/conventionnement": "whether public funding is contracted: not collected",
    "formation/action/organisme-financeur/nb-places-financees": "funded places: not collected",
    "formation/action/organisme-financeur/extras[specificites]": "funder programme and market: not collected",
    "formation/action/session/contact-session": "sessions carry no contact of their own: they are the formation's",
    "formation/action/session/modalites-inscription": "no registration terms per session in the input",
    "formation/action/session/periode-inscription": "no registration period in the input",
    "formation/action/organisme-formateur/contact-formateur/coordonnees/ligne": "organisations carry no named "
    "contact: their phone and e-mail are written, not the real file's « Accueil » line",
    "formation/action/organisme-formateur/contact-formateur/coordonnees/nom": "same: no named contact",
    "formation/action/organisme-formateur/contact-formateur/coordonnees/prenom": "same",
    "formation/organisme-formation-responsable/contact-organisme/coordonnees/ligne": "same",
    "formation/organisme-formation-responsable/contact-organisme/coordonnees/nom": "same",
    "formation/organisme-formation-responsable/contact-organisme/coordonnees/prenom": "same",
    "formation/organisme-formation-responsable/extras[categorie-organisme]": "the network's organism category: "
    "not collected",
}
# Our formation put beside the real one: the demo's CAP Maçon (two places, contacts, a formateur).
OUR_FORMATION = "NA_202409024724"


def _excepted(path: str) -> bool:
    return any(path == key or path.startswith(key + "/") for key in DELIBERATE_EXCEPTIONS)


def filled_paths(element: etree._Element, parent: str = "") -> set[str]:
    """Every element and attribute path that carries something (text, children or attributes).

    `extras` and `extra` are told apart by their `info` (`action/extras[dispositif]/extra[…]`).
    """
    name = etree.QName(element).localname
    info = element.get("info") if name in ("extras", "extra") else None
    here = f"{parent}/{name}" if parent else name
    here += f"[{info}]" if info else ""
    paths = {f"{here}/@{attribute}" for attribute in element.attrib if not (info and attribute == "info")}
    if (element.text or "").strip() or len(element):
        paths.add(here)
    for child in element:
        paths |= filled_paths(child, here)
    return paths


@pytest.mark.skipif(not REAL_EXTRACT.exists(), reason=f"real extract not found at {REAL_EXTRACT}")
def test_side_by_side_with_a_real_national_formation(demo: Gateway) -> None:
    real_root = etree.parse(str(REAL_EXTRACT)).getroot()
    [real] = real_root.iter(q("formation"))
    ours_root = demo.feed_xml(demo.export("intercarif")["intercarif"])
    [ours] = ours_root.xpath(f"//l:formation[@numero='{OUR_FORMATION}']", namespaces=NS)
    real_paths, our_paths = filled_paths(real), filled_paths(ours)
    missing = sorted(path for path in real_paths - our_paths if not _excepted(path))
    assert missing == []
    # The exception list must not rot: each names something the real file fills and we do not.
    for key in DELIBERATE_EXCEPTIONS:
        assert any(p == key or p.startswith(key + "/") for p in real_paths), key
        assert not any(p == key or p.startswith(key + "/") for p in our_paths), key
    # And what consumers key on is there, with the network's shapes.
    for path in (
        "formation/@numero",
        "formation/@datemaj",
        "formation/@href",
        "formation/action/@numero",
        "formation/action/lieu-de-formation/@tag",
        "formation/action/lieu-de-formation/coordonnees/adresse/region",
        "formation/action/extras[dispositif]/extra[contrat-apprentissage]",
        "formation/organisme-formation-responsable/@numero",
        "formation/action/organisme-formateur/@numero",
    ):
        assert path in real_paths and path in our_paths, path
