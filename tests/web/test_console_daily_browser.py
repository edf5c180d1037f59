"""Staff's daily work in a real headless Chromium: find an offer, work the quarantine, partners, replays.

Same set-up as `test_console_browser.py` (Debian's Chromium through Playwright, a live uvicorn
server over the test's store); screenshots go to `test-artifacts/screenshots/`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Route, expect

from gateway.transports.base import versioned_name
from tests.conftest import Gateway, base_offer, with_changes
from tests.web.conftest import LiveServer
from tests.web.test_console import light_hashes, make_user  # noqa: F401
from tests.web.test_console_browser import CHROMIUM, _shot, _sign_in, browser  # noqa: F401

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=f"Debian's Chromium not found at {CHROMIUM}")

MACON = "202611270010"
BTS = "202611270011"
BAD = "202611270013"


@pytest.fixture
def stocked(gateway: Gateway) -> Gateway:
    macon = with_changes(base_offer(MACON, ("00110001",)), title="CAP Maçon", responsable__name="BTP Formation")
    bad = with_changes(base_offer(BAD, ("00130001",)), title="CAP Cuisine", responsable__siret="73282932000075")
    gateway.import_offers(macon, base_offer(BTS, ("00100001",)), bad)
    gateway.export("intercarif")
    make_user(gateway, "oscar", "operator")
    return gateway


def test_offers_search_finds_cap_macon(browser: Browser, stocked: Gateway, live_server: LiveServer) -> None:  # noqa: F811
    page = _sign_in(browser, live_server, "oscar")
    page.get_by_role("link", name="Offres").click()
    expect(page.locator("[data-field='total']")).to_contain_text("3 offre(s)")
    page.get_by_label("Recherche").fill("cap macon")
    page.get_by_role("button", name="Rechercher").click()
    expect(page.locator("tbody tr")).to_have_count(1)
    expect(page.locator(f"tr[data-offer='{MACON}']")).to_contain_text("BTP Formation")
    _shot(page, "offers-search.png")

    # Offers left out of a destination's feed, sorted by title, newest criteria kept in the URL.
    page.get_by_label("Recherche").fill("")
    page.get_by_label("Destination").select_option("intercarif")
    page.get_by_label("Dans son dernier flux").select_option("out")
    page.get_by_role("button", name="Rechercher").click()
    expect(page.locator("tbody tr")).to_have_count(1)
    expect(page.locator(f"tr[data-offer='{BAD}']")).to_contain_text("SIRET_CHECKSUM")
    page.get_by_role("link", name="Réinitialiser").click()
    page.locator("a[data-sort='title']").click()
    expect(page.locator("tbody tr").first).to_have_attribute("data-offer", BTS)
    page.locator("a[data-sort='title']").click()  # second click: descending
    expect(page.locator("tbody tr").first).to_have_attribute("data-offer", MACON)

    # A full reference opens the offer itself.
    page.get_by_label("Recherche").fill(BAD)
    page.get_by_role("button", name="Rechercher").click()
    expect(page).to_have_url(f"{live_server.url}/offers/{BAD}")
    page.context.close()


def test_quarantine_export_for_an_organisme(browser: Browser, stocked: Gateway, live_server: LiveServer) -> None:  # noqa: F811
    page = _sign_in(browser, live_server, "oscar")
    page.get_by_role("link", name="Quarantaine").click()
    row = page.locator(f"tr[data-offer='{BAD}']")
    expect(row.locator("li[data-code='SIRET_CHECKSUM']")).to_contain_text("organisme responsable › SIRET")
    expect(row.locator("td[data-destination='intercarif']")).to_have_text("retenue")
    page.get_by_label("Problème").select_option("SIRET_CHECKSUM")
    page.get_by_role("button", name="Filtrer").click()
    expect(page.locator("tbody tr[data-offer]")).to_have_count(1)
    _shot(page, "quarantine-by-offer.png")

    page.locator("summary", has_text="Par organisme").click()
    organisme = page.locator("tr[data-organisme='73282932000075']")
    with page.expect_download() as download_info:
        organisme.get_by_role("link", name="CSV").click()
    download = download_info.value
    assert download.suggested_filename.startswith("quarantaine-73282932000075-")
    content = Path(download.path()).read_text(encoding="utf-8-sig")
    assert BAD in content and "SIRET_CHECKSUM" in content and MACON not in content

    organisme.get_by_role("link", name="page imprimable").click()
    expect(page.locator("h1")).to_have_text("Offres à corriger dans le back-office")
    expect(page.locator(f"section[data-offer='{BAD}'] tr[data-code='SIRET_CHECKSUM']")).to_contain_text("intercarif")
    page.emulate_media(media="print")
    expect(page.get_by_role("button", name="Imprimer")).to_be_hidden()  # not on paper
    _shot(page, "quarantine-organisme-print.png")
    page.context.close()


def test_partners_page_tokens_once_and_last_fetch(browser: Browser, stocked: Gateway, live_server: LiveServer) -> None:  # noqa: F811
    make_user(stocked, "ada", "admin")
    make_user(stocked, "vera", "viewer")
    page = _sign_in(browser, live_server, "ada")
    page.get_by_role("link", name="Partenaires").click()
    page.get_by_label("Nom").fill("carif-pull")
    page.get_by_label("intercarif").check()
    page.get_by_role("button", name="Ajouter et émettre un jeton").click()
    token = page.locator("[data-field='issued-token'] [data-token]").inner_text().strip()
    assert token.startswith("lheo_") and len(token) == 48
    _shot(page, "partners-token-once.png")

    # The partner pulls last night's snapshot with it; the page then shows that fetch.
    with httpx.Client(base_url=live_server.url, headers={"Authorization": f"Bearer {token}"}) as partner:
        body = partner.get("/api/v1/feeds/intercarif/snapshots/latest")
        assert body.status_code == 200
    feed = page.locator("section[data-partner='carif-pull'] tr[data-feed='intercarif']")
    deadline = time.monotonic() + 10  # the fetch log is written once the answer is sent
    while True:
        page.goto(f"{live_server.url}/partners")
        if feed.locator("[data-field='last-status']").inner_text() == "200" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    expect(feed.locator("[data-field='last-status']")).to_have_text("200")
    expect(feed.locator("[data-field='last-bytes']")).to_have_text(
        f"{body.num_bytes_downloaded:,}".replace(",", "\u202f")  # bytes on the wire (gzip)
    )
    assert token not in page.content()  # shown once, never again

    # Rotation: a new token, the old one still valid for the grace period; then revoke the partner.
    page.get_by_role("button", name="Nouveau jeton (rotation)").click()
    rotated = page.locator("[data-field='issued-token'] [data-token]").inner_text().strip()
    assert rotated != token and "L'ancien jeton reste valable" in page.content()
    page.locator("section[data-partner='carif-pull'] summary", has_text="Révoquer le partenaire").click()
    page.get_by_role("button", name="Confirmer la révocation").click()
    expect(page.locator("section[data-partner='carif-pull'] h2")).to_contain_text("révoqué")
    with httpx.Client(base_url=live_server.url, headers={"Authorization": f"Bearer {rotated}"}) as partner:
        assert partner.get("/api/v1/feeds").status_code == 401
    _shot(page, "partners.png")
    page.context.close()

    viewer = _sign_in(browser, live_server, "vera")
    viewer.goto(f"{live_server.url}/partners")
    pulled = viewer.locator("section[data-partner='carif-pull'] tr[data-feed='intercarif']")
    expect(pulled.locator("[data-field='last-status']")).to_have_text("200")
    expect(viewer.get_by_role("button", name="Ajouter et émettre un jeton")).to_have_count(0)
    expect(viewer.get_by_role("button", name="Nouveau jeton (rotation)")).to_have_count(0)
    viewer.context.close()


def test_a_replay_really_resends_the_feed(browser: Browser, gateway: Gateway, tmp_path: Path) -> None:  # noqa: F811
    """Delivered once into a local share; the operator's replay writes it there again (versioned name)."""
    from gateway.config import DestinationSettings
    from gateway.outbox.relay import deliver_pending
    from gateway.transports.local import LocalFolderSettings
    from tests.web.test_console import set_destinations, transmissions, wait_for_status

    share = tmp_path / "share"
    set_destinations(
        gateway, intercarif=DestinationSettings(transport=LocalFolderSettings(path=share, exists_policy="versioned"))
    )
    gateway.import_offers(base_offer(BTS, ("00100001",)))
    gateway.export("intercarif")
    assert deliver_pending(gateway.database, gateway.config).sent
    [row] = transmissions(gateway)
    [first] = sorted(share.glob("*.xml"))
    make_user(gateway, "oscar", "operator")
    with _serve(gateway) as server:
        page = _sign_in(browser, server, "oscar")
        page.goto(f"{server.url}/transmissions?status=sent")
        page.get_by_role("link", name="Rejouer la transmission correspondante…").click()
        expect(page.get_by_role("button", name="Confirmer le rejeu de 1 transmission(s)")).to_be_visible()
        _shot(page, "replay-bulk-confirm.png")
        page.get_by_role("link", name="Annuler").click()

        page.goto(f"{server.url}/transmissions/{row.id}")
        page.locator("summary", has_text="Rejouer").click()
        page.get_by_role("button", name="Confirmer le rejeu").click()
        wait_for_status(gateway, row.id, "sent")
        attempt = page.locator("tr[data-attempt='2']")
        expect(attempt).to_contain_text("rejeu : renvoyé", timeout=10_000)
        expect(attempt).to_contain_text("version 1")
        expect(attempt.locator("[data-field='bytes']")).not_to_have_text("0")
        _shot(page, "replay-resent.png")
        page.context.close()
    second = share / versioned_name(first.name, 1)
    assert second.read_bytes() == first.read_bytes()  # the same bytes, really sent again


