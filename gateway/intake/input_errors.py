"""Turn pydantic's validation errors into problems with stable codes and French messages."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import ValidationError

from gateway.problems import Code, Problem, error

_MESSAGES = {
    "string_type": "doit être un texte",
    "bool_type": "doit valoir true ou false",
    "bool_parsing": "doit valoir true ou false",
    "int_type": "doit être un nombre entier",
    "int_parsing": "doit être un nombre entier",
    "int_from_float": "doit être un nombre entier",
    "list_type": "doit être une liste",
    "dict_type": "doit être un objet",
    "model_type": "doit être un objet",
    "model_attributes_type": "doit être un objet",
    "enum": "n'est pas une valeur prévue",
    "greater_than_equal": "est trop petit",
    "less_than_equal": "est trop grand",
    "too_short": "ne doit pas être vide",
    "datetime_parsing": "doit être une date et heure ISO 8601 (ex. 2026-03-01T10:00:00Z)",
    "datetime_type": "doit être une date et heure ISO 8601",
}


def format_path(location: Sequence[int | str]) -> str:
    path = ""
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def problems_from_validation_error(exc: ValidationError) -> list[Problem]:
    problems = []
    for detail in exc.errors(include_url=False):
        path = format_path(detail["loc"])
        kind = detail["type"]
        if kind == "missing":
            problems.append(error(Code.INPUT_MISSING_FIELD, path, f"Le champ obligatoire « {path} » est absent."))
        elif kind == "extra_forbidden":
            problems.append(
                error(Code.INPUT_UNKNOWN_FIELD, path, f"Le champ « {path} » n'est pas prévu par le format d'import.")
            )
        else:
            reason = _MESSAGES.get(kind, detail["msg"])
            if kind == "enum":
                reason += f" ({detail.get('ctx', {}).get('expected', '')})"
            problems.append(error(Code.INPUT_INVALID, path, f"Le champ « {path} » {reason}."))
    return problems
