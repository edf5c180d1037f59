"""HTTP transport against a real server (uvicorn in a thread): bodies, headers, auth, TLS, outcomes."""

# The `http_receiver` fixture is imported, then named as a test parameter: that is how pytest
# finds it, not a redefinition.
# ruff: noqa: F811

from __future__ import annotations

import base64
import hashlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from gateway.outbox.feed_file import FeedFileWriter
from gateway.transports.base import DeliveryError, FeedToDeliver
from gateway.transports.http import HttpTransport, idempotency_key, parse_retry_after
from gateway.transports.http_settings import BasicAuth, BearerAuth, ClientCertAuth, HttpSettings
from gateway.transports.registry import make_transport, transport_settings
from tests.transports.http_fixtures import http_receiver  # noqa: F401
from tests.transports.http_receiver import HttpReceiver, Reply, ThrowawayPki, make_test_pki

EXPORTED_AT = datetime(2026, 11, 27, 8, 0, 0, tzinfo=UTC)
XML = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<lheo xmlns="http://lheo.gouv.fr/2.3">\n <offres>\n'
    + "  <formation><intitule-formation>BTS Management commercial opérationnel</intitule-formation></formation>\n" * 200
    + " </offres>\n</lheo>\n"
).encode()


def make_feed(
    folder: Path, xml: bytes = XML, feed_id: str = "feed-1", destination: str = "parcoursup"
) -> FeedToDeliver:
    writer = FeedFileWriter(folder, EXPORTED_AT)
    writer.write(xml)
    return writer.commit().to_deliver(feed_id, destination)


@pytest.fixture
def feed(tmp_path: Path) -> FeedToDeliver:
    return make_feed(tmp_path / "outbox" / "parcoursup")


def settings(receiver: HttpReceiver, **overrides: Any) -> HttpSettings:
    return HttpSettings.model_validate({"url": f"{receiver.url}/feeds", "read_timeout": 5} | overrides)


def deliver_error(transport_settings: HttpSettings, feed: FeedToDeliver) -> DeliveryError:
    with HttpTransport(transport_settings) as transport, pytest.raises(DeliveryError) as caught:
        transport.deliver(feed)
    return caught.value


# --- success ---------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_delivers_the_xml_streamed_with_length_digest_and_idempotency_key(
    http_receiver: HttpReceiver, feed: FeedToDeliver, method: str
) -> None:
    http_receiver.will(Reply.json(201, {"id": "abc", "status": "queued"}, {"Location": "/feeds/abc"}))
    with HttpTransport(settings(http_receiver, method=method, headers={"X-Partner": "cfa-33"})) as transport:
        receipt = transport.deliver(feed)

    assert receipt.http_status == 201
    assert receipt.remote == f"{http_receiver.url}/feeds"
    assert receipt.bytes_sent == feed.size
    assert '"queued"' in receipt.detail and receipt.detail.startswith("HTTP 201")
    assert receipt.extra == {"idempotency_key": idempotency_key(feed), "location": "/feeds/abc"}
    [request] = http_receiver.requests
    assert (request.method, request.path, request.complete) == (method, "/feeds", True)
    assert request.body_sha256 == feed.sha256 and request.body_length == feed.size
    headers = request.headers
    assert headers["content-type"] == "application/xml"
    assert headers["content-length"] == str(feed.size)
    assert "transfer-encoding" not in headers and "content-encoding" not in headers
    assert headers["idempotency-key"] == idempotency_key(feed)
    assert headers["x-content-sha256"] == feed.sha256
    encoded_digest = base64.b64encode(bytes.fromhex(feed.sha256)).decode()
    assert headers["digest"] == f"SHA-256={encoded_digest}"
    assert headers["content-digest"] == f"sha-256=:{encoded_digest}:"
    assert headers["x-feed-name"] == feed.name
    assert headers["x-partner"] == "cfa-33"
    assert "authorization" not in headers


