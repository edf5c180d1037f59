"""An API instance that does not see a feed of the shared outbox answers 503 (retry later), the
same for the listed `latest` and the snapshot itself — never a 404 for a listed snapshot."""

from __future__ import annotations

import shutil

import httpx

from gateway.web.partners import add_partner
from tests.conftest import FIXED_TIME, base_offer
from tests.web.conftest import LiveServer

API = "/api/v1"


def test_a_feed_this_instance_cannot_see_is_a_503_with_retry_after(live_server: LiveServer) -> None:
    gateway = live_server.gateway
    gateway.import_offers(base_offer())
    result = gateway.export("intercarif", at=FIXED_TIME)["intercarif"]
    assert result.feed is not None
    token = add_partner(gateway.database, gateway.config, "acme", ["intercarif"], "test").token
    hidden = gateway.root / "hidden"
    shutil.move(gateway.outbox / "intercarif", hidden)  # the shared folder is not mounted here
    try:
        with httpx.Client(base_url=live_server.url, headers={"Authorization": f"Bearer {token}"}) as client:
            listed = client.get(f"{API}/feeds/intercarif/snapshots").json()["items"]
            assert [item["id"] for item in listed] == [result.feed_id]
            for url in (
                f"{API}/feeds/intercarif/snapshots/latest",
                f"{API}/feeds/intercarif/snapshots/{result.feed_id}",
            ):
                answer = client.get(url)
                assert answer.status_code == 503 and answer.headers["retry-after"] == "60"
                assert answer.json()["error"]["code"] == "SNAPSHOT_NOT_VISIBLE"
    finally:
        shutil.move(hidden, gateway.outbox / "intercarif")
