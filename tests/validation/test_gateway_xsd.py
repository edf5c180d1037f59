"""The gateway's own LHÉO 2.3 schema (xsd/lheo-2.3-gateway.xsd) against the official XSD.

Contract checked here:
- realistic feeds (a rich apprenticeship offer, the minimal offer of the domain notes) are
  valid against BOTH schemas, and a bare <formation> validates on its own against ours;
- every looseness of the official schema that we tighten is rejected by ours while the
  official one still accepts it (so ours stays a strict subset);
- the classic failures (length, namespace, order, missing child, enumeration, fixed length,
  cardinality) are rejected by both, and our error names the offending element.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

NS = "http://lheo.gouv.fr/2.3"
XP = {"l": NS}
XS = {"xs": "http://www.w3.org/2001/XMLSchema"}
DEFAULT_NAMESPACE: Any = {None: NS}  # lxml-stubs types nsmap keys as str only


def E(tag: str, *content: etree._Element | str | Mapping[str, str], **attributes: str) -> etree._Element:
    """Build an LHÉO element: text, attribute mappings and children, in any order."""
    element = etree.Element(f"{{{NS}}}{tag}", nsmap=DEFAULT_NAMESPACE)
    for name, value in attributes.items():
        element.set(name, value)
    for item in content:
        if isinstance(item, etree._Element):
            element.append(item)
        elif isinstance(item, str):
            if len(element):
                element[-1].tail = (element[-1].tail or "") + item
            else:
                element.text = (element.text or "") + item
        else:
            for name, value in item.items():
                element.set(name, value)
    return element


Mutation = Callable[[etree._ElementTree], None]


# ----------------------------------------------------------------------------- instances


def _adresse_bordeaux_cedex() -> etree._Element:
    # CEDEX: no dedicated element, the mention goes in ville with the CEDEX postcode, and no
    # INSEE code can be derived from a non-geographic postcode.
    return E(
        "adresse",
        E("denomination", "CFA Exemple - service des admissions"),
        E("ligne", "Service des admissions"),
        E("ligne", "CS 41234"),
        E("codepostal", "33076"),
        E("ville", "BORDEAUX CEDEX"),
        E("departement", "33"),
        E("region", "75"),
        E("pays", "FR"),
    )


def _adresse_ajaccio() -> etree._Element:
    return E(
        "adresse",
        E("denomination", "CFA Exemple - antenne d'Ajaccio"),
        E("ligne", "12 cours Napoléon"),
        E("codepostal", "20000"),
        E("ville", "Ajaccio"),
        E("departement", "2A"),
        E("code-INSEE-commune", "2A004"),
        E("code-INSEE-canton", "2A01"),
        E("region", "94"),
        E("pays", "FR"),
        E("geolocalisation", E("latitude", "41.9192"), E("longitude", "8.7386")),
    )


def _extra(info: str, value: str) -> etree._Element:
    return E("extra", value, info=info)


def _session() -> etree._Element:
    return E(
        "session",
        {"numero": "00254068", "idref": "F202110104724", "datemaj": "20250301"},
        E("periode", E("debut", "20250901"), E("fin", "20280630")),
        E("adresse-inscription", _adresse_bordeaux_cedex()),
        E("modalites-inscription", "Dossier de candidature puis entretien de motivation."),
        E("periode-inscription", E("periode", E("debut", "20250301"), E("fin", "20250831"))),
        E("etat-recrutement", "1"),
        E("url-session", E("urlweb", "https://www.cfa-exemple.fr/licence-gestion/session-2025")),
        E(
            "contact-session",
            E("type-contact", "4"),
            E("coordonnees", E("courriel", "admissions@cfa-exemple.fr")),
        ),
        E(
            "reference-certification",
            E("reference-code-RNCP", "RNCP38368"),
            E("reference-code-CERTIFINFO", "116789"),
        ),
        # Student status in year 1, apprenticeship open in years 2 and 3 only.
        E("cycle", E("type-cycle", "0"), E("annee-cycle", "1")),
        E(
            "cycle",
            E("type-cycle", "1"),
            E("annee-cycle", "2"),
            E("annee-cycle", "3"),
            E("effectif-minimal", "8"),
            E("capacite-simultanee", "24"),
            E("capacite-cumulee", "24"),
            E(
                "alternance",
                E("type-alternance", "1"),
                E(
                    "rythme-alternance",
                    E("unite-rythme-alternance", "3"),
                    E("unites-entreprise", "2"),
                    E("unites-centre", "1"),
                ),
            ),
        ),
    )


def _action() -> etree._Element:
    return E(
        "action",
        {"numero": "AC-0001", "id": "A202110104724-1"},
        E("rythme-formation", "1 semaine en centre, 2 semaines en entreprise"),
        E("code-public-vise", "83056", ref="V14"),
        E("code-public-vise", "80056", ref="V14"),
        E("info-public-vise", "Jeunes de 16 à 29 ans révolus titulaires du baccalauréat"),
        E("niveau-entree-obligatoire", "1"),
        E("modalites-alternance", "Alternance 1/3 en centre, 2/3 en entreprise"),
        E("modalites-enseignement", "0"),
        E("conditions-specifiques", "aucune"),
        E("prise-en-charge-frais-possible", "1"),
        E(
            "lieu-de-formation",
            E("SIRET-lieu-formation", E("SIRET", "73282932000058")),
            E("code-UAI-lieu-formation", E("code-UAI", "6200001G")),
            E("coordonnees", _adresse_ajaccio()),
        ),
        E("modalites-entrees-sorties", "0"),
        E("url-action", E("urlweb", "https://www.cfa-exemple.fr/ajaccio")),
        E("duree-cycle", "3"),
        _session(),
        E("adresse-information", _adresse_bordeaux_cedex()),
        E("date-information", E("date", "20250315")),
        E("restauration", "Restaurant universitaire à proximité"),
        E("acces-handicapes", "Locaux accessibles, référent handicap sur site"),
        E("langue-formation", "fr"),
        E("modalites-recrutement", "Sur dossier et entretien"),
        E("code-modalite-pedagogique", "96313", ref="V14"),
        E("code-perimetre-recrutement", "3"),
        E("prix-total-TTC", "0"),
        E("duree-indicative", "3 ans"),
        E("nombre-heures-centre", "1350"),
        E("nombre-heures-entreprise", "3200"),
        E("nombre-heures-total", "4550"),
        E("detail-conditions-prise-en-charge", "Coût pris en charge par l'OPCO de l'employeur"),
        E(
            "organisme-formateur",
            E("SIRET-formateur", E("SIRET", "73282932000058")),
            E("raison-sociale-formateur", "ASSOCIATION CFA EXEMPLE - ANTENNE D'AJACCIO"),
            E(
                "contact-formateur",
                E("type-contact", "14"),
                E("coordonnees", E("nom", "Santoni"), E("prenom", "Marie"), E("courriel", "m.santoni@cfa-exemple.fr")),
            ),
            E("code-UAI-formateur", E("code-UAI", "6200001G")),
        ),
        E("organisme-financeur", E("code-financeur", "16"), E("nb-places-financees", "24")),
        E(
            "extras",
            {"info": "modalites"},
            _extra("contrat-apprentissage", "1"),
            _extra("contrat-professionnalisation", "0"),
            _extra("formation-continue", "0"),
        ),
    )


def _organisme_responsable() -> etree._Element:
    return E(
        "organisme-formation-responsable",
        E("numero-activite", "72330000033"),
        E("SIRET-organisme-formation", E("SIRET", "73282932000074")),
        E("nom-organisme", "CFA Exemple"),
        E("raison-sociale", "ASSOCIATION CFA EXEMPLE"),
        E(
            "coordonnees-organisme",
            E(
                "coordonnees",
                _adresse_bordeaux_cedex(),
                E("telfixe", E("numtel", "05 56 00 00 00")),
                E("courriel", "contact@cfa-exemple.fr"),
                E("web", E("urlweb", "https://www.cfa-exemple.fr")),
            ),
        ),
        E(
            "contact-organisme",
            E("type-contact", "4"),
            E(
                "coordonnees",
                E("civilite", "Madame"),
                E("nom", "Durand"),
                E("prenom", "Claire"),
                E("telfixe", E("numtel", "+33 5 56 00 00 01")),
                E("portable", E("numtel", "06 00 00 00 02")),
                E("courriel", "claire.durand@cfa-exemple.fr"),
            ),
        ),
        E("renseignements-specifiques", "Établissement certifié Qualiopi (actions de formation par apprentissage)"),
        E("potentiel", E("code-FORMACODE", "34566", ref="V14")),
        E("code-UAI-organisme-formation", E("code-UAI", "0331234M")),
    )


def _formation() -> etree._Element:
    return E(
        "formation",
        {
            "numero": "202110104724",
            "id": "F202110104724",
            "datecrea": "20211010",
            "horodatage-modification": "2025-03-01T10:00:00+01:00",
        },
        E(
            "domaine-formation",
            E("code-FORMACODE", "34566", ref="V14"),
            E("code-FORMACODE", "32654", ref="V14"),
            E("code-NSF", "312"),
            E("code-ROME", "D1301"),
            E("code-ROME", "M1707"),
        ),
        E("intitule-formation", "Licence professionnelle Commerce et distribution (Contrat d'apprentissage possible)"),
        E("objectif-formation", "Former des managers de rayon et d'unité commerciale."),
        E("resultats-attendus", "Licence professionnelle (niveau 6)"),
        E("contenu-formation", "Gestion, management d'équipe, marketing, relation client."),
        E("certifiante", "1"),
        E(
            "contact-formation",
            E("type-contact", "14"),
            E(
                "coordonnees",
                E("civilite", "Monsieur"),
                E("nom", "Martin"),
                E("telfixe", E("numtel", "05 56 00 00 03")),
                E("courriel", "apprentissage@cfa-exemple.fr"),
            ),
        ),
        E("parcours-de-formation", "1"),
        E("code-niveau-entree", "14"),
        E("objectif-general-formation", "6"),
        E("certification", E("code-RNCP", "RNCP38368"), E("code-CERTIFINFO", "116789")),
        E("code-niveau-sortie", "16"),
        E(
            "url-formation",
            E("urlweb", "https://www.cfa-exemple.fr/licence-commerce"),
            E("urlweb", "https://www.cfa-exemple.fr/apprentissage"),
            E("urlweb", "http://cfa-exemple.fr/fiches/lp-commerce.pdf"),
        ),
        _action(),
        _organisme_responsable(),
    )


def rich_document() -> etree._ElementTree:
    gateway_note = etree.Element("{urn:example:lheo-gateway}lot")
    gateway_note.text = "intake-2025-03"
    root = E(
        "lheo",
        {"horodatage-export": "2025-03-02T04:00:00Z"},
        E("offres", _formation()),
        E(
            "extras",
            _extra("producteur", "lheo-gateway 0.1.0"),
            E("extras", E("extra", gateway_note, info="lot")),
        ),
    )
    return etree.ElementTree(root)


MINIMAL_DOCUMENT = """<?xml version="1.0" encoding="UTF-8"?>
<lheo xmlns="http://lheo.gouv.fr/2.3">
 <offres>
  <formation numero="OF-0001">
   <domaine-formation/>
   <intitule-formation>BTS Management commercial opérationnel (Contrat d'apprentissage possible)</intitule-formation>
   <objectif-formation>Former des managers d'unité commerciale.</objectif-formation>
   <resultats-attendus>BTS (niveau 5)</resultats-attendus>
   <contenu-formation>Gestion, animation, relation client.</contenu-formation>
   <certifiante>1</certifiante>
   <contact-formation><coordonnees/></contact-formation>
   <parcours-de-formation>1</parcours-de-formation>
   <code-niveau-entree>14</code-niveau-entree>
   <action numero="AC-0001">
    <rythme-formation>Temps plein</rythme-formation>
    <code-public-vise ref="V13">83056</code-public-vise>
    <niveau-entree-obligatoire>0</niveau-entree-obligatoire>
    <modalites-alternance>1 semaine en centre / 2 semaines en entreprise</modalites-alternance>
    <modalites-enseignement>0</modalites-enseignement>
    <conditions-specifiques>aucune</conditions-specifiques>
    <prise-en-charge-frais-possible>1</prise-en-charge-frais-possible>
    <modalites-entrees-sorties>0</modalites-entrees-sorties>
    <session numero="SE-0001">
     <periode><debut>20250901</debut><fin>20270630</fin></periode>
     <adresse-inscription>
      <adresse><ligne>1 rue du Port</ligne><codepostal>33000</codepostal><ville>Bordeaux</ville></adresse>
     </adresse-inscription>
    </session>
   </action>
   <organisme-formation-responsable>
    <numero-activite>72330000033</numero-activite>
    <SIRET-organisme-formation><SIRET>73282932000074</SIRET></SIRET-organisme-formation>
    <nom-organisme>CFA Exemple</nom-organisme>
    <raison-sociale>ASSOCIATION CFA EXEMPLE</raison-sociale>
    <coordonnees-organisme><coordonnees/></coordonnees-organisme>
    <contact-organisme><coordonnees/></contact-organisme>
   </organisme-formation-responsable>
  </formation>
 </offres>
</lheo>
"""


def minimal_document() -> etree._ElementTree:
    return etree.ElementTree(etree.fromstring(MINIMAL_DOCUMENT.encode("utf-8")))


# ------------------------------------------------------------------------------ helpers


def errors_of(schema: etree.XMLSchema, doc: etree._ElementTree | etree._Element) -> list[str]:
    """Validation messages (empty list = valid)."""
    if schema.validate(doc):
        return []
    log: Any = schema.error_log  # iterable at run time; lxml-stubs does not say so
    return [f"line {e.line}: {e.message}" for e in log]


def select(doc: etree._ElementTree, xpath: str) -> list[Any]:
    found = doc.xpath(xpath, namespaces=XP)
    assert isinstance(found, list)
    return found


def node(doc: etree._ElementTree, xpath: str) -> etree._Element:
    found = select(doc, xpath)
    assert found, f"test bug: {xpath} matches nothing in the instance"
    first = found[0]
    assert isinstance(first, etree._Element)
    return first


def parent_of(element: etree._Element) -> etree._Element:
    parent = element.getparent()
    assert parent is not None
    return parent


def set_text(xpath: str, value: str) -> Mutation:
    def mutate(doc: etree._ElementTree) -> None:
        node(doc, xpath).text = value

    return mutate


def set_attr(xpath: str, name: str, value: str | None) -> Mutation:
    def mutate(doc: etree._ElementTree) -> None:
        target = node(doc, xpath)
        if value is None:
            del target.attrib[name]
        else:
            target.set(name, value)

    return mutate


def remove(xpath: str) -> Mutation:
    def mutate(doc: etree._ElementTree) -> None:
        target = node(doc, xpath)
        parent_of(target).remove(target)

    return mutate


def move_after(xpath: str, anchor_xpath: str) -> Mutation:
    def mutate(doc: etree._ElementTree) -> None:
        node(doc, anchor_xpath).addnext(node(doc, xpath))

    return mutate


def move_before(xpath: str, anchor_xpath: str) -> Mutation:
    def mutate(doc: etree._ElementTree) -> None:
        node(doc, anchor_xpath).addprevious(node(doc, xpath))

    return mutate


def repeat_until(xpath: str, total: int) -> Mutation:
    """Clone the matched element until its parent holds `total` siblings of that name."""

    def mutate(doc: etree._ElementTree) -> None:
        target = node(doc, xpath)
        while len(parent_of(target).findall(target.tag)) < total:
            target.addnext(copy.deepcopy(target))

    return mutate


def append_child(xpath: str, child: Callable[[], etree._Element]) -> Mutation:
    def mutate(doc: etree._ElementTree) -> None:
        node(doc, xpath).append(child())

    return mutate


def insert_after(xpath: str, sibling: Callable[[], etree._Element]) -> Mutation:
    def mutate(doc: etree._ElementTree) -> None:
        node(doc, xpath).addnext(sibling())

    return mutate


def unwrap_extras(xpath: str) -> Mutation:
    """Put the extra children of an extras straight into its parent (a 'bare extra')."""

    def mutate(doc: etree._ElementTree) -> None:
        extras = node(doc, xpath)
        for extra in list(extras):
            extras.addprevious(extra)
        parent_of(extras).remove(extras)

    return mutate


def mutated(mutation: Mutation) -> etree._ElementTree:
    doc = rich_document()
    mutation(doc)
    return doc


def reparsed_with_namespace(namespace: str | None) -> etree._ElementTree:
    text = etree.tostring(rich_document(), encoding="unicode")
    declaration = f'xmlns="{NS}"'
    assert declaration in text
    replacement = f'xmlns="{namespace}"' if namespace else ""
    return etree.ElementTree(etree.fromstring(text.replace(declaration, replacement)))


FORMATION = "/l:lheo/l:offres/l:formation"
ACTION = f"{FORMATION}/l:action"
SESSION = f"{ACTION}/l:session"
APPRENTICESHIP_CYCLE = f"{SESSION}/l:cycle[l:type-cycle='1']"
PLACE = f"{ACTION}/l:lieu-de-formation"
PLACE_ADDRESS = f"{PLACE}/l:coordonnees/l:adresse"
RESPONSABLE = f"{FORMATION}/l:organisme-formation-responsable"


# ------------------------------------------------------------------------ the schemas


def test_gateway_schema_is_self_contained(gateway_xsd_path: Path) -> None:
    schema_doc = etree.parse(str(gateway_xsd_path))
    root = schema_doc.getroot()
    assert root.get("targetNamespace") == NS
    assert root.get("elementFormDefault") == "qualified"
    # Nothing is pulled in at run time (in particular nothing from the official schema).
    assert not schema_doc.xpath("//xs:include | //xs:import | //xs:redefine", namespaces=XS)
    # Every element is global: no local element declarations, only references.
    assert not schema_doc.xpath("//xs:element[@name][not(parent::xs:schema)]", namespaces=XS)


def global_element_names(xsd: Path) -> set[str]:
    names = etree.parse(str(xsd)).xpath("/xs:schema/xs:element/@name", namespaces=XS)
    assert isinstance(names, list)
    return {str(name) for name in names}


def test_gateway_elements_all_exist_in_the_standard(gateway_xsd_path: Path, official_xsd_path: Path) -> None:
    ours = global_element_names(gateway_xsd_path)
    official = global_element_names(official_xsd_path)
    assert ours <= official, f"not LHÉO 2.3 elements: {sorted(ours - official)}"
    # The apprenticeship-relevant part of the standard is covered.
    for name in (
        "lheo", "formation", "certification", "url-formation", "action", "lieu-de-formation",
        "session", "cycle", "annee-cycle", "alternance", "rythme-alternance", "organisme-formateur",
        "organisme-financeur", "organisme-formation-responsable", "code-UAI", "adresse",
        "geolocalisation", "extras", "extra",
    ):  # fmt: skip
        assert name in ours


# ------------------------------------------------------------------- valid instances


@pytest.mark.parametrize("build", [rich_document, minimal_document], ids=["rich", "minimal"])
def test_instance_is_valid_against_both_schemas(
    build: Callable[[], etree._ElementTree],
    gateway_schema: etree.XMLSchema,
    official_schema: etree.XMLSchema,
) -> None:
    doc = build()
    assert errors_of(official_schema, doc) == []
    assert errors_of(gateway_schema, doc) == []


def test_rich_instance_survives_serialisation_round_trip(
    gateway_schema: etree.XMLSchema, official_schema: etree.XMLSchema
) -> None:
    data = etree.tostring(rich_document(), xml_declaration=True, encoding="UTF-8", pretty_print=True)
    doc = etree.ElementTree(etree.fromstring(data))
    assert errors_of(gateway_schema, doc) == []
    assert errors_of(official_schema, doc) == []
    # What the test claims to exercise really is in the instance.
    assert select(doc, f"{PLACE_ADDRESS}/l:code-INSEE-commune/text()") == ["2A004"]
    assert select(doc, f"{APPRENTICESHIP_CYCLE}/l:annee-cycle/text()") == ["2", "3"]
    assert len(select(doc, f"{FORMATION}/l:url-formation/l:urlweb")) == 3
    assert select(doc, f"{ACTION}/l:extras/l:extra[@info='contrat-apprentissage']/text()") == ["1"]
    assert "BORDEAUX CEDEX" in select(doc, "//l:ville/text()")


def test_formation_fragment_validates_on_its_own(
    gateway_schema: etree.XMLSchema, official_schema: etree.XMLSchema
) -> None:
    formation = copy.deepcopy(node(rich_document(), FORMATION))
    fragment = etree.ElementTree(etree.fromstring(etree.tostring(formation)))
    assert fragment.getroot().tag == f"{{{NS}}}formation"
    assert errors_of(gateway_schema, fragment) == []
    assert errors_of(official_schema, fragment) == []


@pytest.mark.parametrize(
    "mutation",
    [
        # Title limit counts characters, not UTF-8 bytes.
        set_text(f"{FORMATION}/l:intitule-formation", "é" * 255),
        # Unknown start/end dates, month-only and year-only dates.
        set_text(f"{SESSION}/l:periode/l:debut", "00000000"),
        set_text(f"{SESSION}/l:periode/l:fin", "99999999"),
        set_text(f"{SESSION}/l:periode/l:debut", "20250900"),
        set_text(f"{SESSION}/l:periode/l:fin", "20280000"),
        # Other Corsica and overseas places, west longitude.
        set_text(f"{PLACE_ADDRESS}/l:code-INSEE-commune", "2B033"),
        set_text(f"{PLACE_ADDRESS}/l:departement", "971"),
        set_text(f"{PLACE_ADDRESS}/l:geolocalisation/l:longitude", "-0.5792"),
        # 100 % distance offer: no place at all.
        remove(PLACE),
        # Certification identified by its Certifinfo code only.
        remove(f"{FORMATION}/l:certification/l:code-RNCP"),
        # Placeholder NDA seen in the wild.
        set_text(f"{RESPONSABLE}/l:numero-activite", "99999999999"),
        # Several extras, nested, with elements inside an extra.
        append_child(f"{ACTION}/l:extras", lambda: E("extras", E("extra", E("ligne", "Bâtiment B"), info="lieu"))),
        # Issue #7: public pages, an overseas collectivité, update dates as the network writes them.
        set_attr(FORMATION, "href", "https://www.offres.example/formation/202110104724"),
        set_attr(RESPONSABLE, "href", "https://www.offres.example/organisme/1494"),
        set_text(f"{PLACE_ADDRESS}/l:departement", "987"),
        set_attr(FORMATION, "datemaj", "20251213"),
    ],
    ids=[
        "title-255-accented",
        "debut-unknown",
        "fin-unknown",
        "debut-month-only",
        "fin-year-only",
        "insee-2B",
        "departement-overseas",
        "longitude-west",
        "distance-no-place",
        "certifinfo-only",
        "nda-placeholder",
        "nested-extras",
        "formation-href",
        "responsable-href",
        "departement-collectivite",
        "formation-datemaj",
    ],
)
def test_legitimate_variants_are_valid_in_both(
    mutation: Mutation, gateway_schema: etree.XMLSchema, official_schema: etree.XMLSchema
) -> None:
    doc = mutated(mutation)
    assert errors_of(official_schema, doc) == []
    assert errors_of(gateway_schema, doc) == []


def test_gateway_schema_also_works_with_xmlschema(gateway_xsd_path: Path) -> None:
    # The patterns must mean the same thing to the pure-Python validator as to libxml2.
    xmlschema = pytest.importorskip("xmlschema")
    schema = xmlschema.XMLSchema10(str(gateway_xsd_path))
    assert schema.is_valid(etree.tostring(rich_document(), encoding="unicode"))
    assert schema.is_valid(MINIMAL_DOCUMENT)
    assert not schema.is_valid(etree.tostring(mutated(set_text(f"{RESPONSABLE}//l:SIRET", "ABCDEFGHIJKLMN"))))


# Values chosen to sit on the edges of both schemas' facets (blank, padded, signed, too long,
# lexically odd dates and codes...).
PROBE_VALUES = [
    "", " ", "0", "1", " 1 ", "-1", "+5", "99999", "100000", "x" * 3001, "é" * 255,
    " " * 40 + "44.8", "00000000", "20251339", "2A004", "RNCP1", "http://a", "a@b.c", "+33 5",
]  # fmt: skip


def test_gateway_never_accepts_what_the_official_schema_rejects(
    gateway_schema: etree.XMLSchema, official_schema: etree.XMLSchema
) -> None:
    leaves = [i for i, el in enumerate(rich_document().iter()) if len(el) == 0 and el.text is not None]
    assert len(leaves) > 100
    accepted_by_gateway = 0
    violations = []
    for index in leaves:
        for value in PROBE_VALUES:
            doc = rich_document()
            leaf = list(doc.iter())[index]
            leaf.text = value
            if gateway_schema.validate(doc):
                accepted_by_gateway += 1
                if not official_schema.validate(doc):
                    violations.append((etree.QName(leaf).localname, value[:20]))
    assert violations == [], "gateway schema is not a subset of LHÉO 2.3 for these values"
    assert accepted_by_gateway > 0  # the probe does exercise acceptance, not only rejection


# ------------------------------------------ looseness of the official schema we close

STRICTER_CASES: list[tuple[str, Mutation, str]] = [
    ("siret-letters", set_text(f"{RESPONSABLE}//l:SIRET", "ABCDEFGHIJKLMN"), "SIRET"),
    ("title-whitespace-only", set_text(f"{FORMATION}/l:intitule-formation", "   "), "intitule-formation"),
    ("formacode-without-ref", set_attr(f"{FORMATION}/l:domaine-formation/l:code-FORMACODE", "ref", None), "ref"),
    ("public-vise-without-ref", set_attr(f"{ACTION}/l:code-public-vise", "ref", None), "ref"),
    ("formacode-ref-not-a-version", set_attr(f"{ACTION}/l:code-public-vise", "ref", "14"), "ref"),
    ("annee-cycle-negative", set_text(f"{APPRENTICESHIP_CYCLE}/l:annee-cycle", "-1"), "annee-cycle"),
    ("annee-cycle-zero", set_text(f"{APPRENTICESHIP_CYCLE}/l:annee-cycle", "0"), "annee-cycle"),
    ("annee-cycle-twice", set_text(f"{APPRENTICESHIP_CYCLE}/l:annee-cycle[2]", "2"), "annee-cycle"),
    ("duree-cycle-six", set_text(f"{ACTION}/l:duree-cycle", "6"), "duree-cycle"),
    ("effectif-negative", set_text(f"{APPRENTICESHIP_CYCLE}/l:effectif-minimal", "-3"), "effectif-minimal"),
    ("urlweb-not-a-url", set_text(f"{FORMATION}/l:url-formation/l:urlweb", "pas une url"), "urlweb"),
    ("urlweb-without-scheme", set_text(f"{FORMATION}/l:url-formation/l:urlweb", "www.cfa.fr"), "urlweb"),
    ("codepostal-letters", set_text(f"{PLACE_ADDRESS}/l:codepostal", "ABCDE"), "codepostal"),
    ("code-uai-lowercase", set_text(f"{ACTION}//l:code-UAI-formateur/l:code-UAI", "6200001g"), "code-UAI"),
    ("code-uai-letter-o", set_text(f"{ACTION}//l:code-UAI-formateur/l:code-UAI", "6200001O"), "code-UAI"),
    ("nda-letters", set_text(f"{RESPONSABLE}/l:numero-activite", "7233000003X"), "numero-activite"),
    ("insee-2C", set_text(f"{PLACE_ADDRESS}/l:code-INSEE-commune", "2C004"), "code-INSEE-commune"),
    ("departement-20", set_text(f"{PLACE_ADDRESS}/l:departement", "20"), "departement"),
    ("rncp-bare-number", set_text(f"{FORMATION}/l:certification/l:code-RNCP", "38368"), "code-RNCP"),
    ("certifinfo-letters", set_text(f"{FORMATION}/l:certification/l:code-CERTIFINFO", "CI116789"), "code-CERTIFINFO"),
    ("courriel-without-at", set_text(f"{RESPONSABLE}//l:courriel", "contact.cfa-exemple.fr"), "courriel"),
    ("certifiante-padded", set_text(f"{FORMATION}/l:certifiante", " 1 "), "certifiante"),
    # Long free texts are not pattern-checked (cost); intake refuses them blank (TEXT_EMPTY).
    ("nom-organisme-blank", set_text(f"{RESPONSABLE}/l:nom-organisme", "\n  "), "nom-organisme"),
    (
        "raison-sociale-formateur-empty",
        set_text(f"{ACTION}//l:raison-sociale-formateur", ""),
        "raison-sociale-formateur",
    ),
    ("latitude-out-of-range", set_text(f"{PLACE_ADDRESS}//l:latitude", "141.9"), "latitude"),
    ("extra-without-info", set_attr(f"{ACTION}/l:extras/l:extra", "info", None), "info"),
    # Issue #7: what consumers parse, in the network's shapes.
    ("region-before-2016", set_text(f"{PLACE_ADDRESS}/l:region", "72"), "region"),
    ("pays-lowercase", set_text(f"{PLACE_ADDRESS}/l:pays", "fr"), "pays"),
    ("datemaj-iso", set_attr(SESSION, "datemaj", "2025-03-01"), "datemaj"),
    ("datecrea-impossible-month", set_attr(FORMATION, "datecrea", "20251301"), "datecrea"),
    ("href-not-a-url", set_attr(FORMATION, "href", "pas une url"), "href"),
    ("numero-blank", set_attr(SESSION, "numero", " "), "numero"),
    ("numero-with-space", set_attr(FORMATION, "numero", "NA 202110104724"), "numero"),
    # Rarely used parts of the standard the gateway never emits are simply not allowed.
    (
        "omitted-equipement",
        insert_after(f"{ACTION}/l:code-modalite-pedagogique", lambda: E("equipement", E("type-equipement", "1"))),
        "equipement",
    ),
    (
        "omitted-positionnement",
        insert_after(RESPONSABLE, lambda: E("positionnement", "1")),
        "positionnement",
    ),
]


@pytest.mark.parametrize(
    ("mutation", "culprit"),
    [case[1:] for case in STRICTER_CASES],
    ids=[case[0] for case in STRICTER_CASES],
)
def test_gateway_rejects_what_the_official_schema_lets_through(
    mutation: Mutation,
    culprit: str,
    gateway_schema: etree.XMLSchema,
    official_schema: etree.XMLSchema,
) -> None:
    doc = mutated(mutation)
    assert errors_of(official_schema, doc) == [], "official schema should accept this looseness"
    ours = errors_of(gateway_schema, doc)
    assert ours, "gateway schema should reject it"
    assert any(culprit in message for message in ours), ours


def test_iso_date_in_debut_is_rejected_by_both(
    gateway_schema: etree.XMLSchema, official_schema: etree.XMLSchema
) -> None:
    doc = mutated(set_text(f"{SESSION}/l:periode/l:debut", "2025-09-01"))
    assert any("debut" in m for m in errors_of(official_schema, doc))
    assert any("debut" in m for m in errors_of(gateway_schema, doc))


# ------------------------------------------- failures of LHÉO itself (domain notes §A)


def _too_long(n: int) -> str:
    return "x" * n


REJECTED_BY_BOTH: list[tuple[str, Mutation, str]] = [
    # 1. maximum length
    ("1-title-256", set_text(f"{FORMATION}/l:intitule-formation", _too_long(256)), "intitule-formation"),
    ("1-title-256-accented", set_text(f"{FORMATION}/l:intitule-formation", "é" * 256), "intitule-formation"),
    # 2. empty mandatory texts
    ("2-empty-modalites-alternance", set_text(f"{ACTION}/l:modalites-alternance", ""), "modalites-alternance"),
    ("2-empty-title", set_text(f"{FORMATION}/l:intitule-formation", ""), "intitule-formation"),
    # 4. wrong order, unknown or misplaced elements
    (
        "4-certifiante-before-title",
        move_before(f"{FORMATION}/l:certifiante", f"{FORMATION}/l:intitule-formation"),
        "certifiante",
    ),
    ("4-place-after-session", move_after(PLACE, SESSION), "lieu-de-formation"),
    (
        "4-uai-before-siret-in-place",
        move_before(f"{PLACE}/l:code-UAI-lieu-formation", f"{PLACE}/l:SIRET-lieu-formation"),
        "SIRET-lieu-formation",
    ),
    ("4-extras-not-last", move_before(f"{ACTION}/l:extras", f"{ACTION}/l:organisme-formateur"), "extras"),
    ("4-bare-extra", unwrap_extras(f"{ACTION}/l:extras"), "}extra'"),
    ("4-unknown-element", append_child(FORMATION, lambda: E("date-maj", "20250301")), "date-maj"),
    # 5. missing mandatory child at the end
    ("5-missing-responsable", remove(RESPONSABLE), "formation"),
    ("5-missing-session", remove(SESSION), "session"),
    # 6. ISO date
    ("6-iso-fin", set_text(f"{SESSION}/l:periode/l:fin", "2028-06-30"), "fin"),
    # 7. enumerations
    ("7-modalites-enseignement-3", set_text(f"{ACTION}/l:modalites-enseignement", "3"), "modalites-enseignement"),
    ("7-type-alternance-3", set_text(f"{APPRENTICESHIP_CYCLE}//l:type-alternance", "3"), "type-alternance"),
    ("7-type-cycle-2", set_text(f"{APPRENTICESHIP_CYCLE}/l:type-cycle", "2"), "type-cycle"),
    ("7-etat-recrutement-0", set_text(f"{SESSION}/l:etat-recrutement", "0"), "etat-recrutement"),
    ("7-certifiante-oui", set_text(f"{FORMATION}/l:certifiante", "oui"), "certifiante"),
    ("7-niveau-9", set_text(f"{FORMATION}/l:code-niveau-entree", "9"), "code-niveau-entree"),
    ("7-financeur-21", set_text(f"{ACTION}//l:code-financeur", "21"), "code-financeur"),
    # 8. fixed lengths
    ("8-siret-13", set_text(f"{RESPONSABLE}//l:SIRET", "7328293200007"), "SIRET"),
    ("8-siret-spaces", set_text(f"{RESPONSABLE}//l:SIRET", "732 829 320 00074"), "SIRET"),
    ("8-nda-10", set_text(f"{RESPONSABLE}/l:numero-activite", "7233000003"), "numero-activite"),
    ("8-uai-7", set_text(f"{RESPONSABLE}//l:code-UAI", "0331234"), "code-UAI"),
    ("8-codepostal-4", set_text(f"{PLACE_ADDRESS}/l:codepostal", "2000"), "codepostal"),
    ("8-rncp-11", set_text(f"{FORMATION}/l:certification/l:code-RNCP", "RNCP1234567"), "code-RNCP"),
    (
        "8-urlweb-401",
        set_text(f"{FORMATION}/l:url-formation/l:urlweb", "https://cfa.fr/" + "a" * 386),
        "urlweb",
    ),
    ("8-ligne-51", set_text(f"{PLACE_ADDRESS}/l:ligne", _too_long(51)), "ligne"),
    ("8-ville-51", set_text(f"{PLACE_ADDRESS}/l:ville", _too_long(51)), "ville"),
    ("8-certifinfo-11", set_text(f"{FORMATION}/l:certification/l:code-CERTIFINFO", "1" * 11), "code-CERTIFINFO"),
    # 9. cardinality overflow
    ("9-fifth-ligne", repeat_until(f"{PLACE_ADDRESS}/l:ligne", 5), "ligne"),
    ("9-eleventh-public-vise", repeat_until(f"{ACTION}/l:code-public-vise", 11), "code-public-vise"),
    ("9-sixth-certification", repeat_until(f"{FORMATION}/l:certification", 6), "certification"),
    ("9-ninth-financeur", repeat_until(f"{ACTION}/l:organisme-financeur", 9), "organisme-financeur"),
    ("9-fourth-urlweb", repeat_until(f"{FORMATION}/l:url-formation/l:urlweb", 4), "urlweb"),
    ("9-two-offres", repeat_until("/l:lheo/l:offres", 2), "offres"),
    # 10-11. integers and attributes (beyond the list, same mechanism)
    ("10-decimal-hours", set_text(f"{ACTION}/l:nombre-heures-total", "12.5"), "nombre-heures-total"),
    (
        "11-timestamp-without-T",
        set_attr(FORMATION, "horodatage-modification", "2025-03-01 10:00:00"),
        "horodatage-modification",
    ),
    ("11-numeric-id", set_attr(FORMATION, "id", "202110104724"), "xs:ID"),
    ("11-duplicate-id", set_attr(SESSION, "id", "F202110104724"), "F202110104724"),
]


@pytest.mark.parametrize(
    ("mutation", "culprit"),
    [case[1:] for case in REJECTED_BY_BOTH],
    ids=[case[0] for case in REJECTED_BY_BOTH],
)
def test_lheo_violations_are_rejected_by_both(
    mutation: Mutation,
    culprit: str,
    gateway_schema: etree.XMLSchema,
    official_schema: etree.XMLSchema,
) -> None:
    doc = mutated(mutation)
    assert errors_of(official_schema, doc), "the mutation must break LHÉO 2.3 itself"
    ours = errors_of(gateway_schema, doc)
    assert ours, "gateway schema must reject it too"
    assert any(culprit in message for message in ours), ours


@pytest.mark.parametrize(
    ("namespace", "expected_root"),
    [("http://www.lheo.org/2.2", "{http://www.lheo.org/2.2}lheo"), (None, "'lheo'")],
    ids=["3-lheo-2.2-namespace", "3-no-namespace"],
)
def test_wrong_namespace_is_rejected_by_both(
    namespace: str | None,
    expected_root: str,
    gateway_schema: etree.XMLSchema,
    official_schema: etree.XMLSchema,
) -> None:
    doc = reparsed_with_namespace(namespace)
    assert errors_of(official_schema, doc)
    ours = errors_of(gateway_schema, doc)
    assert any(expected_root in m and "No matching global declaration" in m for m in ours), ours
