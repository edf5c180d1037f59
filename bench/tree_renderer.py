"""The naive way to build a LHÉO `<formation>`: lxml's element API, one SubElement at a time.

Kept for the export benchmark's peer ("build the whole tree, validate it whole") and as an
oracle in the tests: `gateway.lheo.formation` must write exactly what lxml serializes from
this tree. Shares the gateway's codes and text cleaning so only the building differs.
"""

from __future__ import annotations

from datetime import UTC

from lxml import etree

from gateway.config import LheoSettings
from gateway.intake.models import Address, Contact, Offer, Organisation
from gateway.lheo.addresses import COUNTRY, address_codes, town_text
from gateway.lheo.formation import (
    CERTIFICATION_OBJECTIVE,
    LHEO_NAMESPACE,
    OPCO_FUNDER,
    PERIMETERS,
    RECRUITMENT,
    TEACHING_MODES,
    alternance_text,
    entry_level_code,
    indicative_duration,
    place_numero,
    public_page,
)
from gateway.lheo.organisms import ACCUEIL, CONTACT_TYPES, UNKNOWN_NDA, organisation_numero
from gateway.lheo.xml_text import long_text, short_text
from gateway.mapping import numeros
from gateway.mapping.formation_view import ActionView, FormationView, RecordDates, SessionView
from gateway.rules import identifiers as ids
from gateway.rules.address_lines import fit_address_lines
from gateway.rules.geography import Geography

_NS = "{" + LHEO_NAMESPACE + "}"


def _sub(parent: etree._Element, name: str, text: str | None = None, /, **attrs: str) -> etree._Element:
    # Positional-only: LHÉO attributes include `tag`, passed as a keyword.
    element = etree.SubElement(parent, _NS + name, attrs or None)
    if text is not None:
        element.text = text
    return element


def _dated(element: etree._Element, dates: RecordDates) -> None:
    if dates.created:
        element.set("datecrea", dates.created)
    if dates.updated:
        element.set("datemaj", dates.updated)


def render_formation(view: FormationView, settings: LheoSettings, geography: Geography) -> etree._Element:
    offer = view.offer
    prefix = settings.numero_prefix
    formation = etree.Element(_NS + "formation", nsmap={None: LHEO_NAMESPACE})  # type: ignore[dict-item]
    formation.set("numero", numeros.prefixed(prefix, offer.reference))
    _dated(formation, view.dates)
    page = public_page(settings, offer.reference)
    if page:
        formation.set("href", page)
    if offer.updated_at is not None:
        stamp = offer.updated_at.astimezone(UTC) if offer.updated_at.tzinfo else offer.updated_at
        formation.set("horodatage-modification", stamp.strftime("%Y-%m-%dT%H:%M:%S") + "Z")

    domain = _sub(formation, "domaine-formation")
    for index, code in enumerate(offer.formacode):
        principal = {"tag": "principal"} if index == 0 else {}
        _sub(domain, "code-FORMACODE", code, ref=settings.formacode_version, **principal)
    for code in offer.nsf:
        _sub(domain, "code-NSF", code)
    for code in offer.rome:
        _sub(domain, "code-ROME", code)
    _sub(formation, "intitule-formation", view.title)
    _sub(formation, "objectif-formation", long_text(offer.objective))
    _sub(formation, "resultats-attendus", long_text(offer.expected_results))
    _sub(formation, "contenu-formation", long_text(offer.content))
    _sub(formation, "certifiante", "1")
    for index, contact in enumerate(offer.contacts or [ACCUEIL]):
        holder = _sub(formation, "contact-formation", **({"tag": "principal"} if index == 0 else {}))
        _sub(holder, "type-contact", CONTACT_TYPES[contact.role])
        _contact_coordinates(holder, contact, fallback=offer.responsable)
    _sub(formation, "parcours-de-formation", "1")
    _sub(formation, "code-niveau-entree", entry_level_code(offer.entry_level))
    _sub(formation, "objectif-general-formation", CERTIFICATION_OBJECTIVE)
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
        _action(formation, view, action, settings, geography)
    _responsable(formation, offer.responsable, prefix, geography)
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


def _address(parent: etree._Element, address: Address, geography: Geography) -> None:
    element = _sub(parent, "adresse")
    if address.name and address.name.strip():
        _sub(element, "denomination", short_text(address.name))
    for line in fit_address_lines([short_text(line) for line in address.lines]) or []:
        _sub(element, "ligne", line)
    _sub(element, "codepostal", address.postcode)
    _sub(element, "ville", town_text(address))
    codes = address_codes(address, geography)
    if codes.department:
        _sub(element, "departement", codes.department)
    if codes.insee:
        _sub(element, "code-INSEE-commune", codes.insee)
    if codes.region:
        _sub(element, "region", codes.region)
    _sub(element, "pays", COUNTRY)
    if address.latitude and address.longitude:
        geo = _sub(element, "geolocalisation")
        _sub(geo, "latitude", address.latitude)
        _sub(geo, "longitude", address.longitude)


