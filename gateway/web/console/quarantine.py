"""The quarantine as staff work it: one line per offer held back by a destination's latest export.

Each offer appears once, with a column per destination (held back entirely, some sessions, or
nothing), its findings in French (the field in back-office words, the code and input path as
detail), its organisme, and since when it has been held back: the first export of the current
streak, i.e. after the last export of that destination that carried it with nothing held back.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session

from gateway.store.database import Database
from gateway.store.tables import ExportRunRow, FeedOfferRow, OfferRow, QuarantineRow
from gateway.web.console.field_labels import field_label
from gateway.web.console.offers import latest_runs
from gateway.web.console.views import aware

PAGE_SIZE = 100
_CHUNK = 500


class QuarantineFilterError(ValueError):
    """A filter value the page cannot use (French message)."""


@dataclass(frozen=True)
class QuarantineFilter:
    problem: str = ""
    organisme: str = ""  # name words or SIRET digits
    destination: str = ""
    min_days: int = 0  # held back for at least this many days
    page: int = 1

    def query_string(self, **changes: Any) -> str:
        values = {
            "problem": self.problem,
            "organisme": self.organisme,
            "destination": self.destination,
            "min_days": str(self.min_days) if self.min_days else "",
            "page": str(self.page) if self.page != 1 else "",
        } | {key: str(value) for key, value in changes.items()}
        return urlencode({key: value for key, value in values.items() if value and value != "0"})


@dataclass
class Finding:
    """One problem, with every destination it holds the offer (or the session) back from."""

    session_reference: str | None
    code: str
    path: str
    message: str
    destinations: list[str] = field(default_factory=list)

    @property
    def field_label(self) -> str:
        return field_label(self.path)


@dataclass
class QuarantinedOffer:
    reference: str
    title: str | None
    organisme: str
    siret: str
    since: datetime | None
    findings: list[Finding] = field(default_factory=list)
    # destination → "offer" (held back whole) or the number of sessions held back
    held: dict[str, str | int] = field(default_factory=dict)


@dataclass
class QuarantineView:
    wanted: QuarantineFilter
    destinations: list[str]
    runs: dict[str, ExportRunRow]
    offers: list[QuarantinedOffer]
    total: int
    organismes: list[tuple[str, str, int]]  # (SIRET, name, offers) of the filtered set

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PAGE_SIZE))


def _first(text: str, separator: str) -> str:
    return text.split(separator, 1)[0].strip() if text else ""


def _candidates(db: Session, run_ids: list[int], wanted: QuarantineFilter) -> list[tuple[str, str, str]]:
    """(reference, organisme name, responsable SIRET) of the offers held back, in reference order."""
    query = (
        select(QuarantineRow.formation_reference, OfferRow.organisme_names, OfferRow.sirets)
        .outerjoin(OfferRow, OfferRow.reference == QuarantineRow.formation_reference)
        .where(QuarantineRow.run_id.in_(run_ids))
        .distinct()
        .order_by(QuarantineRow.formation_reference)
    )
    if wanted.problem:
        query = query.where(QuarantineRow.code == wanted.problem)
    organisme = wanted.organisme.strip()
    if organisme:
        digits = "".join(char for char in organisme if char.isdigit())
        by_name = and_(*(OfferRow.organisme_names.ilike(f"%{word}%") for word in organisme.split()))
        query = query.where(or_(OfferRow.sirets.like(f"{digits}%"), by_name) if digits else by_name)
    return [(ref, _first(names or "", "|"), _first(sirets or "", " ")) for ref, names, sirets in db.execute(query)]


def _since(db: Session, references: list[str], current: dict[str, ExportRunRow]) -> dict[str, datetime]:
    """When each offer's current streak of quarantine began (earliest over its destinations).

    In SQL, chunk by chunk: per (offer, destination), the last run that carried the offer with
    nothing held back, then the earliest run after it that held the offer back.
    """
    found: dict[str, datetime] = {}
    for start in range(0, len(references), _CHUNK):
        chunk = references[start : start + _CHUNK]
        held_in_run = exists().where(
            QuarantineRow.run_id == FeedOfferRow.run_id,
            QuarantineRow.formation_reference == FeedOfferRow.formation_reference,
        )
        clean = (
            select(
                FeedOfferRow.formation_reference.label("reference"),
                ExportRunRow.destination.label("destination"),
                func.max(FeedOfferRow.run_id).label("run_id"),
            )
            .join(ExportRunRow, ExportRunRow.id == FeedOfferRow.run_id)
            .where(FeedOfferRow.formation_reference.in_(chunk), ~held_in_run)
            .group_by(FeedOfferRow.formation_reference, ExportRunRow.destination)
            .subquery()
        )
        streaks = (
            select(QuarantineRow.formation_reference, func.min(ExportRunRow.started_at))
            .join(ExportRunRow, ExportRunRow.id == QuarantineRow.run_id)
            .outerjoin(
                clean,
                and_(
                    clean.c.reference == QuarantineRow.formation_reference,
                    clean.c.destination == ExportRunRow.destination,
                ),
            )
            .where(
                QuarantineRow.formation_reference.in_(chunk),
                ExportRunRow.destination.in_(list(current)),
                QuarantineRow.run_id > func.coalesce(clean.c.run_id, 0),
            )
            .group_by(QuarantineRow.formation_reference)
        )
        for reference, started in db.execute(streaks):
            if started is not None:
                found[reference] = aware(started)
    return found


def quarantine_view(database: Database, wanted: QuarantineFilter, *, paginate: bool = True) -> QuarantineView:
    now = datetime.now(UTC)
    with database.session() as db:
        runs = latest_runs(db)
        if wanted.destination and wanted.destination not in runs:
            raise QuarantineFilterError(f"aucun export terminé pour la destination « {wanted.destination} »")
        current = {wanted.destination: runs[wanted.destination]} if wanted.destination else runs
        candidates = _candidates(db, [run.id for run in current.values()], wanted)
        since: dict[str, datetime] = {}
        if wanted.min_days:
            since = _since(db, [ref for ref, _, _ in candidates], current)
            limit = now - timedelta(days=wanted.min_days)
            candidates = [c for c in candidates if c[0] in since and since[c[0]] <= limit]
        counts: dict[tuple[str, str], int] = defaultdict(int)
        for _ref, name, siret in candidates:
            counts[(siret, name)] += 1
        shown = candidates[(wanted.page - 1) * PAGE_SIZE : wanted.page * PAGE_SIZE] if paginate else candidates
        if not wanted.min_days:  # the history is read for the offers shown only
            since = _since(db, [ref for ref, _, _ in shown], current)
        offers = _offers(db, shown, since, runs)
    organismes = sorted(((siret, name, n) for (siret, name), n in counts.items()), key=lambda item: (-item[2], item[1]))
    return QuarantineView(wanted, sorted(runs), runs, offers, len(candidates), organismes)


def _offers(
    db: Session, shown: list[tuple[str, str, str]], since: dict[str, datetime], runs: dict[str, ExportRunRow]
) -> list[QuarantinedOffer]:
    by_reference = {ref: QuarantinedOffer(ref, None, name, siret, since.get(ref)) for ref, name, siret in shown}
    run_destination = {run.id: name for name, run in runs.items()}
    references = list(by_reference)
    for start in range(0, len(references), _CHUNK):
        rows = db.execute(
            select(QuarantineRow, OfferRow.title)
            .outerjoin(OfferRow, OfferRow.reference == QuarantineRow.formation_reference)
            .where(
                QuarantineRow.run_id.in_(list(run_destination)),
                QuarantineRow.formation_reference.in_(references[start : start + _CHUNK]),
            )
            .order_by(QuarantineRow.formation_reference, QuarantineRow.session_reference, QuarantineRow.id)
        )
        findings: dict[tuple[str, str | None, str, str, str], Finding] = {}
        sessions: dict[tuple[str, str], set[str]] = defaultdict(set)
        for row, title in rows:
            offer = by_reference[row.formation_reference]
            offer.title = title
            destination = run_destination[row.run_id]
            key = (row.formation_reference, row.session_reference, row.code, row.path, row.message)
            if key not in findings:
                findings[key] = Finding(row.session_reference, row.code, row.path, row.message)
                offer.findings.append(findings[key])
            if destination not in findings[key].destinations:
                findings[key].destinations.append(destination)
            if row.session_reference is None:
                offer.held[destination] = "offer"
            else:
                sessions[(row.formation_reference, destination)].add(row.session_reference)
        for (reference, destination), held in sessions.items():
            offer = by_reference[reference]
            if offer.held.get(destination) != "offer":
                offer.held[destination] = len(held)
    return list(by_reference.values())
