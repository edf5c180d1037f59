"""Official geography: which département and region a place is in, and whether its codes agree.

The data is a snapshot of the INSEE Code officiel géographique joined with La Poste's postcodes,
shipped with the package (`data/geography.tsv.gz`, rebuilt by `tools/geography/regenerate.py`
from a pinned release of `@etalab/decoupage-administratif`; README "Geography data"). It is
read once per process and never changes, so one shared instance is safe.

Why a table and not rules on digits: an INSEE code names its commune's département by its
first digits, but a postcode does not always. Some communes take their postcode from the
neighbouring département's sorting office (Buxeuil, Vienne, is 37160 like Descartes in
Indre-et-Loire), Corsican postcodes are all 20xxx, Saint-Barthélemy is 97133. CEDEX codes are
not in La Poste's geographic list: for them, and only them, the first digits are used.

Rules, in order, for `department_of_postcode`:
1. A geographic postcode whose communes are all in one département: that one.
2. A geographic postcode shared by communes of several départements (16 in the 2026 data, e.g.
   33220 Sainte-Foy-la-Grande (33) and Port-Sainte-Foy (24)): the département its digits name,
   which is the sorting office's and in the 2026 data always the one where most of its
   inhabitants live; None if the digits name none of them (the caller should then ask for the
   INSEE code). The INSEE code, when given, always settles it (`locate`).
3. Any other postcode (CEDEX, special codes): the digits. 20000-20199 is Corse-du-Sud (2A),
   20200-20999 Haute-Corse (2B); 97xxx and 98xxx name a 3-digit code (971 Guadeloupe ...,
   987 Polynésie), kept only if that code exists (980 is Monaco: None).

Overseas collectivités (975, 977, 978, 984, 986-989) have a COG code but no INSEE region:
their region is None (LHÉO's `region` is a 2-digit INSEE region code).
"""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass
from enum import StrEnum
from functools import cache, cached_property
from importlib import resources

from gateway.rules.commune_names import TownIndex, fold_town

_SNAPSHOT = "data/geography.tsv.gz"
_POSTCODE = re.compile(r"[0-9]{5}")
# The shape of a COG commune code; whether it exists is what the snapshot says.
_INSEE_SHAPE = re.compile(r"[0-9]{5}|2[AB][0-9]{3}")


@dataclass(frozen=True, slots=True)
class Commune:
    """A current commune (or a municipal arrondissement of Paris, Lyon, Marseille)."""

    insee: str
    name: str
    department: str
    region: str | None  # None for the overseas collectivités, which have no INSEE region
    postcodes: tuple[str, ...]  # La Poste's geographic postcodes, sorted; CEDEX codes are not listed


@dataclass(frozen=True, slots=True)
class Location:
    """What a feed can say of a place. Each field is None when the data cannot tell."""

    department: str | None
    region: str | None
    insee: str | None  # a current COG code, or None


class GeographyIssueKind(StrEnum):
    INSEE_UNKNOWN = "insee_unknown"  # no commune has, or had, this code
    INSEE_NOT_CURRENT = "insee_not_current"  # a former code (merged commune, commune déléguée)
    INSEE_POSTCODE_MISMATCH = "insee_postcode_mismatch"
    POSTCODE_DEPARTMENT_UNKNOWN = "postcode_department_unknown"  # no INSEE code, postcode names no département


@dataclass(frozen=True, slots=True)
class GeographyIssue:
    kind: GeographyIssueKind
    message: str  # French, for staff; names the codes and the communes involved


@cache
def _bundled() -> Geography:
    raw = resources.files("gateway.rules").joinpath(_SNAPSHOT).read_bytes()
    return Geography.parse(gzip.decompress(raw).decode("utf-8"))


