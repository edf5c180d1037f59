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
    # issue #9: every type pydantic may report for this format, so no English reaches staff.
    "datetime_from_date_parsing": "doit être une date et heure ISO 8601 (ex. 2026-03-01T10:00:00Z)",
    "datetime_object_invalid": "n'est pas une date et heure valide",
    "timezone_aware": "doit indiquer son fuseau horaire",
    "timezone_naive": "ne doit pas indiquer de fuseau horaire",
    "int_parsing_size": "est un nombre entier trop grand",
    "float_type": "doit être un nombre",
    "float_parsing": "doit être un nombre",
    "finite_number": "doit être un nombre fini",
    "string_too_long": "est trop long",
    "string_too_short": "est trop court",
    "string_unicode": "doit être un texte Unicode valide",
    "string_sub_type": "doit être un texte",
    "string_pattern_mismatch": "n'a pas la forme attendue",
    "too_long": "contient trop d'éléments",
    "iterable_type": "doit être une liste",
    "mapping_type": "doit être un objet",
    "literal_error": "n'est pas une valeur prévue",
    "value_error": "a une valeur invalide",
    "assertion_error": "a une valeur invalide",
    "none_required": "doit valoir null",
    "is_instance_of": "n'a pas le type attendu",
    "recursion_loop": "est imbriqué trop profondément",
}
_FALLBACK = "a une valeur invalide"
# Errors our own models raise (PydanticCustomError) already speak French to staff: kept as written.
OWN_ERROR_TYPES = frozenset({"one_certification"})
_SHOWN_MAX = 80  # a key of a megabyte must not end up whole in every message


def french_reason(kind: str) -> str:
    """pydantic's error type in French (its own messages are English)."""
    return _MESSAGES.get(kind, _FALLBACK)


def describe(exc: ValidationError, limit: int = 5) -> str:
    """A validation error of a settings or profile file, in French: `« web.port » est trop grand ; …`."""
    parts = []
    for detail in exc.errors(include_url=False)[:limit]:
        path, kind = format_path(detail["loc"]), detail["type"]
        if kind == "missing":
            parts.append(f"« {path} » est obligatoire")
        elif kind == "extra_forbidden":
            parts.append(f"« {path} » n'est pas une clé prévue")
        else:
            parts.append(f"« {path} » {french_reason(kind)}")
    more = len(exc.errors()) - limit
    return " ; ".join(parts) + (f" (et {more} autre(s))" if more > 0 else "")


def format_path(location: Sequence[int | str]) -> str:
    path = ""
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path if len(path) <= _SHOWN_MAX else path[:_SHOWN_MAX] + "…"


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
            reason = detail["msg"] if kind in OWN_ERROR_TYPES else _MESSAGES.get(kind, _FALLBACK)
            if kind == "enum":
                # pydantic writes "'a', 'b' or 'c'": the values stay, the conjunction is French.
                expected = str(detail.get("ctx", {}).get("expected", "")).replace(" or ", " ou ")
                reason += f" (valeurs possibles : {expected})"
            problems.append(error(Code.INPUT_INVALID, path, f"Le champ « {path} » {reason}."))
    return problems
