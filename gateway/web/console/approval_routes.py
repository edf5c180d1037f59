"""The approvals page (`/approvals`, issue #8): offers a destination's rules put "to validate".

The latest export of each destination lists the offers it held back for approval; an operator
approves one for that destination (audited, like replays). The approval names the offer's
payload digest as shown on the page, so it holds until the offer changes; the offer goes out
at the destination's next export.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from gateway.mapping.profiles import PROFILE_NAME, ProfileError, load_profiles
from gateway.store.approvals import ApprovalRefused, approve, waiting_approvals
from gateway.web.console.security import ConsoleRoute, OperatorPost, Reader, Refused
from gateway.web.console.views import render
from gateway.web.state import app_state
from gateway.web.users import Role

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)


@router.get("/approvals")
def approvals(request: Request, staff: Reader, destination: str | None = None, approved: str | None = None) -> Response:
    state = app_state(request)
    with state.database.session() as db:
        everything = waiting_approvals(db)
    shown = [item for item in everything if not destination or item.destination == destination]
    context = {
        "items": shown,
        "destinations": sorted({item.destination for item in everything}),
        "destination": destination or "",
        "approved": approved,
        "can_approve": staff.can(Role.OPERATOR),
        "nav": "approvals",
    }
    return render(request, "approvals.html", context)


@router.post("/approvals")
def approve_offer(
    request: Request,
    staff: OperatorPost,
    destination: Annotated[str, Form()],
    reference: Annotated[str, Form()],
    payload_sha256: Annotated[str, Form()],
) -> Response:
    state = app_state(request)
    try:
        if not PROFILE_NAME.fullmatch(destination):
            raise ProfileError(destination)
        load_profiles(state.config.mappings_path, [destination])
    except ProfileError as exc:
        raise Refused(400, f"Destination « {destination} » inconnue.") from exc
    try:
        with state.database.session() as db, db.begin():
            approve(db, destination, reference, staff.login, payload_sha256=payload_sha256)
    except ApprovalRefused as exc:
        raise Refused(409, str(exc)) from exc
    query = urlencode({"destination": destination, "approved": reference})
    return RedirectResponse(f"/approvals?{query}", status_code=303)
