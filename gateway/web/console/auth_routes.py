"""Login and logout.

The login form has no session yet, so it is protected by a double-submit token instead: a
random value both in a SameSite=Strict cookie and in the form, which another site cannot read
(and the Origin check refuses its forms anyway). A successful login always mints a new session
token and ends the session of any cookie the browser presented (session fixation).
"""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from starlette.responses import RedirectResponse, Response

from gateway.web.console import throttle
from gateway.web.console.security import AnyPost, ConsoleRoute, Refused, current_session, safe_next, same_origin
from gateway.web.console.sessions import COOKIE_NAME, close_session, open_session
from gateway.web.console.views import render
from gateway.web.state import app_state
from gateway.web.users import authenticate

log = logging.getLogger(__name__)

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

LOGIN_CSRF_COOKIE = "lheo_login_csrf"


def _login_form(request: Request, next_path: str, *, error: str | None = None, login: str = "") -> Response:
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    response = render(
        request,
        "login.html",
        {"login_csrf": token, "next": next_path, "error": error, "login": login, "current": current_session(request)},
        status_code=401 if error else 200,
    )
    secure = app_state(request).config.web.secure_cookies
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=secure, path="/login")
    return response


@router.get("/login")
def login_page(request: Request, next_path: Annotated[str, Query(alias="next")] = "/") -> Response:
    # Shown even when signed in: staff can always switch accounts (the old session then ends).
    return _login_form(request, safe_next(next_path))


@router.post("/login")
def login(
    request: Request,
    login: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
    next_path: Annotated[str, Form(alias="next")] = "/",
) -> Response:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not same_origin(request) or not expected or not secrets.compare_digest(csrf_token.encode(), expected.encode()):
        raise Refused(403, "Formulaire de connexion expiré ou falsifié : rechargez la page de connexion.")
    state = app_state(request)
    client = request.client.host if request.client else "?"
    lock = throttle.current_lock(state.database, login, client)
    if lock is not None:  # refused without checking the password (even the right one)
        log.warning("console: login for %r from %s refused: throttled", login[:128], client)
        now = datetime.now(UTC)
        response = _login_form(request, safe_next(next_path), error=lock.message(now), login=login)
        response.status_code = 429
        response.headers["Retry-After"] = str(lock.seconds_left(now))
        return response
    user = authenticate(state.database, login, password)
    if user is None:
        throttle.record_failure(state.database, login, client)
        log.warning("console: failed login for %r from %s", login[:128], client)
        return _login_form(request, safe_next(next_path), error="Identifiant ou mot de passe incorrect.", login=login)
    throttle.record_success(state.database, login)
    hours, secure = state.config.web.session_hours, state.config.web.secure_cookies
    token, _expires = open_session(state.database, user.id, hours, replaces=request.cookies.get(COOKIE_NAME))
    log.info("console: %s signed in", user.login)
    response = RedirectResponse(safe_next(next_path), status_code=303)
    response.set_cookie(
        COOKIE_NAME,
        token,
        max_age=int(hours * 3600),
        httponly=True,
        samesite="strict",
        secure=secure,
        path="/",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login", httponly=True, samesite="strict", secure=secure)
    return response


@router.post("/logout")
def logout(request: Request, staff: AnyPost) -> Response:
    close_session(app_state(request).database, request.cookies.get(COOKIE_NAME))
    log.info("console: %s signed out", staff.login)
    response = RedirectResponse("/login", status_code=303)
    secure = app_state(request).config.web.secure_cookies
    response.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="strict", secure=secure)
    return response