def test_gzip_sends_the_gz_which_the_server_inflates_to_the_original(
    http_receiver: HttpReceiver, feed: FeedToDeliver
) -> None:
    with HttpTransport(settings(http_receiver, gzip=True)) as transport:
        receipt = transport.deliver(feed)

    assert receipt.bytes_sent == feed.gz_size < feed.size
    [request] = http_receiver.requests
    assert request.headers["content-encoding"] == "gzip"
    assert request.headers["content-length"] == str(feed.gz_size)
    assert request.headers["x-content-sha256"] == feed.gz_sha256
    assert request.headers["x-feed-sha256"] == feed.sha256
    assert (request.body_sha256, request.body_length) == (feed.gz_sha256, feed.gz_size)
    assert (request.decoded_sha256, request.decoded_length) == (feed.sha256, feed.size)


def test_static_headers_may_replace_the_content_type_but_not_the_protocol_headers(
    http_receiver: HttpReceiver, feed: FeedToDeliver
) -> None:
    with HttpTransport(settings(http_receiver, headers={"content-type": "text/xml; charset=utf-8"})) as transport:
        transport.deliver(feed)
    assert http_receiver.requests[0].headers["content-type"] == "text/xml; charset=utf-8"
    for reserved in ("Idempotency-Key", "content-length", "Authorization", "Content-Encoding"):
        with pytest.raises(ValidationError, match="cannot be configured"):
            settings(http_receiver, headers={reserved: "x"})


def test_one_client_serves_several_deliveries_then_closes(http_receiver: HttpReceiver, tmp_path: Path) -> None:
    feeds = [make_feed(tmp_path / f"out{n}", XML + b"<!-- %d -->" % n, feed_id=f"feed-{n}") for n in range(3)]
    transport = HttpTransport(settings(http_receiver))
    try:
        for one in feeds:
            assert transport.deliver(one).http_status == 200
    finally:
        transport.close()
    assert [r.body_sha256 for r in http_receiver.requests] == [one.sha256 for one in feeds]
    with pytest.raises(RuntimeError, match="after close"):
        transport.deliver(feeds[0])


# --- authentication --------------------------------------------------------------------------


