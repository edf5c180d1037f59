"""Fit free-text street lines into LHÉO's `adresse/ligne` (1 to 4 lines of 50 characters)."""

from __future__ import annotations

import textwrap

LINE_MAX = 50
LINES_MAX = 4


def _fits_as_is(line: str) -> bool:
    return 0 < len(line) <= LINE_MAX and line == line.strip() and "  " not in line and line.isprintable()


def fit_address_lines(lines: list[str]) -> list[str] | None:
    """Split long lines at word boundaries; None when the address cannot fit in 4×50 characters.

    Reporting "too long" at intake is better than an XSD failure at export time (§F 17).
    """
    if len(lines) <= LINES_MAX and all(_fits_as_is(line) for line in lines):
        return list(lines)  # the common case: nothing to wrap (textwrap is comparatively slow)
    fitted: list[str] = []
    for line in lines:
        text = " ".join(line.split())
        if not text:
            continue
        # break_long_words keeps the guarantee even for a 60-character word without spaces.
        fitted.extend(textwrap.wrap(text, width=LINE_MAX, break_long_words=True, break_on_hyphens=False))
    if not fitted or len(fitted) > LINES_MAX:
        return None
    return fitted
