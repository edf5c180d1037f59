"""Bearer-token authentication of partners, JSON errors, and the log of every partner request.

`PartnerRoute` wraps each API endpoint: whatever happens (401, 403, validation error, crash,
a streamed file cut short), the answer is logged as a PartnerFetchRow once its last byte
is sent, with the bytes actually written, and errors leave as `{"error": {code, message}}`.
It is a route class rather than app middleware so the API needs nothing from `create_app`.
Log rows are written by `FetchLog`, in batches, off the request path.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.models import HTTPBearer as HTTPBearerModel
from fastapi.routing import APIRoute
from fastapi.security.base import SecurityBase
from sqlalchemy import insert, update
from starlette.exceptions import HTTPException
from starlette.types import Message, Receive, Scope, Send

from gateway.intake.input_errors import french_reason
from gateway.store.database import Database
from gateway.store.tables import PartnerFetchRow, PartnerTokenRow
from gateway.web.api.schemas import ApiError, error_response
from gateway.web.partners import AuthError, Principal, authenticate
from gateway.web.redact import redact_target
from gateway.web.state import app_state

log = logging.getLogger(__name__)

_AUTH_MESSAGES = {
    "AUTH_REQUIRED": "Authentification requise : en-tête `Authorization: Bearer <jeton>`.",
    "AUTH_INVALID": "Jeton invalide, expiré ou révoqué.",
}


class PartnerToken(SecurityBase):
    """The API's bearer-token scheme, which also authenticates.

    A single dependency (not HTTPBearer plus a second one): it runs on every request, and
    being a SecurityBase it still appears as the security scheme in the OpenAPI document.
    """

    def __init__(self) -> None:
        self.model = HTTPBearerModel(description="Jeton fourni par l'équipe de la passerelle : `Bearer lheo_…`.")
        self.scheme_name = "jeton-partenaire"

    async def __call__(self, request: Request) -> Principal:
        """The partner of the request's bearer token; 401 otherwise (RFC 6750 challenge).

        Runs on the event loop: one indexed read (~0.03 ms, see FastQuery) in WAL mode, where
        readers never wait for writers; a thread hop would cost more than the query.
        """
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        token = credentials.strip() if scheme.lower() == "bearer" else None
        try:
            principal = authenticate(app_state(request).database, token)
        except AuthError as exc:
            request.state.partner_id = exc.partner_id
            challenge = 'Bearer realm="lheo-gateway"'
            if exc.code == "AUTH_INVALID":
                challenge += ', error="invalid_token"'
            raise ApiError(401, exc.code, _AUTH_MESSAGES[exc.code], {"WWW-Authenticate": challenge}) from None
        request.state.partner_id = principal.partner_id
        request.state.token_id = principal.token_id
        return principal


Partner = Annotated[Principal, Depends(PartnerToken())]


@dataclass(frozen=True)
class Fetch:
    """One partner request, as logged."""

    partner_id: int | None
    token_id: int | None  # set when the token was accepted: its last use is then recorded
    method: str
    path: str
    status: int
    bytes_sent: int
    client: str | None
    at: datetime


def record_fetches(database: Database, fetches: list[Fetch]) -> None:
    """Write log rows and the tokens' last use, in one transaction."""
    last_use: dict[int, datetime] = {}
    for fetch in fetches:
        if fetch.token_id is not None:
            last_use[fetch.token_id] = max(fetch.at, last_use.get(fetch.token_id, fetch.at))
    with database.engine.begin() as connection:
        connection.execute(
            insert(PartnerFetchRow),
            [
                {
                    "partner_id": fetch.partner_id,
                    "at": fetch.at,
                    "method": fetch.method[:8],
                    "path": fetch.path[:2000],
                    "status": fetch.status,
                    "bytes_sent": fetch.bytes_sent,
                    "client": (fetch.client or "")[:64] or None,
                }
                for fetch in fetches
            ],
        )
        for token_id, at in last_use.items():
            connection.execute(update(PartnerTokenRow).where(PartnerTokenRow.id == token_id).values(last_used_at=at))


