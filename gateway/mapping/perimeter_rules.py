"""The ministries' perimeter rules, as a destination profile declares them (Parcoursup, Affelnet).

The national apprenticeship catalogue decides by **diploma type**, level, duration and year of
entry, and gives a status: to publish, to publish after validation, or not in the perimeter.
It also keeps only offers with a session starting in the campaign's entry window and a
certification still valid. A profile lists such rules in file order; the first rule that
matches decides. Every rule consulted leaves a French line in the trace, so staff see why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from gateway.intake.models import DiplomaType, Offer
from gateway.rules.field_checks import validity_date
from gateway.rules.lheo_dates import DateProblem, parse_lheo_date


class RuleStatus(StrEnum):
    PUBLISH = "publish"  # « à publier »
    TO_VALIDATE = "to_validate"  # « à publier (soumis à validation) »: waits for an operator
    OUT = "out"  # not in the perimeter


STATUS_LABELS = {
    RuleStatus.PUBLISH: "à publier",
    RuleStatus.TO_VALIDATE: "à publier après validation",
    RuleStatus.OUT: "hors périmètre",
}
_RANK = {RuleStatus.PUBLISH: 0, RuleStatus.TO_VALIDATE: 1, RuleStatus.OUT: 2}


class PerimeterRule(BaseModel):
    """One line of the catalogue's rules: which offers, and the status they get."""

    model_config = ConfigDict(extra="forbid")

    diploma: list[DiplomaType] = Field(min_length=1)
    levels: list[int] = Field(default_factory=list)  # exit levels; empty: any
    durations: list[int] = Field(default_factory=list)  # duration_years; empty: any
    # Curriculum years an apprentice may enter (one must be open to apprenticeship); empty: any.
    entry_years: list[int] = Field(default_factory=list)
    status: RuleStatus
    note: str = ""  # French, shown to staff with the rule

    def title(self, number: int) -> str:
        what = " / ".join(d.value for d in self.diploma)
        if self.levels:
            what += " niveau " + ", ".join(map(str, self.levels))
        if self.durations:
            what += " en " + " ou ".join(map(str, self.durations)) + " an(s)"
        if self.entry_years:
            what += ", entrée en année " + " ou ".join(map(str, self.entry_years))
        label = f"règle {number} ({what} → {STATUS_LABELS[self.status]})"
        return f"{label} : {self.note}" if self.note else label

    def mismatches(self, offer: Offer) -> list[str]:
        """Why this rule does not apply to the offer; empty when it does."""
        found: list[str] = []
        if self.levels and offer.exit_level not in self.levels:
            found.append(f"niveau de sortie {_value(offer.exit_level)} (attendu {_listing(self.levels)})")
        if self.durations and offer.duration_years not in self.durations:
            found.append(f"durée {_value(offer.duration_years)} an(s) (attendu {_listing(self.durations)})")
        if self.entry_years and not set(self.entry_years) & set(offer.apprenticeship_years):
            years = _listing(offer.apprenticeship_years) if offer.apprenticeship_years else "aucune"
            wanted = " ou ".join("1re année" if y == 1 else f"{y}e année" for y in self.entry_years)
            found.append(f"la {wanted} n'est pas ouverte à l'apprentissage (années ouvertes : {years})")
        return found


class Campaign(BaseModel):
    """The admission campaign: entries from 1 August of `year` to 31 July of the next year."""

    model_config = ConfigDict(extra="forbid")

    # Empty: deduced from the export date (from 1 October on, the next year's campaign).
    year: int | None = Field(default=None, ge=2000, le=2100)
    # The certification must still be valid on 31 August of the year after the campaign.
    check_validity: bool = True

    def year_at(self, today: date) -> int:
        if self.year is not None:
            return self.year
        return today.year + 1 if today.month >= 10 else today.year


@dataclass
class PerimeterOutcome:
    """The offer's status for one destination, why, and every gate and rule consulted."""

    status: RuleStatus = RuleStatus.PUBLISH
    trace: list[str] = field(default_factory=list)  # every gate and rule consulted, in French
    graded: list[tuple[RuleStatus, str]] = field(default_factory=list)  # each finding with its status

    def grade(self, status: RuleStatus, reason: str) -> None:
        """Record a finding; the worst status found so far is the offer's."""
        if _RANK[status] > _RANK[self.status]:
            self.status = status
        self.graded.append((status, reason))

    def merge(self, other: PerimeterOutcome) -> None:
        self.trace += other.trace
        for status, reason in other.graded:
            self.grade(status, reason)

    @property
    def reasons(self) -> list[str]:
        """Why the offer is out (or, if not out, why it needs validation): all at once."""
        return [reason for status, reason in self.graded if status is self.status and status is not RuleStatus.PUBLISH]


