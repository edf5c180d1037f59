"""A real HTTP server standing in for a partner's API: raw ASGI, served by uvicorn in a thread.

Tests queue the answers it should give (`will(...)`): a status with a body and headers, a hang
(read the request, then say nothing until the client gives up), or a dropped connection (close
the socket halfway through the body, without any answer). Every request is recorded with its
headers and the sha256 and length of its body, hashed on the fly (a 50 MB upload is never held
in memory), and, for `Content-Encoding: gzip`, of the decompressed body too.

`make_test_pki` issues a throwaway CA, a server certificate for 127.0.0.1 and a client
certificate, to run the receiver over TLS, with or without requiring the client's certificate.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import ipaddress
import json
import socket
import ssl
import threading
import time
import zlib
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

HANG_LIMIT = 15.0  # seconds a hanging answer waits for the client to give up


@dataclass(frozen=True)
class Reply:
    """One scripted answer."""

    action: Literal["respond", "hang", "drop"] = "respond"
    status: int = 200
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def respond(cls, status: int, body: bytes | str = b"", headers: dict[str, str] | None = None) -> Reply:
        data = body.encode() if isinstance(body, str) else body
        return cls("respond", status, data, tuple((headers or {}).items()))

    @classmethod
    def json(cls, status: int, payload: object, headers: dict[str, str] | None = None) -> Reply:
        return cls.respond(status, json.dumps(payload), {"Content-Type": "application/json", **(headers or {})})

    @classmethod
    def hang(cls) -> Reply:
        return cls("hang")

    @classmethod
    def drop(cls) -> Reply:
        return cls("drop")


@dataclass
class ReceivedRequest:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body_length: int = 0
    body_sha256: str = ""
    decoded_length: int = 0  # after Content-Encoding: gzip; equal to the body otherwise
    decoded_sha256: str = ""
    complete: bool = False  # the whole body arrived
    body_head: bytes = b""  # the first 64 KiB of the decoded body (JSON notices, small posts)


class _BodyDigest:
    def __init__(self, gzip: bool) -> None:
        self.raw = hashlib.sha256()
        self.raw_length = 0
        self.decoded = hashlib.sha256()
        self.decoded_length = 0
        self.head = bytearray()
        self._inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS) if gzip else None

    def update(self, chunk: bytes) -> None:
        self.raw.update(chunk)
        self.raw_length += len(chunk)
        plain = self._inflater.decompress(chunk) if self._inflater is not None else chunk
        self.decoded.update(plain)
        self.decoded_length += len(plain)
        if len(self.head) < 65536:
            self.head += plain[: 65536 - len(self.head)]

    def record_into(self, request: ReceivedRequest) -> None:
        request.body_length = self.raw_length
        request.body_sha256 = self.raw.hexdigest()
        request.decoded_length = self.decoded_length
        request.decoded_sha256 = self.decoded.hexdigest()
        request.body_head = bytes(self.head)


@dataclass
class HttpReceiver:
    """Start with `start()` (or as a context manager); `url` is then `http(s)://127.0.0.1:<port>`."""

    certfile: Path | None = None
    keyfile: Path | None = None
    client_ca: Path | None = None  # require a client certificate issued by this CA
    requests: list[ReceivedRequest] = field(default_factory=list)
    _script: deque[Reply] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None
    _port: int = 0

    @property
    def url(self) -> str:
        scheme = "https" if self.certfile else "http"
        return f"{scheme}://127.0.0.1:{self._port}"

    def will(self, *replies: Reply) -> None:
        """Queue answers for the next requests; once the queue is empty, requests get a 200."""
        with self._lock:
            self._script.extend(replies)

    def reset(self) -> None:
        with self._lock:
            self._script.clear()
            self.requests.clear()

    def _next_reply(self) -> Reply:
        with self._lock:
            return self._script.popleft() if self._script else Reply.respond(200, "OK")

    def _record(self, request: ReceivedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        headers: dict[str, str] = {}
        for raw_name, raw_value in scope["headers"]:
            name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        request = ReceivedRequest(scope["method"], scope["path"], headers)
        reply = self._next_reply()
        digest = _BodyDigest(gzip=headers.get("content-encoding") == "gzip")
        if reply.action == "drop":
            message = await receive()
            digest.update(message.get("body", b""))
            digest.record_into(request)
            self._record(request)
            # Raw ASGI cannot close a connection without answering; uvicorn's receive() is a
            # method of the request cycle, which holds the socket's transport.
            receive.__self__.transport.abort()  # type: ignore[attr-defined]
            return
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                digest.record_into(request)
                self._record(request)
                return
            digest.update(message.get("body", b""))
            if not message.get("more_body", False):
                break
        request.complete = True
        digest.record_into(request)
        self._record(request)
        if reply.action == "hang":
            # Say nothing until the client hangs up (its read timeout), then stop.
            await asyncio.wait_for(receive(), HANG_LIMIT)
            return
        response_headers = [(b"content-length", str(len(reply.body)).encode())]
        response_headers += [(name.lower().encode(), value.encode()) for name, value in reply.headers]
        await send({"type": "http.response.start", "status": reply.status, "headers": response_headers})
        await send({"type": "http.response.body", "body": reply.body})

    def start(self) -> HttpReceiver:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self._port = sock.getsockname()[1]
        config = uvicorn.Config(
            self,
            interface="asgi3",
            http="h11",
            lifespan="off",
            log_level="critical",  # dropped connections are the point of some tests
            access_log=False,
            timeout_graceful_shutdown=2,
            ssl_certfile=self.certfile,
            ssl_keyfile=self.keyfile,
            ssl_ca_certs=self.client_ca,
            ssl_cert_reqs=ssl.CERT_REQUIRED if self.client_ca else ssl.CERT_NONE,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="http-receiver", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the HTTP receiver did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
        self._server = None
        self._thread = None

    def __enter__(self) -> HttpReceiver:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


@dataclass(frozen=True)
class ThrowawayPki:
    ca_cert: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_ca_cert: Path  # a CA that signed nothing here: verifying the server with it fails


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _issue(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None,
    *,
    ca: bool = False,
    ip: str | None = None,
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    issuer_name, issuer_key = issuer if issuer is not None else (_name(subject), key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    else:
        assert issuer is not None
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False
        )
    if ip is not None:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))]), critical=False
        )
    return builder.sign(issuer_key, hashes.SHA256())


def make_test_pki(folder: Path) -> ThrowawayPki:
    folder.mkdir(parents=True, exist_ok=True)

    def write(name: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey | None = None) -> Path:
        (folder / f"{name}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        if key is not None:
            pem = key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            (folder / f"{name}.key").write_bytes(pem)
        return folder / f"{name}.pem"

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _issue("LHEO test CA", ca_key, None, ca=True)
    server_key = ec.generate_private_key(ec.SECP256R1())
    client_key = ec.generate_private_key(ec.SECP256R1())
    other_key = ec.generate_private_key(ec.SECP256R1())
    write("ca", ca)
    write("server", _issue("127.0.0.1", server_key, (ca.subject, ca_key), ip="127.0.0.1"), server_key)
    write("client", _issue("lheo-gateway", client_key, (ca.subject, ca_key)), client_key)
    write("other-ca", _issue("Unrelated CA", other_key, None, ca=True))
    return ThrowawayPki(
        ca_cert=folder / "ca.pem",
        server_cert=folder / "server.pem",
        server_key=folder / "server.key",
        client_cert=folder / "client.pem",
        client_key=folder / "client.key",
        other_ca_cert=folder / "other-ca.pem",
    )
