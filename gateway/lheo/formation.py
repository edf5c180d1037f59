"""Render one destination's view of an offer as the text of a LHÉO 2.3 `<formation>` element.

Child order follows the LHÉO 2.3 sequences exactly (the schema enforces it). What real
consumers of Carif-Oref feeds read is filled as the network fills it (issue #7): a stable
`numero` on formation, action, session, place and organisms, `datecrea`/`datemaj`, full
addresses (`gateway.lheo.addresses`), hours and recruitment, `tag="principal"` on the main
FORMACODE, contact and place, and the contract modalities as
`<extras info="dispositif">` at the end of each action, besides the 2.3 `cycle`/`alternance`.
Organisms are written by `gateway.lheo.organisms`.
"""

from __future__ import annotations

from datetime import UTC

from gateway.config import LheoSettings
from gateway.intake.models import Offer, RecruitmentPerimeter, RecruitmentState, TeachingMode
from gateway.lheo.addresses import AddressWriter
from gateway.lheo.organisms import (
    ACCUEIL,
    CONTACT_TYPES,
    PRINCIPAL,
    UNKNOWN_NDA,
    contact_coordinates,
    write_formateur,
    write_responsable,
)
from gateway.lheo.xml_text import XmlText, attribute, long_text, short_text
from gateway.mapping import numeros
from gateway.mapping.formation_view import ActionView, FormationView, RecordDates, SessionView
from gateway.rules.geography import Geography

__all__ = ["CONTACT_TYPES", "UNKNOWN_NDA", "RenderedFormation", "render_formation"]

LHEO_NAMESPACE = "http://lheo.gouv.fr/2.3"
LHEO_VERSION = "2.3"
NAMESPACE_ATTRIBUTE = f' xmlns="{LHEO_NAMESPACE}"'

TEACHING_MODES = {TeachingMode.PRESENTIEL: "0", TeachingMode.MIXTE: "1", TeachingMode.DISTANCE: "2"}
RECRUITMENT = {RecruitmentState.OPEN: "1", RecruitmentState.CLOSED: "2", RecruitmentState.SUSPENDED: "3"}
PERIMETERS = {value: str(index) for index, value in enumerate(RecruitmentPerimeter)}  # dict-perimetre-recrutement
# dict-AIS 6 "certification": every offer prepares one certification (Certifinfo), by the guide.
CERTIFICATION_OBJECTIVE = "6"
OPCO_FUNDER = "16"  # dict-financeurs: apprenticeship and professionalisation contracts


def dated(dates: RecordDates) -> str:
    """`datecrea` then `datemaj`, as the network writes them; omitted when unknown."""
    text = attribute("datecrea", dates.created) if dates.created else ""
    return text + attribute("datemaj", dates.updated) if dates.updated else text


def public_page(settings: LheoSettings, reference: str) -> str | None:
    return settings.public_page_url.replace("{reference}", reference) if settings.public_page_url else None


def indicative_duration(offer: Offer) -> str | None:
    if offer.indicative_duration and offer.indicative_duration.strip():
        return short_text(offer.indicative_duration)
    if offer.duration_years is not None:
        return f"{offer.duration_years} an" + ("s" if offer.duration_years > 1 else "")
    return None


def place_numero(prefix: str, view: FormationView, action: ActionView) -> str:
    if action.place is None:  # the distance pseudo-place is the formateur's (or responsable's) address
        organisation = (
            view.offer.effective_formateur if view.offer.effective_formateur.address else view.offer.responsable
        )
        return numeros.prefixed(prefix, f"{numeros.DISTANCE_TOKEN}_{numeros.organisation_local_id(organisation)}")
    return numeros.prefixed(prefix, action.token)


def entry_level_code(level: int | None) -> str:
    # dict-niveaux: 0 not communicated, 1 no specific level, 11..18 = niveaux 1..8.
    if level is None:
        return "0"
    return "1" if level == 0 else str(10 + level)


def alternance_text(offer: Offer) -> str:
    if offer.alternance_rhythm and offer.alternance_rhythm.strip():
        return long_text(offer.alternance_rhythm)
    modalities = offer.modalities
    contracts = [
        label
        for flag, label in (
            (modalities.contrat_apprentissage, "contrat d'apprentissage"),
            (modalities.contrat_professionnalisation, "contrat de professionnalisation"),
        )
        if flag
    ]
    if not contracts:
        return "Sans objet : formation hors alternance."
    return "Formation en alternance (" + " ou ".join(contracts) + ")."


