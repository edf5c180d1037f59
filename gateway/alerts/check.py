"""Open and close incidents from the current conditions, then send the notices still due.

One incident per (destination, kind) while its condition holds: opened once (one notice),
closed once when the condition is gone (one recovery notice). Retries, repeated checks and
several processes checking at once add nothing: a partial unique index allows one open
incident per (destination, kind). A notice that could not be sent stays due, and is tried
again at the next check until it goes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from gateway.alerts.conditions import KIND_LABELS, Kind, current_conditions
from gateway.alerts.notify import Notice, NoticeError, send_email, send_webhook
from gateway.config import GatewayConfig
from gateway.store.database import Database
from gateway.store.tables import AlertRow

log = logging.getLogger(__name__)


@dataclass
class CheckReport:
    opened: list[int] = field(default_factory=list)
    closed: list[int] = field(default_factory=list)
    notified: list[str] = field(default_factory=list)  # "<id>:opened" / "<id>:closed"
    errors: list[str] = field(default_factory=list)


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.strftime("%Y-%m-%dT%H:%M:%SZ")


def check_alerts(database: Database, config: GatewayConfig, now: datetime | None = None) -> CheckReport:
    report = CheckReport()
    settings = config.alerts
    if not settings.enabled:
        return report
    now = now or datetime.now(UTC)
    destinations = sorted(config.destinations)
    with database.session() as db:
        try:
            with db.begin():
                found = current_conditions(db, settings, destinations, now)
                open_rows = {
                    (row.destination, row.kind): row
                    for row in db.scalars(select(AlertRow).where(AlertRow.closed_at.is_(None)))
                }
                for key, condition in found.items():
                    if key not in open_rows:
                        row = AlertRow(
                            destination=condition.destination,
                            kind=condition.kind.value,
                            opened_at=now,
                            message=condition.message,
                        )
                        db.add(row)
                        db.flush()
                        report.opened.append(row.id)
                for (destination, kind), row in open_rows.items():
                    if (destination, Kind(kind)) not in found and destination in destinations:
                        row.closed_at = now
                        report.closed.append(row.id)
        except IntegrityError:
            # Another process opened the same incident a moment ago: its check is as good as ours.
            log.info("alerts: concurrent check, leaving it to the other process")
            return report
    _send_due(database, config, report)
    return report


def _send_due(database: Database, config: GatewayConfig, report: CheckReport) -> None:
    with database.session() as db:
        due = list(
            db.scalars(
                select(AlertRow)
                .where(
                    (AlertRow.opened_notified_at.is_(None))
                    | (AlertRow.closed_at.is_not(None) & AlertRow.closed_notified_at.is_(None))
                )
                .order_by(AlertRow.id)
            )
        )
    for row in due:
        events = [] if row.opened_notified_at else ["opened"]
        if row.closed_at is not None:
            events.append("closed")
        for event in events:
            notice = Notice(
                event,
                row.id,
                row.destination,
                row.kind,
                KIND_LABELS.get(Kind(row.kind), row.kind),
                row.message,
                _iso(row.opened_at) or "",
                _iso(row.closed_at),
            )
            error = _deliver(config, notice, row.notified_channels or "", event)
            with database.session() as db, db.begin():
                stored = db.get(AlertRow, row.id)
                assert stored is not None
                stored.notified_channels = error.channels
                if error.message:
                    stored.last_error = error.message
                    report.errors.append(f"{row.id}:{event}: {error.message}")
                    log.warning("alert %s (%s): notice not sent yet: %s", row.id, event, error.message)
                    break  # keep the order: no recovery notice before the opening one went
                stored.last_error = None
                stored.notified_channels = ""
                if event == "opened":
                    stored.opened_notified_at = datetime.now(UTC)
                    row.opened_notified_at = stored.opened_notified_at
                else:
                    stored.closed_notified_at = datetime.now(UTC)
                report.notified.append(f"{row.id}:{event}")
                log.info("alert %s: %s notice sent (%s, %s)", row.id, event, row.destination, row.kind)


@dataclass
class _Outcome:
    channels: str  # channels already done for this event ("email webhook"), so a retry skips them
    message: str | None = None


def _deliver(config: GatewayConfig, notice: Notice, done: str, event: str) -> _Outcome:
    finished = {item for item in done.split() if item.startswith(f"{event}:")}
    errors = []
    for name, send in (("email", send_email), ("webhook", send_webhook)):
        mark = f"{event}:{name}"
        if mark in finished:
            continue
        try:
            send(config.alerts, notice)
        except NoticeError as exc:
            errors.append(str(exc))
            continue
        finished.add(mark)
    return _Outcome(" ".join(sorted(finished)), "; ".join(errors) or None)
