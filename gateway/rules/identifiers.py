"""Format and checksum rules for the identifiers an offer carries (domain.md §D).

Pure functions, no I/O. `*_problem` functions return None when the value is valid, else the
stable `Code` to report; the caller builds the `Problem` (path, French message, severity).
Digits are matched with `[0-9]` on purpose: `str.isdigit()` also accepts "²" or Arabic-Indic
digits, which would pass here and then fail downstream.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from gateway.problems import Code

_FORMATION_REFERENCE = re.compile(r"[0-9]{12}")
_SESSION_REFERENCE = re.compile(r"[0-9]{8}")
_SIRET = re.compile(r"[0-9]{14}")
_SIREN = re.compile(r"[0-9]{9}")
_UAI = re.compile(r"[0-9]{7}[A-Z]")
_UAI_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"  # 23 letters: no I, O, Q
# Metropolitan departments 01..19 and 21..95 (20 was split into 2A/2B in 1976), Corsica, and the
# overseas departments 971..976. Kept as text: "2A004" is not a number and "01234" keeps its zero.
_INSEE = re.compile(r"(?:0[1-9]|1[0-9]|2[1-9]|[3-8][0-9]|9[0-5])[0-9]{3}|2[AB][0-9]{3}|97[1-6][0-9]{2}")
_POSTCODE = re.compile(r"[0-9]{5}")
_NDA = re.compile(r"[0-9]{11}")
_CERTIFINFO = re.compile(r"[0-9]{1,10}")
# [CAT] format.js accepts ^(RNCP)?[0-9]{2,5}$; we also tolerate the case and one space (or the
# no-break space French word processors insert) people type between the prefix and the number.
_RNCP = re.compile(r"(?:RNCP[ \u00a0]?)?([0-9]{2,5})", re.IGNORECASE)

LA_POSTE_SIREN = "356000000"
URL_MAX_LENGTH = 400  # `urlweb` is str 3..400 in the XSD


def _is_digits(v: str, pattern: re.Pattern[str]) -> bool:
    # fullmatch, not match + "$": "$" would also accept a trailing newline.
    return pattern.fullmatch(v) is not None


def luhn_ok(digits: str) -> bool:
    """Luhn (mod 10) check used by SIREN and SIRET. False for empty or non-ASCII-digit input."""
    if not digits or not digits.isascii() or not digits.isdigit():
        return False
    total = 0
    # From the right, every second digit is doubled (and 9 subtracted when it exceeds 9).
    for position, char in enumerate(reversed(digits)):
        n = ord(char) - 48
        if position % 2 == 1:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return total % 10 == 0


def is_formation_reference(v: str) -> bool:
    """Back-office formation reference: exactly 12 digits (e.g. `202110104724`)."""
    return _is_digits(v, _FORMATION_REFERENCE)


def is_session_reference(v: str) -> bool:
    """Back-office session reference: exactly 8 digits, leading zeros kept (`00254068`)."""
    return _is_digits(v, _SESSION_REFERENCE)


def siret_problem(v: str) -> Code | None:
    if not _is_digits(v, _SIRET):
        return Code.SIRET_FORMAT
    if luhn_ok(v):
        return None
    # La Poste's establishments outgrew the NIC space, so INSEE numbers them with a different
    # key: the digit sum is a multiple of 5 (its head office 35600000000048 still passes Luhn).
    if v.startswith(LA_POSTE_SIREN) and sum(ord(c) - 48 for c in v) % 5 == 0:
        return None
    return Code.SIRET_CHECKSUM


def siren_of(siret: str) -> str:
    """The SIREN (first 9 digits) of a SIRET; raises ValueError if `siret` is not 14 digits,
    so that a malformed SIRET never yields a plausible-looking SIREN in a comparison."""
    if not _is_digits(siret, _SIRET):
        raise ValueError(f"not a SIRET: {siret!r}")
    return siret[:9]


def siren_problem(v: str) -> Code | None:
    # Same codes as SIRET: staff read them as "the company number is wrong".
    if not _is_digits(v, _SIREN):
        return Code.SIRET_FORMAT
    return None if luhn_ok(v) else Code.SIRET_CHECKSUM


def normalize_uai(v: str) -> str:
    """Trim and uppercase: the letter is case-insensitive in [CAT] but LHÉO consumers expect it upper."""
    return v.strip().upper()


def uai_check_letter(first7: str) -> str:
    """Check letter of a UAI from its 7 digits; raises ValueError unless exactly 7 ASCII digits."""
    if not (len(first7) == 7 and first7.isascii() and first7.isdigit()):
        raise ValueError(f"a UAI starts with 7 digits: {first7!r}")
    return _UAI_LETTERS[int(first7) % 23]


def uai_problem(v: str) -> Code | None:
    uai = normalize_uai(v)
    if not _is_digits(uai, _UAI):
        return Code.UAI_FORMAT
    return None if uai[7] == uai_check_letter(uai[:7]) else Code.UAI_CHECK_LETTER


def insee_problem(v: str) -> Code | None:
    """INSEE commune code (5 chars). Not a postcode: Bordeaux is 33063, not 33000."""
    return None if _INSEE.fullmatch(v) else Code.INSEE_FORMAT


def department_of_insee(v: str) -> str:
    """Department of a valid INSEE commune code: "33", "2A", "971" (LHÉO `departement` 2..3).

    Raises ValueError on an invalid code rather than guessing.
    """
    if insee_problem(v) is not None:
        raise ValueError(f"not an INSEE commune code: {v!r}")
    return v[:3] if v.startswith("97") else v[:2]


def postcode_problem(v: str) -> Code | None:
    # No French postcode starts with 00; "00000" is a typical placeholder.
    if not _is_digits(v, _POSTCODE) or v.startswith("00"):
        return Code.POSTCODE_FORMAT
    return None


def department_of_postcode(v: str) -> str | None:
    """Department suggested by a postcode, or None when it cannot tell.

    CEDEX codes are attached to a sorting office rather than a place, but their first two digits
    still name the department. Corsican postcodes all start with 20: 20000-20199 is Corse-du-Sud
    (2A), 20200 and above Haute-Corse (2B). Overseas codes carry a 3-digit department (971...).
    98xxx (Monaco, Pacific collectivities) are not departments.
    """
    if postcode_problem(v) is not None:
        return None
    if v.startswith("20"):
        return "2A" if v < "20200" else "2B"  # same-length digit strings compare like numbers
    if v.startswith("97"):
        return v[:3]
    if v[:2] in {"96", "98", "99"}:
        return None
    return v[:2]


def nda_problem(v: str) -> Code | None:
    """Numéro de déclaration d'activité: 11 digits (placeholders such as 99999999999 pass here)."""
    return None if _is_digits(v, _NDA) else Code.NDA_FORMAT