class RenderedFormation:
    """The fragment as written into the feed, and as a standalone document for validation."""

    __slots__ = ("body", "start_tag")

    def __init__(self, start_tag: str, body: str) -> None:
        self.start_tag = start_tag  # `<formation numero="…">` without the namespace declaration
        self.body = body  # everything after the start tag, up to and including `</formation>\n`

    def feed_bytes(self) -> bytes:
        """Under `<offres>` the default namespace is inherited from the feed's root."""
        return (self.start_tag + "\n" + self.body).encode()

    def standalone_bytes(self) -> bytes:
        """With its own namespace declaration, so it validates as a document root."""
        return (self.start_tag[:10] + NAMESPACE_ATTRIBUTE + self.start_tag[10:] + "\n" + self.body).encode()


def render_formation(view: FormationView, settings: LheoSettings, geography: Geography) -> RenderedFormation:
    offer = view.offer
    prefix = settings.numero_prefix
    out = XmlText(depth=1)  # children of <formation>, whose start tag is kept apart
    start = "<formation" + attribute("numero", numeros.prefixed(prefix, offer.reference)) + dated(view.dates)
    page = public_page(settings, offer.reference)
    if page:
        start += attribute("href", page)
    if offer.updated_at is not None:
        stamp = offer.updated_at.astimezone(UTC) if offer.updated_at.tzinfo else offer.updated_at
        start += attribute("horodatage-modification", stamp.strftime("%Y-%m-%dT%H:%M:%S") + "Z")

    out.start("domaine-formation")
    version = attribute("ref", settings.formacode_version)
    for index, code in enumerate(offer.formacode):
        out.leaf("code-FORMACODE", code, version + (PRINCIPAL if index == 0 else ""))
    for code in offer.nsf:
        out.leaf("code-NSF", code)
    for code in offer.rome:
        out.leaf("code-ROME", code)
    out.end("domaine-formation")
    out.leaf("intitule-formation", view.title)
    out.leaf("objectif-formation", long_text(offer.objective))
    out.leaf("resultats-attendus", long_text(offer.expected_results))
    out.leaf("contenu-formation", long_text(offer.content))
    out.leaf("certifiante", "1")
    for index, contact in enumerate(offer.contacts or [ACCUEIL]):
        out.start("contact-formation", PRINCIPAL if index == 0 else "")
        out.leaf("type-contact", CONTACT_TYPES[contact.role])
        contact_coordinates(out, contact, fallback=offer.responsable)
        out.end("contact-formation")
    out.leaf("parcours-de-formation", "1")
    out.leaf("code-niveau-entree", entry_level_code(offer.entry_level))
    out.leaf("objectif-general-formation", CERTIFICATION_OBJECTIVE)
    out.start("certification")
    if view.rncp:
        out.leaf("code-RNCP", view.rncp)
    out.leaf("code-CERTIFINFO", offer.certifinfo)
    out.end("certification")
    if offer.exit_level is not None:
        out.leaf("code-niveau-sortie", str(10 + offer.exit_level))
    if view.web_links:
        out.start("url-formation")
        for link in view.web_links:
            out.leaf("urlweb", link)
        out.end("url-formation")
    addresses = AddressWriter(geography)
    for action in view.actions:
        _action(out, view, action, settings, addresses)
    write_responsable(out, offer.responsable, prefix, addresses)
    out.parts.append("</formation>\n")
    return RenderedFormation(start + ">", out.text())


