"""Field checks that keep every bad value at import, where staff can name the field (issue #8).

Without them a code such as FORMACODE `1234` or a control character in a ROME code was
accepted, then quarantined at every export with an XSD message naming no input field. Here:
classification codes, what the offer prepares (CFD, MEF, end of validity), organisations' web
links, coordinates, and control characters in any text of the record.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date
from typing import Any

from gateway.intake.models import Address, Offer
from gateway.problems import Code, Problem, error, session_error, warning
from gateway.rules import identifiers as ids

_FORMACODE = re.compile(r"[0-9]{5}")
_NSF = re.compile(r"[0-9]{3}")
_ROME = re.compile(r"[A-N][0-9]{4}")
_CFD = re.compile(r"[0-9A-Z]{8}")
_MEF = re.compile(r"[0-9A-Z]{10}")
_VALIDITY = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_LATITUDE = re.compile(r"-?([0-8]?[0-9](\.[0-9]{1,15})?|90(\.0{1,15})?)")
_LONGITUDE = re.compile(r"-?((1[0-7][0-9]|[0-9]?[0-9])(\.[0-9]{1,15})?|180(\.0{1,15})?)")
# What XML 1.0 cannot carry, plus C1 controls (always typing accidents in this data).
# The same characters as JSON writes them: C0 controls escaped (\\u0001, \\b, \\f), the others as is.
# A false alarm (a literal backslash-u in a text) only costs the field-by-field walk.
# Two patterns rather than one alternation: each is then a fast scan (literal prefix, one class).
_JSON_CONTROL_ESCAPE = re.compile(r"\\(?:u00[01][0-9a-fA-F]|[bf])")
_JSON_CONTROL_CHAR = re.compile("[\x7f-\x9f\ufffe\uffff\ud800-\udfff]")
_SESSION_PATH = re.compile(r"sessions\[([0-9]+)\]")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff\ud800-\udfff]")
# Texts the LHÉO writer cleans (control characters removed): there a control character is a
# warning. Anywhere else (codes, links, e-mails in attributes...) it would break the feed.
_CLEANED_AT_EXPORT = {
    "title",
    "objective",
    "expected_results",
    "content",
    "rhythm",
    "alternance_rhythm",
    "specific_conditions",
    "name",
    "legal_name",
    "lines",
    "city",
    "cedex",
    "phone",
    "email",
    "civility",
    "last_name",
    "first_name",
}
# LHÉO's domaine-formation holds at most 5 FORMACODE, 3 NSF and 5 ROME codes.
_CODE_LISTS = (
    ("formacode", _FORMACODE, 5, Code.FORMACODE_FORMAT, "Le code FORMACODE", "5 chiffres (ex. 34566)"),
    ("nsf", _NSF, 3, Code.NSF_FORMAT, "Le code NSF", "3 chiffres (ex. 312)"),
    ("rome", _ROME, 5, Code.ROME_FORMAT, "Le code ROME", "une lettre de A à N puis 4 chiffres (ex. D1214)"),
)


def check_fields(offer: Offer, raw: Any = None, *, dumped: str | None = None) -> Iterator[Problem]:
    """Problems of the fields above; `raw` (the record as received) is scanned for control characters.

    `dumped`: `raw` already written as JSON without ASCII escaping (any key order or separators).
    """
    yield from _check_codes(offer)
    yield from _check_diploma(offer)
    for path, label, web in (
        ("responsable.web", "de l'organisme responsable", offer.responsable.web),
        ("formateur.web", "de l'organisme formateur", offer.formateur.web if offer.formateur else None),
    ):
        if web is not None and ids.url_problem(web) is not None:
            yield error(
                Code.URL_FORMAT,
                path,
                f"Le lien web {label} « {web[:80]} » doit être une adresse http(s) complète de "
                f"{ids.URL_MAX_LENGTH} caractères au plus.",
            )
    yield from _check_coordinates(offer)
    record = raw if raw is not None else offer.model_dump(mode="json")
    text = dumped if dumped is not None and raw is not None else json.dumps(record, ensure_ascii=False)
    if not _JSON_CONTROL_ESCAPE.search(text) and not _JSON_CONTROL_CHAR.search(text):
        return  # the usual case, decided on one string instead of walking every field
    session_refs = [session.reference for session in offer.sessions]
    for problem in _control_characters(record, "", None):
        session = _SESSION_PATH.match(problem.path)
        if problem.blocks_offer and session and int(session[1]) < len(session_refs):
            # A session's field only holds that session back, as the other session rules do.
            problem = session_error(problem.code, problem.path, problem.message, session_refs[int(session[1])])
        yield problem


def _check_codes(offer: Offer) -> Iterator[Problem]:
    for field, pattern, most, code, label, shape in _CODE_LISTS:
        values: list[str] = getattr(offer, field)
        for index, value in enumerate(values):
            if not pattern.fullmatch(value):
                yield error(code, f"{field}[{index}]", f"{label} « {_visible(value)} » doit comporter {shape}.")
        if len(values) > most:
            yield error(code, field, f"{len(values)} codes {field.upper()} déclarés : LHÉO en admet {most} au plus.")


def _check_diploma(offer: Offer) -> Iterator[Problem]:
    diploma = offer.diploma
    if diploma is None:
        return
    if diploma.cfd is not None and not _CFD.fullmatch(diploma.cfd):
        yield error(
            Code.CFD_FORMAT,
            "diploma.cfd",
            f"Le code formation diplôme (CFD) « {_visible(diploma.cfd)} » doit comporter 8 caractères "
            "(chiffres ou lettres majuscules, ex. 32031213).",
        )
    for index, mef in enumerate(diploma.mef):
        if not _MEF.fullmatch(mef):
            yield error(
                Code.MEF_FORMAT,
                f"diploma.mef[{index}]",
                f"Le code MEF « {_visible(mef)} » doit comporter 10 caractères (chiffres ou lettres majuscules, "
                "ex. 2412520221).",
            )
        elif offer.duration_years is not None and mef[8].isdigit() and int(mef[8]) != offer.duration_years:
            # MEF10 ends with the course's duration then the year: 2 years, 1st year = ...21.
            yield warning(
                Code.MEF_FORMAT,
                f"diploma.mef[{index}]",
                f"Le code MEF « {mef} » indique une durée de {mef[8]} an(s) alors que la formation dure "
                f"{offer.duration_years} an(s) : vérifiez le code.",
            )
    if diploma.valid_until is not None and validity_date(diploma.valid_until) is None:
        yield error(
            Code.VALIDITY_DATE_FORMAT,
            "diploma.valid_until",
            f"La fin de validité de la certification « {_visible(diploma.valid_until)} » doit être une date "
            "AAAA-MM-JJ existante (ex. 2028-08-31).",
        )


def validity_date(text: str) -> date | None:
    match = _VALIDITY.fullmatch(text)
    if match is None:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def _check_coordinates(offer: Offer) -> Iterator[Problem]:
    addresses: list[tuple[str, Address, str | None]] = []
    for path, org in (("responsable", offer.responsable), ("formateur", offer.formateur)):
        if org is not None and org.address is not None:
            addresses.append((f"{path}.address", org.address, None))
    for index, session in enumerate(offer.sessions):
        if session.place is not None:
            addresses.append((f"sessions[{index}].place", session.place, session.reference))
        if session.registration_address is not None:
            addresses.append(
                (f"sessions[{index}].registration_address", session.registration_address, session.reference)
            )
    for path, address, session_ref in addresses:
        for field, pattern, label, bounds in (
            ("latitude", _LATITUDE, "La latitude", "-90 à 90"),
            ("longitude", _LONGITUDE, "La longitude", "-180 à 180"),
        ):
            value = getattr(address, field)
            if value is not None and not pattern.fullmatch(value):
                message = (
                    f"{label} « {_visible(value)} » doit être un nombre décimal de {bounds} avec un point "
                    "(ex. 44.8378)."
                )
                yield _located(Code.COORDINATES_FORMAT, f"{path}.{field}", message, session_ref)
        if (address.latitude is None) != (address.longitude is None):
            message = "La latitude et la longitude vont ensemble : l'une est renseignée sans l'autre."
            yield _located(Code.COORDINATES_FORMAT, path, message, session_ref)


def _located(code: Code, path: str, message: str, session_ref: str | None) -> Problem:
    return session_error(code, path, message, session_ref) if session_ref else error(code, path, message)


def _control_characters(value: Any, path: str, key: str | None) -> Iterator[Problem]:
    if isinstance(value, dict):
        for name, item in value.items():
            yield from _control_characters(item, f"{path}.{name}" if path else str(name), str(name))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _control_characters(item, f"{path}[{index}]", key)
    elif isinstance(value, str) and _CONTROL.search(value):
        found = ", ".join(sorted({f"U+{ord(c):04X}" for c in _CONTROL.findall(value)}))
        if key in _CLEANED_AT_EXPORT:
            yield warning(
                Code.TEXT_CONTROL_CHARACTER,
                path,
                f"Le champ « {path} » contient un caractère de contrôle invisible ({found}) : "
                "il sera supprimé à l'export.",
            )
        else:
            yield error(
                Code.TEXT_CONTROL_CHARACTER,
                path,
                f"Le champ « {path} » contient un caractère de contrôle invisible ({found}) qu'un flux XML ne "
                "peut pas transporter : corrigez la valeur.",
            )


def _visible(value: str) -> str:
    """The value as staff can read it in a message: control characters shown as U+XXXX."""
    return _CONTROL.sub(lambda m: f"<U+{ord(m.group()):04X}>", value[:60])
