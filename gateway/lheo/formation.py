"""Render one destination's view of an offer as the text of a LHÉO 2.3 `<formation>` element.

Child order follows the LHÉO 2.3 sequences exactly (the schema enforces it). Modalities are
carried as §B of the domain notes suggests: `cycle`/`alternance` on each session for
apprenticeship, plus three explicit booleans in the action's `extras`, since LHÉO has no
single flag for formation continue / professionnalisation / apprentissage.
"""

from __future__ import annotations

from datetime import UTC

from gateway.config import LheoSettings
from gateway.intake.models import (
    Address,
    Contact,
    ContactRole,
    Offer,
    Organisation,
    RecruitmentState,
    TeachingMode,
)
from gateway.lheo.xml_text import XmlText, attribute, long_text, short_text
from gateway.mapping.formation_view import ActionView, FormationView, SessionView
from gateway.rules import identifiers as ids
from gateway.rules.address_lines import fit_address_lines

LHEO_NAMESPACE = "http://lheo.gouv.fr/2.3"
LHEO_VERSION = "2.3"
NAMESPACE_ATTRIBUTE = f' xmlns="{LHEO_NAMESPACE}"'

CONTACT_TYPES = {
    ContactRole.REFERENT_PEDAGOGIQUE: "3",
    ContactRole.ACCUEIL: "4",
    ContactRole.REFERENT_ENTREPRISE: "7",
    ContactRole.REFERENT_APPRENTISSAGE: "14",
}
TEACHING_MODES = {TeachingMode.PRESENTIEL: "0", TeachingMode.MIXTE: "1", TeachingMode.DISTANCE: "2"}
RECRUITMENT = {RecruitmentState.OPEN: "1", RecruitmentState.CLOSED: "2", RecruitmentState.SUSPENDED: "3"}
OPCO_FUNDER = "16"  # dict-financeurs: apprenticeship and professionalisation contracts
UNKNOWN_NDA = "00000000000"
_ACCUEIL = Contact(role=ContactRole.ACCUEIL)


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


def render_formation(view: FormationView, settings: LheoSettings) -> RenderedFormation:
    offer = view.offer
    out = XmlText(depth=1)  # children of <formation>, whose start tag is kept apart
    start = "<formation" + attribute("numero", offer.reference)
    if offer.updated_at is not None:
        stamp = offer.updated_at.astimezone(UTC) if offer.updated_at.tzinfo else offer.updated_at
        start += attribute("horodatage-modification", stamp.strftime("%Y-%m-%dT%H:%M:%S") + "Z")

    out.start("domaine-formation")
    version = attribute("ref", settings.formacode_version)
    for code in offer.formacode:
        out.leaf("code-FORMACODE", code, version)
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
    for contact in offer.contacts or [_ACCUEIL]:
        out.start("contact-formation")
        out.leaf("type-contact", CONTACT_TYPES[contact.role])
        _contact_coordinates(out, contact, fallback=offer.responsable)
        out.end("contact-formation")
    out.leaf("parcours-de-formation", "1")
    out.leaf("code-niveau-entree", entry_level_code(offer.entry_level))
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
    addresses = _AddressCache()
    for action in view.actions:
        _action(out, view, action, settings, addresses)
    _responsable(out, offer.responsable)
    out.parts.append("</formation>\n")
    return RenderedFormation(start + ">", out.text())


def _contact_coordinates(out: XmlText, contact: Contact, fallback: Organisation) -> None:
    out.start("coordonnees")
    for tag, value in (("civilite", contact.civility), ("nom", contact.last_name), ("prenom", contact.first_name)):
        if value and value.strip():
            out.leaf(tag, short_text(value))
    phone = contact.phone or (None if contact.email else fallback.phone)
    email = contact.email or (None if contact.phone else fallback.email)
    if phone:
        out.start("telfixe")
        out.leaf("numtel", short_text(phone))
        out.end("telfixe")
    if email:
        out.leaf("courriel", short_text(email))
    out.end("coordonnees")


class _AddressCache:
    """The same place is written once per session and once as training place: render it once."""

    def __init__(self) -> None:
        self.rendered: dict[tuple[int, int], list[str]] = {}


def _address(out: XmlText, address: Address, cache: _AddressCache | None = None) -> None:
    key = (id(address), out.mark()[1])
    if cache is not None and key in cache.rendered:
        out.replay(cache.rendered[key])
        return
    mark = out.mark()
    _write_address(out, address)
    if cache is not None:
        cache.rendered[key] = out.written_since(mark)


