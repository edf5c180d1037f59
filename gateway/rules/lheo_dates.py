"""LHÉO session dates (`periode/debut`, `periode/fin`, domain.md §B, §F 11-12).

LHÉO writes dates as 8 characters `AAAAMMJJ` with partial precision: `AAAAMM00` (month known),
`AAAA0000` (year known), `00000000` (unknown start), `99999999` (unknown end). The XSD pattern
`[0-9]{4}[019][0-9][01239][0-9]` lets `20251339` or `20250231` through, so the calendar is
checked here, before any XML is written.
"""

from __future__ import annotations

import calendar
import datetime
import functools
import re
from dataclasses import dataclass

from gateway.problems import Code

UNKNOWN_START = "00000000"
UNKNOWN_END = "99999999"
MIN_YEAR = 1900
MAX_YEAR = 2100  # outside this range the value is a typo ("2205", "0225"), not a planned session

_LHEO = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})")
_ISO_DAY = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_ISO_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")
_YEAR = re.compile(r"[0-9]{4}")
_SHOWN_MAX = 40  # a pasted paragraph must not end up whole in a staff message


class DateProblem(Exception):
    """A date the gateway cannot export; `message` is French, for staff."""

    def __init__(self, code: Code, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _shown(value: str) -> str:
    return value if len(value) <= _SHOWN_MAX else value[:_SHOWN_MAX] + "…"


def _format_problem(value: str) -> DateProblem:
    return DateProblem(
        Code.DATE_FORMAT,
        f"La date « {_shown(value)} » n'est pas au format attendu (AAAA-MM-JJ, AAAA-MM, AAAA ou AAAAMMJJ).",
    )


def _impossible(value: str) -> DateProblem:
    return DateProblem(Code.DATE_IMPOSSIBLE, f"La date « {_shown(value)} » n'existe pas dans le calendrier.")


def _check(year: int, month: int, day: int, original: str) -> None:
    """Raise DATE_IMPOSSIBLE unless (year, month, day) is a real date; 0 means "not known"."""
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise DateProblem(
            Code.DATE_IMPOSSIBLE,
            f"L'année de la date « {_shown(original)} » doit être comprise entre {MIN_YEAR} et {MAX_YEAR}.",
        )
    if month == 0:
        if day != 0:  # a day without its month (`20250015`) means nothing
            raise _impossible(original)
        return
    if month > 12:
        raise _impossible(original)
    if day != 0 and day > calendar.monthrange(year, month)[1]:
        raise _impossible(original)


@dataclass(frozen=True)
class LheoDate:
    """A valid LHÉO date text; constructing one from an invalid text raises DateProblem."""

    text: str

    def __post_init__(self) -> None:
        if self.text in (UNKNOWN_START, UNKNOWN_END):
            return
        match = _LHEO.fullmatch(self.text)
        if match is None:
            raise _format_problem(self.text)
        year, month, day = (int(g) for g in match.groups())
        _check(year, month, day, self.text)

    @property
    def is_unknown(self) -> bool:
        # Either sentinel counts as unknown wherever it appears: [OREOF] emits 00000000 for `fin` too.
        return self.text in (UNKNOWN_START, UNKNOWN_END)

    def _parts(self) -> tuple[int, int, int]:
        return int(self.text[:4]), int(self.text[4:6]), int(self.text[6:])

    def lower_bound(self) -> datetime.date | None:
        """First day the date can denote (1 January for `AAAA0000`); None when unknown."""
        if self.is_unknown:
            return None
        year, month, day = self._parts()
        return datetime.date(year, month or 1, day or 1)

    def upper_bound(self) -> datetime.date | None:
        """Last day the date can denote (31 December for `AAAA0000`); None when unknown."""
        if self.is_unknown:
            return None
        year, month, day = self._parts()
        month = month or 12
        return datetime.date(year, month, day or calendar.monthrange(year, month)[1])


@functools.lru_cache(maxsize=8192)  # pure, and dates repeat a lot across a catalogue
def parse_lheo_date(value: str | None, *, is_end: bool) -> LheoDate:
    """Turn an input date into its LHÉO form; a missing date becomes the "unknown" sentinel.

    Accepted: `YYYY-MM-DD`, `YYYY-MM`, `YYYY`, `YYYYMMDD`, `YYYYMM00`, `YYYY0000`, `00000000`,
    `99999999` (surrounding spaces ignored). Raises DateProblem: DATE_FORMAT for any other shape
    (`01/09/2025`, `2025-9-1`), DATE_IMPOSSIBLE for a date absent from the calendar.
    """
    text = (value or "").strip()
    if not text:
        return LheoDate(UNKNOWN_END if is_end else UNKNOWN_START)
    if match := _ISO_DAY.fullmatch(text):
        year, month, day = match.groups()
        if month == "00" or day == "00":  # ISO has no "unknown" parts; use YYYY-MM or YYYY
            raise _impossible(text)
        _check(int(year), int(month), int(day), text)
        return LheoDate(year + month + day)
    if match := _ISO_MONTH.fullmatch(text):
        year, month = match.groups()
        if month == "00":
            raise _impossible(text)
        _check(int(year), int(month), 0, text)
        return LheoDate(year + month + "00")
    if _YEAR.fullmatch(text):
        _check(int(text), 0, 0, text)
        return LheoDate(text + "0000")
    if text in (UNKNOWN_START, UNKNOWN_END) or _LHEO.fullmatch(text):
        return LheoDate(text)  # validated by __post_init__
    raise _format_problem(text)


def ends_before_start(start: LheoDate, end: LheoDate) -> bool:
    """True only when the end is certainly before the start, whatever the imprecise parts hide.

    `202509..` as start and `20250915` as end may be consistent, so only the last possible day of
    the end is compared with the first possible day of the start. Unknown dates never trigger it.
    """
    end_latest = end.upper_bound()
    start_earliest = start.lower_bound()
    if end_latest is None or start_earliest is None:
        return False
    return end_latest < start_earliest
