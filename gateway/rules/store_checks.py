"""Rules that compare an offer with what the store already knows.

- A session reference keeps the dates it had when first exported: the guide forbids re-using
  an old session by changing its dates, so such a session is held back (not the whole offer).
- A session reference belongs to one formation: the first to declare it (in the store, or
  earlier in the same file). Another formation declaring it has that session held back
  (SESSION_REFERENCE_REUSED), in every destination alike.
- An offer that looks like another one (same certification, same formateur, sessions that
  overlap at the same place) is flagged as a likely duplicate, as the guide asks to check
  before creating one. The check is symmetric: both offers carry the warning.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import NamedTuple, Protocol

from gateway.intake.models import Offer, Place
from gateway.problems import Code, Problem, session_error, warning
from gateway.rules.lheo_dates import DateProblem, parse_lheo_date


class DatedSession(Protocol):
    @property
    def reference(self) -> str: ...
    @property
    def start(self) -> str | None: ...
    @property
    def end(self) -> str | None: ...


class SessionsOf(Protocol):
    """What the session rules read of an offer (the model, or its sessions sent back by a worker)."""

    @property
    def reference(self) -> str: ...
    @property
    def sessions(self) -> Sequence[DatedSession]: ...


class ExportedSessionDates(NamedTuple):
    """A session's first export (a tuple: exports build hundreds of thousands, and send them to workers)."""

    formation_reference: str
    start: str
    end: str


def session_history_problems(offer: SessionsOf, history: Mapping[str, ExportedSessionDates]) -> list[Problem]:
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
            problems.append(reused_session(index, session.reference, first.formation_reference, exported=True))
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


def reused_session(index: int, reference: str, owner: str, *, exported: bool) -> Problem:
    how = "a déjà été transmise pour" if exported else "appartient déjà à"
    return session_error(
        Code.SESSION_REFERENCE_REUSED,
        f"sessions[{index}].reference",
        f"La référence de session {reference} {how} la formation {owner} : une référence de session "
        "désigne une seule session d'une seule formation. Créez une nouvelle session ; celle-ci n'est "
        "transmise à aucune destination.",
        reference,
    )


def session_owner_problems(offer: SessionsOf, owners: Mapping[str, str], exported: Mapping[str, str]) -> list[Problem]:
    """Sessions of `offer` whose reference another formation owns (`exported`: owners from the history)."""
    problems = []
    for index, session in enumerate(offer.sessions):
        owner = exported.get(session.reference) or owners.get(session.reference)
        if owner is not None and owner != offer.reference:
            problems.append(reused_session(index, session.reference, owner, exported=session.reference in exported))
    return problems


def _place_key(place: Place | None) -> str:
    if place is None:
        return "distance"
    text = "|".join([place.postcode, place.city.casefold(), " ".join(" ".join(place.lines).casefold().split())])
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def session_spans(offer: Offer) -> list[str]:
    """`start:end:place` per session with a known start (what the duplicate check compares)."""
    spans = []
    for session in offer.sessions:
        try:
            start = parse_lheo_date(session.start, is_end=False)
            end = parse_lheo_date(session.end, is_end=True)
        except DateProblem:
            continue
        if start.is_unknown:
            continue
        # An unknown end is taken as the start (no overlap assumed); a month-only end as its last day.
        last = start.text if end.text == "99999999" else end.text
        last = last[:6] + "31" if last.endswith("00") else last
        spans.append(f"{start.text}:{last}:{_place_key(session.place)}")
    return sorted(set(spans))


def spans_overlap(mine: Sequence[str], theirs: Sequence[str]) -> bool:
    for span in mine:
        start, end, place = span.split(":")
        for other in theirs:
            other_start, other_end, other_place = other.split(":")
            if place == other_place and start <= other_end and other_start <= end:
                return True
    return False


MAX_NAMED_DUPLICATES = 3


def duplicate_warning(certifinfo: str, matches: Sequence[str]) -> Problem | None:
    """One bounded message: at most a few look-alikes by name, then how many more."""
    if not matches:
        return None
    named = ", ".join(sorted(matches)[:MAX_NAMED_DUPLICATES])
    more = len(matches) - MAX_NAMED_DUPLICATES
    if more > 0:
        named += f" et {more} autre(s) offre(s)"
    return warning(
        Code.DUPLICATE_SUSPECTED,
        "reference",
        f"Doublon probable : même certification (Certifinfo {certifinfo}), même organisme formateur et "
        f"sessions qui se chevauchent au même lieu que {named}. Vérifiez qu'il ne s'agit pas de la même offre.",
    )


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
