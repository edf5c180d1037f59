"""Find a commune by the town a member of staff typed, within a département or a postcode.

Why: a CEDEX address ("BORDEAUX CEDEX", 33076) has no geographic postcode, yet the consumers of
the national feed expect the commune's INSEE code on it, as the real Carif-Oref files give it.
The town names the commune; the postcode's digits name the département it must be in.

Names are compared after the usual ways of writing them are folded together: case, accents,
hyphens and apostrophes ("Pointe-à-Pitre" = "POINTE A PITRE"), "St"/"Ste" for
"Saint"/"Sainte", a trailing "CEDEX" with its office number. Only a unique match counts:
homonyms in one département give nothing rather than a guess.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

_CEDEX = re.compile(r"\bCEDEX\b.*$")
_PUNCTUATION = re.compile(r"[\W_]+")  # on the composed text: "É" is a letter, "’" is not
_SEPARATORS = re.compile(r"[^A-Z0-9]+")
_ABBREVIATIONS = {"ST": "SAINT", "STE": "SAINTE", "STS": "SAINTS", "STES": "SAINTES"}


def fold_town(text: str) -> str:
    """Comparable form of a town name: "Saint-Étienne CEDEX 2" -> "SAINT ETIENNE"."""
    # "Œ" has no decomposition: spell it out first, as La Poste does (ŒUILLY -> OEUILLY); then
    # the accents, split off by NFKD, are what the ASCII encoding drops.
    composed = unicodedata.normalize("NFC", text).upper().replace("Œ", "OE").replace("Æ", "AE")
    upper = _PUNCTUATION.sub(" ", composed)
    ascii_only = unicodedata.normalize("NFKD", upper).encode("ascii", "ignore").decode("ascii")
    words = _SEPARATORS.split(_CEDEX.sub("", ascii_only))
    return " ".join(_ABBREVIATIONS.get(word, word) for word in words if word)


class TownIndex:
    """(département, folded name) -> INSEE codes, for current communes and former names."""

    def __init__(self, communes: Iterable[tuple[str, str, str]]) -> None:
        """`communes`: (insee, département, name); a former name maps to its current code."""
        self._codes: dict[tuple[str, str], set[str]] = {}
        for insee, department, name in communes:
            if name:
                self._codes.setdefault((department, fold_town(name)), set()).add(insee)

    def codes(self, department: str, folded_town: str) -> frozenset[str]:
        """INSEE codes of the communes of that (folded) name in that département."""
        return frozenset(self._codes.get((department, folded_town), ()))