def certifinfo_problem(v: str) -> Code | None:
    # 1..10 since LHÉO 2.3 (6 before, PEL-43); no checksum exists.
    return None if _is_digits(v, _CERTIFINFO) else Code.CERTIFINFO_FORMAT


def normalize_rncp(v: str) -> str | None:
    """`38368`, `rncp38368`, `RNCP 38368` -> `RNCP38368`; None when not an RNCP code.

    The prefixed form is what [OREOF] emits and fits LHÉO's 10 characters; Parcoursup wants the
    bare number, which is the digits after "RNCP".
    """
    match = _RNCP.fullmatch(v.strip())
    return None if match is None else "RNCP" + match.group(1)


# Whitespace (`\s` is str.isspace() on str patterns), C0 controls, DEL and C1 controls.
_URL_FORBIDDEN = re.compile(r"[\s\x00-\x1f\x7f-\x9f]")


def url_problem(v: str) -> Code | None:
    """Absolute http(s) URL with a host, no whitespace or control character, ≤ 400 characters.

    The XSD types `urlweb` as a plain string, so "pas une url" would go out unnoticed.
    """
    if len(v) > URL_MAX_LENGTH or _URL_FORBIDDEN.search(v):
        return Code.URL_FORMAT
    try:
        parts = urlsplit(v)
        _ = parts.port  # raises ValueError on a non-numeric or out-of-range port
    except ValueError:  # e.g. "http://[::1" (unbalanced IPv6 bracket)
        return Code.URL_FORMAT
    if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
        return Code.URL_FORMAT
    return None