def test_bearer_token_from_an_environment_variable(
    http_receiver: HttpReceiver, feed: FeedToDeliver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LHEO_TEST_TOKEN", "s3cr3t-token")
    auth = {"type": "bearer", "token_env": "LHEO_TEST_TOKEN"}
    with HttpTransport(settings(http_receiver, auth=auth)) as transport:
        transport.deliver(feed)
    assert http_receiver.requests[0].headers["authorization"] == "Bearer s3cr3t-token"


def test_bearer_token_from_a_file_is_reread_at_each_delivery(
    http_receiver: HttpReceiver, feed: FeedToDeliver, tmp_path: Path
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("first-token\n")
    with HttpTransport(settings(http_receiver, auth=BearerAuth(token_file=token_file))) as transport:
        transport.deliver(feed)
        token_file.write_text("rotated-token\n")
        transport.deliver(feed)
    assert [r.headers["authorization"] for r in http_receiver.requests] == [
        "Bearer first-token",
        "Bearer rotated-token",
    ]


@pytest.mark.parametrize("source", ["env", "file"])
def test_basic_auth(
    http_receiver: HttpReceiver, feed: FeedToDeliver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str
) -> None:
    if source == "env":
        monkeypatch.setenv("LHEO_TEST_PASSWORD", "pâss:wörd")
        auth = BasicAuth(username="carif", password_env="LHEO_TEST_PASSWORD")
    else:
        (tmp_path / "password").write_text("pâss:wörd\n", encoding="utf-8")
        auth = BasicAuth(username="carif", password_file=tmp_path / "password")
    with HttpTransport(settings(http_receiver, auth=auth)) as transport:
        transport.deliver(feed)
    expected = base64.b64encode("carif:pâss:wörd".encode()).decode()
    assert http_receiver.requests[0].headers["authorization"] == f"Basic {expected}"


def test_missing_secret_is_a_config_error_naming_where_it_was_looked_for(
    http_receiver: HttpReceiver, feed: FeedToDeliver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LHEO_TEST_ABSENT", raising=False)
    error = deliver_error(settings(http_receiver, auth=BearerAuth(token_env="LHEO_TEST_ABSENT")), feed)
    assert (error.code, error.retryable) == ("HTTP_CONFIG", False)
    assert "LHEO_TEST_ABSENT" in error.message

    missing = tmp_path / "no-such-password"
    error = deliver_error(settings(http_receiver, auth=BasicAuth(username="u", password_file=missing)), feed)
    assert (error.code, error.retryable) == ("HTTP_CONFIG", False)
    assert str(missing) in error.message

    monkeypatch.setenv("LHEO_TEST_EMPTY", "  \n")
    error = deliver_error(settings(http_receiver, auth=BearerAuth(token_env="LHEO_TEST_EMPTY")), feed)
    assert error.code == "HTTP_CONFIG" and "LHEO_TEST_EMPTY" in error.message and "vide" in error.message

    assert http_receiver.requests == []  # nothing was sent without its credentials


def test_secret_values_never_appear_in_errors(
    http_receiver: HttpReceiver, feed: FeedToDeliver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LHEO_TEST_TOKEN", "line1\nline2-secret")
    error = deliver_error(settings(http_receiver, auth=BearerAuth(token_env="LHEO_TEST_TOKEN")), feed)
    assert error.code == "HTTP_CONFIG" and "secret" not in str(error)


def test_auth_settings_name_exactly_one_source() -> None:
    with pytest.raises(ValidationError, match="exactly one"):
        BearerAuth()
    with pytest.raises(ValidationError, match="exactly one"):
        BearerAuth(token_env="A", token_file=Path("b"))
    with pytest.raises(ValidationError, match="exactly one"):
        BasicAuth(username="u")
    pasted = {"kind": "http", "url": "https://x.example", "auth": {"type": "bearer", "token_env": "eyJhbG.e30.pasted"}}
    with pytest.raises(ValidationError, match="not the secret itself") as caught:
        transport_settings(pasted)
    assert "pasted" not in str(caught.value)  # not echoed into logs
    with pytest.raises(ValidationError, match="not the secret itself") as caught:
        BearerAuth(token_env="eyJhbG.e30.pasted")
    assert "pasted" not in str(caught.value)
    with pytest.raises(ValidationError, match="not the secret itself"):
        BasicAuth(username="u", password_env="hunter2!")
    with pytest.raises(ValidationError, match="extra"):
        HttpSettings.model_validate({"url": "https://x.example", "token": "inline-secrets-are-refused"})
    for url in ("ftp://x.example/feeds", "https://", "http://[::1", "https://x.example:99999/", "x.example/feeds"):
        with pytest.raises(ValidationError, match="URL"):
            HttpSettings(url=url)
    with pytest.raises(ValidationError, match="credentials in the URL"):
        HttpSettings(url="https://carif:s3cret@x.example/feeds")


# --- outcomes ----------------------------------------------------------------------------------


def test_server_error_is_retryable_with_its_excerpt(http_receiver: HttpReceiver, feed: FeedToDeliver) -> None:
    http_receiver.will(Reply.respond(500, "Internal Server Error: database is down"))
    error = deliver_error(settings(http_receiver), feed)
    assert (error.code, error.retryable, error.http_status) == ("HTTP_RETRYABLE_STATUS", True, 500)
    assert error.response_excerpt == "Internal Server Error: database is down"
    assert error.retry_after is None


@pytest.mark.parametrize("status", [408, 425, 502, 503])
def test_other_retryable_statuses(http_receiver: HttpReceiver, feed: FeedToDeliver, status: int) -> None:
    http_receiver.will(Reply.respond(status))
    error = deliver_error(settings(http_receiver), feed)
    assert (error.code, error.retryable, error.http_status) == ("HTTP_RETRYABLE_STATUS", True, status)


def test_429_retry_after_in_seconds(http_receiver: HttpReceiver, feed: FeedToDeliver) -> None:
    http_receiver.will(Reply.json(429, {"error": "slow down"}, {"Retry-After": "120"}))
    error = deliver_error(settings(http_receiver), feed)
    assert (error.code, error.retryable, error.http_status) == ("HTTP_RETRYABLE_STATUS", True, 429)
    assert error.retry_after == 120.0
    assert "slow down" in error.response_excerpt


def test_429_retry_after_as_an_http_date(http_receiver: HttpReceiver, feed: FeedToDeliver) -> None:
    when = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=10)
    http_receiver.will(Reply.respond(429, headers={"Retry-After": format_datetime(when, usegmt=True)}))
    error = deliver_error(settings(http_receiver), feed)
    assert error.retry_after is not None and 590 <= error.retry_after <= 600


def test_parse_retry_after_edge_cases() -> None:
    now = datetime(2026, 11, 27, 8, 0, 0, tzinfo=UTC)
    assert parse_retry_after("0", now) == 0.0
    assert parse_retry_after("Fri, 27 Nov 2026 08:01:30 GMT", now) == 90.0
    assert parse_retry_after("Friday, 27-Nov-26 08:01:30 GMT", now) == 90.0  # RFC 850
    assert parse_retry_after("Fri Nov 27 08:01:30 2026", now) == 90.0  # asctime
    assert parse_retry_after("Thu, 26 Nov 2026 08:00:00 GMT", now) == 0.0  # already past
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after("-5", now) is None
    assert parse_retry_after(None, now) is None


def test_client_error_is_rejected_for_good_with_its_excerpt(http_receiver: HttpReceiver, feed: FeedToDeliver) -> None:
    payload = {"errors": [{"path": "/lheo/offres/formation[3]", "message": "SIRET inconnu"}], "pad": "x" * 2000}
    http_receiver.will(Reply.json(400, payload))
    error = deliver_error(settings(http_receiver), feed)
    assert (error.code, error.retryable, error.http_status) == ("HTTP_REJECTED", False, 400)
    assert error.response_excerpt.startswith('{"errors": [{"path": "/lheo/offres/formation[3]"')
    assert "SIRET inconnu" in error.response_excerpt
    assert len(error.response_excerpt) == 500


def test_redirect_is_not_followed(http_receiver: HttpReceiver, feed: FeedToDeliver) -> None:
    http_receiver.will(Reply.respond(301, headers={"Location": "https://new.example/feeds"}))
    error = deliver_error(settings(http_receiver), feed)
    assert (error.code, error.retryable) == ("HTTP_REJECTED", False)
    assert "https://new.example/feeds" in error.message
    assert len(http_receiver.requests) == 1


def test_hanging_server_times_out_within_the_read_timeout(http_receiver: HttpReceiver, feed: FeedToDeliver) -> None:
    http_receiver.will(Reply.hang())
    started = time.monotonic()
    error = deliver_error(settings(http_receiver, read_timeout=1), feed)
    elapsed = time.monotonic() - started
    assert (error.code, error.retryable) == ("HTTP_TIMEOUT", True)
    assert 0.9 <= elapsed < 3
    assert http_receiver.requests[0].complete  # the body went out; the answer never came


def test_dropped_connection_is_a_retryable_network_error(http_receiver: HttpReceiver, feed: FeedToDeliver) -> None:
    http_receiver.will(Reply.drop())
    error = deliver_error(settings(http_receiver), feed)
    assert (error.code, error.retryable) == ("HTTP_NETWORK", True)
    assert error.http_status is None


def test_dropped_connection_during_a_large_upload(http_receiver: HttpReceiver, tmp_path: Path) -> None:
    big = make_feed(tmp_path / "big", XML * 100)  # ~7 MB: the server hangs up long before the end
    http_receiver.will(Reply.drop())
    error = deliver_error(settings(http_receiver), big)
    assert (error.code, error.retryable) == ("HTTP_NETWORK", True)
    assert not http_receiver.requests[0].complete


def test_refused_connection_is_a_retryable_network_error(feed: FeedToDeliver) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    error = deliver_error(HttpSettings(url=f"http://127.0.0.1:{port}/feeds", connect_timeout=1), feed)
    assert (error.code, error.retryable) == ("HTTP_NETWORK", True)


def test_outbox_file_changed_since_it_was_listed(http_receiver: HttpReceiver, feed: FeedToDeliver) -> None:
    with feed.path.open("ab") as grown:
        grown.write(b"<!-- appended -->")
    error = deliver_error(settings(http_receiver), feed)
    assert (error.code, error.retryable) == ("HTTP_SOURCE", False)
    feed.path.unlink()
    assert deliver_error(settings(http_receiver), feed).code == "HTTP_SOURCE"
    assert http_receiver.requests == []


# --- idempotency -------------------------------------------------------------------------------


def test_idempotency_key_is_stable_across_attempts_and_distinct_per_feed(
    http_receiver: HttpReceiver, feed: FeedToDeliver, tmp_path: Path
) -> None:
    other = make_feed(tmp_path / "other", XML + b"<!-- other -->", feed_id="feed-2")
    http_receiver.will(Reply.respond(503), Reply.respond(200))
    with HttpTransport(settings(http_receiver)) as transport:
        with pytest.raises(DeliveryError):
            transport.deliver(feed)
        transport.deliver(feed)
        transport.deliver(other)
    with HttpTransport(settings(http_receiver)) as restarted:  # e.g. after a gateway restart
        restarted.deliver(feed)
    keys = [request.headers["idempotency-key"] for request in http_receiver.requests]
    assert keys[0] == keys[1] == keys[3] == idempotency_key(feed)
    assert keys[2] == idempotency_key(other) != keys[0]
    digest = hashlib.sha256(b"parcoursup:feed-1").hexdigest()[:32]
    assert idempotency_key(feed) == f"lheo-{digest}"
    # Same feed id to another destination: another key.
    elsewhere = FeedToDeliver(**{**feed.__dict__, "destination": "affelnet"})
    assert idempotency_key(elsewhere) != idempotency_key(feed)


# --- streaming ---------------------------------------------------------------------------------


def _rss() -> int:
    try:
        import psutil
    except ImportError:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    return int(psutil.Process().memory_info().rss)


def test_a_50_mb_feed_is_streamed_not_loaded(http_receiver: HttpReceiver, tmp_path: Path) -> None:
    size = 50 * 1024 * 1024
    path = tmp_path / "big.xml"
    sha = hashlib.sha256()
    with path.open("wb") as out:
        block = os.urandom(1 << 20)
        for n in range(50):
            chunk = bytes([n]) + block[1:]
            sha.update(chunk)
            out.write(chunk)
    big = FeedToDeliver("feed-big", "parcoursup", path, tmp_path / "big.xml.gz", sha.hexdigest(), size, "", 0)

    baseline = _rss()
    peak = baseline
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _rss())
            time.sleep(0.005)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        with HttpTransport(settings(http_receiver, read_timeout=10)) as transport:
            receipt = transport.deliver(big)
    finally:
        done.set()
        sampler.join()

    assert receipt.bytes_sent == size
    [request] = http_receiver.requests
    assert (request.body_length, request.body_sha256) == (size, big.sha256)
    growth = peak - baseline
    assert growth < 15 * 1024 * 1024, f"RSS grew by {growth / 2**20:.1f} MiB while sending 50 MiB"


# --- TLS ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> ThrowawayPki:
    return make_test_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def https_receiver(pki: ThrowawayPki) -> Iterator[HttpReceiver]:
    with HttpReceiver(certfile=pki.server_cert, keyfile=pki.server_key) as receiver:
        yield receiver


@pytest.fixture(scope="module")
def mtls_receiver(pki: ThrowawayPki) -> Iterator[HttpReceiver]:
    with HttpReceiver(certfile=pki.server_cert, keyfile=pki.server_key, client_ca=pki.ca_cert) as receiver:
        yield receiver


def test_https_verified_with_the_configured_ca(
    https_receiver: HttpReceiver, pki: ThrowawayPki, feed: FeedToDeliver
) -> None:
    with HttpTransport(settings(https_receiver, ca_file=pki.ca_cert)) as transport:
        receipt = transport.deliver(feed)
    assert receipt.http_status == 200 and receipt.remote.startswith("https://127.0.0.1:")


def test_https_with_an_untrusted_certificate_is_not_retried(
    https_receiver: HttpReceiver, pki: ThrowawayPki, feed: FeedToDeliver
) -> None:
    error = deliver_error(settings(https_receiver, ca_file=pki.other_ca_cert), feed)
    assert (error.code, error.retryable) == ("HTTP_TLS", False)
    error = deliver_error(settings(https_receiver), feed)  # default bundle: a private CA is unknown
    assert (error.code, error.retryable) == ("HTTP_TLS", False)


def test_client_certificate(mtls_receiver: HttpReceiver, pki: ThrowawayPki, feed: FeedToDeliver) -> None:
    auth = ClientCertAuth(client_cert_file=pki.client_cert, client_key_file=pki.client_key)
    with HttpTransport(settings(mtls_receiver, ca_file=pki.ca_cert, auth=auth)) as transport:
        assert transport.deliver(feed).http_status == 200
    mtls_receiver.reset()
    error = deliver_error(settings(mtls_receiver, ca_file=pki.ca_cert), feed)  # no certificate
    assert error.retryable and error.code == "HTTP_NETWORK"
    assert mtls_receiver.requests == []


def test_missing_certificate_files_are_config_errors(pki: ThrowawayPki, feed: FeedToDeliver, tmp_path: Path) -> None:
    auth = ClientCertAuth(client_cert_file=tmp_path / "absent.pem", client_key_file=pki.client_key)
    error = deliver_error(HttpSettings(url="https://127.0.0.1:1/feeds", auth=auth), feed)
    assert (error.code, error.retryable) == ("HTTP_CONFIG", False)
    assert "absent.pem" in error.message and "client_cert_file" in error.message
    error = deliver_error(HttpSettings(url="https://127.0.0.1:1/feeds", ca_file=tmp_path / "ca.pem"), feed)
    assert error.code == "HTTP_CONFIG" and "ca_file" in error.message
    unusable = tmp_path / "garbage.pem"
    unusable.write_text("not a certificate")
    error = deliver_error(HttpSettings(url="https://127.0.0.1:1/feeds", ca_file=unusable), feed)
    assert error.code == "HTTP_CONFIG"


# --- registry ----------------------------------------------------------------------------------


def test_registry_builds_the_http_transport_from_its_kind(http_receiver: HttpReceiver, feed: FeedToDeliver) -> None:
    chosen = transport_settings({"kind": "http", "url": f"{http_receiver.url}/feeds", "gzip": True})
    assert isinstance(chosen, HttpSettings)
    transport = make_transport(chosen)
    try:
        assert isinstance(transport, HttpTransport)
        assert transport.deliver(feed).bytes_sent == feed.gz_size
    finally:
        transport.close()
    with pytest.raises(ValidationError):
        transport_settings({"kind": "http", "url": "https://x.example", "path": "/srv/feeds"})
