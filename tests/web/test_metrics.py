"""`/metrics`: the Prometheus text exposition, parsed, matches what the store says."""

from __future__ import annotations

import platform
import time
from datetime import UTC, datetime, timedelta

import httpx
from fastapi import FastAPI
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from gateway.config import DestinationSettings
from gateway.outbox.relay import deliver_pending
from gateway.store.tables import ExportRunRow, FeedRow, PartnerFetchRow, TransmissionRow
from gateway.transports.local import LocalFolderSettings
from gateway.web.partners import add_partner, as_utc
from tests.conftest import FIXED_TIME, Gateway, base_offer, with_changes
from tests.web.conftest import LiveServer

Samples = dict[tuple[str, ...], float]


def _scrape(url: str) -> dict[str, Samples]:
    response = httpx.get(f"{url}/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    metrics: dict[str, Samples] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name.endswith("_created"):
                continue
            metrics.setdefault(sample.name, {})[tuple(sample.labels.values())] = sample.value
    return metrics


def _configure_deliveries(gateway: Gateway) -> None:
    working = LocalFolderSettings(path=gateway.root / "deliveries" / "intercarif", create_parents=True)
    # Parent folder missing (an unmounted share): LOCAL_IO, retried later, so the transmission waits.
    broken = LocalFolderSettings(path=gateway.root / "not-mounted" / "parcoursup")
    gateway.config = gateway.config.model_copy(
        update={
            "destinations": {
                "intercarif": DestinationSettings(transport=working),
                "parcoursup": DestinationSettings(transport=broken),
            }
        }
    )


def _wait_for_fetch_log(gateway: Gateway, expected: int) -> None:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        with gateway.database.session() as db:
            if db.scalar(select(func.count()).select_from(PartnerFetchRow)) == expected:
                return
        time.sleep(0.02)
    raise AssertionError("fetch log incomplete")


def test_metrics_match_the_store(live_server: LiveServer) -> None:
    gateway = live_server.gateway
    _configure_deliveries(gateway)
    far_place = {"lines": ["2 avenue du Stade"], "postcode": "64000", "city": "Pau", "insee": "64445"}
    far = base_offer("202611270009", ("00100009",))
    far = with_changes(far, sessions=[{**far["sessions"][0], "place": far_place}])
    gateway.import_offers(base_offer(), base_offer("202611270002", ("00100002",)), far)
    first = gateway.export("intercarif", "parcoursup")
    deliver_pending(gateway.database, gateway.config)
    gateway.import_offers(base_offer("202611270003", ("00100003",)), name="more.jsonl")
    second = gateway.export("intercarif", at=FIXED_TIME + timedelta(hours=1))
    deliver_pending(gateway.database, gateway.config, destinations=["intercarif"])

    token = add_partner(gateway.database, gateway.config, "acme", ["intercarif"], "test").token
    with httpx.Client(base_url=live_server.url, headers={"Authorization": f"Bearer {token}"}) as client:
        assert client.get("/api/v1/feeds").status_code == 200
        assert client.get("/api/v1/feeds/intercarif/snapshots/latest").status_code == 200
        assert client.get("/api/v1/feeds/parcoursup/snapshots").status_code == 403
        assert client.get("/api/v1/feeds", headers={"Authorization": "Bearer nope"}).status_code == 401
    _wait_for_fetch_log(gateway, 4)

    metrics = _scrape(live_server.url)
    scraped_at = datetime.now(UTC)
    assert metrics["lheo_gateway_exports_total"] == {("intercarif",): 2, ("parcoursup",): 1}
    assert metrics["lheo_gateway_latest_feed_offers"] == {
        ("intercarif",): second["intercarif"].exported,
        ("parcoursup",): first["parcoursup"].exported,
    }
    assert first["parcoursup"].quarantined >= 1  # the far-away place has no UAI: Parcoursup needs one
    assert metrics["lheo_gateway_latest_run_quarantined_offers"] == {
        ("intercarif",): second["intercarif"].quarantined,
        ("parcoursup",): first["parcoursup"].quarantined,
    }
    assert metrics["lheo_gateway_delivery_attempts_total"] == {("intercarif", "sent"): 2, ("parcoursup", "failed"): 1}
    assert metrics["lheo_gateway_transmissions"] == {("intercarif", "sent"): 2, ("parcoursup", "failed"): 1}
    assert metrics["lheo_gateway_partner_fetches_total"] == {
        ("acme", "200"): 2,
        ("acme", "403"): 1,
        ("", "401"): 1,  # no valid token: no partner
    }
    assert scraped_at.timestamp() - 60 < metrics["lheo_gateway_partner_last_fetch_timestamp_seconds"][("acme",)]

    # What operators alert on: times of the last export and delivery, durations, bytes, build.
    with gateway.database.session() as db:
        runs = {
            destination: as_utc(finished).timestamp()
            for destination, finished in db.execute(
                select(ExportRunRow.destination, func.max(ExportRunRow.finished_at)).group_by(ExportRunRow.destination)
            )
        }
        sent = db.scalars(select(TransmissionRow).where(TransmissionRow.status == "sent")).all()
    assert metrics["lheo_gateway_last_export_timestamp_seconds"] == {(d,): t for d, t in runs.items()}
    assert metrics["lheo_gateway_last_successful_delivery_timestamp_seconds"] == {
        ("intercarif",): max(as_utc(row.sent_at).timestamp() for row in sent if row.sent_at)
    }
    feed_bytes = sum(_feed_size(gateway, row.feed_id) for row in sent)
    assert metrics["lheo_gateway_delivered_bytes_total"] == {("intercarif",): feed_bytes}
    assert metrics["lheo_gateway_export_duration_seconds_count"] == {("intercarif",): 2, ("parcoursup",): 1}
    assert metrics["lheo_gateway_export_duration_seconds_bucket"][("intercarif", "+Inf")] == 2
    assert metrics["lheo_gateway_delivery_duration_seconds_count"] == {("intercarif",): 2, ("parcoursup",): 1}
    assert metrics["lheo_gateway_delivery_duration_seconds_bucket"][("intercarif", "900")] == 2
    [(labels, one)] = metrics["lheo_gateway_build_info"].items()
    assert one == 1 and any(label.startswith("0.") for label in labels) and platform.python_version() in labels

    with gateway.database.session() as db:
        assert db.scalar(select(func.count()).select_from(ExportRunRow)) == 3
        waiting_since = as_utc(
            db.scalars(select(TransmissionRow.created_at).where(TransmissionRow.status == "failed")).one()
        )
    ages = metrics["lheo_gateway_oldest_waiting_transmission_age_seconds"]
    assert ages[("intercarif",)] == 0
    assert 0 <= ages[("parcoursup",)] <= (scraped_at - waiting_since).total_seconds() + 1


def _feed_size(gateway: Gateway, feed_id: str) -> int:
    """What a local delivery copies: the .xml and its .xml.gz."""
    with gateway.database.session() as db:
        feed = db.get(FeedRow, feed_id)
        assert feed is not None
        return feed.size + feed.gz_size


def test_each_app_has_its_own_registry(live_server: LiveServer) -> None:
    from gateway.web.app import create_app

    _scrape(live_server.url)
    served = live_server.server.config.app
    assert isinstance(served, FastAPI) and isinstance(served.state.metrics_registry, CollectorRegistry)
    other = create_app(live_server.gateway.config, live_server.gateway.database)
    assert getattr(other.state, "metrics_registry", None) is None  # made at its own first scrape
    assert b"lheo_gateway" not in generate_latest(REGISTRY)
