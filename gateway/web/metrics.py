"""Prometheus metrics at /metrics, computed from the store at scrape time.

The store is the truth shared by every process (CLI exports, the `run` service, the web app),
so a collector queries it on each scrape instead of counting events in one process's memory.
Each app gets its own CollectorRegistry (kept on `app.state`), never the global one.
"""

from __future__ import annotations

import platform
from collections.abc import Iterator
from datetime import UTC, datetime
from importlib import metadata

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from gateway.store.database import Database
from gateway.store.tables import AttemptRow, ExportRunRow, FeedRow, PartnerFetchRow, PartnerRow, TransmissionRow
from gateway.web.cluster_metrics import ClusterCollector, store_wide_here
from gateway.web.partners import as_utc
from gateway.web.state import app_state

PREFIX = "lheo_gateway"
WAITING = ("pending", "failed")  # transmissions not delivered yet that will be tried again

router = APIRouter()


class StoreCollector(Collector):
    def __init__(self, database: Database) -> None:
        self.database = database

    def collect(self) -> Iterator[Metric]:
        if not store_wide_here(self.database):
            return  # another instance (the leader) exports them: see cluster_metrics.py
        now = datetime.now(UTC)
        with self.database.session() as db:
            yield from self._exports(db)
            yield from self._deliveries(db, now)
            yield from self._partners(db)
            yield from self._timestamps(db)
            yield from self._durations(db)
        yield _build_info()

    def _exports(self, db: Session) -> Iterator[Metric]:
        runs = CounterMetricFamily(f"{PREFIX}_exports", "Export runs started, per destination.", labels=["destination"])
        for destination, count in db.execute(
            select(ExportRunRow.destination, func.count()).group_by(ExportRunRow.destination)
        ):
            runs.add_metric([destination], count)
        yield runs

        offers = GaugeMetricFamily(
            f"{PREFIX}_latest_feed_offers", "Offers in the latest feed of the destination.", labels=["destination"]
        )
        # Feed ids are `<destination>_<UTC time>_<digest>`: the greatest is the latest export.
        latest_feed = select(func.max(FeedRow.id)).group_by(FeedRow.destination)
        for destination, count in db.execute(
            select(FeedRow.destination, FeedRow.offer_count).where(FeedRow.id.in_(latest_feed))
        ):
            offers.add_metric([destination], count)
        yield offers

        quarantined = GaugeMetricFamily(
            f"{PREFIX}_latest_run_quarantined_offers",
            "Offers quarantined by the latest export run of the destination.",
            labels=["destination"],
        )
        latest_run = select(func.max(ExportRunRow.id)).group_by(ExportRunRow.destination)
        for destination, count in db.execute(
            select(ExportRunRow.destination, ExportRunRow.offers_quarantined).where(ExportRunRow.id.in_(latest_run))
        ):
            quarantined.add_metric([destination], count)
        yield quarantined

    def _deliveries(self, db: Session, now: datetime) -> Iterator[Metric]:
        attempts = CounterMetricFamily(
            f"{PREFIX}_delivery_attempts", "Delivery attempts by outcome.", labels=["destination", "outcome"]
        )
        for destination, outcome, count in db.execute(
            select(TransmissionRow.destination, AttemptRow.outcome, func.count())
            .join(TransmissionRow, TransmissionRow.id == AttemptRow.transmission_id)
            .group_by(TransmissionRow.destination, AttemptRow.outcome)
        ):
            attempts.add_metric([destination, outcome], count)
        yield attempts

        transmissions = GaugeMetricFamily(
            f"{PREFIX}_transmissions", "Transmissions by current status.", labels=["destination", "status"]
        )
        oldest = GaugeMetricFamily(
            f"{PREFIX}_oldest_waiting_transmission_age_seconds",
            "Age of the oldest pending or failed (to retry) transmission; 0 when none waits.",
            labels=["destination"],
        )
        waiting_since: dict[str, datetime | None] = {}
        for destination, status, count, created in db.execute(
            select(
                TransmissionRow.destination,
                TransmissionRow.status,
                func.count(),
                func.min(TransmissionRow.created_at),
            ).group_by(TransmissionRow.destination, TransmissionRow.status)
        ):
            transmissions.add_metric([destination, status], count)
            current = waiting_since.setdefault(destination, None)
            if status in WAITING and created is not None:
                created = as_utc(created)
                waiting_since[destination] = created if current is None else min(current, created)
        for destination, since in sorted(waiting_since.items()):
            oldest.add_metric([destination], max(0.0, (now - since).total_seconds()) if since else 0.0)
        yield transmissions
        yield oldest

    def _partners(self, db: Session) -> Iterator[Metric]:
        fetches = CounterMetricFamily(
            f"{PREFIX}_partner_fetches",
            "Partner API requests by partner (empty: no valid token) and HTTP status.",
            labels=["partner", "status"],
        )
        last = GaugeMetricFamily(
            f"{PREFIX}_partner_last_fetch_timestamp_seconds",
            "Time of the partner's last successful request (2xx or 304), Unix seconds.",
            labels=["partner"],
        )
        rows = db.execute(
            select(PartnerRow.name, PartnerFetchRow.status, func.count(), func.max(PartnerFetchRow.at))
            .outerjoin(PartnerRow, PartnerRow.id == PartnerFetchRow.partner_id)
            .group_by(PartnerRow.name, PartnerFetchRow.status)
        )
        latest: dict[str, datetime] = {}
        for name, status, count, at in rows:
            fetches.add_metric([name or "", str(status)], count)
            if name and at is not None and (200 <= status < 300 or status == 304):
                moment = as_utc(at)
                latest[name] = max(latest.get(name, moment), moment)
        for name, moment in sorted(latest.items()):
            last.add_metric([name], moment.timestamp())
        yield fetches
        yield last

    def _timestamps(self, db: Session) -> Iterator[Metric]:
        exported = GaugeMetricFamily(
            f"{PREFIX}_last_export_timestamp_seconds",
            "End of the destination's latest finished export run, Unix seconds.",
            labels=["destination"],
        )
        for destination, finished in db.execute(
            select(ExportRunRow.destination, func.max(ExportRunRow.finished_at)).group_by(ExportRunRow.destination)
        ):
            if finished is not None:
                exported.add_metric([destination], as_utc(finished).timestamp())
        yield exported
        delivered = GaugeMetricFamily(
            f"{PREFIX}_last_successful_delivery_timestamp_seconds",
            "Time of the destination's latest successful delivery, Unix seconds.",
            labels=["destination"],
        )
        for destination, sent in db.execute(
            select(TransmissionRow.destination, func.max(TransmissionRow.sent_at)).group_by(TransmissionRow.destination)
        ):
            if sent is not None:
                delivered.add_metric([destination], as_utc(sent).timestamp())
        yield delivered
        sent_bytes = CounterMetricFamily(
            f"{PREFIX}_delivered_bytes", "Bytes sent by successful delivery attempts.", labels=["destination"]
        )
        for destination, total in db.execute(
            select(TransmissionRow.destination, func.coalesce(func.sum(AttemptRow.bytes_sent), 0))
            .join(TransmissionRow, TransmissionRow.id == AttemptRow.transmission_id)
            .where(AttemptRow.outcome == "sent")
            .group_by(TransmissionRow.destination)
        ):
            sent_bytes.add_metric([destination], float(total or 0))
        yield sent_bytes

    def _durations(self, db: Session) -> Iterator[Metric]:
        exports = HistogramMetricFamily(
            f"{PREFIX}_export_duration_seconds", "Duration of finished export runs.", labels=["destination"]
        )
        spans: dict[str, list[float]] = {}
        for destination, started, finished in db.execute(
            select(ExportRunRow.destination, ExportRunRow.started_at, ExportRunRow.finished_at).where(
                ExportRunRow.finished_at.is_not(None)
            )
        ):
            if finished is not None:
                seconds = (as_utc(finished) - as_utc(started)).total_seconds()
                spans.setdefault(destination, []).append(max(0.0, seconds))
        for destination, values in sorted(spans.items()):
            exports.add_metric([destination], _buckets(values, EXPORT_BUCKETS), sum_value=sum(values))
        yield exports

        deliveries = HistogramMetricFamily(
            f"{PREFIX}_delivery_duration_seconds",
            "Duration of delivery attempts (any outcome).",
            labels=["destination"],
        )
        # Counted per bucket in SQL: attempts may be many, and only these sums cross the wire.
        columns = [
            func.sum(case((AttemptRow.duration_ms <= int(bound * 1000), 1), else_=0)) for bound in DELIVERY_BUCKETS
        ]
        for destination, count, total_ms, *cumulative in db.execute(
            select(
                TransmissionRow.destination, func.count(), func.coalesce(func.sum(AttemptRow.duration_ms), 0), *columns
            )
            .join(TransmissionRow, TransmissionRow.id == AttemptRow.transmission_id)
            .where(AttemptRow.duration_ms.is_not(None))
            .group_by(TransmissionRow.destination)
        ):
            buckets = [
                (_bound(bound), float(value or 0)) for bound, value in zip(DELIVERY_BUCKETS, cumulative, strict=True)
            ]
            deliveries.add_metric([destination], [*buckets, ("+Inf", float(count))], sum_value=total_ms / 1000)
        yield deliveries


