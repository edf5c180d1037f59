"""The staff console over a real uvicorn server: sessions, CSRF, roles, pages and their figures."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from argon2 import PasswordHasher
from lxml import html
from sqlalchemy import select, update

from gateway.config import DestinationSettings, RetryPolicy
from gateway.outbox.relay import deliver_pending
from gateway.store.tables import AuditRow, ExportRunRow, ReplayRow, TransmissionRow, UserRow, WebSessionRow
from gateway.transports.local import LocalFolderSettings
from gateway.web import users
from gateway.web.console.sessions import digest
from gateway.web.console.views import format_moment
from gateway.web.users import add_user
from tests.conftest import Gateway, base_offer, with_changes
from tests.web.conftest import LiveServer

PASSWORD = "correct horse battery staple"
GOOD = "202611270001"
BAD = "202611270002"  # SIRET checksum error: quarantined everywhere


# ------------------------------------------------------------------------------ helpers


def make_user(gateway: Gateway, login: str, role: str) -> None:
    add_user(gateway.database, login, role, PASSWORD, actor="test")


def csrf_token(page: str, form: str | None = None) -> str:
    """The CSRF field of the page (of the form posting to `form`, when given)."""
    scope = f"//form[@action='{form}']" if form else ""
    found = html.fromstring(page).xpath(f"{scope}//input[@name='csrf_token']/@value")
    assert isinstance(found, list) and found, f"no CSRF field in {form or 'the page'}"
    return str(found[0])


def sign_in(client: httpx.Client, login: str, password: str = PASSWORD) -> httpx.Response:
    form = client.get("/login")
    assert form.status_code == 200
    return client.post(
        "/login",
        data={"login": login, "password": password, "csrf_token": csrf_token(form.text, "/login"), "next": "/"},
    )


@contextmanager
def staff_client(server: LiveServer, login: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, follow_redirects=False, timeout=10) as client:
        assert sign_in(client, login).status_code == 303
        yield client


def page_csrf(client: httpx.Client) -> str:
    return csrf_token(client.get("/").text)


def cell(page: str, xpath: str) -> str:
    found = html.fromstring(page).xpath(xpath)
    assert isinstance(found, list) and found, f"nothing at {xpath}"
    element = found[0]
    assert isinstance(element, html.HtmlElement)
    return " ".join(element.text_content().split())


def set_destinations(gateway: Gateway, **destinations: DestinationSettings) -> None:
    gateway.config = gateway.config.model_copy(update={"destinations": destinations})


def transmissions(gateway: Gateway) -> list[TransmissionRow]:
    with gateway.database.session() as db:
        return list(db.scalars(select(TransmissionRow).order_by(TransmissionRow.id)))


def wait_for_status(gateway: Gateway, transmission_id: int, status: str, timeout: float = 10) -> None:
    """The console delivers in a background task, which may still run when the redirect arrives."""
    deadline = time.monotonic() + timeout
    while True:
        with gateway.database.session() as db:
            row = db.get(TransmissionRow, transmission_id)
            assert row is not None
            if row.status == status:
                return
        assert time.monotonic() < deadline, f"transmission {transmission_id} still {row.status}"
        time.sleep(0.05)


def audit_rows(gateway: Gateway, action: str) -> list[AuditRow]:
    with gateway.database.session() as db:
        return list(db.scalars(select(AuditRow).where(AuditRow.action == action).order_by(AuditRow.id)))


# ------------------------------------------------------------------------------ fixtures


@pytest.fixture(autouse=True)
def light_hashes(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Still argon2id, with light parameters: the real ones cost ~0.4 s per login here.

    `tests/web/test_users.py` checks the production parameters themselves.
    """
    monkeypatch.setattr(users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    users._dummy_hash.cache_clear()
    yield
    users._dummy_hash.cache_clear()


@pytest.fixture
def store(gateway: Gateway, tmp_path: Path) -> Path:
    """Two offers exported; intercarif's delivery is dead (a file blocks its drop folder).

    Configured before the server starts: the app reads the configuration once.
    """
    drop = tmp_path / "drop"
    drop.write_text("a file where the drop folder should be")
    set_destinations(
        gateway,
        intercarif=DestinationSettings(
            transport=LocalFolderSettings(path=drop), schedule="0 3 * * *", retry=RetryPolicy(max_attempts=1)
        ),
    )
    report = gateway.import_offers(
        base_offer(GOOD), with_changes(base_offer(BAD, ("00200001",)), **{"responsable__siret": "73282932000075"})
    )
    assert len(report.results) == 2
    gateway.export()
    assert deliver_pending(gateway.database, gateway.config).dead
    for login, role in (("vera", "viewer"), ("oscar", "operator"), ("ada", "admin")):
        make_user(gateway, login, role)
    return drop


@pytest.fixture
def server(store: Path, live_server: LiveServer) -> Iterator[LiveServer]:
    yield live_server


# ------------------------------------------------------------------------------ sessions


def test_login_success_sets_a_strict_http_only_cookie(server: LiveServer) -> None:
    with httpx.Client(base_url=server.url, follow_redirects=False) as client:
        assert client.get("/").headers["location"] == "/login?next=%2F"
        response = sign_in(client, "oscar")
        assert response.status_code == 303 and response.headers["location"] == "/"
        [cookie] = [c for c in response.headers.get_list("set-cookie") if c.startswith("lheo_session=")]
        attributes = {part.strip().lower() for part in cookie.split(";")[1:]}
        assert {"httponly", "samesite=strict", "path=/", "max-age=28800"} <= attributes
        assert "secure" not in attributes  # secure_cookies is off for plain http
        dashboard = client.get("/")
        assert dashboard.status_code == 200 and "oscar" in dashboard.text
        assert "default-src 'self'" in dashboard.headers["content-security-policy"]
        assert dashboard.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(("login", "password"), [("oscar", "wrong password here"), ("nobody", PASSWORD), ("", "")])
def test_login_failure_says_nothing_more(server: LiveServer, login: str, password: str) -> None:
    with httpx.Client(base_url=server.url, follow_redirects=False) as client:
        response = sign_in(client, login, password)
        assert response.status_code == 401
        assert "Identifiant ou mot de passe incorrect." in response.text
        assert "lheo_session" not in client.cookies
        assert client.get("/").status_code == 303


def test_disabled_user_cannot_sign_in_and_loses_open_sessions(server: LiveServer) -> None:
    from gateway.web.users import disable_user

    with staff_client(server, "vera") as client:
        disable_user(server.gateway.database, "vera", actor="test")
        assert client.get("/").status_code == 303  # the open session ended with the account
        assert sign_in(client, "vera").status_code == 401


def test_login_form_needs_its_own_token_and_the_same_origin(server: LiveServer) -> None:
    with httpx.Client(base_url=server.url, follow_redirects=False) as client:
        token = csrf_token(client.get("/login").text, "/login")
        credentials = {"login": "oscar", "password": PASSWORD}
        assert client.post("/login", data=credentials).status_code == 403
        assert client.post("/login", data={**credentials, "csrf_token": "forged"}).status_code == 403
        forged_origin = client.post(
            "/login", data={**credentials, "csrf_token": token}, headers={"Origin": "https://evil.example"}
        )
        assert forged_origin.status_code == 403
        assert client.post("/login", data={**credentials, "csrf_token": token}).status_code == 303


def test_login_never_reuses_a_session_cookie_presented_before(server: LiveServer) -> None:
    database = server.gateway.database
    with httpx.Client(base_url=server.url, follow_redirects=False) as client:
        client.cookies.set("lheo_session", "planted-by-an-attacker", domain="127.0.0.1")
        assert sign_in(client, "oscar").status_code == 303
        first = client.cookies["lheo_session"]
        assert first != "planted-by-an-attacker"
        # Signing in again in the same browser: a new token, and the old session is gone.
        assert sign_in(client, "oscar").status_code == 303
        second = client.cookies["lheo_session"]
        assert second != first
    with database.session() as db:
        tokens = set(db.scalars(select(WebSessionRow.token_sha256)))
    assert tokens == {digest(second)}  # only digests are stored, never the cookie itself
    with httpx.Client(base_url=server.url, follow_redirects=False, cookies={"lheo_session": first}) as stale:
        assert stale.get("/").status_code == 303


def test_logout_deletes_the_session(server: LiveServer) -> None:
    with staff_client(server, "oscar") as client:
        token = client.cookies["lheo_session"]
        assert client.post("/logout", data={}).status_code == 403  # logout is CSRF-protected too
        response = client.post("/logout", data={"csrf_token": page_csrf(client)})
        assert response.status_code == 303 and response.headers["location"] == "/login"
        assert "lheo_session" not in client.cookies
    with server.gateway.database.session() as db:
        assert db.get(WebSessionRow, digest(token)) is None
    with httpx.Client(base_url=server.url, follow_redirects=False, cookies={"lheo_session": token}) as replayed:
        assert replayed.get("/").status_code == 303


def test_session_expires(server: LiveServer) -> None:
    with staff_client(server, "oscar") as client:
        assert client.get("/").status_code == 200
        with server.gateway.database.session() as db, db.begin():
            db.execute(update(WebSessionRow).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
        response = client.get("/transmissions")
        assert response.status_code == 303 and response.headers["location"] == "/login?next=%2Ftransmissions"


# ------------------------------------------------------------------------------ roles and CSRF


def test_viewer_sees_no_replay_and_is_refused_even_with_a_valid_token(server: LiveServer) -> None:
    [dead] = transmissions(server.gateway)
    with staff_client(server, "vera") as client:
        detail = client.get(f"/transmissions/{dead.id}")
        assert detail.status_code == 200 and 'data-status="dead"' in detail.text
        assert "Rejouer" not in detail.text and f"/transmissions/{dead.id}/replay" not in detail.text
        assert "Rejouer" not in client.get("/transmissions?status=dead").text
        token = csrf_token(detail.text)
        forged = client.post(f"/transmissions/{dead.id}/replay", data={"csrf_token": token})
        assert forged.status_code == 403 and "opérateur" in forged.text
        assert client.post("/transmissions/replay", data={"csrf_token": token, "ids": [dead.id]}).status_code == 403
        assert client.get("/transmissions/replay?status=dead").status_code == 403
        assert client.get("/users").status_code == 403
        assert client.post("/users", data={"csrf_token": token, "login": "x", "role": "admin"}).status_code == 403
    [still] = transmissions(server.gateway)
    assert still.status == "dead" and audit_rows(server.gateway, "replay") == []


def test_operator_post_needs_a_valid_token_and_the_same_origin(server: LiveServer, store: Path) -> None:
    [dead] = transmissions(server.gateway)
    with staff_client(server, "oscar") as client:
        detail = client.get(f"/transmissions/{dead.id}").text
        assert "Confirmer le rejeu" in detail
        url = f"/transmissions/{dead.id}/replay"
        assert client.post(url).status_code == 403
        assert client.post(url, data={"csrf_token": "not-the-token"}).status_code == 403
        other_site = client.post(
            url, data={"csrf_token": csrf_token(detail)}, headers={"Origin": "http://evil.example"}
        )
        assert other_site.status_code == 403
        with httpx.Client(base_url=server.url, follow_redirects=False) as anonymous:
            assert anonymous.post(url, data={"csrf_token": csrf_token(detail)}).status_code == 403
        assert transmissions(server.gateway)[0].status == "dead"

        store.unlink()  # the drop folder can now be created: the replay will go through
        response = client.post(url, data={"csrf_token": csrf_token(detail)}, headers={"Origin": server.url})
        assert response.status_code == 303
        assert response.headers["location"] == f"/transmissions/{dead.id}?notice=replayed"
    wait_for_status(server.gateway, dead.id, "sent")
    [entry] = audit_rows(server.gateway, "replay")
    assert (entry.actor, entry.target) == ("oscar", f"transmission:{dead.id}")
    assert "previous_status=dead" in entry.detail
    with server.gateway.database.session() as db:
        [request] = db.scalars(select(ReplayRow)).all()
        assert request.requested_by == "oscar"


def test_bulk_replay_confirms_then_replays_what_was_shown(server: LiveServer) -> None:
    gateway = server.gateway
    gateway.export("intercarif", at=datetime(2026, 11, 28, 8, tzinfo=UTC))  # a second, different feed
    with gateway.database.session() as db, db.begin():
        db.execute(update(TransmissionRow).values(status="dead"))
    ids = [row.id for row in transmissions(gateway)]
    assert len(ids) == 2
    with staff_client(server, "oscar") as client:
        # Unfiltered, the list offers no bulk replay, and the confirmation page refuses.
        unfiltered = client.get("/transmissions").text
        assert 'data-action="bulk-replay"' not in unfiltered and 'data-field="bulk-hint"' in unfiltered
        assert client.get("/transmissions/replay").status_code == 400
        listing = client.get("/transmissions?status=dead&destination=intercarif")
        assert 'data-action="bulk-replay"' in listing.text
        confirm = client.get("/transmissions/replay?status=dead&destination=intercarif")
        assert confirm.status_code == 200 and "Confirmer le rejeu de 2 transmission(s)" in confirm.text
        response = client.post(
            "/transmissions/replay",
            data={"csrf_token": csrf_token(confirm.text), "ids": ids, "destination": "intercarif"},
        )
        assert response.status_code == 303
        assert response.headers["location"] == "/transmissions?destination=intercarif&replayed=2"
        assert "2 transmission(s) remise(s) en attente" in client.get(response.headers["location"]).text
    assert {entry.target for entry in audit_rows(gateway, "replay")} == {f"transmission:{i}" for i in ids}


# ------------------------------------------------------------------------------ pages and figures


def test_dashboard_figures_match_the_store(server: LiveServer, store: Path) -> None:
    gateway = server.gateway
    gateway.export("intercarif", at=datetime(2026, 11, 28, 8, tzinfo=UTC))  # supersedes nothing: first is dead
    store.unlink()
    delivered = deliver_pending(gateway.database, gateway.config)
    assert len(delivered.sent) == 1
    with gateway.database.session() as db:
        run = db.scalars(
            select(ExportRunRow).where(ExportRunRow.destination == "intercarif").order_by(ExportRunRow.id.desc())
        ).first()
        assert run is not None
        sent = db.scalars(select(TransmissionRow).where(TransmissionRow.status == "sent")).one()
    with staff_client(server, "vera") as client:
        page = client.get("/").text
    row = "//tr[@data-destination='intercarif']"
    assert cell(page, f"{row}/td[@data-field='exported']") == str(run.offers_exported) == "1"
    assert cell(page, f"{row}/td[@data-field='quarantined']") == str(run.offers_quarantined) == "1"
    assert cell(page, f"{row}/td[@data-field='last-export']//*[@data-field='feed']") == run.feed_id
    assert cell(page, f"{row}/td[@data-field='last-sent']") == format_moment(sent.sent_at, False)
    assert cell(page, f"{row}/td[@data-field='pending']") == "0"
    assert cell(page, f"{row}/td[@data-field='failed']") == "0"
    assert cell(page, f"{row}/td[@data-field='dead']") == "1"
    assert cell(page, f"{row}/td[@data-field='oldest-waiting']") == "—"
    # No `lheo-gateway run` instance beats: no next-run time that nothing would honour.
    assert cell(page, f"{row}/td[@data-field='next-run']").startswith("aucun service actif")
    # Destinations with feeds but no delivery configured are listed too.
    assert "non configurée" in cell(page, "//tr[@data-destination='pole-emploi']/th")


def test_transmission_pages_show_every_attempt(server: LiveServer) -> None:
    [dead] = transmissions(server.gateway)
    with staff_client(server, "vera") as client:
        listing = client.get("/transmissions?status=dead")
        assert f'data-transmission="{dead.id}"' in listing.text
        assert 'data-transmission="' not in client.get("/transmissions?status=sent").text
        detail = client.get(f"/transmissions/{dead.id}")
        attempt = cell(detail.text, "//tr[@data-attempt='1']")
        assert dead.last_error_code and dead.last_error_code in attempt and "abandonnée" in attempt
        assert 'http-equiv="refresh"' not in detail.text  # only while pending or sending
        assert client.get("/transmissions/999999").status_code == 404
        assert client.get("/transmissions?since=hier").status_code == 400
        assert f'data-transmission="{dead.id}"' in client.get("/transmissions?since=2000-01-01").text
        assert 'data-transmission="' not in client.get("/transmissions?since=2999-01-01").text


def test_quarantine_and_offer_pages_explain_each_destination(server: LiveServer) -> None:
    with staff_client(server, "vera") as client:
        quarantine = client.get("/quarantine?destination=intercarif").text
        held = cell(quarantine, f"//tr[@data-offer='{BAD}']")
        assert "SIRET_CHECKSUM" in held and "SIRET" in held
        assert cell(quarantine, f"//tr[@data-offer='{BAD}']/td[@data-destination='intercarif']") == "retenue"
        assert f'href="/offers/{BAD}"' in quarantine
        bad = client.get(f"/offers/{BAD}").text
        assert "SIRET_CHECKSUM" in cell(bad, "//tr[@data-destination='intercarif']")
        assert cell(bad, "//tr[@data-destination='intercarif']/td[@data-field='in-feed']") == "non"
        good = client.get(f"/offers/{GOOD}").text
        assert cell(good, "//tr[@data-destination='intercarif']/td[@data-field='in-feed']").startswith("oui")
        assert cell(good, "//tr[@data-destination='intercarif']/td[@data-field='verdict']") == "exportée"
        assert "00100001" in good and "Bordeaux" in good
        assert client.get("/offers/000000000000").status_code == 404


def test_admin_manages_users_and_every_change_is_audited(server: LiveServer) -> None:
    gateway = server.gateway
    with staff_client(server, "ada") as client:
        token = csrf_token(client.get("/users").text)
        weak = client.post("/users", data={"csrf_token": token, "login": "paul", "role": "viewer", "password": "short"})
        assert weak.status_code == 400 and "au moins 12 caractères" in weak.text
        added = client.post(
            "/users", data={"csrf_token": token, "login": "paul", "role": "operator", "password": PASSWORD}
        )
        assert added.status_code == 303
        assert client.post("/users/paul/role", data={"csrf_token": token, "role": "viewer"}).status_code == 303
        assert client.post("/users/paul/disable", data={"csrf_token": token}).status_code == 303
        assert client.post("/users/ada/disable", data={"csrf_token": token}).status_code == 400
        users_page = client.get("/users").text
        assert "désactivé le" in cell(users_page, "//tr[@data-user='paul']")
        audit_page = client.get("/audit").text
    with gateway.database.session() as db:
        paul = db.scalars(select(UserRow).where(UserRow.login == "paul")).one()
        assert paul.password_hash.startswith("$argon2id$") and PASSWORD not in paul.password_hash
        assert (paul.role, paul.disabled_at is not None) == ("viewer", True)
    actions = [(e.actor, e.action, e.target) for e in audit_rows(gateway, "user.add") if e.actor == "ada"]
    assert actions == [("ada", "user.add", "user:paul")]
    assert [e.detail for e in audit_rows(gateway, "user.set-role")] == ["operator -> viewer"]
    assert [e.target for e in audit_rows(gateway, "user.disable")] == ["user:paul"]
    assert 'data-action="user.disable"' in audit_page and "user:paul" in audit_page


def test_static_files_come_from_a_whitelist(server: LiveServer) -> None:
    with httpx.Client(base_url=server.url) as client:
        css = client.get("/static/console.css")
        assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
        assert client.get("/static/routes.py").status_code == 404
        assert client.get("/static/%2e%2e%2froutes.py").status_code == 404
