"""Who may do what in the console: sessions, roles, CSRF, same-origin checks, security headers.

Every check runs on the server; the templates only hide buttons a role may not use. Refusals
are French HTML pages (403/404), rendered by `ConsoleRoute`, the route class of every console
router, which also adds the security headers to each response.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Coroutine
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import Depends, Form, Request
from fastapi.routing import APIRoute
from starlette.responses import RedirectResponse, Response

from gateway.web.console.sessions import COOKIE_NAME, StaffSession, load_session
from gateway.web.console.views import render
from gateway.web.state import app_state
from gateway.web.users import Role

log = logging.getLogger(__name__)

SECURITY_HEADERS = {
    # No inline script or style anywhere: the CSP can forbid them outright.
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


class Refused(Exception):
    """The request may not proceed: shown as a French error page with this status."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message


class LoginRequired(Exception):
    """A page needs a signed-in user: redirect to the login page, then come back."""


def safe_next(target: str | None) -> str:
    """A local path to go back to after login; anything else (another site) becomes the dashboard."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


class ConsoleRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def console_handler(request: Request) -> Response:
            try:
                response = await handler(request)
            except LoginRequired:
                path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                response = RedirectResponse(f"/login?next={quote(safe_next(path), safe='')}", status_code=303)
            except Refused as refusal:
                response = render(request, "error.html", {"message": refusal.message}, status_code=refusal.status_code)
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
            # Pages show personal and operational data: never keep them in a shared cache.
            response.headers.setdefault("Cache-Control", "no-store")
            return response

        return console_handler


def current_session(request: Request) -> StaffSession | None:
    """The session of the request's cookie (looked up once per request)."""
    if not hasattr(request.state, "staff"):
        state = app_state(request)
        request.state.staff = load_session(state.database, request.cookies.get(COOKIE_NAME))
    staff: StaffSession | None = request.state.staff
    return staff


def same_origin(request: Request) -> bool:
    """Origin (or else Referer), when the browser sent one, must name this very host.

    Only host and port are compared: behind a TLS-terminating proxy the app itself sees http.
    """
    origin = request.headers.get("origin")
    source = origin if origin is not None else request.headers.get("referer")
    if source is None:
        return True  # old clients and privacy settings: the CSRF token still protects
    parts = urlsplit(source)
    return parts.scheme in ("http", "https") and parts.netloc == request.headers.get("host", "")


def require_role(needed: Role) -> Callable[[Request], StaffSession]:
    """Dependency for pages: sign-in required (redirect), then the role."""

    def dependency(request: Request) -> StaffSession:
        staff = current_session(request)
        if staff is None:
            raise LoginRequired()
        if not staff.can(needed):
            raise Refused(403, f"Cette page est réservée au rôle « {needed.label} » ou supérieur.")
        return staff

    return dependency


def require_post(needed: Role) -> Callable[..., StaffSession]:
    """Dependency for state-changing POSTs: session, same origin, CSRF token, then role.

    A POST without a session is refused rather than redirected: a form cannot be replayed
    after login, and a forged one must simply fail.
    """

    def dependency(request: Request, csrf_token: Annotated[str, Form()] = "") -> StaffSession:
        staff = current_session(request)
        if staff is None:
            raise Refused(403, "Session absente ou expirée : reconnectez-vous puis recommencez.")
        if not same_origin(request):
            log.warning("console: cross-origin POST %s by %s refused", request.url.path, staff.login)
            raise Refused(403, "Requête refusée : elle ne provient pas de la console.")
        if not secrets.compare_digest(csrf_token.encode(), staff.csrf_token.encode()):
            log.warning("console: POST %s by %s without a valid CSRF token", request.url.path, staff.login)
            raise Refused(403, "Requête refusée : jeton de sécurité du formulaire absent ou invalide.")
        if not staff.can(needed):
            log.warning("console: %s (%s) may not POST %s", staff.login, staff.role, request.url.path)
            raise Refused(403, f"Action réservée au rôle « {needed.label} » ou supérieur.")
        return staff

    return dependency


# Route parameters: `staff: Reader` on a page, `staff: OperatorPost` on a replay, and so on.
Reader = Annotated[StaffSession, Depends(require_role(Role.VIEWER))]
Admin = Annotated[StaffSession, Depends(require_role(Role.ADMIN))]
Operator = Annotated[StaffSession, Depends(require_role(Role.OPERATOR))]
AnyPost = Annotated[StaffSession, Depends(require_post(Role.VIEWER))]
OperatorPost = Annotated[StaffSession, Depends(require_post(Role.OPERATOR))]
AdminPost = Annotated[StaffSession, Depends(require_post(Role.ADMIN))]
