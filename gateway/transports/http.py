"""Deliver a feed by one HTTP request (POST or PUT) to a partner's API.

The body is streamed from the outbox file (never loaded whole), announced with its length and
sha256, and carries an `Idempotency-Key` derived from (destination, feed id): every retry of
the same feed sends the same key, so a partner that saw the first attempt can drop the
duplicate. The answer decides what happens next: 2xx is a receipt; 408/425/429/5xx and
network trouble are worth retrying (honouring `Retry-After`); any other 4xx will fail the same
way next time, so it is not retried.

Secrets never sit in the settings: they name an environment variable or a file, read at each
delivery so that a rotated token is picked up without a restart.

Headers sent: Content-Type (application/xml unless configured), Content-Length, Content-Encoding
(gzip only), Idempotency-Key, Digest (RFC 3230) and Content-Digest (RFC 9530) and X-Content-SHA256
of the bytes sent, X-Feed-SHA256 of the XML itself, X-Feed-Name, Authorization (bearer/basic).

Error codes (`DeliveryError.code`), stable:
    HTTP_RETRYABLE_STATUS  408, 425, 429 or 5xx (retry_after from Retry-After)        retryable
    HTTP_REJECTED          any other 4xx, or a redirect (never followed)             not retryable
    HTTP_TIMEOUT           connect, send or answer took longer than the timeouts     retryable
    HTTP_NETWORK           refused, reset, connection dropped before the answer      retryable
    HTTP_TLS               the server's certificate is not trusted                   not retryable
    HTTP_CONFIG            secret missing/empty, certificate file unusable           not retryable
    HTTP_SOURCE            outbox file missing, unreadable or not the size announced not retryable
Messages are French sentences for staff; the response excerpt (500 characters) is kept apart.
"""

from __future__ import annotations

import base64
import hashlib
import os
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import BinaryIO

import httpx

from gateway.transports.base import ClosingTransport, DeliveryError, DeliveryReceipt, FeedToDeliver, ProgressCallback
from gateway.transports.http_settings import BasicAuth, BearerAuth, ClientCertAuth, HttpAuth, HttpSettings

EXCERPT_CHARS = 500
_EXCERPT_BYTES = 4 * EXCERPT_CHARS  # enough for 500 characters of UTF-8
_CHUNK = 256 * 1024
RETRYABLE_STATUSES = frozenset({408, 425, 429})  # plus every 5xx
USER_AGENT = "lheo-gateway"