def _action(
    formation: etree._Element, view: FormationView, action: ActionView, settings: LheoSettings, geography: Geography
) -> None:
    offer = view.offer
    prefix = settings.numero_prefix
    modalities = offer.modalities
    alternance = modalities.contrat_apprentissage or modalities.contrat_professionnalisation
    element = _sub(formation, "action", numero=numeros.prefixed(prefix, f"{offer.reference}_{action.token}"))
    _dated(element, action.dates)
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
    address = action.place or action.distance_address
    if address is not None:
        place = _sub(element, "lieu-de-formation", numero=place_numero(prefix, view, action), tag="principal")
        if action.place is not None and action.place.siret:
            _sub(_sub(place, "SIRET-lieu-formation"), "SIRET", action.place.siret)
        if action.place_uai:
            _sub(_sub(place, "code-UAI-lieu-formation"), "code-UAI", action.place_uai)
        _address(_sub(place, "coordonnees"), address, geography)
        if action.place is None:
            _sub(_sub(place, "extras", info="lieu-de-formation"), "extra", "1", info="formation-a-distance")
    _sub(element, "modalites-entrees-sorties", "0")
    action_page = public_page(settings, offer.reference) or (view.web_links[0] if view.web_links else None)
    if action_page:
        _sub(_sub(element, "url-action"), "urlweb", action_page)
    if offer.duration_years is not None:
        _sub(element, "duree-cycle", str(offer.duration_years))
    for session in action.sessions:
        _session(element, offer, session, prefix, geography)
    if offer.recruitment_terms and offer.recruitment_terms.strip():
        _sub(element, "modalites-recrutement", long_text(offer.recruitment_terms))
    if offer.recruitment_perimeter is not None:
        _sub(element, "code-perimetre-recrutement", PERIMETERS[offer.recruitment_perimeter])
    duration = indicative_duration(offer)
    if duration:
        _sub(element, "duree-indicative", duration)
    if offer.hours is not None:
        for tag, hours in (
            ("nombre-heures-centre", offer.hours.centre),
            ("nombre-heures-entreprise", offer.hours.company),
            ("nombre-heures-total", offer.hours.total),
        ):
            if hours is not None:
                _sub(element, tag, str(hours))
    _formateur(element, offer.effective_formateur, prefix)
    if alternance:
        _sub(_sub(element, "organisme-financeur"), "code-financeur", OPCO_FUNDER)
    kind = _sub(element, "extras", info="type-action")
    _sub(kind, "extra", "1" if modalities.formation_continue else "0", info="formation-continue")
    dispositif = _sub(element, "extras", info="dispositif")
    for info, flag in (
        ("contrat-apprentissage", modalities.contrat_apprentissage),
        ("contrat-professionnalisation", modalities.contrat_professionnalisation),
    ):
        _sub(dispositif, "extra", "1" if flag else "0", info=info)


def _session(action: etree._Element, offer: Offer, session: SessionView, prefix: str, geography: Geography) -> None:
    element = _sub(action, "session", numero=numeros.prefixed(prefix, session.reference))
    _dated(element, session.dates)
    period = _sub(element, "periode")
    _sub(period, "debut", session.start)
    _sub(period, "fin", session.end)
    _address(_sub(element, "adresse-inscription"), session.registration_address, geography)
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


def _formateur(action: etree._Element, formateur: Organisation, prefix: str) -> None:
    element = _sub(action, "organisme-formateur", numero=organisation_numero(prefix, formateur), tag="principal")
    _sub(_sub(element, "SIRET-formateur"), "SIRET", formateur.siret)
    _sub(element, "raison-sociale-formateur", short_text(formateur.legal_name or formateur.name))
    if formateur.phone or formateur.email:
        holder = _sub(element, "contact-formateur", tag="principal")
        _sub(holder, "type-contact", CONTACT_TYPES[ACCUEIL.role])
        _contact_coordinates(holder, ACCUEIL, fallback=formateur)
    if formateur.uai:
        _sub(_sub(element, "code-UAI-formateur"), "code-UAI", ids.normalize_uai(formateur.uai))


def _responsable(formation: etree._Element, organisation: Organisation, prefix: str, geography: Geography) -> None:
    element = _sub(formation, "organisme-formation-responsable", numero=organisation_numero(prefix, organisation))
    _sub(element, "numero-activite", organisation.nda or UNKNOWN_NDA)
    _sub(_sub(element, "SIRET-organisme-formation"), "SIRET", organisation.siret)
    _sub(element, "nom-organisme", short_text(organisation.name))
    _sub(element, "raison-sociale", short_text(organisation.legal_name or organisation.name))
    coordinates = _sub(_sub(element, "coordonnees-organisme"), "coordonnees")
    if organisation.address is not None:
        _address(coordinates, organisation.address, geography)
    if organisation.phone:
        _sub(_sub(coordinates, "telfixe"), "numtel", short_text(organisation.phone))
    if organisation.email:
        _sub(coordinates, "courriel", short_text(organisation.email))
    if organisation.web:
        _sub(_sub(coordinates, "web"), "urlweb", organisation.web)
    holder = _sub(element, "contact-organisme", tag="principal")
    _sub(holder, "type-contact", CONTACT_TYPES[ACCUEIL.role])
    _contact_coordinates(holder, ACCUEIL, fallback=organisation)
    if organisation.uai:
        _sub(_sub(element, "code-UAI-organisme-formation"), "code-UAI", ids.normalize_uai(organisation.uai))