@contextmanager
def _serve(gateway: Gateway) -> Iterator[LiveServer]:
    """The live server, started after the test configured its destinations."""
    import socket
    import threading

    import uvicorn

    from gateway.web.app import create_app

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app = create_app(gateway.config, gateway.database)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", gateway, server)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_docs_render_with_no_network_beyond_the_gateway(browser: Browser, live_server: LiveServer) -> None:  # noqa: F811
    page = browser.new_context().new_page()
    outside: list[str] = []

    def only_local(route: Route) -> None:
        if route.request.url.startswith(live_server.url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_local)
    page.goto(f"{live_server.url}/docs")
    expect(page.locator(".swagger-ui .title")).to_contain_text("Passerelle LHÉO", timeout=15_000)
    expect(page.get_by_text("/api/v1/feeds", exact=True).first).to_be_visible()
    _shot(page, "docs-offline.png")
    assert outside == []
    page.context.close()


def test_history_chart_and_alerts_in_the_browser(browser: Browser, gateway: Gateway, tmp_path: Path) -> None:  # noqa: F811
    from datetime import UTC, datetime

    from gateway.config import DestinationSettings
    from gateway.outbox.relay import deliver_pending
    from gateway.store.tables import AlertRow
    from gateway.transports.local import LocalFolderSettings
    from tests.web.test_console import set_destinations

    set_destinations(gateway, intercarif=DestinationSettings(transport=LocalFolderSettings(path=tmp_path / "share")))
    gateway.import_offers(base_offer(BTS, ("00100001",)))
    gateway.export("intercarif", at=datetime.now(UTC))
    assert deliver_pending(gateway.database, gateway.config).sent
    with gateway.database.session() as db, db.begin():
        db.add(AlertRow(destination="intercarif", kind="no_delivery", opened_at=datetime.now(UTC), message="test"))
    make_user(gateway, "oscar", "operator")
    with _serve(gateway) as server:
        page = _sign_in(browser, server, "oscar")
        page.get_by_role("link", name="Historique").click()
        chart = page.locator("section[data-destination='intercarif'] svg")
        expect(chart).to_be_visible()
        expect(chart.locator("rect[data-kind='sent']")).to_have_count(1)
        box = chart.bounding_box()
        assert box is not None and box["width"] > 300  # drawn, not collapsed
        _shot(page, "history.png")
        page.get_by_role("link", name="Alertes").click()
        expect(page.locator("tr[data-kind='no_delivery']")).to_contain_text("en cours")
        _shot(page, "alerts.png")
        page.context.close()