# One pattern per record type of the snapshot (tools/geography/regenerate.py). Matching the whole
# text with re.findall is ~5x faster than splitting 39,000 lines in Python, and loading is
# on the path of every export and import.
_SOURCE_ROW = re.compile(r"^# source\t([^\n]*)$", re.M)
_LABEL_ROW = re.compile(r"^# label\t([^\n]*)$", re.M)
_REGION_ROWS = re.compile(r"^R\t([^\t\n]*)\t([^\t\n]*)$", re.M)
_DEPARTMENT_ROWS = re.compile(r"^D\t([^\t\n]*)\t([^\t\n]*)\t([^\t\n]*)$", re.M)
_COMMUNE_ROWS = re.compile(r"^([CA])\t([^\t\n]*)\t([^\t\n]*)\t([^\t\n]*)\t([^\t\n]*)(?:\t[^\t\n]*)?$", re.M)
_FORMER_ROWS = re.compile(r"^F\t([^\t\n]*)\t([^\t\n]*)\t([^\t\n]*)$", re.M)


class Geography:
    """Read-only lookups on one snapshot. Build with `bundled()` (or `parse` in tests)."""

    def __init__(
        self,
        version: str,
        label: str,
        regions: dict[str, str],
        departments: dict[str, tuple[str | None, str]],
        communes: dict[str, tuple[str, str, str]],
        by_postcode: dict[str, list[str]],
        former: dict[str, tuple[tuple[str, ...], str]],
    ) -> None:
        self.version = version  # e.g. "npm:@etalab/decoupage-administratif@6.0.0"
        self.label = label  # for staff: "Code officiel géographique 2026"
        self._regions = regions
        self._departments = departments  # code -> (INSEE region or None, name)
        self._communes = communes  # insee -> (département, "postcode,postcode", name)
        self._by_postcode = by_postcode  # geographic postcode -> insee codes (no arrondissements)
        self._former = former  # former code -> (current codes it became part of, its name)

    @classmethod
    def bundled(cls) -> Geography:
        """The snapshot shipped with the package, loaded once per process."""
        return _bundled()

    @classmethod
    def parse(cls, text: str) -> Geography:
        """Read the snapshot format written by tools/geography/regenerate.py."""
        source = _SOURCE_ROW.search(text)
        label = _LABEL_ROW.search(text)
        rows = _COMMUNE_ROWS.findall(text)
        if source is None or label is None or not rows:
            raise ValueError("not a geography snapshot (no source line or no commune)")
        departments = {code: (region or None, name) for code, region, name in _DEPARTMENT_ROWS.findall(text)}
        communes: dict[str, tuple[str, str, str]] = {}
        by_postcode: dict[str, list[str]] = {}
        for kind, insee, department, postcodes, name in rows:
            if department not in departments:
                raise ValueError(f"commune {insee}: unknown département {department!r}")
            communes[insee] = (department, postcodes, name)
            # Municipal arrondissements repeat their city's postcodes: the city stands for them.
            if kind == "C" and postcodes:
                for postcode in postcodes.split(","):
                    by_postcode.setdefault(postcode, []).append(insee)
        former = {code: (tuple(new.split(",")), name) for code, new, name in _FORMER_ROWS.findall(text)}
        regions = dict(_REGION_ROWS.findall(text))
        return cls(source.group(1), label.group(1), regions, departments, communes, by_postcode, former)

    # --- lookups ----------------------------------------------------------------------------

    def commune(self, insee: str) -> Commune | None:
        """The current commune with this COG code; None for a former or unknown code."""
        row = self._communes.get(insee)
        if row is None:
            return None
        department, postcodes, name = row
        region = self._departments[department][0]
        return Commune(insee, name, department, region, tuple(postcodes.split(",")) if postcodes else ())

    def communes_of_postcode(self, postcode: str) -> tuple[Commune, ...]:
        """Communes La Poste serves under this geographic postcode; () for CEDEX or unknown codes."""
        return tuple(self._known(insee) for insee in self._by_postcode.get(postcode, ()))

    def successor(self, insee: str, postcode: str | None = None) -> Commune | None:
        """The current commune a former code became part of; the postcode picks one after a split."""
        entry = self._former.get(insee)
        if entry is None:
            return None
        candidates = [self._known(code) for code in entry[0] if code in self._communes]
        if len(candidates) > 1 and postcode:
            candidates = [c for c in candidates if postcode in c.postcodes]
        return candidates[0] if len(candidates) == 1 else None

    def department_of_postcode(self, postcode: str) -> str | None:
        """Département of a postcode (module docstring: rules 1-3); None when it cannot tell."""
        communes = self._by_postcode.get(postcode)
        if communes:
            departments = {self._communes[insee][0] for insee in communes}
            if len(departments) == 1:
                return departments.pop()
            by_digits = self._department_of_digits(postcode)
            return by_digits if by_digits in departments else None
        return self._department_of_digits(postcode)

    def region_of_department(self, department: str) -> str | None:
        """INSEE region code of a département; None for a collectivité or an unknown code."""
        entry = self._departments.get(department)
        return entry[0] if entry else None

    def department_name(self, department: str) -> str | None:
        entry = self._departments.get(department)
        return entry[1] if entry else None

    def region_name(self, region: str) -> str | None:
        return self._regions.get(region)

    def commune_of_town(self, postcode: str, town: str) -> Commune | None:
        """The commune a typed town name designates, for a place without INSEE code.

        With a geographic postcode, only the communes La Poste serves under it are considered
        (a lieu-dit's name must not pick a commune elsewhere); with a CEDEX or other postcode,
        the communes of the département its digits name. Current names first, then former ones
        (a commune déléguée gives its commune nouvelle). Only a unique match counts.
        """
        folded = fold_town(town)
        if not folded:
            return None
        current, former = self._towns
        served = self._by_postcode.get(postcode)
        if served:
            scope: set[str] | None = set(served)
            departments = {self._communes[insee][0] for insee in served}
        else:
            department = self._department_of_digits(postcode)
            if department is None:
                return None
            scope, departments = None, {department}
        for index in (current, former):
            found = {code for d in departments for code in index.codes(d, folded)}
            if scope is not None:
                found &= scope
            if found:
                return self._known(found.pop()) if len(found) == 1 else None
        return None

    def locate(self, postcode: str, insee: str | None, town: str | None = None) -> Location:
        """Département, region and INSEE code to publish for a place.

        A known INSEE code wins (it names the commune, the postcode only the sorting office); a
        former code is published as the current commune it became part of. Without an INSEE
        code, the town's name finds the commune when it is unique (`commune_of_town`: "BORDEAUX
        CEDEX", 33076 -> 33063). Otherwise, and for an unknown code, the postcode gives the
        département and no INSEE code is published.
        """
        commune = self._commune_of(insee, postcode) if insee else None
        if commune is None and not insee and town:
            commune = self.commune_of_town(postcode, town)
        if commune is not None:
            return Location(commune.department, commune.region, commune.insee)
        department = self._former_department(insee) if insee else None
        department = department or self.department_of_postcode(postcode)
        return Location(department, self.region_of_department(department) if department else None, None)

    # --- checks -----------------------------------------------------------------------------

    def check(self, postcode: str, insee: str | None) -> list[GeographyIssue]:
        """Warnings on a place's postcode and INSEE code; [] when they exist and agree.

        Formats are not checked here (`identifiers` does, with its own codes): a malformed code
        gives no issue rather than a second one. A postcode agrees with a commune when La Poste
        lists it for that commune; a postcode La Poste lists for other communes does not agree; a
        postcode it does not list (CEDEX) agrees when its digits name the commune's département,
        or the département of one of the commune's postcodes (a CEDEX of the sorting office).
        """
        if insee is None or not _INSEE_SHAPE.fullmatch(insee):
            if _POSTCODE.fullmatch(postcode) and self.department_of_postcode(postcode) is None:
                return [self._issue_postcode_department_unknown(postcode)]
            return []
        issues: list[GeographyIssue] = []
        commune = self.commune(insee)
        if commune is None:
            commune = self.successor(insee, postcode)
            issues.append(self._issue_former_or_unknown(insee, commune))
            if commune is None:
                return issues
        if _POSTCODE.fullmatch(postcode) and not self._postcode_fits(commune, postcode):
            issues.append(self._issue_mismatch(insee, commune, postcode))
        return issues

    # --- internals --------------------------------------------------------------------------

    @cached_property
    def _towns(self) -> tuple[TownIndex, TownIndex]:
        # Built on first use only: folding 39,000 names costs more than loading the snapshot.
        current = TownIndex((insee, row[0], row[2]) for insee, row in self._communes.items())
        former = TownIndex(
            (code, self._communes[code][0], name)
            for codes, name in self._former.values()
            for code in codes
            if code in self._communes
        )
        return current, former

    def _known(self, insee: str) -> Commune:
        commune = self.commune(insee)
        if commune is None:
            raise KeyError(insee)
        return commune

    def _commune_of(self, insee: str, postcode: str) -> Commune | None:
        return self.commune(insee) or self.successor(insee, postcode)

    def _former_department(self, insee: str) -> str | None:
        # A former code split between communes of one département still names that département.
        entry = self._former.get(insee)
        departments = {self._communes[c][0] for c in entry[0] if c in self._communes} if entry else set()
        return departments.pop() if len(departments) == 1 else None

    def _department_of_digits(self, postcode: str) -> str | None:
        if not _POSTCODE.fullmatch(postcode):
            return None
        if postcode.startswith("20"):
            return "2A" if postcode < "20200" else "2B"  # same-length digit strings compare like numbers
        code = postcode[:3] if postcode.startswith(("97", "98")) else postcode[:2]
        return code if code in self._departments else None

    def _postcode_fits(self, commune: Commune, postcode: str) -> bool:
        if postcode in commune.postcodes:
            return True
        if postcode in self._by_postcode:
            return False  # a geographic postcode, of other communes
        by_digits = self._department_of_digits(postcode)
        if by_digits is None:
            return False
        return by_digits == commune.department or any(
            self._department_of_digits(p) == by_digits for p in commune.postcodes
        )

    def _describe(self, commune: Commune) -> str:
        department = self.department_name(commune.department) or commune.department
        return f"« {commune.name} » ({department})"

    def _issue_former_or_unknown(self, insee: str, successor: Commune | None) -> GeographyIssue:
        entry = self._former.get(insee)
        if entry is None:
            return GeographyIssue(
                GeographyIssueKind.INSEE_UNKNOWN,
                f"Le code INSEE « {insee} » ne correspond à aucune commune du {self.label} : "
                "il ne sera pas publié ; vérifiez-le.",
            )
        name = f" ({entry[1]})" if entry[1] else ""
        if successor is not None:
            return GeographyIssue(
                GeographyIssueKind.INSEE_NOT_CURRENT,
                f"Le code INSEE « {insee} »{name} n'est plus en vigueur : cette commune fait désormais partie de "
                f"{self._describe(successor)}, code « {successor.insee} », publié à sa place.",
            )
        choices = ", ".join(f"« {code} »" for code in entry[0])
        return GeographyIssue(
            GeographyIssueKind.INSEE_NOT_CURRENT,
            f"Le code INSEE « {insee} »{name} n'est plus en vigueur et le code postal ne "
            f"permet pas de choisir entre les communes qui l'ont remplacée ({choices}) : indiquez le bon code.",
        )

    def _issue_mismatch(self, insee: str, commune: Commune, postcode: str) -> GeographyIssue:
        others = self.communes_of_postcode(postcode)
        if others:
            names = ", ".join(sorted({c.name for c in others})[:3]) + (", …" if len(others) > 3 else "")
            served = f"est celui d'une autre commune ({names})"
        else:
            department = self._department_of_digits(postcode)
            where = self.department_name(department) if department else None
            served = (
                f"n'est pas un code postal géographique (CEDEX ?) et relève d'un autre département ({where})"
                if where
                else "ne relève d'aucun département"
            )
        listed = ", ".join(commune.postcodes) or "aucun"
        department_name = self.department_name(commune.department) or commune.department
        return GeographyIssue(
            GeographyIssueKind.INSEE_POSTCODE_MISMATCH,
            f"Le code INSEE « {commune.insee} » est celui de « {commune.name} » ({department_name}, codes "
            f"postaux : {listed}) ; le code postal « {postcode} » {served}. Vérifiez l'un ou l'autre.",
        )

    def _issue_postcode_department_unknown(self, postcode: str) -> GeographyIssue:
        return GeographyIssue(
            GeographyIssueKind.POSTCODE_DEPARTMENT_UNKNOWN,
            f"Le code postal « {postcode} » ne permet pas de savoir dans quel département est le lieu : "
            "indiquez le code INSEE de la commune pour que le département et la région soient publiés.",
        )