class FetchLog:
    """Writes partner fetches in batches from a thread of its own, within FLUSH_SECONDS.

    A request never waits for the store's write lock, which an export holds for its whole
    transaction (seconds): writing from the request would stall answers, then the threadpool.
    A failed batch is kept and retried; past MAX_PENDING rows (store unwritable for long) new
    rows are dropped and counted rather than filling memory. Pending rows are written at exit.
    """

    FLUSH_SECONDS = 0.2
    MAX_PENDING = 100_000

    def __init__(self, database: Database) -> None:
        self.database = database
        self.dropped = 0
        self._pending: list[Fetch] = []
        self._lock = threading.Lock()
        self._writer: threading.Thread | None = None
        atexit.register(self.flush)

    def add(self, fetch: Fetch) -> None:
        with self._lock:
            if len(self._pending) >= self.MAX_PENDING:
                self.dropped += 1
                if self.dropped % 1000 == 1:
                    log.error("partner fetch log: store unwritable, %d rows dropped so far", self.dropped)
                return
            self._pending.append(fetch)
            if self._writer is None:  # started on demand, ends when idle: no thread per idle app
                self._writer = threading.Thread(target=self._run, name="partner-fetch-log", daemon=True)
                self._writer.start()

    def _take(self) -> list[Fetch]:
        with self._lock:
            batch, self._pending = self._pending, []
            if not batch:
                self._writer = None
            return batch

    def _run(self) -> None:
        while True:
            time.sleep(self.FLUSH_SECONDS)
            batch = self._take()
            if not batch:
                return
            try:
                record_fetches(self.database, batch)
            except Exception:
                log.exception("partner fetch log: could not write %d rows, will retry", len(batch))
                with self._lock:
                    self._pending[:0] = batch

    def flush(self) -> None:
        """Write what is pending now (at exit; the writer thread may be gone)."""
        writer = self._writer
        if writer is not None:
            writer.join(timeout=5)
        with self._lock:
            batch, self._pending = self._pending, []
        if batch:
            try:
                record_fetches(self.database, batch)
            except Exception:  # at exit there is no one left to tell but the log
                log.exception("partner fetch log: %d rows lost", len(batch))


def fetch_log(request: Request) -> FetchLog:
    """The app's fetch log, made on first use (kept on `app.state`: one per app, no global)."""
    found = getattr(request.app.state, "partner_fetch_log", None)
    if not isinstance(found, FetchLog):
        found = FetchLog(app_state(request).database)
        request.app.state.partner_fetch_log = found
    return found


class _Logged(Response):
    """Sends `inner`, counting what goes out, then logs the fetch (even if the client left early)."""

    def __init__(self, inner: Response, request: Request) -> None:
        self.inner, self.request = inner, request
        self.status_code = inner.status_code
        self.background = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        status, sent = self.inner.status_code, 0

        async def counting(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        try:
            await self.inner(scope, receive, counting)
        finally:
            state, query = self.request.state, scope.get("query_string", b"").decode("latin-1")
            fetch_log(self.request).add(
                Fetch(
                    partner_id=getattr(state, "partner_id", None),
                    token_id=getattr(state, "token_id", None),
                    method=scope["method"],
                    # Never a secret in the log, even one a partner put in the URL.
                    path=redact_target(scope["path"] + (f"?{query}" if query else "")),
                    status=status,
                    bytes_sent=sent,
                    client=self.request.client.host if self.request.client else None,
                    at=datetime.now(UTC),
                )
            )


def _validation_message(exc: RequestValidationError) -> str:
    details = []
    for error in exc.errors()[:5]:
        where = ".".join(str(part) for part in error.get("loc", ()))
        details.append(f"{where[:80]} : {french_reason(str(error.get('type', '')))}")
    return "Requête invalide — " + " ; ".join(details)


class PartnerRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                response = await handler(request)
            except ApiError as exc:
                response = exc.response()
            except RequestValidationError as exc:
                response = error_response(422, "INVALID_REQUEST", _validation_message(exc))
            except HTTPException as exc:
                response = error_response(exc.status_code, "HTTP_ERROR", str(exc.detail))
            except Exception:
                log.exception("partner API failure on %s %s", request.method, request.url.path)
                response = error_response(500, "INTERNAL_ERROR", "Erreur interne de la passerelle.")
            return _Logged(response, request)

        return handle
