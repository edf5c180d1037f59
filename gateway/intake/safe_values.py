"""Values the gateway could parse but never store, render or explain: refused at import.

A record's value that cannot be written to the store (a lone UTF-16 surrogate such as
`"\\ud800"`, which no UTF-8 text may hold) or that would stop an export later (a date whose
year overflows when converted to UTC, a title with nothing visible in it) is reported here,
on the record, with the field's path — so one bad record is rejected with a French reason and
the rest of the file, and every later export, go on.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC
from typing import Any

from gateway.intake.models import Offer
from gateway.problems import Code, Problem, error, session_error
from gateway.rules.lheo_dates import MAX_YEAR, MIN_YEAR

_SURROGATE = re.compile("[\ud800-\udfff]")
_REPLACEMENT = "\ufffd"
_SHOWN_MAX = 40
_VISIBLE_TEXTS = {
    "title": "L'intitulé de la formation",
    "objective": "L'objectif",
    "expected_results": "Les résultats attendus",
    "content": "Le contenu",
    "rhythm": "Le rythme",
}


def _shown(path: str) -> str:
    return path if len(path) <= _SHOWN_MAX else path[:_SHOWN_MAX] + "…"


def without_surrogates(data: Any) -> tuple[Any, list[Problem]]:
    """`data` with lone surrogates replaced by U+FFFD (so it can be stored), and one problem each.

    Recursion is bounded: the reader refuses records nested deeper than `MAX_DEPTH`.
    """
    problems: list[Problem] = []

    def report(path: str) -> None:
        shown = _shown(path)
        problems.append(
            error(
                Code.INPUT_INVALID_CHARACTER,
                shown,
                f"Le champ « {shown or 'enregistrement'} » contient un caractère invalide (demi-codet UTF-16 "
                "isolé, ex. « \\ud800 ») : ce n'est pas un texte Unicode valide.",
            )
        )

    def clean(value: Any, path: str) -> Any:
        if isinstance(value, str):
            if _SURROGATE.search(value) is None:
                return value
            report(path)
            return _SURROGATE.sub(_REPLACEMENT, value)
        if isinstance(value, list):
            return [clean(item, f"{path}[{index}]") for index, item in enumerate(value)]
        if isinstance(value, dict):
            cleaned = {}
            for key, item in value.items():
                # The path names the key once cleaned: the problem itself must be storable.
                name = _SURROGATE.sub(_REPLACEMENT, key)
                where = f"{path}.{name}" if path else name
                if name != key:
                    report(where)
                cleaned[name] = clean(item, where)
            return cleaned
        return value

    return clean(data, ""), problems


def _visible(text: str) -> bool:
    """Anything but whitespace, control and format characters (what a reader would see)?"""
    return any(not char.isspace() and unicodedata.category(char) not in {"Cc", "Cf", "Cs"} for char in text)


def value_problems(offer: Offer, data: dict[str, Any]) -> list[Problem]:
    """Problems of a record that fits the input format but holds values the gateway cannot use."""
    problems = []
    if offer.reference.strip("0") == "":
        problems.append(
            error(
                Code.FORMATION_REFERENCE_FORMAT,
                "reference",
                f"La référence formation « {offer.reference[:_SHOWN_MAX]} » n'est faite que de zéros : ce n'est pas "
                "une référence attribuée par le back-office.",
            )
        )
    for index, session in enumerate(offer.sessions):
        if session.reference and session.reference.strip("0") == "":
            problems.append(
                session_error(
                    Code.SESSION_REFERENCE_FORMAT,
                    f"sessions[{index}].reference",
                    f"La référence session « {session.reference[:_SHOWN_MAX]} » n'est faite que de zéros : ce n'est "
                    "pas une référence attribuée par le back-office.",
                    session.reference,
                )
            )
    if offer.updated_at is not None:
        stamp = offer.updated_at
        year_ok = MIN_YEAR <= stamp.year <= MAX_YEAR
        if year_ok and stamp.tzinfo is not None:
            year_ok = MIN_YEAR <= stamp.astimezone(UTC).year <= MAX_YEAR
        if not year_ok:
            problems.append(
                error(
                    Code.INPUT_INVALID,
                    "updated_at",
                    f"La date de mise à jour « {stamp.isoformat()} » est hors limites : l'année doit être comprise "
                    f"entre {MIN_YEAR} et {MAX_YEAR}.",
                )
            )
    if "exit_level" in data and data["exit_level"] is None:
        problems.append(
            error(
                Code.INPUT_INVALID,
                "exit_level",
                "Le champ « exit_level » vaut null : indiquez le niveau de sortie de la certification (1 à 8), "
                "ou omettez le champ s'il n'est vraiment pas connu.",
            )
        )
    for field, label in _VISIBLE_TEXTS.items():
        text: str = getattr(offer, field)
        if text.strip() and not _visible(text):
            problems.append(
                error(
                    Code.TEXT_EMPTY,
                    field,
                    f"{label} ne contient que des caractères invisibles (caractères de contrôle) : il est vide.",
                )
            )
    return problems
