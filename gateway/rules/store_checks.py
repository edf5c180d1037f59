"""Rules that compare an offer with what the store already knows.

- A session reference keeps the dates it had when first exported: the guide forbids re-using
  an old session by changing its dates, so such a session is held back (not the whole offer).
- An offer that looks like another one (same certification, same formateur, a common start
  date) is flagged as a likely duplicate, as the guide asks to check before creating one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from gateway.intake.models import Offer
from gateway.problems import Code, Problem, session_error, warning
from gateway.rules.lheo_dates import DateProblem, parse_lheo_date


@dataclass(frozen=True)
class ExportedSessionDates:
    formation_reference: str
    start: str
    end: str


@dataclass(frozen=True)
class OfferSummary:
    """What duplicate detection needs of another stored offer."""

    reference: str
    session_starts: frozenset[str]


def session_history_problems(offer: Offer, history: Mapping[str, ExportedSessionDates]) -> list[Problem]:
    problems = []
    for index, session in enumerate(offer.sessions):
        first = history.get(session.reference)
        if first is None:
            continue
        try:
            start = parse_lheo_date(session.start, is_end=False).text
            end = parse_lheo_date(session.end, is_end=True).text
        except DateProblem:
            continue  # reported by the date rules
        if first.formation_reference != offer.reference:
            problems.append(
                session_error(
                    Code.SESSION_DATES_CHANGED,
                    f"sessions[{index}].reference",
                    f"La référence de session {session.reference} a déjà été transmise pour la "
                    f"formation {first.formation_reference} : une référence ne peut pas être réutilisée.",
                    session.reference,
                )
            )
        elif (start, end) != (first.start, first.end):
            problems.append(
                session_error(
                    Code.SESSION_DATES_CHANGED,
                    f"sessions[{index}]",
                    f"La session {session.reference} a été transmise avec les dates {first.start}–{first.end} ; "
                    f"elle porte maintenant {start}–{end}. Une session ne doit pas être réutilisée en "
                    "changeant ses dates : créez une nouvelle session. Elle n'est plus exportée.",
                    session.reference,
                )
            )
    return problems


def session_starts(offer: Offer) -> frozenset[str]:
    starts = set()
    for session in offer.sessions:
        try:
            start = parse_lheo_date(session.start, is_end=False)
        except DateProblem:
            continue
        if not start.is_unknown:
            starts.add(start.text)
    return frozenset(starts)


DUPLICATES_SHOWN = 5


def duplicate_problems(offer: Offer, look_alikes: Sequence[OfferSummary]) -> list[Problem]:
    """`look_alikes` are stored offers with the same Certifinfo code and formateur SIRET."""
    starts = session_starts(offer)
    matches = sorted(
        other.reference for other in look_alikes if other.reference != offer.reference and starts & other.session_starts
    )
    if not matches:
        return []
    # Bounded (issue #9): thousands of look-alikes must not make a message (and the store) grow with them.
    shown = ", ".join(matches[:DUPLICATES_SHOWN])
    if len(matches) > DUPLICATES_SHOWN:
        shown += f" et {len(matches) - DUPLICATES_SHOWN} autre(s)"
    return [
        warning(
            Code.DUPLICATE_SUSPECTED,
            "reference",
            "Doublon probable : même certification (Certifinfo "
            f"{offer.certifinfo}), même organisme formateur et même date d'entrée que "
            f"{shown}. Vérifiez qu'il ne s'agit pas de la même offre.",
        )
    ]
