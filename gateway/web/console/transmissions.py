"""Transmissions as the console shows them: filtered lists, one transmission's history, replays."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar
from urllib.parse import urlencode

from sqlalchemy import Select, func, select

from gateway.config import GatewayConfig
from gateway.outbox.relay import Status, deliver_pending, process_owner, replay
from gateway.store.database import Database
from gateway.store.tables import AttemptRow, FeedRow, ReplayRow, TransmissionRow
from gateway.web.console.views import DISPLAY_ZONE

log = logging.getLogger(__name__)

_Query = TypeVar("_Query", bound=Select[Any])

PAGE_SIZE = 100
BULK_LIMIT = 1000  # one confirmation page lists them all; more is a job for the CLI
# What `relay.replay` accepts: a transmission in flight is left alone.
REPLAYABLE = frozenset({Status.SENT, Status.FAILED, Status.DEAD, Status.SUPERSEDED})


MIN_YEAR, MAX_YEAR = 1900, 2100


class FilterError(ValueError):
    """A filter value the console cannot use; the message is French."""


def parse_day(value: str | None) -> date | None:
    if not value or not value.strip():
        return None
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise FilterError(f"date invalide : {value[:40]} (attendu : AAAA-MM-JJ)") from None
    if not MIN_YEAR <= day.year <= MAX_YEAR:  # 0001-01-01 overflows once turned into UTC
        raise FilterError(f"date hors limites : {day} (année entre {MIN_YEAR} et {MAX_YEAR})")
    return day


def day_start(day: date | None) -> datetime | None:
    """Midnight of a Paris day, in UTC (what the store keeps)."""
    return datetime.combine(day, time.min, DISPLAY_ZONE).astimezone(UTC) if day else None


@dataclass(frozen=True)
class TransmissionFilter:
    status: str | None = None
    destination: str | None = None
    since: date | None = None  # a day, in Paris time
    until: date | None = None  # last day included, in Paris time

    @classmethod
    def parse(
        cls, status: str | None, destination: str | None, since: str | None, until: str | None = None
    ) -> TransmissionFilter:
        status = (status or "").strip() or None
        if status is not None and status not in {s.value for s in Status}:
            raise FilterError(f"statut inconnu : {status}")
        first, last = parse_day(since), parse_day(until)
        if first and last and last < first:
            raise FilterError("la date de fin précède la date de début")
        return cls(status, (destination or "").strip() or None, first, last)

    @property
    def is_empty(self) -> bool:
        """No criterion at all: a bulk replay would act on every transmission, sent ones included."""
        return not (self.status or self.destination or self.since)

    def since_utc(self) -> datetime | None:
        return day_start(self.since)

    def until_utc(self) -> datetime | None:
        return day_start(self.until + timedelta(days=1)) if self.until else None

    def query_string(self, **extra: object) -> str:
        pairs = {"status": self.status, "destination": self.destination, "since": self.since, "until": self.until}
        return urlencode({key: str(value) for key, value in (pairs | extra).items() if value})

    def apply(self, query: _Query) -> _Query:
        if self.status:
            query = query.where(TransmissionRow.status == self.status)
        if self.destination:
            query = query.where(TransmissionRow.destination == self.destination)
        moment = self.since_utc()
        if moment is not None:
            query = query.where(TransmissionRow.created_at >= moment)
        end = self.until_utc()
        if end is not None:
            query = query.where(TransmissionRow.created_at < end)
        return query


@dataclass
class TransmissionPage:
    rows: list[TransmissionRow]
    total: int
    replayable_ids: list[int]
    destinations: list[str]
    number: int = 1

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PAGE_SIZE))


def list_transmissions(database: Database, wanted: TransmissionFilter, page: int = 1) -> TransmissionPage:
    with database.session() as db:
        ordered = wanted.apply(select(TransmissionRow)).order_by(
            TransmissionRow.created_at.desc(), TransmissionRow.id.desc()
        )
        rows = list(db.scalars(ordered.limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)))
        total = db.scalar(select(func.count()).select_from(wanted.apply(select(TransmissionRow)).subquery())) or 0
        destinations = sorted(db.scalars(select(TransmissionRow.destination).distinct()))
    return TransmissionPage(rows, total, replayable_ids(database, wanted), destinations, page)


def replayable_ids(database: Database, wanted: TransmissionFilter) -> list[int]:
    """Transmissions matching the filter that a replay would queue again (oldest first)."""
    with database.session() as db:
        query = wanted.apply(select(TransmissionRow)).where(TransmissionRow.status.in_(REPLAYABLE))
        return list(db.scalars(query.with_only_columns(TransmissionRow.id).order_by(TransmissionRow.id)))


@dataclass
class TransmissionDetail:
    row: TransmissionRow
    feed: FeedRow | None
    attempts: list[AttemptRow]
    replays: list[ReplayRow]

    @property
    def replayable(self) -> bool:
        return self.row.status in REPLAYABLE and self.feed is not None and self.feed.purged_at is None

    @property
    def in_progress(self) -> bool:
        return self.row.status in (Status.PENDING, Status.SENDING)


def transmission_detail(database: Database, transmission_id: int) -> TransmissionDetail | None:
    with database.session() as db:
        row = db.get(TransmissionRow, transmission_id)
        if row is None:
            return None
        attempts = db.scalars(
            select(AttemptRow).where(AttemptRow.transmission_id == row.id).order_by(AttemptRow.id)
        ).all()
        replays = db.scalars(select(ReplayRow).where(ReplayRow.transmission_id == row.id).order_by(ReplayRow.id)).all()
        return TransmissionDetail(row, db.get(FeedRow, row.feed_id), list(attempts), list(replays))


def replay_and_audit(database: Database, ids: Sequence[int], login: str) -> dict[int, str]:
    """Queue the transmissions again on behalf of `login` (audited by the relay): {id: destination}."""
    queued = replay(database, ids, login)
    if not queued:
        return {}
    with database.session() as db:
        rows = db.scalars(select(TransmissionRow).where(TransmissionRow.id.in_(queued))).all()
        return {row.id: row.destination for row in rows}


def deliver_now(database: Database, config: GatewayConfig, destinations: Iterable[str]) -> None:
    """Background task after a replay: deliver those destinations at once instead of at the next poll."""
    for name in sorted(set(destinations)):
        settings = config.destinations.get(name)
        if settings is None:
            continue  # no transport configured here: the service that has one will send it
        try:
            # Under the destination's lease, like `deliver`: never beside a `run` instance sending it.
            report = deliver_pending(database, config, destinations=[name], owner=f"{process_owner()}:console")
        except Exception:  # the request is answered already: the log is the only place left
            log.exception("destination %s: delivery after a console replay failed", name)
            continue
        log.info(
            "destination %s: after replay, %d sent, %d failed, %d dead",
            name,
            len(report.sent),
            len(report.failed),
            len(report.dead),
        )
