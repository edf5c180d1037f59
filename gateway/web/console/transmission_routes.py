"""Transmission pages: filtered list, detail with every attempt, single and bulk replay.

A replay is queued, audited, then delivered at once by a background task, so staff watch the
detail page (which refreshes itself while the transmission is in flight) turn to sent.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Form, Query, Request
from starlette.convertors import Convertor, register_url_convertor
from starlette.responses import RedirectResponse, Response

from gateway.outbox.relay import Status
from gateway.web.console.security import ConsoleRoute, Operator, OperatorPost, Reader, Refused
from gateway.web.console.transmissions import (
    BULK_LIMIT,
    FilterError,
    TransmissionFilter,
    deliver_now,
    list_transmissions,
    replay_and_audit,
    replayable_ids,
    transmission_detail,
)
from gateway.web.console.views import render
from gateway.web.state import app_state
from gateway.web.users import Role

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

NOTICES = {
    "replayed": "Rejeu demandé : la transmission est remise en attente et renvoyée tout de suite, même si une "
    "copie est déjà chez le destinataire (le dernier essai dit ce qui a été envoyé).",
    "not-replayed": "Rien à rejouer : la transmission est déjà en cours, ou son flux a été purgé.",
}


def _filter(
    status: str | None, destination: str | None, since: str | None, until: str | None = None
) -> TransmissionFilter:
    try:
        return TransmissionFilter.parse(status, destination, since, until)
    except FilterError as exc:
        raise Refused(400, f"Filtre invalide : {exc}.") from exc


class _RowId(Convertor[int]):
    """Row ids of at most 18 digits: a longer number is no row (404), and converting one of
    thousands of digits would raise past Python's digit limit (a 500)."""

    regex = "[0-9]{1,18}"

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        return str(value)


register_url_convertor("rowid", _RowId())


@router.get("/transmissions")
def transmissions(
    request: Request,
    staff: Reader,
    status: str | None = None,
    destination: str | None = None,
    since: str | None = None,
    until: str | None = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    replayed: Annotated[int | None, Query(ge=0)] = None,
) -> Response:
    wanted = _filter(status, destination, since, until)
    listing = list_transmissions(app_state(request).database, wanted, page)
    return render(
        request,
        "transmissions.html",
        {
            "page": listing,
            "wanted": wanted,
            "statuses": list(Status),
            "replayed": replayed,
            "can_replay": staff.can(Role.OPERATOR),
            "nav": "transmissions",
        },
    )


@router.get("/transmissions/replay")
def confirm_bulk_replay(
    request: Request,
    staff: Operator,
    status: str | None = None,
    destination: str | None = None,
    since: str | None = None,
    until: str | None = None,
) -> Response:
    wanted = _filter(status, destination, since, until)
    if wanted.is_empty:
        raise Refused(400, "Rejeu groupé : choisissez d'abord un filtre (statut, destination ou date).")
    ids = replayable_ids(app_state(request).database, wanted)
    return render(
        request,
        "replay_confirm.html",
        {"wanted": wanted, "ids": ids[:BULK_LIMIT], "truncated": len(ids) > BULK_LIMIT, "nav": "transmissions"},
    )


@router.post("/transmissions/replay")
def bulk_replay(
    request: Request,
    background: BackgroundTasks,
    staff: OperatorPost,
    ids: Annotated[list[int] | None, Form()] = None,
    destination: Annotated[str, Form()] = "",
) -> Response:
    # Ids beyond SQLite's 64-bit integers name no row (and could not even be bound).
    ids = [ident for ident in ids or [] if 0 < ident < 2**63]
    if len(ids) > BULK_LIMIT:
        raise Refused(400, f"Trop de transmissions à la fois (plus de {BULK_LIMIT}) : utilisez la ligne de commande.")
    state = app_state(request)
    # The ids confirmed on the previous page, not the filter again: what was shown is what is replayed.
    queued = replay_and_audit(state.database, ids, staff.login)
    if queued:
        background.add_task(deliver_now, state.database, state.config, queued.values())
    target = TransmissionFilter(destination=destination or None).query_string()
    return RedirectResponse(f"/transmissions?{target}&replayed={len(queued)}".replace("?&", "?"), status_code=303)


@router.get("/transmissions/{transmission_id:rowid}")
def transmission(request: Request, staff: Reader, transmission_id: int, notice: str | None = None) -> Response:
    detail = transmission_detail(app_state(request).database, transmission_id)
    if detail is None:
        raise Refused(404, f"Transmission n° {transmission_id} introuvable.")
    return render(
        request,
        "transmission.html",
        {
            "detail": detail,
            "can_replay": staff.can(Role.OPERATOR),
            "notice": NOTICES.get(notice or ""),
            "nav": "transmissions",
        },
    )


@router.post("/transmissions/{transmission_id:rowid}/replay")
def replay_one(request: Request, background: BackgroundTasks, staff: OperatorPost, transmission_id: int) -> Response:
    state = app_state(request)
    queued = replay_and_audit(state.database, [transmission_id], staff.login)
    if queued:
        background.add_task(deliver_now, state.database, state.config, queued.values())
    notice = "replayed" if queued else "not-replayed"
    return RedirectResponse(f"/transmissions/{transmission_id}?notice={notice}", status_code=303)
