"""Partners page: everyone sees partners, tokens and each feed's last fetch; admins manage tokens.

A new token is shown once, in the answer to the POST that created it (never in a URL, never
stored: the store keeps its SHA-256 only); the page says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from sqlalchemy import select
from starlette.responses import RedirectResponse, Response

from gateway.mapping.profiles import ProfileError, load_profiles
from gateway.store.tables import PartnerFetchRow, PartnerRow
from gateway.web.console.security import AdminPost, ConsoleRoute, Reader
from gateway.web.console.views import aware, render
from gateway.web.partners import IssuedToken, PartnerError, add_partner, list_partners, revoke, rotate_token
from gateway.web.state import app_state

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

API_PREFIX = "/api/v1/feeds/"
NOTICES = {"revoked": "Partenaire révoqué : ses jetons ne fonctionnent plus.", "token-revoked": "Jeton révoqué."}


@dataclass
class LastFetch:
    at: datetime
    status: int
    bytes_sent: int | None
    path: str


@dataclass
class FeedFetches:
    feed: str
    last: LastFetch | None = None
    last_ok: LastFetch | None = None  # the last answer with content or 304, i.e. the partner is in step


def feed_fetches(request: Request) -> dict[str, list[FeedFetches]]:
    """Per partner name, per allowed feed: its last request and its last successful one."""
    database = app_state(request).database
    result: dict[str, list[FeedFetches]] = {}
    with database.session() as db:
        for partner in db.scalars(select(PartnerRow).order_by(PartnerRow.name)):
            lines = []
            for feed in partner.feeds.split():
                base = select(PartnerFetchRow).where(
                    PartnerFetchRow.partner_id == partner.id, PartnerFetchRow.path.like(f"{API_PREFIX}{feed}/%")
                )
                ordered = base.order_by(PartnerFetchRow.at.desc(), PartnerFetchRow.id.desc()).limit(1)
                last = db.scalars(ordered).first()
                ok = db.scalars(ordered.where(PartnerFetchRow.status.in_((200, 206, 304)))).first()
                lines.append(FeedFetches(feed, _fetch(last), _fetch(ok)))
            result[partner.name] = lines
    return result


def _fetch(row: PartnerFetchRow | None) -> LastFetch | None:
    return LastFetch(aware(row.at), row.status, row.bytes_sent, row.path) if row else None


def _page(
    request: Request,
    *,
    issued: IssuedToken | None = None,
    error: str | None = None,
    notice: str | None = None,
    form: dict[str, object] | None = None,
) -> Response:
    state = app_state(request)
    try:
        feeds = [profile.name for profile in load_profiles(state.config.mappings_path)]
    except ProfileError:
        feeds = []
    context: dict[str, object] = {
        "partners": list_partners(state.database),
        "fetches": feed_fetches(request),
        "feeds": feeds,
        "issued": issued,
        "error": error,
        "notice": NOTICES.get(notice or ""),
        "form": form or {"name": "", "feeds": []},
        "now": datetime.now(UTC),
        "nav": "partners",
    }
    return render(request, "partners.html", context, status_code=400 if error else 200)


@router.get("/partners")
def partners(request: Request, staff: Reader, notice: str | None = None) -> Response:
    return _page(request, notice=notice)


@router.post("/partners")
def partners_add(
    request: Request,
    staff: AdminPost,
    name: Annotated[str, Form()] = "",
    feeds: Annotated[list[str] | None, Form()] = None,
) -> Response:
    state = app_state(request)
    try:
        issued = add_partner(state.database, state.config, name.strip(), feeds or [], actor=staff.login)
    except PartnerError as exc:
        return _page(request, error=str(exc), form={"name": name, "feeds": feeds or []})
    return _page(request, issued=issued)


@router.post("/partners/{name}/rotate")
def partners_rotate(request: Request, staff: AdminPost, name: str) -> Response:
    state = app_state(request)
    try:
        issued = rotate_token(state.database, state.config, name, actor=staff.login)
    except PartnerError as exc:
        return _page(request, error=str(exc))
    return _page(request, issued=issued)


@router.post("/partners/{name}/revoke")
def partners_revoke(request: Request, staff: AdminPost, name: str, token: Annotated[str, Form()] = "") -> Response:
    try:
        revoke(app_state(request).database, name, actor=staff.login, token_prefix=token.strip() or None)
    except PartnerError as exc:
        return _page(request, error=str(exc))
    return RedirectResponse(f"/partners?notice={'token-revoked' if token else 'revoked'}", status_code=303)
