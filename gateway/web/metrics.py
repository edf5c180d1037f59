"""Prometheus metrics at /metrics, computed from the store at scrape time.

The store is the truth shared by every process (CLI exports, the `run` service, the web app),
so a collector queries it on each scrape instead of counting events in one process's memory.
Each app gets its own CollectorRegistry (kept on `app.state`), never the global one.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.store.database import Database
from gateway.store.tables import AttemptRow, ExportRunRow, FeedRow, PartnerFetchRow, TransmissionRow
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
            f"{PREFIX}_partner_fetches", "Partner API requests by HTTP status.", labels=["status"]
        )
        for status, count in db.execute(select(PartnerFetchRow.status, func.count()).group_by(PartnerFetchRow.status)):
            fetches.add_metric([str(status)], count)
        yield fetches


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