def _action(
    out: XmlText, view: FormationView, action: ActionView, settings: LheoSettings, addresses: AddressWriter
) -> None:
    offer = view.offer
    prefix = settings.numero_prefix
    modalities = offer.modalities
    alternance = modalities.contrat_apprentissage or modalities.contrat_professionnalisation
    numero = numeros.prefixed(prefix, f"{offer.reference}_{action.token}")
    out.start("action", attribute("numero", numero) + dated(action.dates))
    out.leaf("rythme-formation", long_text(offer.rhythm))
    out.leaf("code-public-vise", settings.public_code, attribute("ref", settings.formacode_version))
    out.leaf("niveau-entree-obligatoire", "0")
    out.leaf("modalites-alternance", alternance_text(offer))
    out.leaf("modalites-enseignement", TEACHING_MODES[offer.teaching_mode])
    conditions = offer.specific_conditions
    out.leaf(
        "conditions-specifiques",
        long_text(conditions) if conditions and conditions.strip() else settings.no_specific_conditions,
    )
    out.leaf("prise-en-charge-frais-possible", "1" if alternance else "0")
    address = action.place or action.distance_address
    if address is not None:
        out.start("lieu-de-formation", attribute("numero", place_numero(prefix, view, action)) + PRINCIPAL)
        if action.place is not None and action.place.siret:
            out.start("SIRET-lieu-formation")
            out.leaf("SIRET", action.place.siret)
            out.end("SIRET-lieu-formation")
        if action.place_uai:
            out.start("code-UAI-lieu-formation")
            out.leaf("code-UAI", action.place_uai)
            out.end("code-UAI-lieu-formation")
        out.start("coordonnees")
        addresses.write(out, address)
        out.end("coordonnees")
        if action.place is None:
            # Says that this place is where the distance course is run from, not a classroom.
            out.start("extras", attribute("info", "lieu-de-formation"))
            out.leaf("extra", "1", attribute("info", "formation-a-distance"))
            out.end("extras")
        out.end("lieu-de-formation")
    out.leaf("modalites-entrees-sorties", "0")
    action_page = public_page(settings, offer.reference) or (view.web_links[0] if view.web_links else None)
    if action_page:
        out.start("url-action")
        out.leaf("urlweb", action_page)
        out.end("url-action")
    if offer.duration_years is not None:
        out.leaf("duree-cycle", str(offer.duration_years))
    for session in action.sessions:
        _session(out, offer, session, prefix, addresses)
    if offer.recruitment_terms and offer.recruitment_terms.strip():
        out.leaf("modalites-recrutement", long_text(offer.recruitment_terms))
    if offer.recruitment_perimeter is not None:
        out.leaf("code-perimetre-recrutement", PERIMETERS[offer.recruitment_perimeter])
    duration = indicative_duration(offer)
    if duration:
        out.leaf("duree-indicative", duration)
    if offer.hours is not None:
        for tag, hours in (
            ("nombre-heures-centre", offer.hours.centre),
            ("nombre-heures-entreprise", offer.hours.company),
            ("nombre-heures-total", offer.hours.total),
        ):
            if hours is not None:
                out.leaf(tag, str(hours))
    write_formateur(out, offer.effective_formateur, prefix)
    if alternance:
        out.start("organisme-financeur")
        out.leaf("code-financeur", OPCO_FUNDER)
        out.end("organisme-financeur")
    # The network's way (read by Trèfle): the contract modalities in extras "dispositif", last.
    out.start("extras", attribute("info", "type-action"))
    out.leaf("extra", "1" if modalities.formation_continue else "0", attribute("info", "formation-continue"))
    out.end("extras")
    out.start("extras", attribute("info", "dispositif"))
    for info, flag in (
        ("contrat-apprentissage", modalities.contrat_apprentissage),
        ("contrat-professionnalisation", modalities.contrat_professionnalisation),
    ):
        out.leaf("extra", "1" if flag else "0", attribute("info", info))
    out.end("extras")
    out.end("action")


def _session(out: XmlText, offer: Offer, session: SessionView, prefix: str, addresses: AddressWriter) -> None:
    out.start("session", attribute("numero", numeros.prefixed(prefix, session.reference)) + dated(session.dates))
    out.start("periode")
    out.leaf("debut", session.start)
    out.leaf("fin", session.end)
    out.end("periode")
    out.start("adresse-inscription")
    addresses.write(out, session.registration_address)
    out.end("adresse-inscription")
    if session.recruitment is not None:
        out.leaf("etat-recrutement", RECRUITMENT[session.recruitment])
    modalities = offer.modalities
    if modalities.contrat_apprentissage:
        out.start("cycle")
        out.leaf("type-cycle", "1")
        for year in sorted(set(offer.apprenticeship_years)):
            out.leaf("annee-cycle", str(year))
        # type-alternance: 1 apprenticeship only; 0 "any alternance contract" when CP is open too.
        out.start("alternance")
        out.leaf("type-alternance", "0" if modalities.contrat_professionnalisation else "1")
        out.end("alternance")
        out.end("cycle")
    out.end("session")
