"""The provisional contract mention appended to formation titles (domain.md §0, §B, §F 1-10).

Staff (or the organisation) end the title with one of three mentions so that France Travail's
information system can tell which alternance contracts an offer accepts. The title goes to
`intitule-formation` (1..255 characters, counted as characters, not UTF-8 bytes), the form
allows 300, and the mention must survive intact: so the base title is what gets shortened.
Titles arrive with a mention already typed by hand, in any case, with curly apostrophes or
stray spaces, or with a stale one: all of them are recognised and replaced by the canonical one.
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum


class ContractSuffix(StrEnum):
    APPRENTISSAGE = "(Contrat d'apprentissage possible)"
    PROFESSIONNALISATION = "(Contrat de professionnalisation possible)"
    LES_DEUX = "(Contrat de professionnalisation ou Apprentissage possible)"


TITLE_MAX_LENGTH = 255  # `intitule-formation` maxLength in the LHÉO 2.3 XSD
WORD_BOUNDARY_WINDOW = 40  # how far back from the limit a space is looked for before cutting hard


def suffix_for(contrat_apprentissage: bool, contrat_professionnalisation: bool) -> ContractSuffix | None:
    """The one mention matching the declared modalities; formation continue alone gets none.

    Both contracts yield the combined mention, never two mentions (§F 3).
    """
    if contrat_apprentissage and contrat_professionnalisation:
        return ContractSuffix.LES_DEUX
    if contrat_apprentissage:
        return ContractSuffix.APPRENTISSAGE
    if contrat_professionnalisation:
        return ContractSuffix.PROFESSIONNALISATION
    return None


def _xml_forbidden(code: int) -> bool:
    # XML 1.0 Char = #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF].
    # DEL and C1 controls are legal XML but are never meaningful in a title (mojibake from
    # Windows-1252 pastes), so they go too.
    return (
        code < 0x20
        or 0x7F <= code <= 0x9F
        or 0xD800 <= code <= 0xDFFF  # lone surrogates cannot even be encoded to UTF-8
        or code in (0xFFFE, 0xFFFF)
    )


# Line breaks become spaces rather than disappearing, or "BTS\nMCO" would read "BTSMCO".
# NEL (U+0085) is a C1 control but also a line break, so it is treated the same way.
_TO_SPACE = {0x09: " ", 0x0A: " ", 0x0D: " ", 0x85: " "}
_CONTROL_TABLE: dict[int, str | None] = {
    **{c: None for c in range(0x20) if c not in _TO_SPACE},
    **{c: None for c in range(0x7F, 0xA0) if c not in _TO_SPACE},
    **_TO_SPACE,
}


_RARE_FORBIDDEN = re.compile("[\ud800-\udfff\ufffe\uffff]")


def clean_text(text: str) -> str:
    """Drop what lxml refuses ("All strings must be XML compatible") and other control chars.

    `&` and `<` are left alone: the XML serializer escapes them, escaping here would double it.
    """
    text = text.translate(_CONTROL_TABLE)
    if _RARE_FORBIDDEN.search(text):  # rare: surrogates, U+FFFE/U+FFFF (one regex scan, in C)
        text = "".join(c for c in text if not _xml_forbidden(ord(c)))
    return text


# Mentions typed by hand: any case, apostrophe ' ’ ‘ ʼ ´ ` (or none), spaces missing or doubled
# between words and inside the parentheses, "professionalisation" with one n, "et" for "ou",
# and the two contracts in either order.
_S = r"\s*"
_APOS = r"['\u2019\u2018\u02bc\u00b4`]?"
_APPRENTISSAGE = rf"(?:d{_S}{_APOS}{_S})?apprentissage"
_PROFESSIONNALISATION = rf"(?:de{_S})?professionn?alisation"
_CONTRACTS = (
    rf"{_APPRENTISSAGE}"
    rf"|{_PROFESSIONNALISATION}"
    rf"|{_PROFESSIONNALISATION}{_S}(?:ou|et){_S}{_APPRENTISSAGE}"
    rf"|{_APPRENTISSAGE}{_S}(?:ou|et){_S}{_PROFESSIONNALISATION}"
)
_TRAILING_SUFFIX = re.compile(
    rf"\({_S}contrats?{_S}(?:{_CONTRACTS}){_S}possibles?{_S}\)\s*\Z",
    re.IGNORECASE,
)


def strip_known_suffixes(title: str) -> str:
    """Remove every trailing contract mention (a doubled one twice) and trailing whitespace."""
    base = title.rstrip()
    while (match := _TRAILING_SUFFIX.search(base)) is not None:
        base = base[: match.start()].rstrip()
    return base


_WHITESPACE_RUN = re.compile(r"\s+")
# What may dangle at a cut: "Gestion, animation -" reads better as "Gestion, animation".
_CUT_TRAILING = " \t,;:-\u2013\u2014/(&+"


def _fit(base: str, limit: int) -> str:
    """Shorten a clean, collapsed, suffix-free base to at most `limit` characters."""
    if len(base) <= limit:
        return base
    if limit <= 0:
        return ""
    # A space at index `limit` means the text up to the limit is whole words.
    space = base.rfind(" ", max(0, limit - WORD_BOUNDARY_WINDOW), limit + 1)
    cut = base[:space] if space > 0 else base[:limit]
    # Trimming punctuation can expose a mention that sat mid-title (and vice versa): repeat until
    # stable so that a second export finds nothing left to strip (idempotence).
    while True:
        trimmed = strip_known_suffixes(cut.rstrip(_CUT_TRAILING))
        if trimmed == cut:
            return cut
        if not trimmed:  # the whole cut was punctuation: keep the hard cut rather than nothing
            return strip_known_suffixes(base[:limit].rstrip())
        cut = trimmed


def export_title(title: str, suffix: ContractSuffix | None, max_length: int = TITLE_MAX_LENGTH) -> str:
    """The `intitule-formation` to export: clean base title + " " + the canonical mention.

    Stale or hand-typed mentions are replaced, never duplicated; when too long the base is cut
    (at a word boundary when one lies in the last 40 characters), never the mention. The result
    is a fixed point: exporting it again gives the same string, so re-exports are byte-identical.
    Raises ValueError if `max_length` cannot even hold the mention.
    """
    tail = "" if suffix is None else str(suffix)
    if len(tail) > max_length:
        raise ValueError(f"max_length {max_length} is shorter than the mention {tail!r}")
    # NFC: macOS pastes decomposed accents, and "é" as e + U+0301 costs two of the 255 characters.
    text = unicodedata.normalize("NFC", clean_text(title))
    base = strip_known_suffixes(_WHITESPACE_RUN.sub(" ", text).strip())
    if not tail:
        return _fit(base, max_length)
    if not base:
        return tail
    base = _fit(base, max_length - len(tail) - 1)
    return f"{base} {tail}" if base else tail
