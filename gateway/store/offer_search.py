"""Find offers: the search behind the console's offers page and `offers list --search`.

Words (reference, title, organisme name or SIRET, Certifinfo, town) go through SQLite's FTS5
index `offers_search` when the store is SQLite, and through LIKE on the folded `search_text`
column otherwise (PostgreSQL: a sequential scan, fine for a few hundred thousand offers).
The other filters use indexed columns (status, Certifinfo, the feed_offers and quarantine
indexes), or short scans of small columns (SIRETs, towns, problem codes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import ColumnElement, Select, and_, func, literal_column, or_, select, text, union
from sqlalchemy.orm import Session

from gateway.store.search_fields import fold
from gateway.store.tables import ExportRunRow, FeedOfferRow, OfferRow, QuarantineRow, RejectedUpdateRow

PAGE_SIZE = 50
_WORD = re.compile(r"\w+", re.UNICODE)
_NOT_DIGIT = re.compile(r"\D")


class SearchError(ValueError):
    """A search parameter that cannot be used; the message is French."""


class Presence(StrEnum):
    IN = "in"  # in the destination's latest feed
    OUT = "out"  # not in it (whatever the reason)
    QUARANTINED = "quarantined"  # held back (offer or one of its sessions) by its latest export


SORTS: dict[str, Any] = {
    "reference": OfferRow.reference,
    "title": OfferRow.title,
    "status": OfferRow.bo_status,
    "updated": OfferRow.updated_at,
}
SORT_LABELS = {"reference": "référence", "title": "intitulé", "status": "statut", "updated": "mise à jour"}


@dataclass(frozen=True)
class OfferQuery:
    words: str = ""
    town: str = ""
    siret: str = ""
    certifinfo: str = ""
    status: str = ""
    problem: str = ""
    destination: str = ""
    presence: str = ""
    rejected_only: bool = False
    sort: str = "reference"
    descending: bool = False
    page: int = 1
    page_size: int = PAGE_SIZE

    def checked(self) -> OfferQuery:
        if self.sort not in SORTS:
            raise SearchError(f"tri inconnu : {self.sort} (possibles : {', '.join(SORTS)})")
        if self.presence and self.presence not in {p.value for p in Presence}:
            raise SearchError(f"présence inconnue : {self.presence} (possibles : in, out, quarantined)")
        if self.presence and not self.destination:
            raise SearchError("choisissez une destination pour filtrer sur la présence dans son flux")
        if self.page < 1 or not 1 <= self.page_size <= 1000:
            raise SearchError("page invalide")
        return self

    def query_string(self, **changes: Any) -> str:
        values = replace(self, **changes)
        pairs = {
            "q": values.words,
            "town": values.town,
            "siret": values.siret,
            "certifinfo": values.certifinfo,
            "status": values.status,
            "problem": values.problem,
            "destination": values.destination,
            "presence": values.presence,
            "sort": values.sort if values.sort != "reference" else "",
            "desc": "1" if values.descending else "",
            "page": str(values.page) if values.page != 1 else "",
        }
        return urlencode({key: value for key, value in pairs.items() if value})


@dataclass
class OfferLine:
    reference: str
    title: str | None
    bo_status: str | None
    accepted: bool
    certifinfo: str | None
    organismes: str
    towns: str
    problem_codes: list[str]
    updated_at: datetime


@dataclass
class OfferResults:
    query: OfferQuery
    total: int
    lines: list[OfferLine] = field(default_factory=list)
    engine: str = ""  # "fts5" or "like": said on the page and by the CLI

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.query.page_size))


def fts_expression(words: str) -> str:
    """Every word as a quoted prefix term (implicit AND): no FTS syntax can come from the user."""
    return " ".join(f'"{token}"*' for token in _WORD.findall(fold(words)))


def _latest_run(destination: str) -> Select[Any]:
    return select(func.max(ExportRunRow.id)).where(
        ExportRunRow.destination == destination, ExportRunRow.finished_at.is_not(None)
    )


def _latest_runs() -> Select[Any]:
    return (
        select(func.max(ExportRunRow.id))
        .where(ExportRunRow.finished_at.is_not(None))
        .group_by(ExportRunRow.destination)
    )


def _conditions(db: Session, query: OfferQuery) -> tuple[list[ColumnElement[bool]], str]:
    conditions: list[ColumnElement[bool]] = []
    engine = ""
    if query.words.strip():
        if db.get_bind().dialect.name == "sqlite":
            expression = fts_expression(query.words)
            if expression:
                engine = "fts5"
                matching = text("SELECT rowid FROM offers_search WHERE offers_search MATCH :fts").bindparams(
                    fts=expression
                )
                conditions.append(literal_column("offers.rowid").in_(matching))
        else:
            engine = "like"
            for token in _WORD.findall(fold(query.words)):
                conditions.append(OfferRow.search_text.like(f"%{token}%"))
    if query.town.strip():
        conditions.append(OfferRow.towns.like(f"%{fold(query.town.strip())}%"))
    digits = _NOT_DIGIT.sub("", query.siret)
    if digits:
        conditions.append(OfferRow.sirets.like(f"%{digits}%"))
    if query.certifinfo.strip():
        conditions.append(OfferRow.certifinfo == query.certifinfo.strip())
    if query.status:
        conditions.append(OfferRow.bo_status == query.status)
    if query.rejected_only:  # also the valid offers whose latest update was rejected (kept beside them)
        refused = select(RejectedUpdateRow.reference)
        conditions.append(or_(OfferRow.accepted.is_(False), OfferRow.reference.in_(refused)))
    if query.problem.strip():
        code = query.problem.strip().upper()
        held = select(QuarantineRow.formation_reference).where(
            QuarantineRow.run_id.in_(_latest_runs()), QuarantineRow.code == code
        )
        # A UNION of two index scans; an OR of the two would scan the offers table.
        at_import = select(OfferRow.reference).where(OfferRow.problem_codes.like(f"% {code} %"))
        conditions.append(OfferRow.reference.in_(union(at_import, held)))
    if query.destination and query.presence:
        run = _latest_run(query.destination).scalar_subquery()
        if query.presence == Presence.QUARANTINED:
            held = select(QuarantineRow.formation_reference).where(QuarantineRow.run_id == run)
            conditions.append(OfferRow.reference.in_(held))
        else:
            carried = select(FeedOfferRow.formation_reference).where(FeedOfferRow.run_id == run)
            inside = OfferRow.reference.in_(carried)
            conditions.append(inside if query.presence == Presence.IN else ~inside)
    return conditions, engine


def search_offers(db: Session, query: OfferQuery) -> OfferResults:
    query = query.checked()
    conditions, engine = _conditions(db, query)
    where = and_(True, *conditions)
    total = db.scalar(select(func.count()).select_from(OfferRow).where(where)) or 0
    column = SORTS[query.sort]
    # Ties broken by reference in the same direction: the indexes then give pages ready-sorted.
    order = [column.desc() if query.descending else column.asc()]
    if query.sort != "reference":
        order.append(OfferRow.reference.desc() if query.descending else OfferRow.reference.asc())
    rows = db.execute(
        select(
            OfferRow.reference,
            OfferRow.title,
            OfferRow.bo_status,
            OfferRow.accepted,
            OfferRow.certifinfo,
            OfferRow.organisme_names,
            OfferRow.towns,
            OfferRow.problem_codes,
            OfferRow.updated_at,
        )
        .where(where)
        .order_by(*order)
        .limit(query.page_size)
        .offset((query.page - 1) * query.page_size)
    ).all()
    lines = [
        OfferLine(ref, title, status, accepted, certifinfo, names, towns, codes.split(), updated)
        for ref, title, status, accepted, certifinfo, names, towns, codes, updated in rows
    ]
    return OfferResults(query, total, lines, engine)
