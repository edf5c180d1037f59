"""The naive way to build a LHÉO `<formation>`: lxml's element API, one SubElement at a time.

Kept for the export benchmark's peer ("build the whole tree, validate it whole") and as an
oracle in the tests: `gateway.lheo.formation` must write exactly what lxml serializes from
this tree. Shares the gateway's codes and text cleaning so only the building differs.
"""

from __future__ import annotations

from datetime import UTC

from lxml import etree

from gateway.config import LheoSettings
from gateway.intake.models import Address, Contact, ContactRole, Offer, Organisation
from gateway.lheo.formation import (
    CONTACT_TYPES,
    LHEO_NAMESPACE,
    OPCO_FUNDER,
    RECRUITMENT,
    TEACHING_MODES,
    UNKNOWN_NDA,
    alternance_text,
    entry_level_code,
)
from gateway.lheo.xml_text import long_text, short_text
from gateway.mapping.formation_view import ActionView, FormationView, SessionView
from gateway.rules import identifiers as ids
from gateway.rules.address_lines import fit_address_lines

_NS = "{" + LHEO_NAMESPACE + "}"


def _sub(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    element = etree.SubElement(parent, _NS + tag, attrs or None)
    if text is not None:
        element.text = text
    return element


def render_formation(view: FormationView, settings: LheoSettings) -> etree._Element:
    offer = view.offer
    formation = etree.Element(_NS + "formation", nsmap={None: LHEO_NAMESPACE})  # type: ignore[dict-item]
    formation.set("numero", offer.reference)
    if offer.updated_at is not None:
        stamp = offer.updated_at.astimezone(UTC) if offer.updated_at.tzinfo else offer.updated_at
        formation.set("horodatage-modification", stamp.strftime("%Y-%m-%dT%H:%M:%S") + "Z")

    domain = _sub(formation, "domaine-formation")
    for code in offer.formacode:
        _sub(domain, "code-FORMACODE", code, ref=settings.formacode_version)
    for code in offer.nsf:
        _sub(domain, "code-NSF", code)
    for code in offer.rome:
        _sub(domain, "code-ROME", code)
    _sub(formation, "intitule-formation", view.title)
    _sub(formation, "objectif-formation", long_text(offer.objective))
    _sub(formation, "resultats-attendus", long_text(offer.expected_results))
    _sub(formation, "contenu-formation", long_text(offer.content))
    _sub(formation, "certifiante", "1")
    contacts = offer.contacts or [Contact(role=ContactRole.ACCUEIL)]
    for contact in contacts:
        holder = _sub(formation, "contact-formation")
        _sub(holder, "type-contact", CONTACT_TYPES[contact.role])
        _contact_coordinates(holder, contact, fallback=offer.responsable)
    _sub(formation, "parcours-de-formation", "1")
    _sub(formation, "code-niveau-entree", entry_level_code(offer.entry_level))
    certification = _sub(formation, "certification")
    if view.rncp:
        _sub(certification, "code-RNCP", view.rncp)
    _sub(certification, "code-CERTIFINFO", offer.certifinfo)
    if offer.exit_level is not None:
        _sub(formation, "code-niveau-sortie", str(10 + offer.exit_level))
    if view.web_links:
        urls = _sub(formation, "url-formation")
        for link in view.web_links:
            _sub(urls, "urlweb", link)
    for action in view.actions:
        _action(formation, view, action, settings)
    _responsable(formation, offer.responsable)
    return formation


def _contact_coordinates(parent: etree._Element, contact: Contact, fallback: Organisation) -> None:
    coordinates = _sub(parent, "coordonnees")
    for tag, value in (("civilite", contact.civility), ("nom", contact.last_name), ("prenom", contact.first_name)):
        if value and value.strip():
            _sub(coordinates, tag, short_text(value))
    phone = contact.phone or (None if contact.email else fallback.phone)
    email = contact.email or (None if contact.phone else fallback.email)
    if phone:
        _sub(_sub(coordinates, "telfixe"), "numtel", short_text(phone))
    if email:
        _sub(coordinates, "courriel", short_text(email))


def _address(parent: etree._Element, address: Address) -> None:
    element = _sub(parent, "adresse")
    if address.name and address.name.strip():
        _sub(element, "denomination", short_text(address.name))
    for line in fit_address_lines([short_text(line) for line in address.lines]) or []:
        _sub(element, "ligne", line)
    _sub(element, "codepostal", address.postcode)
    city = short_text(address.city)
    # LHÉO has no CEDEX element: the mention goes with the town, beside the CEDEX postcode.
    _sub(element, "ville", f"{city} {short_text(address.cedex)}" if address.cedex else city)
    if address.insee:
        # Never derived from a (CEDEX) postcode: only what was declared.
        _sub(element, "departement", ids.department_of_insee(address.insee))
        _sub(element, "code-INSEE-commune", address.insee)
    if address.latitude and address.longitude:
        geo = _sub(element, "geolocalisation")
        _sub(geo, "latitude", address.latitude)
        _sub(geo, "longitude", address.longitude)


def _action(formation: etree._Element, view: FormationView, action: ActionView, settings: LheoSettings) -> None:
    offer = view.offer
    modalities = offer.modalities
    alternance = modalities.contrat_apprentissage or modalities.contrat_professionnalisation
    element = _sub(formation, "action", numero=f"{offer.reference}-{action.number:02d}")
    _sub(element, "rythme-formation", long_text(offer.rhythm))
    _sub(element, "code-public-vise", settings.public_code, ref=settings.formacode_version)
    _sub(element, "niveau-entree-obligatoire", "0")
    _sub(element, "modalites-alternance", alternance_text(offer))
    _sub(element, "modalites-enseignement", TEACHING_MODES[offer.teaching_mode])
    conditions = offer.specific_conditions
    _sub(
        element,
        "conditions-specifiques",
        long_text(conditions) if conditions and conditions.strip() else settings.no_specific_conditions,
    )
    _sub(element, "prise-en-charge-frais-possible", "1" if alternance else "0")
    if action.place is not None:
        place = _sub(element, "lieu-de-formation")
        if action.place.siret:
            _sub(_sub(place, "SIRET-lieu-formation"), "SIRET", action.place.siret)
        if action.place_uai:
            _sub(_sub(place, "code-UAI-lieu-formation"), "code-UAI", action.place_uai)
        _address(_sub(place, "coordonnees"), action.place)
    _sub(element, "modalites-entrees-sorties", "0")
    if offer.duration_years is not None:
        _sub(element, "duree-cycle", str(offer.duration_years))
    for session in action.sessions:
        _session(element, offer, session)
    _formateur(element, offer.effective_formateur)
    if alternance:
        _sub(_sub(element, "organisme-financeur"), "code-financeur", OPCO_FUNDER)
    extras = _sub(element, "extras")
    for info, flag in (
        ("formation-continue", modalities.formation_continue),
        ("contrat-professionnalisation", modalities.contrat_professionnalisation),
        ("contrat-apprentissage", modalities.contrat_apprentissage),
    ):
        _sub(extras, "extra", "1" if flag else "0", info=info)


def _session(action: etree._Element, offer: Offer, session: SessionView) -> None:
    element = _sub(action, "session", numero=session.reference)
    period = _sub(element, "periode")
    _sub(period, "debut", session.start)
    _sub(period, "fin", session.end)
    _address(_sub(element, "adresse-inscription"), session.registration_address)
    if session.recruitment is not None:
        _sub(element, "etat-recrutement", RECRUITMENT[session.recruitment])
    modalities = offer.modalities
    if modalities.contrat_apprentissage:
        cycle = _sub(element, "cycle")
        _sub(cycle, "type-cycle", "1")
        for year in sorted(set(offer.apprenticeship_years)):
            _sub(cycle, "annee-cycle", str(year))
        # type-alternance: 1 apprenticeship only; 0 "any alternance contract" when CP is open too.
        _sub(_sub(cycle, "alternance"), "type-alternance", "0" if modalities.contrat_professionnalisation else "1")


def _formateur(action: etree._Element, formateur: Organisation) -> None:
    element = _sub(action, "organisme-formateur")
    _sub(_sub(element, "SIRET-formateur"), "SIRET", formateur.siret)
    _sub(element, "raison-sociale-formateur", short_text(formateur.legal_name or formateur.name))
    if formateur.phone or formateur.email:
        _contact_coordinates(_sub(element, "contact-formateur"), Contact(role=ContactRole.ACCUEIL), fallback=formateur)
    if formateur.uai:
        _sub(_sub(element, "code-UAI-formateur"), "code-UAI", ids.normalize_uai(formateur.uai))


def _responsable(formation: etree._Element, organisation: Organisation) -> None:
    element = _sub(formation, "organisme-formation-responsable")
    _sub(element, "numero-activite", organisation.nda or UNKNOWN_NDA)
    _sub(_sub(element, "SIRET-organisme-formation"), "SIRET", organisation.siret)
    _sub(element, "nom-organisme", short_text(organisation.name))
    _sub(element, "raison-sociale", short_text(organisation.legal_name or organisation.name))
    coordinates = _sub(_sub(element, "coordonnees-organisme"), "coordonnees")
    if organisation.address is not None:
        _address(coordinates, organisation.address)
    if organisation.phone:
        _sub(_sub(coordinates, "telfixe"), "numtel", short_text(organisation.phone))
    if organisation.email:
        _sub(coordinates, "courriel", short_text(organisation.email))
    if organisation.web:
        _sub(_sub(coordinates, "web"), "urlweb", organisation.web)
    _contact_coordinates(_sub(element, "contact-organisme"), Contact(role=ContactRole.ACCUEIL), fallback=organisation)
    if organisation.uai:
        _sub(_sub(element, "code-UAI-organisme-formation"), "code-UAI", ids.normalize_uai(organisation.uai))