def _write_address(out: XmlText, address: Address) -> None:
    out.start("adresse")
    if address.name and address.name.strip():
        out.leaf("denomination", short_text(address.name))
    for line in fit_address_lines([short_text(line) for line in address.lines]) or []:
        out.leaf("ligne", line)
    out.leaf("codepostal", address.postcode)
    city = short_text(address.city)
    # LHÉO has no CEDEX element: the mention goes with the town, beside the CEDEX postcode.
    out.leaf("ville", f"{city} {short_text(address.cedex)}" if address.cedex else city)
    if address.insee:
        # Never derived from a (CEDEX) postcode: only what was declared.
        out.leaf("departement", ids.department_of_insee(address.insee))
        out.leaf("code-INSEE-commune", address.insee)
    if address.latitude and address.longitude:
        out.start("geolocalisation")
        out.leaf("latitude", address.latitude)
        out.leaf("longitude", address.longitude)
        out.end("geolocalisation")
    out.end("adresse")


def _action(
    out: XmlText, view: FormationView, action: ActionView, settings: LheoSettings, addresses: _AddressCache
) -> None:
    offer = view.offer
    modalities = offer.modalities
    alternance = modalities.contrat_apprentissage or modalities.contrat_professionnalisation
    out.start("action", attribute("numero", f"{offer.reference}-{action.number:02d}"))
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
    if action.place is not None:
        out.start("lieu-de-formation")
        if action.place.siret:
            out.start("SIRET-lieu-formation")
            out.leaf("SIRET", action.place.siret)
            out.end("SIRET-lieu-formation")
        if action.place_uai:
            out.start("code-UAI-lieu-formation")
            out.leaf("code-UAI", action.place_uai)
            out.end("code-UAI-lieu-formation")
        out.start("coordonnees")
        _address(out, action.place, addresses)
        out.end("coordonnees")
        out.end("lieu-de-formation")
    out.leaf("modalites-entrees-sorties", "0")
    if offer.duration_years is not None:
        out.leaf("duree-cycle", str(offer.duration_years))
    for session in action.sessions:
        _session(out, offer, session, addresses)
    _formateur(out, offer.effective_formateur)
    if alternance:
        out.start("organisme-financeur")
        out.leaf("code-financeur", OPCO_FUNDER)
        out.end("organisme-financeur")
    out.start("extras")
    for info, flag in (
        ("formation-continue", modalities.formation_continue),
        ("contrat-professionnalisation", modalities.contrat_professionnalisation),
        ("contrat-apprentissage", modalities.contrat_apprentissage),
    ):
        out.leaf("extra", "1" if flag else "0", attribute("info", info))
    out.end("extras")
    out.end("action")


def _session(out: XmlText, offer: Offer, session: SessionView, addresses: _AddressCache) -> None:
    out.start("session", attribute("numero", session.reference))
    out.start("periode")
    out.leaf("debut", session.start)
    out.leaf("fin", session.end)
    out.end("periode")
    out.start("adresse-inscription")
    _address(out, session.registration_address, addresses)
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


def _formateur(out: XmlText, formateur: Organisation) -> None:
    out.start("organisme-formateur")
    out.start("SIRET-formateur")
    out.leaf("SIRET", formateur.siret)
    out.end("SIRET-formateur")
    out.leaf("raison-sociale-formateur", short_text(formateur.legal_name or formateur.name))
    if formateur.phone or formateur.email:
        out.start("contact-formateur")
        _contact_coordinates(out, _ACCUEIL, fallback=formateur)
        out.end("contact-formateur")
    if formateur.uai:
        out.start("code-UAI-formateur")
        out.leaf("code-UAI", ids.normalize_uai(formateur.uai))
        out.end("code-UAI-formateur")
    out.end("organisme-formateur")


def _responsable(out: XmlText, organisation: Organisation) -> None:
    out.start("organisme-formation-responsable")
    out.leaf("numero-activite", organisation.nda or UNKNOWN_NDA)
    out.start("SIRET-organisme-formation")
    out.leaf("SIRET", organisation.siret)
    out.end("SIRET-organisme-formation")
    out.leaf("nom-organisme", short_text(organisation.name))
    out.leaf("raison-sociale", short_text(organisation.legal_name or organisation.name))
    out.start("coordonnees-organisme")
    out.start("coordonnees")
    if organisation.address is not None:
        _address(out, organisation.address)
    if organisation.phone:
        out.start("telfixe")
        out.leaf("numtel", short_text(organisation.phone))
        out.end("telfixe")
    if organisation.email:
        out.leaf("courriel", short_text(organisation.email))
    if organisation.web:
        out.start("web")
        out.leaf("urlweb", organisation.web)
        out.end("web")
    out.end("coordonnees")
    out.end("coordonnees-organisme")
    out.start("contact-organisme")
    _contact_coordinates(out, _ACCUEIL, fallback=organisation)
    out.end("contact-organisme")
    if organisation.uai:
        out.start("code-UAI-organisme-formation")
        out.leaf("code-UAI", ids.normalize_uai(organisation.uai))
        out.end("code-UAI-organisme-formation")
    out.end("organisme-formation-responsable")