def idempotency_key(feed: FeedToDeliver) -> str:
    """Same feed to the same destination → same key, on every attempt and after a restart."""
    digest = hashlib.sha256(f"{feed.destination}:{feed.feed_id}".encode()).hexdigest()
    return f"lheo-{digest[:32]}"


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """`Retry-After` as seconds from now: delta-seconds or an HTTP-date; None when absent or garbled."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:  # RFC 850/asctime forms carry no zone; HTTP dates are GMT
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - (now or datetime.now(UTC))).total_seconds())


def _config_error(message: str) -> DeliveryError:
    return DeliveryError("HTTP_CONFIG", message, retryable=False)


def _read_secret(env: str | None, file: Path | None, what: str) -> str:
    """The secret, stripped of surrounding whitespace; errors name where it was looked for, never its value."""
    if env is not None:
        where = f"la variable d'environnement {env}"
        raw = os.environ.get(env)
        if raw is None:
            raise _config_error(f"{what} : {where} n'est pas définie")
    else:
        assert file is not None  # the settings validators guarantee one source
        where = f"le fichier {file}"
        try:
            raw = file.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise _config_error(f"{what} : {where} n'existe pas") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise _config_error(f"{what} : {where} est illisible ({type(exc).__name__})") from None
    secret = raw.strip()
    if not secret:
        raise _config_error(f"{what} : {where} est vide")
    if not secret.isprintable():  # a newline inside would split the HTTP header
        raise _config_error(f"{what} : {where} contient des caractères de contrôle")
    return secret


def _authorization(auth: HttpAuth | None) -> str | None:
    if isinstance(auth, BearerAuth):
        token = _read_secret(auth.token_env, auth.token_file, "jeton (bearer)")
        if not token.isascii() or " " in token:
            raise _config_error("jeton (bearer) : caractères non autorisés (ASCII sans espace attendu)")
        return "Bearer " + token
    if isinstance(auth, BasicAuth):
        password = _read_secret(auth.password_env, auth.password_file, "mot de passe (basic)")
        return "Basic " + base64.b64encode(f"{auth.username}:{password}".encode()).decode("ascii")
    return None


def _tls_context(settings: HttpSettings) -> ssl.SSLContext | bool:
    auth = settings.auth
    if settings.ca_file is None and not isinstance(auth, ClientCertAuth):
        return True  # httpx's default verification
    for label, path in (
        ("ca_file", settings.ca_file),
        ("client_cert_file", auth.client_cert_file if isinstance(auth, ClientCertAuth) else None),
        ("client_key_file", auth.client_key_file if isinstance(auth, ClientCertAuth) else None),
    ):
        if path is not None and not path.is_file():
            raise _config_error(f"{label} : le fichier {path} n'existe pas")
    try:
        if settings.ca_file is not None:
            context = ssl.create_default_context(cafile=str(settings.ca_file))
        else:
            context = httpx.create_ssl_context()
        if isinstance(auth, ClientCertAuth):
            key = str(auth.client_key_file) if auth.client_key_file is not None else None
            context.load_cert_chain(str(auth.client_cert_file), key)
    except (ssl.SSLError, OSError) as exc:
        raise _config_error(f"certificats TLS inutilisables : {exc}") from None
    return context


def _chunks(body: BinaryIO, progress: ProgressCallback | None) -> Iterator[bytes]:
    while chunk := body.read(_CHUNK):
        yield chunk
        if progress is not None:
            progress(len(chunk))


def _excerpt(response: httpx.Response) -> str:
    """The first characters of the answer, without reading a large body whole."""
    data = bytearray()
    try:
        for chunk in response.iter_bytes():
            data += chunk
            if len(data) >= _EXCERPT_BYTES:
                break
    except httpx.HTTPError:
        pass  # the status line is the answer; a truncated body only shortens the excerpt
    return bytes(data).decode(response.charset_encoding or "utf-8", errors="replace")[:EXCERPT_CHARS]


def _tls_verification_failed(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class HttpTransport(ClosingTransport):
    """One `httpx.Client` (connection pool) per instance; close it, or use it as a context manager."""

    def __init__(self, settings: HttpSettings) -> None:
        self.settings = settings
        self.progress: ProgressCallback | None = None
        self._client: httpx.Client | None = None
        self._closed = False

    def close(self) -> None:
        self._closed = True
        if self._client is not None:
            self._client.close()
            self._client = None

    def _http_client(self) -> httpx.Client:
        # Created on first delivery so that a bad certificate path is reported as a DeliveryError.
        if self._closed:
            raise RuntimeError("HttpTransport used after close()")
        if self._client is None:
            timeout = httpx.Timeout(
                connect=self.settings.connect_timeout,
                read=self.settings.read_timeout,
                write=self.settings.read_timeout,
                pool=self.settings.connect_timeout,
            )
            self._client = httpx.Client(
                verify=_tls_context(self.settings),
                timeout=timeout,
                follow_redirects=False,  # a redirected POST would silently become a GET
                headers={"User-Agent": USER_AGENT},
            )
        return self._client

    def deliver(self, feed: FeedToDeliver) -> DeliveryReceipt:
        settings = self.settings
        if settings.gzip:
            path, size, sha256 = feed.gz_path, feed.gz_size, feed.gz_sha256
        else:
            path, size, sha256 = feed.path, feed.size, feed.sha256
        key = idempotency_key(feed)
        # Static headers may replace the Content-Type (e.g. `text/xml; charset=utf-8`), not the rest.
        headers = httpx.Headers({"Content-Type": "application/xml"})
        headers.update(settings.headers)
        headers["Content-Length"] = str(size)
        headers["Idempotency-Key"] = key
        encoded_digest = base64.b64encode(bytes.fromhex(sha256)).decode("ascii")
        headers["Digest"] = f"SHA-256={encoded_digest}"  # RFC 3230
        headers["Content-Digest"] = f"sha-256=:{encoded_digest}:"  # RFC 9530, its successor
        headers["X-Content-SHA256"] = sha256
        headers["X-Feed-SHA256"] = feed.sha256  # of the XML itself, to check after decompression
        headers["X-Feed-Name"] = feed.name
        if settings.gzip:
            headers["Content-Encoding"] = "gzip"
        authorization = _authorization(settings.auth)
        if authorization is not None:
            headers["Authorization"] = authorization
        client = self._http_client()

        try:
            body = path.open("rb")
        except OSError as exc:
            raise DeliveryError(
                "HTTP_SOURCE", f"fichier du flux illisible : {path} ({exc.strerror})", retryable=False
            ) from exc
        with body:
            actual = os.fstat(body.fileno()).st_size
            if actual != size:
                raise DeliveryError(
                    "HTTP_SOURCE",
                    f"{path} fait {actual} octets au lieu des {size} annoncés : le fichier a changé dans l'outbox",
                    retryable=False,
                )
            request = client.build_request(
                settings.method, settings.url, content=_chunks(body, self.progress), headers=headers
            )
            try:
                response = client.send(request, stream=True)
            except httpx.TimeoutException as exc:
                raise DeliveryError(
                    "HTTP_TIMEOUT", f"{settings.url} : délai dépassé ({type(exc).__name__})", retryable=True
                ) from exc
            except httpx.ConnectError as exc:
                if _tls_verification_failed(exc):
                    raise DeliveryError(
                        "HTTP_TLS", f"{settings.url} : certificat du serveur refusé ({exc})", retryable=False
                    ) from exc
                raise DeliveryError(
                    "HTTP_NETWORK", f"{settings.url} : connexion impossible ({exc})", retryable=True
                ) from exc
            except httpx.TransportError as exc:
                # RemoteProtocolError (connection dropped), ReadError, WriteError, proxy errors...
                if isinstance(exc, httpx.UnsupportedProtocol):
                    raise _config_error(f"{settings.url} : {exc}") from exc
                raise DeliveryError(
                    "HTTP_NETWORK",
                    f"{settings.url} : connexion interrompue ({type(exc).__name__}: {exc})",
                    retryable=True,
                ) from exc
            except OSError as exc:  # reading the outbox file while streaming it
                raise DeliveryError(
                    "HTTP_SOURCE", f"lecture de {path} impossible pendant l'envoi ({exc.strerror})", retryable=False
                ) from exc
        try:
            excerpt = _excerpt(response)
        finally:
            response.close()
        return self._outcome(response, excerpt, size, key)

    def _outcome(self, response: httpx.Response, excerpt: str, size: int, key: str) -> DeliveryReceipt:
        status = response.status_code
        remote = str(response.url)
        summary = f"HTTP {status} {response.reason_phrase}".rstrip()
        if 200 <= status < 300:
            extra = {"idempotency_key": key}
            if "location" in response.headers:
                extra["location"] = response.headers["location"]
            return DeliveryReceipt(
                remote=remote,
                bytes_sent=size,
                detail=f"{summary} : {excerpt}" if excerpt else summary,
                http_status=status,
                extra=extra,
            )
        if status in RETRYABLE_STATUSES or status >= 500:
            raise DeliveryError(
                "HTTP_RETRYABLE_STATUS",
                f"{remote} a répondu {summary} ; nouvel essai plus tard",
                retryable=True,
                retry_after=parse_retry_after(response.headers.get("retry-after")),
                http_status=status,
                response_excerpt=excerpt,
            )
        if 300 <= status < 400:
            where = response.headers.get("location", "?")
            message = f"{remote} a répondu {summary} vers {where} : corriger l'URL de la destination"
        else:
            message = f"{remote} a refusé le flux ({summary})"
        raise DeliveryError("HTTP_REJECTED", message, retryable=False, http_status=status, response_excerpt=excerpt)
