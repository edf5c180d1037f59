"""Checks on the fields real LHÉO consumers read (issue #7): ids, dates, hours, geography.

Called by `offer_checks.check_offer`. The hours' shape (whole numbers, 0 to 99,999) is the
input format's; what is checked here is what pydantic cannot see: the total agrees with
its parts, an organism's id can become a `numero`, an INSEE code exists and agrees with the
postcode (a warning: the feed still goes out, with the postcode's département).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from gateway.intake.models import Address, Offer, Organisation
from gateway.mapping.numeros import DERIVED_ORGANISATION_MARK
from gateway.problems import Code, Problem, error, warning
from gateway.rules import identifiers as ids
from gateway.rules.geography import Geography, GeographyIssueKind

ORGANISATION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,29}")
DURATION_MAX = 150  # duree-indicative
RECRUITMENT_TERMS_MAX = 3000  # modalites-recrutement

_GEOGRAPHY_CODES = {
    GeographyIssueKind.INSEE_UNKNOWN: Code.INSEE_UNKNOWN,
    GeographyIssueKind.INSEE_NOT_CURRENT: Code.INSEE_NOT_CURRENT,
    GeographyIssueKind.INSEE_POSTCODE_MISMATCH: Code.INSEE_POSTCODE_MISMATCH,
    GeographyIssueKind.POSTCODE_DEPARTMENT_UNKNOWN: Code.POSTCODE_DEPARTMENT_UNKNOWN,
}


def consumer_field_problems(offer: Offer, geography: Geography) -> Iterator[Problem]:
    yield from _organisation_id(offer.responsable, "responsable", "l'organisme responsable")
    if offer.formateur is not None:
        yield from _organisation_id(offer.formateur, "formateur", "l'organisme formateur")
    yield from _hours(offer)
    yield from _texts(offer)
    yield from _dates(offer)
    seen: set[tuple[str, str | None]] = set()
    for path, address in _addresses(offer):
        key = (address.postcode, address.insee)
        if key in seen or (address.insee is not None and ids.insee_problem(address.insee) is not None):
            continue  # said once per place; a malformed code already has its own error (INSEE_FORMAT)
        seen.add(key)
        field = f"{path}.insee" if address.insee else f"{path}.postcode"
        for issue in geography.check(address.postcode, address.insee):
            yield warning(_GEOGRAPHY_CODES[issue.kind], field, issue.message)


def _organisation_id(organisation: Organisation, path: str, label: str) -> Iterator[Problem]:
    value = organisation.id
    if value is None:
        return
    if not ORGANISATION_ID.fullmatch(value) or value.upper().startswith(DERIVED_ORGANISATION_MARK):
        yield error(
            Code.ORGANISATION_ID_FORMAT,
            f"{path}.id",
            f"L'identifiant back-office de {label} « {value} » doit comporter de 1 à 30 lettres, chiffres ou "
            f"tirets, sans commencer par « {DERIVED_ORGANISATION_MARK} » (réservé aux numéros dérivés du SIRET).",
        )


def _hours(offer: Offer) -> Iterator[Problem]:
    hours = offer.hours
    if hours is None or hours.centre is None or hours.company is None or hours.total is None:
        return
    if hours.centre + hours.company != hours.total:
        yield error(
            Code.HOURS_TOTAL_MISMATCH,
            "hours.total",
            f"La durée totale ({hours.total} h) n'est pas la somme des heures en centre ({hours.centre} h) "
            f"et en entreprise ({hours.company} h) : corrigez l'une des trois valeurs.",
        )


def _texts(offer: Offer) -> Iterator[Problem]:
    for field, label, limit in (
        ("indicative_duration", "La durée indicative", DURATION_MAX),
        ("recruitment_terms", "Les modalités de recrutement", RECRUITMENT_TERMS_MAX),
    ):
        value = getattr(offer, field)
        if value is not None and len(value) > limit:
            yield error(Code.TEXT_TOO_LONG, field, f"{label} fait {len(value)} caractères ; le maximum est {limit}.")


def _dates(offer: Offer) -> Iterator[Problem]:
    records = [("", offer.created_at, offer.updated_at, "la formation")]
    records += [
        (f"sessions[{index}].", session.created_at, session.updated_at, f"la session {session.reference}")
        for index, session in enumerate(offer.sessions)
    ]
    for prefix, created, updated, label in records:
        if created is None or updated is None:
            continue
        if (created.tzinfo is None) != (updated.tzinfo is None):
            continue  # one with a time zone, one without: not comparable, nothing to say
        if updated < created:
            yield warning(
                Code.RECORD_DATES_INCONSISTENT,
                f"{prefix}updated_at",
                f"La date de modification de {label} ({updated:%d/%m/%Y}) précède sa date de création "
                f"({created:%d/%m/%Y}) : les consommateurs du flux liront des dates incohérentes.",
            )


def _addresses(offer: Offer) -> Iterator[tuple[str, Address]]:
    for path, organisation in (("responsable", offer.responsable), ("formateur", offer.formateur)):
        if organisation is not None and organisation.address is not None:
            yield f"{path}.address", organisation.address
    for index, session in enumerate(offer.sessions):
        if session.place is not None:
            yield f"sessions[{index}].place", session.place
        if session.registration_address is not None:
            yield f"sessions[{index}].registration_address", session.registration_address
