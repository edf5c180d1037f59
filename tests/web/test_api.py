"""Partner snapshot API over a real uvicorn (create_app), driven with httpx and curl: no mocks."""

from __future__ import annotations

import gzip
import hashlib
import json
import sqlite3
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, update

from gateway.store.tables import FeedRow, PartnerFetchRow, PartnerTokenRow
from gateway.web.api import files
from gateway.web.api.auth import FetchLog
from gateway.web.partners import add_partner, revoke
from tests.conftest import FIXED_TIME, Gateway, base_offer, with_changes
from tests.web.conftest import LiveServer

CURL = "/usr/bin/curl"
API = "/api/v1"


def _offer(number: int) -> dict[str, object]:
    return base_offer(f"2026112700{number:02d}", (f"001000{number:02d}",))


def _token(gateway: Gateway, name: str, *feeds: str) -> str:
    return add_partner(gateway.database, gateway.config, name, feeds, "test").token


def _export(gateway: Gateway, *destinations: str, hours: int = 0) -> list[str]:
    results = gateway.export(*destinations, at=FIXED_TIME + timedelta(hours=hours))
    return [result.feed_id for result in results.values() if result.feed_id]


def _client(server: LiveServer, token: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=server.url, headers=headers, timeout=10)


def _curl(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([CURL, "-sS", *args], capture_output=True, check=True, timeout=20)


def _error_code(response: httpx.Response) -> str:
    code: str = response.json()["error"]["code"]
    return code


def _feed(gateway: Gateway, feed_id: str) -> FeedRow:
    with gateway.database.session() as db:
        row = db.get(FeedRow, feed_id)
    assert row is not None
    return row


def _fetches(gateway: Gateway, expected: int) -> list[PartnerFetchRow]:
    """The fetch log once `expected` rows are there (each is written just after its answer's last byte)."""
    deadline = time.monotonic() + 5
    while True:
        with gateway.database.session() as db:
            rows = list(db.scalars(select(PartnerFetchRow).order_by(PartnerFetchRow.id)))
        if len(rows) >= expected or time.monotonic() > deadline:
            return rows
        time.sleep(0.02)


@pytest.fixture
def server(live_server: LiveServer) -> LiveServer:
    gateway = live_server.gateway
    gateway.import_offers(_offer(1), _offer(2), _offer(3))
    return live_server


def test_feeds_listing_and_cursor_pagination(server: LiveServer) -> None:
    gateway = server.gateway
    ids = [_export(gateway, "intercarif", hours=hour)[0] for hour in range(5)]
    token = _token(gateway, "acme", "intercarif", "parcoursup")
    with _client(server, token) as client:
        feeds = client.get(f"{API}/feeds").json()["feeds"]
        assert feeds == [
            {
                "name": "intercarif",
                "label": "Intercarif (Réseau des Carif-Oref)",
                "latest_snapshot_id": ids[-1],
                "empty_since": None,
            },
            {"name": "parcoursup", "label": feeds[1]["label"], "latest_snapshot_id": None, "empty_since": None},
        ]
        seen, pages = [], 0
        url: str | None = f"{API}/feeds/intercarif/snapshots?limit=2"
        while url:
            response = client.get(url)
            assert response.status_code == 200
            pages += 1
            seen += [item["id"] for item in response.json()["items"]]
            url = response.links.get("next", {}).get("url")
            assert (url is None) == (response.json()["next_cursor"] is None)
        assert pages == 3 and seen == ids[::-1]

        entry = client.get(f"{API}/feeds/intercarif/snapshots?limit=1").json()["items"][0]
        row = _feed(gateway, ids[-1])
        assert entry["sha256"] == hashlib.sha256((gateway.outbox / row.path).read_bytes()).hexdigest()
        assert entry["gz_sha256"] == hashlib.sha256((gateway.outbox / row.gz_path).read_bytes()).hexdigest()
        sizes = ((gateway.outbox / row.path).stat().st_size, (gateway.outbox / row.gz_path).stat().st_size)
        assert (entry["size"], entry["gz_size"]) == sizes
        assert (entry["offer_count"], entry["session_count"], entry["lheo_version"]) == (3, 3, "2.3")

        assert _error_code(client.get(f"{API}/feeds/intercarif/snapshots?cursor=n0t-a-cursor")) == "BAD_CURSOR"
        assert client.get(f"{API}/feeds/intercarif/snapshots?limit=0").status_code == 422

        # A purged feed (retention) is not listed and cannot be fetched any more.
        with gateway.database.session() as db, db.begin():
            db.execute(update(FeedRow).where(FeedRow.id == ids[-1]).values(purged_at=FIXED_TIME))
        listed = [item["id"] for item in client.get(f"{API}/feeds/intercarif/snapshots").json()["items"]]
        assert listed == ids[-2::-1]
        assert _error_code(client.get(f"{API}/feeds/intercarif/snapshots/{ids[-1]}")) == "SNAPSHOT_NOT_FOUND"
        latest = client.get(f"{API}/feeds/intercarif/snapshots/latest", headers={"Accept-Encoding": "identity"})
        assert latest.headers["etag"] == f'"{_feed(gateway, ids[-2]).sha256}"'


def test_download_validators_ranges_and_gzip_with_httpx(server: LiveServer) -> None:
    gateway = server.gateway
    [feed_id] = _export(gateway, "intercarif")
    row = _feed(gateway, feed_id)
    xml, gz = (gateway.outbox / row.path).read_bytes(), (gateway.outbox / row.gz_path).read_bytes()
    identity = {"Accept-Encoding": "identity"}
    with _client(server, _token(gateway, "acme", "intercarif")) as client:
        url = f"{API}/feeds/intercarif/snapshots/{feed_id}"
        full = client.get(url, headers=identity)
        assert full.status_code == 200 and full.content == xml
        assert full.headers["etag"] == f'"{row.sha256}"' and full.headers["content-type"] == "application/xml"
        assert full.headers["accept-ranges"] == "bytes" and full.headers["vary"] == "Accept-Encoding"
        assert "immutable" in full.headers["cache-control"]
        etag, modified = full.headers["etag"], full.headers["last-modified"]

        head = client.head(url, headers=identity)
        assert head.status_code == 200 and head.content == b"" and head.headers["content-length"] == str(len(xml))
        not_modified = client.get(url, headers={**identity, "If-None-Match": etag})
        assert not_modified.status_code == 304 and not_modified.content == b""
        assert not_modified.headers["etag"] == etag and "content-disposition" not in not_modified.headers
        assert client.get(url, headers={**identity, "If-None-Match": f'"x", W/{etag}'}).status_code == 304
        assert client.get(url, headers={**identity, "If-None-Match": '"other"'}).status_code == 200
        assert client.get(url, headers={**identity, "If-Modified-Since": modified}).status_code == 304

        part = client.get(url, headers={**identity, "Range": "bytes=0-99"})
        assert part.status_code == 206 and part.content == xml[:100]
        assert part.headers["content-range"] == f"bytes 0-99/{len(xml)}"
        tail = client.get(url, headers={**identity, "Range": "bytes=-10"})
        assert tail.status_code == 206 and tail.content == xml[-10:]
        resumed = client.get(url, headers={**identity, "Range": "bytes=100-", "If-Range": etag})
        assert resumed.status_code == 206 and resumed.content == xml[100:]
        stale = client.get(url, headers={**identity, "Range": "bytes=100-", "If-Range": '"changed"'})
        assert stale.status_code == 200 and stale.content == xml
        several = client.get(url, headers={**identity, "Range": "bytes=0-1,5-6"})
        assert several.status_code == 200 and several.content == xml
        beyond = client.get(url, headers={**identity, "Range": "bytes=999999999-"})
        assert beyond.status_code == 416 and _error_code(beyond) == "RANGE_NOT_SATISFIABLE"
        assert beyond.headers["content-range"] == f"bytes */{len(xml)}"

        # Negotiated gzip: the .xml.gz bytes, with their own strong ETag.
        with client.stream("GET", url, headers={"Accept-Encoding": "gzip"}) as encoded:
            raw = b"".join(encoded.iter_raw())
            assert encoded.headers["content-encoding"] == "gzip" and encoded.headers["etag"] == f'"{row.gz_sha256}"'
            assert encoded.headers["vary"] == "Accept-Encoding"
        assert raw == gz and gzip.decompress(raw) == xml
        assert client.get(url, headers={"Accept-Encoding": "gzip;q=0"}).headers.get("content-encoding") is None
        gz_beyond = client.get(url, headers={"Accept-Encoding": "gzip", "Range": f"bytes={len(gz)}-"})
        assert gz_beyond.status_code == 416 and gz_beyond.headers["content-range"] == f"bytes */{len(gz)}"
        assert "content-encoding" not in gz_beyond.headers and _error_code(gz_beyond) == "RANGE_NOT_SATISFIABLE"
        revalidated = client.get(url, headers={"Accept-Encoding": "gzip", "If-None-Match": f'"{row.gz_sha256}"'})
        assert revalidated.status_code == 304

        # The gzip variant as its own resource.
        with client.stream("GET", f"{url}.xml.gz", headers=identity) as resource:
            assert resource.headers["content-type"] == "application/gzip"
            assert resource.headers["etag"] == f'"{row.gz_sha256}"'
            assert b"".join(resource.iter_raw()) == gz
        latest = client.get(f"{API}/feeds/intercarif/snapshots/latest.xml.gz", headers=identity)
        assert latest.content == gz and latest.headers["cache-control"] == "private, no-cache"
        assert latest.headers["content-location"].endswith(f"/snapshots/{feed_id}.xml.gz")


def test_conditional_range_and_compressed_with_curl(server: LiveServer) -> None:
    gateway = server.gateway
    [feed_id] = _export(gateway, "intercarif")
    row = _feed(gateway, feed_id)
    auth = f"Authorization: Bearer {_token(gateway, 'acme', 'intercarif')}"
    url = f"{server.url}{API}/feeds/intercarif/snapshots/latest"
    status = ["-o", "/dev/null", "-w", "%{http_code}"]

    assert _curl(*status, "-H", auth, "-H", f'If-None-Match: "{row.sha256}"', url).stdout == b"304"
    ranged = _curl("-D", "-", "-H", auth, "-r", "0-99", url).stdout
    head, _, body = ranged.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 206") and body == (gateway.outbox / row.path).read_bytes()[:100]
    assert _curl(*status, "-H", auth, "-H", "Range: bytes=999999999-", url).stdout == b"416"
    compressed = _curl("--compressed", "-D", "-", "-H", auth, url).stdout
    head, _, body = compressed.partition(b"\r\n\r\n")
    assert b"content-encoding: gzip" in head.lower()
    assert hashlib.sha256(body).hexdigest() == row.sha256


def test_scope_is_enforced_without_revealing_feeds(server: LiveServer) -> None:
    gateway = server.gateway
    [parcoursup_id] = _export(gateway, "parcoursup")
    [intercarif_id] = _export(gateway, "intercarif")
    _token(gateway, "other", "parcoursup")
    with _client(server, _token(gateway, "acme", "intercarif")) as client:
        forbidden = client.get(f"{API}/feeds/parcoursup/snapshots")
        unknown = client.get(f"{API}/feeds/no-such-feed/snapshots")
        assert forbidden.status_code == unknown.status_code == 403
        assert forbidden.content == unknown.content and _error_code(forbidden) == "FEED_FORBIDDEN"
        assert {k: v for k, v in forbidden.headers.items() if k != "date"} == {
            k: v for k, v in unknown.headers.items() if k != "date"
        }
        for path in ("parcoursup/snapshots/latest", f"parcoursup/snapshots/{parcoursup_id}.xml.gz"):
            assert client.get(f"{API}/feeds/{path}").status_code == 403
        diff = client.get(f"{API}/feeds/parcoursup/snapshots/latest/diff", params={"against": "latest"})
        assert diff.status_code == 403
        # Another feed's snapshot id through an allowed feed: just unknown there.
        assert client.get(f"{API}/feeds/intercarif/snapshots/{parcoursup_id}").status_code == 404
        assert client.get(f"{API}/feeds/intercarif/snapshots/{intercarif_id}").status_code == 200


TRAVERSALS = [
    "/feeds/intercarif/snapshots/..%2f..%2f..%2f..%2fetc%2fpasswd",
    "/feeds/intercarif/snapshots/%2e%2e%2f%2e%2e%2fgateway.sqlite3",
    "/feeds/intercarif/snapshots/..%252f..%252fgateway.sqlite3",
    "/feeds/..%2fintercarif/snapshots/latest",
    "/feeds/intercarif/snapshots/latest%00.xml",
    "/feeds/intercarif/snapshots/../../../../etc/passwd",
    "/feeds/intercarif/../../../gateway.sqlite3",
    "/feeds/intercarif/snapshots/intercarif_20261127T080000Z_aaaaaaaaaaaa%2f..%2f..%2fgateway.sqlite3",
    "/feeds/intercarif/snapshots/intercarif_20261127T080000Z_" + "a" * 4000,
    "/feeds/" + "x" * 3000 + "/snapshots/latest",
]


def test_path_traversal_never_reaches_a_file(server: LiveServer) -> None:
    gateway = server.gateway
    _export(gateway, "intercarif")
    auth = f"Authorization: Bearer {_token(gateway, 'acme', 'intercarif')}"
    secrets = [b"root:", b"SQLite format", b"<?xml"]
    for path in TRAVERSALS:
        done = _curl("--path-as-is", "-D", "-", "-H", auth, f"{server.url}{API}{path}")
        head, _, body = done.stdout.partition(b"\r\n\r\n")
        status = int(head.split()[1])
        assert status in (403, 404, 422), (path, head)
        assert json.loads(body)["error"]["code"] and not any(secret in body for secret in secrets), path


def test_manifest_path_outside_the_outbox_is_not_served(server: LiveServer, tmp_path: Path) -> None:
    gateway = server.gateway
    [feed_id] = _export(gateway, "intercarif")
    outside = tmp_path / "secret.xml"
    outside.write_bytes(b"<secret/>")
    with gateway.database.session() as db, db.begin():
        db.execute(update(FeedRow).where(FeedRow.id == feed_id).values(path=str(outside)))
    with _client(server, _token(gateway, "acme", "intercarif")) as client:
        response = client.get(f"{API}/feeds/intercarif/snapshots/{feed_id}", headers={"Accept-Encoding": "identity"})
    assert response.status_code == 404 and b"secret" not in response.content


def test_authentication_revocation_and_fetch_log(server: LiveServer) -> None:
    gateway = server.gateway
    [feed_id] = _export(gateway, "intercarif")
    token = _token(gateway, "acme", "intercarif")
    url = f"{API}/feeds/intercarif/snapshots/latest"
    with _client(server, None) as anonymous:
        missing = anonymous.get(url)
        assert missing.status_code == 401 and _error_code(missing) == "AUTH_REQUIRED"
        assert missing.headers["www-authenticate"].startswith("Bearer")
        bad = anonymous.get(url, headers={"Authorization": "Bearer lheo_" + "x" * 43})
        assert bad.status_code == 401 and _error_code(bad) == "AUTH_INVALID"
        assert 'error="invalid_token"' in bad.headers["www-authenticate"]
        assert anonymous.get(url, headers={"Authorization": f"Basic {token}"}).status_code == 401
    with _client(server, token) as client:
        ok = client.get(url, headers={"Accept-Encoding": "identity"})
        assert ok.status_code == 200
        assert client.get(f"{API}/feeds/parcoursup/snapshots").status_code == 403
        revoke(gateway.database, "acme", "test")
        assert client.get(url).status_code == 401  # at once: no cache between the store and the API

    fetches = _fetches(gateway, 6)
    assert [(f.status, f.partner_id is not None) for f in fetches] == [
        (401, False),
        (401, False),
        (401, False),
        (200, True),
        (403, True),
        (401, True),  # revoked: the partner is known, the token refused
    ]
    assert fetches[3].bytes_sent == _feed(gateway, feed_id).size and fetches[3].path == url
    assert all(f.client == "127.0.0.1" and f.method == "GET" for f in fetches)
    with gateway.database.session() as db:  # written with the log rows
        assert db.scalars(select(PartnerTokenRow.last_used_at)).one() is not None


def test_answers_do_not_wait_for_the_store_write_lock(server: LiveServer) -> None:
    """An export holds the write lock for its whole transaction: fetches are logged after it."""
    gateway = server.gateway
    [feed_id] = _export(gateway, "intercarif")
    token = _token(gateway, "acme", "intercarif")
    writer = sqlite3.connect(gateway.root / "gateway.sqlite3", isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")  # what a running export holds
        started = time.monotonic()
        with _client(server, token) as client:
            response = client.get(
                f"{API}/feeds/intercarif/snapshots/{feed_id}", headers={"Accept-Encoding": "identity"}
            )
        assert response.status_code == 200 and time.monotonic() - started < 2
        time.sleep(FetchLog.FLUSH_SECONDS * 3)  # the log writer is now waiting for the lock
        assert _fetches(gateway, 0) == []
    finally:
        writer.execute("COMMIT")
        writer.close()
    [fetch] = _fetches(gateway, 1)
    assert fetch.status == 200 and fetch.bytes_sent == _feed(gateway, feed_id).size


def test_diff_between_two_snapshots(server: LiveServer) -> None:
    gateway = server.gateway
    [before] = _export(gateway, "intercarif")
    gateway.import_offers(
        with_changes(_offer(1), title="BTS Management commercial opérationnel (nouvelle version)"),
        with_changes(_offer(2), status="archivee"),
        _offer(4),
        name="second.jsonl",
    )
    [after] = _export(gateway, "intercarif", hours=1)
    with _client(server, _token(gateway, "acme", "intercarif")) as client:
        diff = client.get(f"{API}/feeds/intercarif/snapshots/{after}/diff", params={"against": before})
        assert diff.status_code == 200
        assert diff.json() == {
            "feed": "intercarif",
            "snapshot": after,
            "against": before,
            "added": ["202611270004"],
            "removed": ["202611270002"],
            "changed": ["202611270001"],
            "unchanged_count": 1,
        }
        assert (
            client.get(f"{API}/feeds/intercarif/snapshots/latest/diff", params={"against": before}).json()["snapshot"]
            == after
        )
        unknown = client.get(
            f"{API}/feeds/intercarif/snapshots/{after}/diff",
            params={"against": "intercarif_20200101T000000Z_000000000000"},
        )
        assert unknown.status_code == 404 and _error_code(unknown) == "SNAPSHOT_NOT_FOUND"
        assert client.get(f"{API}/feeds/intercarif/snapshots/{after}/diff").status_code == 422


def test_openapi_documents_the_partner_api(server: LiveServer) -> None:
    schema = httpx.get(f"{server.url}/openapi.json").json()
    paths = schema["paths"]
    for path in (
        "/feeds",
        "/feeds/{feed}/snapshots",
        "/feeds/{feed}/snapshots/{snapshot}",
        "/feeds/{feed}/snapshots/{snapshot}.xml.gz",
        "/feeds/{feed}/snapshots/{snapshot}/diff",
    ):
        assert f"{API}{path}" in paths, path
    listing = paths[f"{API}/feeds/{{feed}}/snapshots"]["get"]["responses"]
    assert listing["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/SnapshotPage")
    assert listing["403"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
    download = paths[f"{API}/feeds/{{feed}}/snapshots/{{snapshot}}"]["get"]
    assert {"200", "206", "304", "401", "403", "404", "416"} <= download["responses"].keys()
    assert download["security"] == [{"jeton-partenaire": []}]
    assert schema["components"]["securitySchemes"]["jeton-partenaire"]["scheme"] == "bearer"
    assert httpx.get(f"{server.url}/docs").status_code == 200


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-99", (0, 99)),
        ("bytes=990-5000", (990, 999)),
        ("bytes=-10", (990, 999)),
        ("bytes=-5000", (0, 999)),
        ("bytes=10-", (10, 999)),
        ("bytes=5-2", None),  # malformed: ignored, the whole file is sent
        ("bytes=abc", None),
        ("bytes=1-2, 4-5", None),  # several ranges: whole file (no multipart)
        ("items=0-1", None),
        ("bytes=", None),
        ("bytes=1000-", "416"),
        ("bytes=-0", "416"),
        ("bytes=2000-3000, 5000-", "416"),
    ],
)
def test_range_header_parsing(header: str, expected: tuple[int, int] | str | None) -> None:
    if expected == "416":
        with pytest.raises(files._Unsatisfiable):
            files.parse_range(header, 1000)
    else:
        assert files.parse_range(header, 1000) == expected


@pytest.mark.parametrize(
    ("header", "gzip"),
    [(None, False), ("gzip", True), ("deflate, gzip;q=0.5", True), ("gzip;q=0", False), ("*", True), ("br", False)],
)
def test_accept_encoding(header: str | None, gzip: bool) -> None:
    assert files.accepts_gzip(header) is gzip
