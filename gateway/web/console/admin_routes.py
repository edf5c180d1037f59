"""User management (admins) and the audit log (everyone signed in)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from sqlalchemy import func, select
from starlette.responses import RedirectResponse, Response

from gateway.store.tables import AuditRow
from gateway.web.console.security import Admin, AdminPost, ConsoleRoute, Reader, Refused
from gateway.web.console.transmissions import FilterError, day_start, parse_day
from gateway.web.console.views import render
from gateway.web.state import app_state
from gateway.web.users import Role, UserError, add_user, disable_user, list_users, set_role

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

AUDIT_PAGE = 100
NOTICES = {
    "added": "Utilisateur ajouté.",
    "disabled": "Utilisateur désactivé ; ses sessions ouvertes sont fermées.",
    "role": "Rôle modifié.",
}


def _users_page(
    request: Request, *, error: str | None = None, notice: str | None = None, form: dict[str, str] | None = None
) -> Response:
    return render(
        request,
        "users.html",
        {
            "users": list_users(app_state(request).database),
            "roles": list(Role),
            "error": error,
            "notice": NOTICES.get(notice or ""),
            "form": form or {"login": "", "role": Role.VIEWER.value},
            "nav": "users",
        },
        status_code=400 if error else 200,
    )


@router.get("/users")
def users(request: Request, staff: Admin, notice: str | None = None) -> Response:
    return _users_page(request, notice=notice)


@router.post("/users")
def users_add(
    request: Request,
    staff: AdminPost,
    login: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
) -> Response:
    try:
        add_user(app_state(request).database, login, role, password, actor=staff.login)
    except UserError as exc:
        return _users_page(request, error=str(exc), form={"login": login, "role": role})
    return RedirectResponse("/users?notice=added", status_code=303)


@router.post("/users/{login}/disable")
def users_disable(request: Request, staff: AdminPost, login: str) -> Response:
    if login == staff.login:
        return _users_page(request, error="Vous ne pouvez pas désactiver votre propre compte.")
    try:
        disable_user(app_state(request).database, login, actor=staff.login)
    except UserError as exc:
        return _users_page(request, error=str(exc))
    return RedirectResponse("/users?notice=disabled", status_code=303)


@router.post("/users/{login}/role")
def users_set_role(request: Request, staff: AdminPost, login: str, role: Annotated[str, Form()] = "") -> Response:
    try:
        set_role(app_state(request).database, login, role, actor=staff.login)
    except UserError as exc:
        return _users_page(request, error=str(exc))
    return RedirectResponse("/users?notice=role", status_code=303)


@router.get("/audit")
def audit_log(
    request: Request,
    staff: Reader,
    action: str | None = None,
    actor: str | None = None,
    since: str | None = None,
    until: str | None = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    try:
        first, last = parse_day(since), parse_day(until)
    except FilterError as exc:
        raise Refused(400, f"Filtre invalide : {exc}.") from exc
    query = select(AuditRow)
    if action:
        query = query.where(AuditRow.action == action)
    if actor:
        query = query.where(AuditRow.actor == actor)
    start = day_start(first)
    if start is not None:
        query = query.where(AuditRow.at >= start)
    if last is not None:
        query = query.where(AuditRow.at < day_start(last + timedelta(days=1)))
    with app_state(request).database.session() as db:
        total = db.scalar(select(func.count()).select_from(query.subquery())) or 0
        ordered = query.order_by(AuditRow.id.desc()).limit(AUDIT_PAGE).offset((page - 1) * AUDIT_PAGE)
        entries = list(db.scalars(ordered))
        actions = sorted(db.scalars(select(AuditRow.action).distinct()))
    wanted = {"action": action or "", "actor": actor or "", "since": first or "", "until": last or ""}
    pages = max(1, -(-total // AUDIT_PAGE))

    def page_link(number: int) -> str:
        return urlencode({key: str(value) for key, value in (wanted | {"page": number}).items() if value})

    return render(
        request,
        "audit.html",
        {
            "entries": entries,
            "actions": actions,
            "wanted": wanted,
            "total": total,
            "page": page,
            "pages": pages,
            "page_link": page_link,
            "nav": "audit",
        },
    )