EXPORT_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)
DELIVERY_BUCKETS = (0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0)


def _bound(value: float) -> str:
    return f"{value:g}"


def _buckets(values: list[float], bounds: tuple[float, ...]) -> list[tuple[str, float]]:
    """Cumulative counts per upper bound, then +Inf (the Prometheus histogram shape)."""
    counted = [(_bound(bound), float(sum(1 for value in values if value <= bound))) for bound in bounds]
    return [*counted, ("+Inf", float(len(values)))]


def _build_info() -> Metric:
    info = GaugeMetricFamily(
        f"{PREFIX}_build_info", "Always 1; the labels say which gateway runs.", labels=["version", "python"]
    )
    try:
        version = metadata.version("lheo-gateway")
    except metadata.PackageNotFoundError:
        version = "unknown"
    info.add_metric([version, platform.python_version()], 1)
    return info


def registry_for(request: Request) -> CollectorRegistry:
    """The app's own registry, created on first scrape (a concurrent first scrape builds a spare one)."""
    registry = getattr(request.app.state, "metrics_registry", None)
    if not isinstance(registry, CollectorRegistry):
        registry = CollectorRegistry(auto_describe=False)
        registry.register(StoreCollector(app_state(request).database))
        registry.register(ClusterCollector(app_state(request).database, app_state(request).config))
        request.app.state.metrics_registry = registry
    return registry


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    return Response(generate_latest(registry_for(request)), media_type=CONTENT_TYPE_LATEST)
