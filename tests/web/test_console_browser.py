"""The console in a real headless Chromium: an operator replays a dead HTTP delivery and watches it
turn to sent; a viewer gets no Replay button and a forged POST is refused.

The transmission dies for real: the destination's HTTP transport posts to a real receiver that
answers 400 (not retryable), then 200 to the replay. Screenshots are kept in
`test-artifacts/screenshots/` for a human to look at.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from gateway.config import DestinationSettings, RetryPolicy
from gateway.outbox.relay import deliver_pending
from gateway.transports.http_settings import HttpSettings
from tests.conftest import REPO, Gateway, base_offer, with_changes
from tests.transports.http_fixtures import http_receiver  # noqa: F401
from tests.transports.http_receiver import HttpReceiver, Reply
from tests.web.conftest import LiveServer
from tests.web.test_console import (  # the same helpers and light hashes as the HTTP-level tests
    BAD,
    GOOD,
    PASSWORD,
    audit_rows,
    light_hashes,  # noqa: F401
    make_user,
    set_destinations,
    transmissions,
)

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--lang=fr-FR",  # French date inputs in the screenshots
]

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason=f"Debian's Chromium not found at {CHROMIUM} (apt-get install chromium)"
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def dead_transmission(gateway: Gateway, http_receiver: HttpReceiver) -> int:  # noqa: F811
    """A feed whose HTTP delivery died on a 400; configured before the server reads the config."""
    set_destinations(
        gateway,
        intercarif=DestinationSettings(
            transport=HttpSettings(url=f"{http_receiver.url}/feeds", connect_timeout=2, read_timeout=5),
            schedule="0 3 * * *",
            retry=RetryPolicy(max_attempts=3),
        ),
    )
    bad = with_changes(base_offer(BAD, ("00200001",)), responsable__siret="73282932000075")
    gateway.import_offers(base_offer(GOOD), bad)
    gateway.export()
    http_receiver.will(Reply.json(400, {"error": "schema", "detail": "élément <action> manquant"}))
    assert deliver_pending(gateway.database, gateway.config).dead
    make_user(gateway, "oscar", "operator")
    make_user(gateway, "vera", "viewer")
    [row] = transmissions(gateway)
    return row.id


@pytest.fixture
def server(dead_transmission: int, live_server: LiveServer) -> LiveServer:
    return live_server


def _sign_in(browser: Browser, server: LiveServer, login: str) -> Page:
    page = browser.new_context(viewport={"width": 1440, "height": 900}, locale="fr-FR").new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{server.url}/login")
    if login == "oscar":
        _shot(page, "login.png")
    page.get_by_label("Identifiant").fill(login)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page).to_have_url(f"{server.url}/")
    return page


def _shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


def test_operator_replays_a_dead_transmission_and_sees_it_sent(
    browser: Browser,
    server: LiveServer,
    dead_transmission: int,
    http_receiver: HttpReceiver,  # noqa: F811
) -> None:
    page = _sign_in(browser, server, "oscar")
    row = page.locator("tr[data-destination='intercarif']")
    expect(row.locator("td[data-field='dead']")).to_have_text("1")
    expect(row.locator("td[data-field='quarantined']")).to_have_text("1")
    _shot(page, "dashboard.png")

    page.goto(f"{server.url}/transmissions?status=dead")
    _shot(page, "transmissions.png")
    page.get_by_role("link", name=f"#{dead_transmission}").click()
    status = page.locator("#status [data-status]")
    expect(status).to_have_attribute("data-status", "dead")
    expect(page.locator("tr[data-attempt='1']")).to_contain_text("HTTP 400")
    _shot(page, "transmission-dead.png")

    page.locator("summary", has_text="Rejouer").click()  # opens the confirmation step
    _shot(page, "transmission-confirm.png")
    page.get_by_role("button", name="Confirmer le rejeu").click()
    # The page refreshes itself while pending/sending; the receiver now answers 200.
    expect(status).to_have_attribute("data-status", "sent", timeout=10_000)
    expect(page.locator("tr[data-attempt='2']")).to_contain_text("rejeu")
    _shot(page, "transmission-sent.png")
    assert [request.path for request in http_receiver.requests] == ["/feeds", "/feeds"]
    [entry] = audit_rows(server.gateway, "replay")
    assert entry.actor == "oscar"

    page.goto(f"{server.url}/quarantine")
    expect(page.locator(f"tr[data-offer='{BAD}']").first).to_contain_text("SIRET_CHECKSUM")
    _shot(page, "quarantine.png")
    page.get_by_role("link", name=BAD).first.click()
    expect(page.locator("tr[data-destination='intercarif'] td[data-field='in-feed']")).to_have_text("non")
    _shot(page, "offer.png")
    page.goto(f"{server.url}/audit")
    _shot(page, "audit.png")
    page.context.close()


def test_viewer_has_no_replay_button_and_a_forged_post_is_refused(
    browser: Browser, server: LiveServer, dead_transmission: int
) -> None:
    page = _sign_in(browser, server, "vera")
    page.goto(f"{server.url}/transmissions/{dead_transmission}")
    expect(page.locator("#status [data-status]")).to_have_attribute("data-status", "dead")
    expect(page.get_by_text("Rejouer", exact=True)).to_have_count(0)
    expect(page.get_by_role("button", name="Confirmer le rejeu")).to_have_count(0)
    _shot(page, "transmission-viewer.png")

    url = f"{server.url}/transmissions/{dead_transmission}/replay"
    # Without the CSRF token, from the page itself (the browser sends the session cookie)...
    status = page.evaluate("url => fetch(url, {method: 'POST'}).then(r => r.status)", url)
    assert status == 403
    # ...and even with the viewer's own valid token: the role is checked on the server.
    token = page.locator("form[action='/logout'] input[name='csrf_token']").get_attribute("value")
    assert token
    refused = page.request.post(url, form={"csrf_token": token}, headers={"Origin": server.url})
    assert refused.status == 403 and "opérateur" in refused.text()
    assert [row.status for row in transmissions(server.gateway)] == ["dead"]
    assert audit_rows(server.gateway, "replay") == []
    page.context.close()
