"""History over real HTTP: paginated transmissions and audit with date ranges; the 30-day SVG charts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from lxml import etree, html
from sqlalchemy import insert, select

from gateway.config import DestinationSettings
from gateway.outbox.relay import deliver_pending
from gateway.store.tables import AuditRow, FeedRow, TransmissionRow
from gateway.transports.local import LocalFolderSettings
from gateway.web.console.history import DayFigures, chart_svg
from tests.conftest import Gateway, base_offer
from tests.web.conftest import LiveServer
from tests.web.test_console import light_hashes, make_user, set_destinations, staff_client  # noqa: F401

SVG = "{http://www.w3.org/2000/svg}"


def _many_transmissions(gateway: Gateway, count: int) -> None:
    gateway.import_offers(base_offer())
    gateway.export("intercarif")
    with gateway.database.session() as db, db.begin():
        feed = db.scalars(select(FeedRow)).one()
        start = datetime(2026, 11, 1, 12, tzinfo=UTC)
        db.execute(
            insert(TransmissionRow),
            [
                {
                    "feed_id": feed.id,
                    "destination": f"d{n:03d}",
                    "status": "sent",
                    "created_at": start + timedelta(hours=6 * n),
                    "updated_at": start,
                    "window_started_at": start,
                }
                for n in range(count)
            ],
        )


def _ids(page: str) -> list[str]:
    return [str(v) for v in html.fromstring(page).xpath("//tr[@data-transmission]/@data-transmission")]


def test_transmissions_are_paginated_and_filtered_by_date_range(gateway: Gateway, live_server: LiveServer) -> None:
    _many_transmissions(gateway, 130)
    make_user(gateway, "vera", "viewer")
    with staff_client(live_server, "vera") as client:
        first = client.get("/transmissions").text
        second = client.get("/transmissions?page=2").text
        assert len(_ids(first)) == 100 and len(_ids(second)) == 30 and not set(_ids(first)) & set(_ids(second))
        assert "page 1 sur 2" in first and 'rel="next"' in first
        # 2026-11-05 (Paris) holds 4 transmissions (every 6 hours from 1 Nov 13:00 Paris).
        day = client.get("/transmissions?since=2026-11-05&until=2026-11-05").text
        assert len(_ids(day)) == 4
        assert client.get("/transmissions?since=2026-11-06&until=2026-11-05").status_code == 400
        assert client.get("/transmissions?until=05/11/2026").status_code == 400


def test_audit_is_paginated_and_filtered_by_date_range(gateway: Gateway, live_server: LiveServer) -> None:
    make_user(gateway, "vera", "viewer")
    with gateway.database.session() as db, db.begin():
        start = datetime(2026, 10, 1, 10, tzinfo=UTC)
        db.execute(
            insert(AuditRow),
            [
                {"at": start + timedelta(days=n), "actor": "bob", "action": "replay", "target": f"t:{n}", "detail": ""}
                for n in range(150)
            ],
        )
    with staff_client(live_server, "vera") as client:
        page = client.get("/audit?actor=bob").text
        assert page.count('<tr data-action="replay"') == 100 and "page 1 sur 2" in page
        assert client.get("/audit?actor=bob&page=2").text.count('<tr data-action="replay"') == 50
        october = client.get("/audit?actor=bob&since=2026-10-10&until=2026-10-19").text
        assert october.count('<tr data-action="replay"') == 10


def test_history_chart_shows_the_days_deliveries_without_external_assets(
    gateway: Gateway, live_server: LiveServer
) -> None:
    set_destinations(
        gateway, intercarif=DestinationSettings(transport=LocalFolderSettings(path=gateway.root / "share"))
    )
    gateway.import_offers(base_offer())
    gateway.export("intercarif", at=datetime.now(UTC))
    assert deliver_pending(gateway.database, gateway.config).sent
    make_user(gateway, "vera", "viewer")
    with staff_client(live_server, "vera") as client:
        page = client.get("/history").text
    [svg] = html.fromstring(page).xpath("//section[@data-destination='intercarif']//svg")
    markup = etree.tostring(svg, encoding="unicode")
    assert len(svg.xpath("./g[@data-day]")) == 30
    today = svg.xpath("./g[last()]")[0]
    assert today.xpath("./rect[@data-kind='sent']/@data-count") == ["1"]
    assert today.xpath("./circle[@data-kind='feeds']/@data-count") == ["1"]
    assert "1 flux exporté(s), 1 offre(s)" in today.xpath("./title/text()")[0]
    assert "href" not in markup and "<script" not in markup and "style=" not in markup


def test_chart_scales_and_escapes() -> None:
    first = datetime(2026, 11, 1, tzinfo=UTC).date()
    days = [DayFigures(first + timedelta(days=d), feeds=1, offers=1000 * d, sent=d) for d in range(30)]
    svg = etree.fromstring(str(chart_svg("<dest>", days)))
    assert svg.get("aria-label") == "Livraisons et offres de <dest>, 30 derniers jours"
    heights = [float(rect.get("height")) for rect in svg.iter(f"{SVG}rect")]
    assert max(heights) == 170.0 and heights == sorted(heights)  # the busiest day fills the plot
    assert svg.find(f"{SVG}polyline") is not None
