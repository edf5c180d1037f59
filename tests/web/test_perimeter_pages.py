"""Issue #8 on the web side: the approvals page, the offer page's rules, an empty destination
on the dashboard and in the partner API."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select

from gateway.store.tables import AuditRow
from gateway.web.partners import add_partner
from tests.conftest import FIXED_TIME, base_offer, with_changes
from tests.web.conftest import LiveServer
from tests.web.test_console import cell, csrf_token, make_user, staff_client

MC_OFFER = with_changes(
    base_offer(),
    diploma={"type": "MC", "valid_until": "2030-08-31"},
    exit_level=4,
    duration_years=1,
    apprenticeship_years=[1],
)
API = "/api/v1"


def test_operator_approves_a_to_validate_offer_on_the_approvals_page(live_server: LiveServer) -> None:
    gateway = live_server.gateway
    make_user(gateway, "olga", "operator")
    make_user(gateway, "vera", "viewer")
    gateway.import_offers(MC_OFFER)
    assert gateway.export("parcoursup")["parcoursup"].awaiting_approval == 1
    with staff_client(live_server, "vera") as viewer:
        page = viewer.get("/approvals").text
        assert "202611270001" in page and "soumis à validation du recteur" in page
        assert "Approuver pour" not in page  # viewers read only
    with staff_client(live_server, "olga") as client:
        offer_page = client.get("/offers/202611270001").text
        assert "en attente d'approbation" in cell(offer_page, "//tr[@data-destination='parcoursup']")
        page = client.get("/approvals?destination=parcoursup").text
        row = "//tr[@data-destination='parcoursup'][@data-reference='202611270001']"
        assert "MC" in cell(page, row)
        token = csrf_token(page, "/approvals")
        digest = _hidden(page, "payload_sha256")
        refused = client.post(
            "/approvals",
            data={"destination": "parcoursup", "reference": "202611270001", "payload_sha256": digest},
        )
        assert refused.status_code == 403  # no CSRF token
        done = client.post(
            "/approvals",
            data={
                "destination": "parcoursup",
                "reference": "202611270001",
                "payload_sha256": digest,
                "csrf_token": token,
            },
        )
        assert done.status_code == 303
        after = client.get(done.headers["location"]).text
        assert "approuvée pour parcoursup" in after and "Aucune offre en attente" in after
    with gateway.database.session() as db:
        audit = db.scalars(select(AuditRow).where(AuditRow.action == "approve")).one()
        assert (audit.actor, audit.target) == ("olga", "parcoursup/202611270001")
    result = gateway.export("parcoursup", at=FIXED_TIME + timedelta(hours=1))["parcoursup"]
    assert result.exported == 1


def _hidden(page: str, name: str) -> str:
    from lxml import html

    found = html.fromstring(page).xpath(f"//input[@name='{name}']/@value")
    assert isinstance(found, list) and found
    return str(found[0])


def test_offer_page_shows_each_rule_consulted(live_server: LiveServer) -> None:
    gateway = live_server.gateway
    make_user(gateway, "vera", "viewer")
    gateway.import_offers(with_changes(base_offer(), diploma={"type": "LICENCE PRO"}, exit_level=6))
    with staff_client(live_server, "vera") as client:
        page = client.get("/offers/202611270001").text
    rules = cell(page, "//tr[@data-destination='parcoursup']//*[@data-field='rules']")
    assert "campagne 2027" in rules and "LICENCE PRO" in rules and "pas d'accès direct après le bac" in rules


def test_empty_destination_on_the_dashboard_and_in_the_partner_api(live_server: LiveServer) -> None:
    gateway = live_server.gateway
    make_user(gateway, "vera", "viewer")
    token = add_partner(gateway.database, gateway.config, "rco", ["intercarif"], "test").token
    gateway.import_offers(base_offer())
    [old_id] = [r.feed_id for r in gateway.export("intercarif").values()]
    assert old_id is not None
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=live_server.url, headers=headers, timeout=10) as api:
        assert api.get(f"{API}/feeds/intercarif/snapshots/latest").status_code == 200
        gateway.import_offers(with_changes(base_offer(), status="archivee"), name="archived.jsonl")
        gateway.export("intercarif", at=FIXED_TIME + timedelta(hours=1))
        gone = api.get(f"{API}/feeds/intercarif/snapshots/latest")
        assert gone.status_code == 410
        assert gone.json()["error"]["code"] == "FEED_EMPTY" and "plus aucune offre" in gone.json()["error"]["message"]
        assert api.get(f"{API}/feeds/intercarif/snapshots/{old_id}").status_code == 200  # history stays readable
        [summary] = api.get(f"{API}/feeds").json()["feeds"]
        assert summary["latest_snapshot_id"] is None and summary["empty_since"] is not None
        # An offer comes back: `latest` is current again.
        gateway.import_offers(base_offer(), name="back.jsonl")
        gateway.export("intercarif", at=FIXED_TIME + timedelta(hours=2))
        assert api.get(f"{API}/feeds/intercarif/snapshots/latest").status_code == 200
        gateway.import_offers(with_changes(base_offer(), status="archivee"), name="again.jsonl")
        gateway.export("intercarif", at=FIXED_TIME + timedelta(hours=3))
    with staff_client(live_server, "vera") as client:
        page = client.get("/").text
    assert "Plus aucune offre" in cell(page, "//tr[@data-destination='intercarif']//*[@data-field='empty']")
