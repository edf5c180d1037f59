"""The console lists alert incidents, open ones first, with what was notified."""

from __future__ import annotations

from datetime import UTC, datetime

from gateway.store.tables import AlertRow
from tests.conftest import Gateway
from tests.web.conftest import LiveServer
from tests.web.test_console import cell, light_hashes, make_user, staff_client  # noqa: F401


def test_alerts_page_lists_incidents(gateway: Gateway, live_server: LiveServer) -> None:
    now = datetime(2026, 12, 1, 8, tzinfo=UTC)
    with gateway.database.session() as db, db.begin():
        db.add(AlertRow(destination="parcoursup", kind="no_delivery", opened_at=now, closed_at=now, message="vieux"))
        db.add(
            AlertRow(
                destination="intercarif",
                kind="transmission_dead",
                opened_at=now,
                opened_notified_at=now,
                message="1 transmission(s) abandonnée(s) vers intercarif",
            )
        )
    make_user(gateway, "vera", "viewer")
    with staff_client(live_server, "vera") as client:
        page = client.get("/alerts").text
    assert page.index('data-state="open"') < page.index('data-state="closed"')
    row = cell(page, "//tr[@data-kind='transmission_dead']")
    assert "en cours" in row and "transmission abandonnée" in row and "envoyé le 01/12/2026 09:00" in row
    assert "rétablissement : en attente" in cell(page, "//tr[@data-kind='no_delivery']")
