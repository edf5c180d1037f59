"""The console's offer page shows a rejected update beside the offer's kept, last valid version."""

from __future__ import annotations

from lxml import etree

from tests.conftest import Gateway, base_offer, with_changes
from tests.web.conftest import LiveServer
from tests.web.test_console import make_user, staff_client

REF = "202611270001"


def test_staff_see_the_rejected_update_beside_the_kept_version(gateway: Gateway, live_server: LiveServer) -> None:
    gateway.import_offers(base_offer())
    gateway.import_offers(with_changes(base_offer(), duration_years="deux ans"))
    make_user(gateway, "viewer", "viewer")
    with staff_client(live_server, "viewer") as client:
        page = client.get(f"/offers/{REF}")
    assert page.status_code == 200
    section = etree.HTML(page.text).xpath("//section[@id='rejected-update']")
    assert section, "the rejected update is not shown"
    text = "".join(section[0].itertext())
    assert "duration_years" in text and "reste enregistrée et exportée" in text