class Catalogue(BaseModel):
    """The rule-based part of a profile: campaign, validity, and the ordered rules."""

    model_config = ConfigDict(extra="forbid")

    campaign: Campaign | None = None
    rules: list[PerimeterRule] = Field(default_factory=list)

    def evaluate(self, offer: Offer, today: date) -> PerimeterOutcome:
        outcome = PerimeterOutcome()
        if self.campaign is not None:
            self._check_campaign(offer, today, self.campaign, outcome)
        if self.rules:
            self._apply_rules(offer, outcome)
        return outcome

    def _check_campaign(self, offer: Offer, today: date, campaign: Campaign, outcome: PerimeterOutcome) -> None:
        year = campaign.year_at(today)
        opens, closes = date(year, 8, 1), date(year + 1, 7, 31)
        window = f"campagne {year} : entrées du {opens:%d/%m/%Y} au {closes:%d/%m/%Y}"
        starts = sorted(_session_starts(offer))
        inside = [start for start in starts if opens <= start <= closes]
        if inside:
            outcome.trace.append(f"{window} : session(s) au {', '.join(f'{d:%d/%m/%Y}' for d in inside[:3])} — retenue")
        else:
            seen = ", ".join(f"{d:%d/%m/%Y}" for d in starts[:3]) if starts else "aucune date de début connue"
            reason = f"aucune session ne commence dans la {window} (débuts : {seen})"
            outcome.trace.append(reason + " — exclue")
            outcome.grade(RuleStatus.OUT, reason)
        if not campaign.check_validity:
            return
        valid_until = offer.diploma.valid_until if offer.diploma else None
        deadline = date(year + 1, 8, 31)
        end = validity_date(valid_until) if valid_until else None
        if end is None:
            outcome.trace.append("validité de la certification : fin de validité non renseignée — pas de contrôle")
        elif end < today:
            reason = f"certification expirée le {end:%d/%m/%Y}"
            outcome.trace.append(reason + " — exclue")
            outcome.grade(RuleStatus.OUT, reason)
        elif end < deadline:
            reason = (
                f"certification valable jusqu'au {end:%d/%m/%Y}, avant le {deadline:%d/%m/%Y} "
                f"(fin de la campagne {year})"
            )
            outcome.trace.append(reason + " — exclue")
            outcome.grade(RuleStatus.OUT, reason)
        else:
            outcome.trace.append(
                f"certification valable jusqu'au {end:%d/%m/%Y} (au moins jusqu'au {deadline:%d/%m/%Y}) — retenue"
            )

    def _apply_rules(self, offer: Offer, outcome: PerimeterOutcome) -> None:
        diploma = offer.diploma.type if offer.diploma else None
        if diploma is None:
            reason = "type de diplôme non renseigné (champ diploma.type) : cette destination décide par type de diplôme"
            outcome.trace.append(reason + " — exclue")
            outcome.grade(RuleStatus.OUT, reason)
            return
        candidates = [(n, rule) for n, rule in enumerate(self.rules, start=1) if diploma in rule.diploma]
        if not candidates:
            named = sorted({d.value for rule in self.rules for d in rule.diploma if rule.status is not RuleStatus.OUT})
            reason = f"aucune règle pour le type de diplôme {diploma.value} (règles : {', '.join(named)})"
            outcome.trace.append(reason + " — exclue")
            outcome.grade(RuleStatus.OUT, reason)
            return
        missed: list[str] = []
        for number, rule in candidates:
            misses = rule.mismatches(offer)
            if misses:
                outcome.trace.append(f"{rule.title(number)} — ne s'applique pas : {' ; '.join(misses)}")
                missed.append(f"règle {number} : {', '.join(misses)}")
                continue
            outcome.trace.append(f"{rule.title(number)} — s'applique")
            if rule.status is not RuleStatus.PUBLISH:
                outcome.grade(rule.status, rule.title(number))
            return
        reason = f"aucune règle {diploma.value} ne s'applique ({' ; '.join(missed)})"
        outcome.grade(RuleStatus.OUT, reason)


def _session_starts(offer: Offer) -> set[date]:
    """Known start dates of the sessions; a month-only date counts as the 1st of that month."""
    starts: set[date] = set()
    for session in offer.sessions:
        try:
            text = parse_lheo_date(session.start, is_end=False).text
        except DateProblem:
            continue
        if text in {"00000000", "99999999"}:
            continue
        try:
            starts.add(date(int(text[:4]), int(text[4:6]), max(1, int(text[6:]))))
        except ValueError:
            continue
    return starts


def _value(value: int | None) -> str:
    return "non renseigné(e)" if value is None else str(value)


def _listing(values: list[int]) -> str:
    return " ou ".join(map(str, values))
