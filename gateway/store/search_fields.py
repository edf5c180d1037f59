"""The searchable columns of an offer, computed at import from the record as received.

They let the console and `offers list --search` find an offer by title words, organisme name
or SIRET, Certifinfo and town without parsing 100,000 payloads per request. `search_text` is
folded (lower case, no accents) so the LIKE fallback (PostgreSQL) finds "Maçon" from "macon";
SQLite indexes it with FTS5 (`offers_search`, kept in step by triggers, see migration 0008).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from typing import Any

from gateway.problems import Problem


class _Marks(dict[int, int | None]):
    """`str.translate` table dropping combining marks, filled as characters are met."""

    def __missing__(self, key: int) -> int | None:
        value = None if unicodedata.combining(chr(key)) else key
        self[key] = value
        return value


_MARKS = _Marks()


def fold(text: str) -> str:
    """Lower case without diacritics: the form both the index and the queries use."""
    if text.isascii():
        return text.lower()
    return unicodedata.normalize("NFKD", text).translate(_MARKS).lower()


def _strings(values: Iterable[Any]) -> list[str]:
    return [value.strip() for value in values if isinstance(value, str) and value.strip()]


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


def problem_codes_column(codes: Iterable[str]) -> str:
    """Padded with spaces so `LIKE '% CODE %'` matches whole codes only."""
    unique = sorted(set(codes))
    return f" {' '.join(unique)} " if unique else ""


def search_columns(data: Any, problems: Iterable[Problem]) -> dict[str, str]:
    """Columns for the `offers` row of one record (works on records that failed the input model too)."""
    return record_search_columns(data) | {"problem_codes": problem_codes_column(p.code.value for p in problems)}


def record_search_columns(data: Any) -> dict[str, str]:
    """The search columns that depend on the record alone (all but the problem codes)."""
    record = data if isinstance(data, dict) else {}
    organisations = [org for org in (record.get("responsable"), record.get("formateur")) if isinstance(org, dict)]
    names = _unique(_strings(org.get(key) for org in organisations for key in ("name", "legal_name")))
    sessions = _dicts(record.get("sessions"))
    places = [place for s in sessions if isinstance(place := s.get("place"), dict)]
    addresses = [address for org in organisations if isinstance(address := org.get("address"), dict)]
    towns = _unique(_strings(place.get("city") for place in places + addresses))
    sirets = _unique(_strings([*(org.get("siret") for org in organisations), *(p.get("siret") for p in places)]))
    words = _strings([record.get("reference"), record.get("title"), record.get("certifinfo")])
    return {
        "organisme_names": " | ".join(names),
        "sirets": " ".join(sirets),
        # Folded, so a town filter is a plain LIKE on any database (shown in capitals).
        "towns": " | ".join(_unique(fold(town) for town in towns)),
        "search_text": fold(" ".join([*words, *names, *sirets, *towns])),
    }
