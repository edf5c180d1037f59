"""Write the organisms of a formation: `organisme-formation-responsable`, `organisme-formateur`.

Both carry a stable `numero` (`gateway.mapping.numeros`): Anotea crashes without the
responsable's, data·inclusion merges every formateur without one into a single structure.
"""

from __future__ import annotations

from gateway.intake.models import Contact, ContactRole, Organisation
from gateway.lheo.addresses import AddressWriter
from gateway.lheo.xml_text import XmlText, attribute, short_text
from gateway.mapping import numeros
from gateway.rules import identifiers as ids

CONTACT_TYPES = {
    ContactRole.REFERENT_PEDAGOGIQUE: "3",
    ContactRole.ACCUEIL: "4",
    ContactRole.REFERENT_ENTREPRISE: "7",
    ContactRole.REFERENT_APPRENTISSAGE: "14",
}
UNKNOWN_NDA = "00000000000"
ACCUEIL = Contact(role=ContactRole.ACCUEIL)
PRINCIPAL = attribute("tag", "principal")


def organisation_numero(prefix: str, organisation: Organisation) -> str:
    return numeros.prefixed(prefix, numeros.organisation_local_id(organisation))


def contact_coordinates(out: XmlText, contact: Contact, fallback: Organisation) -> None:
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


def write_formateur(out: XmlText, formateur: Organisation, prefix: str) -> None:
    # One formateur per action: it is the action's main one.
    out.start("organisme-formateur", attribute("numero", organisation_numero(prefix, formateur)) + PRINCIPAL)
    out.start("SIRET-formateur")
    out.leaf("SIRET", formateur.siret)
    out.end("SIRET-formateur")
    out.leaf("raison-sociale-formateur", short_text(formateur.legal_name or formateur.name))
    if formateur.phone or formateur.email:
        out.start("contact-formateur", PRINCIPAL)
        out.leaf("type-contact", CONTACT_TYPES[ContactRole.ACCUEIL])
        contact_coordinates(out, ACCUEIL, fallback=formateur)
        out.end("contact-formateur")
    if formateur.uai:
        out.start("code-UAI-formateur")
        out.leaf("code-UAI", ids.normalize_uai(formateur.uai))
        out.end("code-UAI-formateur")
    out.end("organisme-formateur")


def write_responsable(out: XmlText, organisation: Organisation, prefix: str, addresses: AddressWriter) -> None:
    out.start("organisme-formation-responsable", attribute("numero", organisation_numero(prefix, organisation)))
    out.leaf("numero-activite", organisation.nda or UNKNOWN_NDA)
    out.start("SIRET-organisme-formation")
    out.leaf("SIRET", organisation.siret)
    out.end("SIRET-organisme-formation")
    out.leaf("nom-organisme", short_text(organisation.name))
    out.leaf("raison-sociale", short_text(organisation.legal_name or organisation.name))
    out.start("coordonnees-organisme")
    out.start("coordonnees")
    if organisation.address is not None:
        addresses.write(out, organisation.address)
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
    out.start("contact-organisme", PRINCIPAL)
    out.leaf("type-contact", CONTACT_TYPES[ContactRole.ACCUEIL])
    contact_coordinates(out, ACCUEIL, fallback=organisation)
    out.end("contact-organisme")
    if organisation.uai:
        out.start("code-UAI-organisme-formation")
        out.leaf("code-UAI", ids.normalize_uai(organisation.uai))
        out.end("code-UAI-organisme-formation")
    out.end("organisme-formation-responsable")
