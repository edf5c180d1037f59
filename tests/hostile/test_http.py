"""Hostile HTTP requests against the real server (uvicorn on 127.0.0.1, with its access log on).

Every answer is a 4xx with the API's error body for bad input (or a clean console page),
never a 500; no traceback in the server's log; a token never reaches a log, whether the
fetch log in the store or the access log; links come from `[web] public_url`, not `Host`;
logins are throttled.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest
import uvicorn
from sqlalchemy import select

from gateway.config import WebSettings
from gateway.store.tables import PartnerFetchRow
from gateway.web.console import throttle
from gateway.web.console.throttle import ADDRESS_THRESHOLD
from gateway.web.partners import add_partner
from gateway.web.server import make_server
from tests.conftest import FIXED_TIME, Gateway, base_offer
from tests.web.conftest import _free_port
from tests.web.test_console import PASSWORD, csrf_token, make_user, sign_in

API = "/api/v1"
HUGE = "9" * 5000
PUBLIC = "https://lheo.carif.example/passerelle"


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info:
            text += "\nTraceback " + logging.Formatter().formatException(record.exc_info)
        self.lines.append(text)


@dataclass
class Server:
    url: str
    gateway: Gateway
    token: str
    log: _Collect


@pytest.fixture
def server(gateway: Gateway) -> Iterator[Server]:
    gateway.import_offers(*(base_offer(f"2026112700{n:02d}", (f"001000{n:02d}",)) for n in range(1, 4)))
    for hours in range(3):  # three snapshots: pagination has a next page
        gateway.export("intercarif", at=FIXED_TIME + timedelta(hours=hours))
    port = _free_port()
    gateway.config = gateway.config.model_copy(
        update={"web": WebSettings(host="127.0.0.1", port=port, public_url=PUBLIC)}
    )
    token = add_partner(gateway.database, gateway.config, "rco", ["intercarif"], "test").token
    instance: uvicorn.Server = make_server(gateway.config, gateway.database)
    instance.config.lifespan = "off"
    collect = _Collect()
    loggers = [logging.getLogger(name) for name in ("uvicorn.access", "uvicorn.error", "gateway")]
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not instance.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    for logger in loggers:  # after uvicorn configured logging (it replaces handlers)
        logger.addHandler(collect)
    yield Server(f"http://127.0.0.1:{port}", gateway, token, collect)
    instance.should_exit = True
    thread.join(timeout=10)
    for logger in loggers:
        logger.removeHandler(collect)


RANGES = [
    f"bytes=0-{HUGE}",
    f"bytes=-{HUGE}",
    f"bytes={HUGE}-",
    f"bytes={HUGE}-{HUGE}",
    "bytes=0-" + "9" * 19,
    "bytes=" + "9" * 19 + "-",
    "bytes=-" + "9" * 30,
    "bytes=0-1," * 2000 + "0-1",
    "bytes=--1",
    "bytes=1-0",
    "bytes=abc-def",
    "bytes=٠-١",
    "bytes=0x10-0x20",
    "bytes= 0 - 10",
    "bytes=-0",
    "bytes=0-0",
    "BYTES=0-10",
    "items=0-10",
    "bytes",
    "bytes=",
    "=",
    "bytes=1e3-2e3",
    "bytes=-1-2",
    "bytes=0-1;2-3",
    "bytes=18446744073709551616-",
]
EXPECTED_416 = {0, 1, 2, 3, 4, 5, 6, 24}


def _api(server: Server, token: str | None = "good") -> httpx.Client:
    headers = {"Authorization": f"Bearer {server.token if token == 'good' else token}"} if token else {}
    return httpx.Client(base_url=server.url, headers=headers, timeout=20)


def _assert_api_error(response: httpx.Response) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    assert "error" in response.json() and response.json()["error"]["code"]


def test_hostile_ranges_never_500(server: Server) -> None:
    with _api(server) as client:
        for index, spec in enumerate(RANGES):
            response = client.get(f"{API}/feeds/intercarif/snapshots/latest", headers={"Range": spec.encode()})
            assert response.status_code in {200, 206, 416}, (spec[:60], response.status_code, response.text[:200])
            if index in EXPECTED_416:
                assert response.status_code == 416, spec[:60]
                assert response.json()["error"]["code"] == "RANGE_NOT_SATISFIABLE"
    _no_traceback(server)


REQUESTS = [
    ("GET", f"{API}/feeds/../../../etc/passwd", {}),
    ("GET", f"{API}/feeds/%2e%2e%2f%2e%2e%2fetc/snapshots", {}),
    ("GET", f"{API}/feeds/intercarif/snapshots/..%2f..%2fgateway.sqlite3", {}),
    ("GET", f"{API}/feeds/intercarif/snapshots/{'a' * 5000}", {}),
    ("GET", f"{API}/feeds/intercarif/snapshots/intercarif_20261127T080000Z_zzzzzzzzzzzz", {}),
    ("GET", f"{API}/feeds/intercarif/snapshots/intercarif_99999999T999999Z_000000000000", {}),
    ("GET", f"{API}/feeds/intercarif/snapshots/%00", {}),
    ("GET", f"{API}/feeds/%ff%fe/snapshots", {}),
    ("GET", f"{API}/feeds/intercarif\u202e/snapshots", {}),
    ("GET", f"{API}/feeds/parcoursup/snapshots", {}),
    ("GET", f"{API}/feeds/unknown/snapshots/latest", {}),
    ("GET", f"{API}/feeds/intercarif/snapshots?limit=-1", {}),
    ("GET", f"{API}/feeds/intercarif/snapshots?limit=0", {}),
    ("GET", f"{API}/feeds/intercarif/snapshots?limit={HUGE}", {}),
    ("GET", f"{API}/feeds/intercarif/snapshots?limit=abc", {}),
    ("GET", f"{API}/feeds/intercarif/snapshots?limit=1e3", {}),
    ("GET", f"{API}/feeds/intercarif/snapshots?cursor=!!!", {}),
    ("GET", f"{API}/feeds/intercarif/snapshots?cursor={'A' * 199}", {}),
    ("GET", f"{API}/feeds/intercarif/snapshots?cursor={'A' * 5000}", {}),
    ("GET", f"{API}/feeds/intercarif/snapshots?cursor=%ff%fe", {}),
    ("GET", f"{API}/feeds/intercarif/snapshots?cursor=aW50ZXJjYXJpZl8nOyBEUk9QIFRBQkxFIGZlZWRzOy0t", {}),
    ("GET", f"{API}/feeds/intercarif/snapshots/latest/diff?against={'x' * 3000}", {}),
    ("GET", f"{API}/feeds/intercarif/snapshots/latest/diff?against=../../etc", {}),
    ("GET", f"{API}/feeds/intercarif/snapshots/latest/diff", {}),
    ("POST", f"{API}/feeds/intercarif/snapshots", {}),
    ("PUT", f"{API}/feeds/intercarif/snapshots/latest", {}),
    ("DELETE", f"{API}/feeds/intercarif/snapshots/latest", {}),
    ("PATCH", f"{API}/feeds", {}),
    ("TRACE", f"{API}/feeds", {}),
    ("GET", f"{API}/feeds/intercarif/snapshots/latest", {"If-None-Match": '"' + "x" * 8000 + '"'}),
    ("GET", f"{API}/feeds/intercarif/snapshots/latest", {"If-Modified-Since": "yesterday"}),
    ("GET", f"{API}/feeds/intercarif/snapshots/latest", {"If-Modified-Since": "Fri, 31 Dec 9999 23:59:59 GMT"}),
    ("GET", f"{API}/feeds/intercarif/snapshots/latest", {"If-Modified-Since": "Mon, 01 Jan 0001 00:00:00 GMT"}),
    ("GET", f"{API}/feeds/intercarif/snapshots/latest", {"If-Range": "Fri, 31 Dec 9999 23:59:59 GMT", "Range": "0-1"}),
    ("GET", f"{API}/feeds/intercarif/snapshots/latest", {"If-Range": "garbage", "Range": "bytes=0-1"}),
    ("GET", f"{API}/feeds/intercarif/snapshots/latest", {"Accept-Encoding": "gzip;q=" + "9" * 400}),
    ("GET", f"{API}/feeds/intercarif/snapshots/latest", {"Accept-Encoding": ",".join(["gzip"] * 2000)}),
]  # fmt: skip


def test_hostile_api_requests_get_a_4xx_error_body_or_a_clean_answer(server: Server) -> None:
    with _api(server) as client:
        for method, path, headers in REQUESTS:
            response = client.request(method, path, headers=headers)
            assert response.status_code < 500, (path[:80], response.status_code, response.text[:300])
            within_api = response.request.url.path.startswith(API)  # `..` segments may leave it
            if response.status_code >= 400 and response.status_code != 405 and within_api:
                _assert_api_error(response)
    _no_traceback(server)


AUTHORIZATIONS = [
    None,
    "",
    "Bearer",
    "Bearer lheo_" + "a" * 10_000,
    "Bearer lheo_\u00e9\u00e8",
    "Bearer lheo_x\x01",
    "Basic cmNvOnNlY3JldA==",
    "Token lheo_abc",
    "Bearer lheo_abc lheo_def",
    "Bearer lheo_abc' OR '1'='1",
    "Bearer ../../../etc/passwd",
    "Digest username=x",
]


def test_bad_authorization_is_401(server: Server) -> None:
    with httpx.Client(base_url=server.url, timeout=20) as client:
        for value in AUTHORIZATIONS:
            headers = {} if value is None else {"Authorization": value.encode()}
            response = client.get(f"{API}/feeds/intercarif/snapshots/latest", headers=headers)
            if response.status_code == 400:  # a control character: the HTTP parser refuses the request
                continue
            assert response.status_code == 401, (value, response.status_code)
            _assert_api_error(response)
    _no_traceback(server)


TOKEN_PLACES = ["?access_token={t}", "?token={t}", "?api_key={t}&limit=1", "?x={t}", "/../{t}"]


def test_token_elsewhere_than_the_header_is_refused_and_never_logged(server: Server) -> None:
    with httpx.Client(base_url=server.url, timeout=20) as client:
        for place in TOKEN_PLACES:
            suffix = place.format(t=server.token)
            for extra in ({}, {"X-Api-Key": server.token}, {"Cookie": f"token={server.token}"}):
                response = client.get(f"{API}/feeds/intercarif/snapshots{suffix}", headers=extra)
                assert response.status_code in {401, 404}, (place, response.status_code)
    time.sleep(0.6)  # the fetch log is written in batches
    with server.gateway.database.session() as db:
        logged = [row.path for row in db.scalars(select(PartnerFetchRow))]
    assert logged and all(server.token not in path for path in logged), logged
    secret = server.token.removeprefix("lheo_")
    assert all(secret not in line for line in server.log.lines), [line for line in server.log.lines if secret in line]
    access = [line for line in server.log.lines if "/api/v1/feeds/intercarif/snapshots" in line]
    assert any("access_token=%2A%2A%2A" in line or "access_token=***" in line for line in access), access[:3]


def test_pagination_link_comes_from_the_public_url_not_the_host_header(server: Server) -> None:
    with _api(server) as client:
        for host in ("evil.example", "evil.example:443", "127.0.0.1:1", "a" * 300):
            response = client.get(f"{API}/feeds/intercarif/snapshots?limit=1", headers={"Host": host})
            assert response.status_code == 200
            link = response.headers["Link"]
            assert link.startswith(f"<{PUBLIC}{API}/feeds/intercarif/snapshots?") and "evil" not in link, link
            assert host not in link


CONSOLE = [
    "/transmissions?since=0001-01-01",
    "/transmissions?since=9999-12-31",
    "/transmissions?since=1899-12-31",
    "/transmissions?since=2026-02-30",
    "/transmissions?since=" + "9" * 5000,
    "/transmissions?since=%00",
    "/transmissions?status=%3Cscript%3E",
    "/transmissions?destination=%3Cscript%3Ealert(1)%3C/script%3E",
    "/transmissions?page=" + HUGE,
    "/transmissions?page=-1",
    "/transmissions/replay?since=0001-01-01",
    "/transmissions/replay?since=9999-12-31&status=dead",
    "/transmissions/replay?status=dead&destination=" + "x" * 3000,
    "/transmissions/" + HUGE,
    "/transmissions/-1",
    "/offers/" + "x" * 3000,
    "/offers/%00",
    "/offers/..%2f..%2fetc%2fpasswd",
    "/quarantine?x=" + HUGE,
    "/audit?page=" + HUGE,
    "/login?next=https://evil.example/",
    "/login?next=//evil.example",
    "/login?next=" + "a" * 5000,
    "/transmissions?replayed=" + "9" * 30,
    "/transmissions?replayed=" + HUGE,
    "/transmissions?notice=%3Cscript%3E",
    "/transmissions/1?notice=" + "x" * 3000,
    "/offers/find?reference=" + "x" * 3000,
    "/offers/find?reference=%00%ff",
    "/users?x=1",
    "/audit?since=0001-01-01",
]


def test_hostile_console_requests_never_500(server: Server) -> None:
    make_user(server.gateway, "ops", "operator")
    with httpx.Client(base_url=server.url, timeout=20, follow_redirects=False) as client:
        assert sign_in(client, "ops").status_code == 303
        for target in CONSOLE:
            response = client.get(target)
            assert response.status_code < 500, (target[:80], response.status_code, response.text[:300])
            if response.status_code in {301, 302, 303, 307}:
                location = response.headers["location"]
                assert not location.startswith(("http", "//")), location
    _no_traceback(server)


def test_hostile_bulk_replay_posts_never_500(server: Server) -> None:
    make_user(server.gateway, "ops", "operator")
    with httpx.Client(base_url=server.url, timeout=20, follow_redirects=False) as client:
        assert sign_in(client, "ops").status_code == 303
        page = client.get("/transmissions/replay?status=pending")
        assert page.status_code == 200
        token = csrf_token(page.text)
        origin = {"Origin": server.url}
        for ids in (["9" * 30], ["-1"], ["abc"], ["9" * 5000], [str(2**63)], ["1"] * 5000, []):
            form = {"csrf_token": token, "ids": ids, "destination": "x" * 300}
            response = client.post("/transmissions/replay", data=form, headers=origin)
            assert response.status_code < 500, (ids[:1], response.status_code, response.text[:200])
    _no_traceback(server)


def test_the_corpus_has_over_100_requests() -> None:
    count = len(RANGES) + len(REQUESTS) + len(AUTHORIZATIONS) + 3 * len(TOKEN_PLACES) + 4 + len(CONSOLE) + 27
    assert count >= 100


def test_login_is_throttled_per_account_and_the_right_password_is_refused_while_locked(server: Server) -> None:
    make_user(server.gateway, "alice", "viewer")
    with httpx.Client(base_url=server.url, timeout=20, follow_redirects=False) as client:
        for _ in range(5):
            assert sign_in(client, "alice", "wrong password!!").status_code == 401
        locked = sign_in(client, "alice", PASSWORD)
        assert locked.status_code == 429 and "Trop de tentatives" in locked.text
        assert int(locked.headers["Retry-After"]) > 0
        form = client.get("/login")
        assert form.status_code == 200 and csrf_token(form.text, "/login")
    make_user(server.gateway, "bob", "viewer")
    with httpx.Client(base_url=server.url, timeout=20, follow_redirects=False) as client:
        assert sign_in(client, "bob").status_code == 303  # another account is not locked by alice's


def test_login_is_throttled_per_client_address(server: Server) -> None:
    # 18 failures on as many accounts recorded as the console records them (each real one costs
    # an argon2 verification), then the last two through the form.
    for number in range(ADDRESS_THRESHOLD - 2):
        throttle.record_failure(server.gateway.database, f"user{number}", "127.0.0.1")
    make_user(server.gateway, "carol", "viewer")
    with httpx.Client(base_url=server.url, timeout=20, follow_redirects=False) as client:
        assert sign_in(client, "carol", "wrong password!!").status_code == 401
        assert sign_in(client, "dave", "wrong password!!").status_code == 401
        refused = sign_in(client, "carol")  # a third account, the right password: refused
        assert refused.status_code == 429 and "Trop de tentatives" in refused.text


def _no_traceback(server: Server) -> None:
    bad = [line for line in server.log.lines if "Traceback" in line or "Exception in ASGI" in line]
    assert not bad, bad[:2]
