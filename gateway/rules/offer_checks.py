"""Business rules of the seed guide and of LHÉO that an offer must satisfy before export.

Every rule reports a `Problem` with a stable code, the path of the field in the input record
and a French message for staff; checks never stop at the first problem. Rules that need the
store (session history, duplicates) live in `gateway.rules.store_checks`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

from gateway.config import RulesSettings
from gateway.intake.models import Address, Offer, Organisation, TeachingMode
from gateway.problems import Code, Problem, error, session_error, warning
from gateway.rules import identifiers as ids
from gateway.rules.address_lines import fit_address_lines
from gateway.rules.consumer_fields import consumer_field_problems
from gateway.rules.field_checks import check_fields
from gateway.rules.geography import Geography
from gateway.rules.lheo_dates import DateProblem, ends_before_start, parse_lheo_date
from gateway.rules.title_suffix import strip_known_suffixes, suffix_for

TITLE_MAX = 300  # the back-office form's limit; the export fits titles into LHÉO's 255
LONG_TEXT_MAX = 3000  # LHÉO limit for objectif, résultats, contenu, rythme...
NAME_MAX = 250  # nom-organisme, raison-sociale
CITY_MAX = 50
MAX_WEB_LINKS = 3  # url-formation holds at most three urlweb


def check_offer(
    offer: Offer,
    rules: RulesSettings,
    raw: Any = None,
    *,
    geography: Geography | None = None,
    dumped: str | None = None,
) -> list[Problem]:
    """All problems of one offer that can be found without the store.

    `raw` is the record as received; `dumped` its JSON text when the caller has it (saves a dump);
    `geography` defaults to the bundled snapshot.
    """
    return [
        *_all_checks(offer, rules),
        *check_fields(offer, raw, dumped=dumped),
        *consumer_field_problems(offer, geography or Geography.bundled()),
    ]


def _all_checks(offer: Offer, rules: RulesSettings) -> Iterator[Problem]:
    if not ids.is_formation_reference(offer.reference):
        yield error(
            Code.FORMATION_REFERENCE_FORMAT,
            "reference",
            f"La référence formation « {offer.reference} » doit comporter exactement 12 chiffres.",
        )
    yield from _check_texts(offer)
    yield from _check_certification(offer)
    yield from _check_links(offer)
    yield from _check_modalities(offer)
    yield from _check_organisation(offer.responsable, "responsable", "l'organisme responsable")
    if offer.formateur is not None:
        yield from _check_organisation(offer.formateur, "formateur", "l'organisme formateur")
        yield from _check_formateur_siren(offer, rules)
    yield from _check_sessions(offer)


def _check_texts(offer: Offer) -> Iterator[Problem]:
    if not offer.title.strip():
        yield error(Code.TEXT_EMPTY, "title", "L'intitulé de la formation est vide.")
    elif len(offer.title) > TITLE_MAX:
        yield error(
            Code.TEXT_TOO_LONG,
            "title",
            f"L'intitulé fait {len(offer.title)} caractères ; le maximum est {TITLE_MAX}.",
        )
    labels = {
        "objective": "L'objectif de la formation",
        "expected_results": "Les résultats attendus",
        "content": "Le contenu de la formation",
        "rhythm": "Le rythme de la formation",
        "alternance_rhythm": "Les modalités de l'alternance",
        "specific_conditions": "Les conditions spécifiques",
    }
    for field, label in labels.items():
        value = getattr(offer, field)
        if value is None:
            continue
        if not value.strip():
            if field in {"objective", "expected_results", "content", "rhythm"}:
                yield error(Code.TEXT_EMPTY, field, f"{label} est vide.")
        elif len(value) > LONG_TEXT_MAX:
            yield error(
                Code.TEXT_TOO_LONG,
                field,
                f"{label} fait {len(value)} caractères ; le maximum est {LONG_TEXT_MAX}.",
            )
    suffix = suffix_for(offer.modalities.contrat_apprentissage, offer.modalities.contrat_professionnalisation)
    base = strip_known_suffixes(offer.title)
    carried = offer.title.strip()[len(base) :].strip()
    if carried and (suffix is None or _comparable(carried) != _comparable(suffix.value)):
        expected = f"« {suffix.value} »" if suffix else "aucune mention"
        yield warning(
            Code.TITLE_SUFFIX_INCONSISTENT,
            "title",
            f"L'intitulé se termine par « {carried} » alors que les modalités déclarées appellent "
            f"{expected} : la mention sera corrigée à l'export.",
        )


def _comparable(suffix: str) -> str:
    """Typographic apostrophes, case and spacing do not make a suffix wrong (§F 5)."""
    text = " ".join(suffix.casefold().split())
    for apostrophe in "\u2019\u2018\u02bc\u00b4`":
        text = text.replace(apostrophe, "'")
    return text.replace("( ", "(").replace(" )", ")").replace("' ", "'")


def _check_certification(offer: Offer) -> Iterator[Problem]:
    if ids.certifinfo_problem(offer.certifinfo) is not None:
        yield error(
            Code.CERTIFINFO_FORMAT,
            "certifinfo",
            f"Le code Certifinfo « {offer.certifinfo} » doit comporter de 1 à 10 chiffres.",
        )
    if offer.rncp is not None and ids.normalize_rncp(offer.rncp) is None:
        yield error(
            Code.RNCP_FORMAT,
            "rncp",
            f"Le code RNCP « {offer.rncp} » doit s'écrire RNCP suivi de 2 à 5 chiffres (ex. RNCP38368).",
        )


def _check_links(offer: Offer) -> Iterator[Problem]:
    for index, link in enumerate(offer.web_links):
        if ids.url_problem(link) is not None:
            yield error(
                Code.URL_FORMAT,
                f"web_links[{index}]",
                "Le lien web doit être une adresse http(s) complète de 400 caractères au plus.",
            )
    if len(offer.web_links) > MAX_WEB_LINKS:
        yield warning(
            Code.URL_TOO_MANY,
            "web_links",
            f"{len(offer.web_links)} liens web déclarés : seuls les {MAX_WEB_LINKS} premiers sont transmis.",
        )


def _check_modalities(offer: Offer) -> Iterator[Problem]:
    modalities = offer.modalities
    if not (
        modalities.formation_continue or modalities.contrat_professionnalisation or modalities.contrat_apprentissage
    ):
        yield error(
            Code.MODALITIES_NONE,
            "modalities",
            "Aucune modalité d'organisation n'est cochée « Oui » (formation continue, contrat de "
            "professionnalisation, contrat d'apprentissage) : au moins une est obligatoire.",
        )
    years = offer.apprenticeship_years
    if modalities.contrat_apprentissage and not years:
        yield error(
            Code.APPRENTICESHIP_YEARS_MISSING,
            "apprenticeship_years",
            "La formation est ouverte au contrat d'apprentissage : indiquez les années du cursus "
            "accessibles en apprentissage (1re à 5e année).",
        )
    if not modalities.contrat_apprentissage and years:
        yield error(
            Code.APPRENTICESHIP_YEARS_UNEXPECTED,
            "apprenticeship_years",
            "Des années de cursus en apprentissage sont cochées alors que la formation n'est pas "
            "ouverte au contrat d'apprentissage.",
        )
    for index, year in enumerate(years):
        if not 1 <= year <= 5:
            yield error(
                Code.INPUT_INVALID,
                f"apprenticeship_years[{index}]",
                f"L'année de cursus {year} n'existe pas (1re à 5e année).",
            )
        elif offer.duration_years is not None and year > offer.duration_years:
            yield error(
                Code.APPRENTICESHIP_YEARS_BEYOND_DURATION,
                f"apprenticeship_years[{index}]",
                f"L'année {year} est ouverte à l'apprentissage mais le cursus dure {offer.duration_years} an(s).",
            )


def _check_organisation(org: Organisation, path: str, label: str) -> Iterator[Problem]:
    code = ids.siret_problem(org.siret)
    if code is Code.SIRET_FORMAT:
        yield error(code, f"{path}.siret", f"Le SIRET de {label} « {org.siret} » doit comporter 14 chiffres.")
    elif code is not None:
        yield error(
            code,
            f"{path}.siret",
            f"Le SIRET de {label} « {org.siret} » est invalide (clé de contrôle incorrecte) : "
            "vérifiez-le dans l'annuaire des entreprises.",
        )
    if org.uai is not None:
        yield from _check_uai(org.uai, f"{path}.uai", label, session=None)
    if org.nda is None:
        if path == "responsable":
            yield warning(
                Code.NDA_FORMAT,
                f"{path}.nda",
                "Le numéro de déclaration d'activité de l'organisme responsable est absent.",
            )
    elif ids.nda_problem(org.nda) is not None:
        yield error(
            Code.NDA_FORMAT,
            f"{path}.nda",
            f"Le numéro de déclaration d'activité « {org.nda} » doit comporter 11 chiffres.",
        )
    for field in ("name", "legal_name"):
        value = getattr(org, field)
        if value is not None and not value.strip():
            yield error(Code.TEXT_EMPTY, f"{path}.{field}", f"Le nom de {label} est vide.")
        elif value is not None and len(value) > NAME_MAX:
            yield error(Code.TEXT_TOO_LONG, f"{path}.{field}", f"Le nom de {label} dépasse {NAME_MAX} caractères.")
    if org.address is not None:
        yield from _check_address(org.address, f"{path}.address", session=None)


def formateur_siren_problems(offer: Offer, rules: RulesSettings) -> list[Problem]:
    """Re-run at every export too, so a pair approved (or withdrawn) in `[rules]` applies at once."""
    return list(_check_formateur_siren(offer, rules)) if offer.formateur is not None else []


def _check_formateur_siren(offer: Offer, rules: RulesSettings) -> Iterator[Problem]:
    formateur = offer.formateur
    assert formateur is not None
    if ids.siret_problem(offer.responsable.siret) or ids.siret_problem(formateur.siret):
        return  # already reported; comparing SIRENs of broken SIRETs would only add noise
    responsable_siren = ids.siren_of(offer.responsable.siret)
    formateur_siren = ids.siren_of(formateur.siret)
    if responsable_siren != formateur_siren and not rules.formateur_approved(responsable_siren, formateur_siren):
        yield error(
            Code.FORMATEUR_SIREN_NOT_APPROVED,
            "formateur.siret",
            f"L'organisme formateur (SIREN {formateur_siren}) n'a pas le même SIREN que l'organisme "
            f"responsable (SIREN {responsable_siren}) : ce rattachement doit être approuvé par "
            "l'équipe apprentissage avant export.",
        )


def _check_uai(value: str, path: str, label: str, session: str | None) -> Iterator[Problem]:
    code = ids.uai_problem(ids.normalize_uai(value))
    if code is None:
        return
    if code is Code.UAI_FORMAT:
        message = f"Le code UAI de {label} « {value} » doit comporter 7 chiffres et une lettre."
    else:
        first7 = ids.normalize_uai(value)[:7]
        message = (
            f"Le code UAI de {label} « {value} » a une lettre de contrôle incorrecte "
            f"(attendu : {first7}{ids.uai_check_letter(first7)}) : vérifiez le code."
        )
    yield session_error(code, path, message, session) if session else error(code, path, message)


def _check_address(address: Address, path: str, session: str | None) -> Iterator[Problem]:
    def report(code: Code, field: str, message: str) -> Problem:
        where = f"{path}.{field}"
        return session_error(code, where, message, session) if session else error(code, where, message)

    if ids.postcode_problem(address.postcode) is not None:
        yield report(
            Code.POSTCODE_FORMAT, "postcode", f"Le code postal « {address.postcode} » doit comporter 5 chiffres."
        )
    if address.insee is not None and ids.insee_problem(address.insee) is not None:
        yield report(
            Code.INSEE_FORMAT,
            "insee",
            f"Le code INSEE « {address.insee} » n'est pas un code commune valide (5 caractères, 2A/2B pour la Corse).",
        )
    if fit_address_lines(address.lines) is None:
        yield report(
            Code.ADDRESS_TOO_LONG,
            "lines",
            "L'adresse est trop longue : elle doit tenir en 4 lignes de 50 caractères.",
        )
    city = f"{address.city} {address.cedex}" if address.cedex else address.city
    if not address.city.strip():
        yield report(Code.TEXT_EMPTY, "city", "La ville de l'adresse est vide.")
    elif len(city) > CITY_MAX:
        yield report(Code.TEXT_TOO_LONG, "city", f"La ville « {city} » dépasse {CITY_MAX} caractères.")


def _check_sessions(offer: Offer) -> Iterator[Problem]:
    if not offer.sessions:
        yield error(Code.SESSION_NONE, "sessions", "La formation n'a aucune session.")
        return
    counts = Counter(session.reference for session in offer.sessions)
    for reference, count in sorted(counts.items()):
        if count > 1:
            yield error(
                Code.SESSION_REFERENCE_DUPLICATE,
                "sessions",
                f"La référence de session {reference} apparaît {count} fois dans la formation.",
            )
    for index, session in enumerate(offer.sessions):
        path = f"sessions[{index}]"
        ref = session.reference
        if not ids.is_session_reference(ref):
            yield session_error(
                Code.SESSION_REFERENCE_FORMAT,
                f"{path}.reference",
                f"La référence de session « {ref} » doit comporter exactement 8 chiffres.",
                ref,
            )
        start = end = None
        for field, is_end in (("start", False), ("end", True)):
            try:
                parsed = parse_lheo_date(getattr(session, field), is_end=is_end)
            except DateProblem as problem:
                yield session_error(problem.code, f"{path}.{field}", problem.message, ref)
                continue
            if is_end:
                end = parsed
            else:
                start = parsed
        if start is not None and end is not None and ends_before_start(start, end):
            yield session_error(
                Code.SESSION_END_BEFORE_START,
                f"{path}.end",
                f"La session {ref} se termine ({session.end}) avant de commencer ({session.start}).",
                ref,
            )
        if session.place is not None:
            yield from _check_address(session.place, f"{path}.place", ref)
            if session.place.uai is not None:
                yield from _check_uai(session.place.uai, f"{path}.place.uai", "le lieu de formation", ref)
            if session.place.siret is not None and ids.siret_problem(session.place.siret) is not None:
                yield session_error(
                    ids.siret_problem(session.place.siret) or Code.SIRET_FORMAT,
                    f"{path}.place.siret",
                    f"Le SIRET du lieu de formation « {session.place.siret} » est invalide.",
                    ref,
                )
        elif offer.teaching_mode is not TeachingMode.DISTANCE:
            yield session_error(
                Code.PLACE_MISSING,
                f"{path}.place",
                f"La session {ref} n'a pas de lieu de formation alors que la formation n'est pas 100 % à distance.",
                ref,
            )
        if session.registration_address is not None:
            yield from _check_address(session.registration_address, f"{path}.registration_address", ref)
        elif session.place is None and offer.responsable.address is None:
            yield session_error(
                Code.PLACE_MISSING,
                f"{path}.registration_address",
                f"La session {ref} n'a ni lieu ni adresse d'inscription, et l'organisme responsable "
                "n'a pas d'adresse : LHÉO exige une adresse d'inscription.",
                ref,
            )
