"""The dashboard's figures: one line per destination, a handful of grouped queries in all."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from gateway.config import DestinationSettings, GatewayConfig
from gateway.outbox.relay import Status
from gateway.scheduling.instance import scheduler_alive
from gateway.scheduling.slots import parse_schedule
from gateway.store.database import Database
from gateway.store.tables import ExportRunRow, FeedRow, TransmissionRow
from gateway.web.console.views import aware

WAITING = (Status.PENDING, Status.SENDING, Status.FAILED)  # not yet delivered, not given up


@dataclass
class LastExport:
    run_id: int
    at: datetime
    feed_id: str | None
    note: str | None
    offers_exported: int
    offers_quarantined: int
    offers_out_of_perimeter: int
    offers_awaiting_approval: int = 0

    @property
    def empty(self) -> bool:
        """No offer left: no feed was emitted and partners' last snapshot is stale (issue #8)."""
        return self.feed_id is None and self.offers_exported == 0


@dataclass
class DestinationOverview:
    name: str
    configured: bool
    transport: str | None = None  # kind: local, sftp, http
    schedule: str | None = None
    timezone: str = ""
    next_run: datetime | None = None
    schedule_error: str | None = None
    # No live `run` instance: the schedule is shown, but no "next run" time that nothing will honour.
    scheduler_down: bool = False
    last_export: LastExport | None = None
    last_sent_at: datetime | None = None
    counts: dict[str, int] = field(default_factory=dict)
    oldest_waiting_age: timedelta | None = None

    def count(self, status: str) -> int:
        return self.counts.get(status, 0)


def next_run(settings: DestinationSettings, now: datetime) -> datetime | None:
    """Next fire time of the destination's cron schedule (ValueError when the schedule is invalid)."""
    if not settings.schedule:
        return None
    trigger = parse_schedule(settings.schedule, settings.timezone)  # five fields, or six with seconds
    moment: datetime | None = trigger.get_next_fire_time(None, now)
    return moment


def overview(database: Database, config: GatewayConfig, now: datetime | None = None) -> list[DestinationOverview]:
    now = now or datetime.now(UTC)
    with database.session() as db:
        latest = (
            select(func.max(ExportRunRow.id))
            .where(ExportRunRow.finished_at.is_not(None))
            .group_by(ExportRunRow.destination)
        )
        runs = {run.destination: run for run in db.scalars(select(ExportRunRow).where(ExportRunRow.id.in_(latest)))}
        with_feeds = set(db.scalars(select(FeedRow.destination).distinct()))
        # Result objects have .keys() (column names): dict() must get a plain list of pairs.
        last_sent = dict(
            db.execute(
                select(TransmissionRow.destination, func.max(TransmissionRow.sent_at))
                .where(TransmissionRow.status == Status.SENT)
                .group_by(TransmissionRow.destination)
            ).all()
        )
        counts: dict[str, dict[str, int]] = {}
        for destination, status, number in db.execute(
            select(TransmissionRow.destination, TransmissionRow.status, func.count()).group_by(
                TransmissionRow.destination, TransmissionRow.status
            )
        ):
            counts.setdefault(destination, {})[status] = number
        oldest = dict(
            db.execute(
                select(TransmissionRow.destination, func.min(TransmissionRow.created_at))
                .where(TransmissionRow.status.in_(WAITING))
                .group_by(TransmissionRow.destination)
            ).all()
        )
    running = scheduler_alive(database, timedelta(seconds=config.store.lease_seconds))
    lines = []
    for name in sorted(set(config.destinations) | with_feeds | set(runs)):
        settings = config.destinations.get(name)
        line = DestinationOverview(name=name, configured=settings is not None)
        if settings is not None:
            line.transport = settings.transport.kind if settings.transport is not None else None
            line.schedule, line.timezone = settings.schedule, settings.timezone
            try:
                line.next_run = next_run(settings, now)
            except (ValueError, KeyError) as exc:  # KeyError: unknown time zone
                line.schedule_error = str(exc)
            if line.next_run is not None and not running:
                line.next_run, line.scheduler_down = None, True
        run = runs.get(name)
        if run is not None:
            line.last_export = LastExport(
                run.id,
                aware(run.finished_at or run.started_at),
                run.feed_id,
                run.note,
                run.offers_exported,
                run.offers_quarantined,
                run.offers_out_of_perimeter,
                run.offers_awaiting_approval,
            )
        sent_at = last_sent.get(name)
        line.last_sent_at = aware(sent_at) if sent_at else None
        line.counts = counts.get(name, {})
        waiting_since = oldest.get(name)
        line.oldest_waiting_age = now - aware(waiting_since) if waiting_since else None
        lines.append(line)
    return lines
