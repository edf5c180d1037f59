"""The cluster page: instances and heartbeats, leader, leases (stuck ones releasable), slots.

Health at a glance: is a scheduler alive (a `run` instance with a recent heartbeat), when each
destination last ran, which leases are stuck with a dead holder; next runs are shown only when
an instance is alive to run them. Releasing a lease is for operators, audited.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from gateway.scheduling.cluster_status import LeaseError, cluster_status, release_lease
from gateway.web.console.security import ConsoleRoute, OperatorPost, Reader
from gateway.web.console.views import render
from gateway.web.state import app_state
from gateway.web.users import Role

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)


def _page(request: Request, staff: Reader, *, notice: str | None = None, error: str | None = None) -> Response:
    state = app_state(request)
    context = {
        "cluster": cluster_status(state.database, state.config),
        "can_release": staff.role in (Role.OPERATOR, Role.ADMIN),
        "notice": notice,
        "error": error,
        "nav": "cluster",
    }
    return render(request, "cluster.html", context, status_code=400 if error else 200)


@router.get("/cluster")
def cluster(request: Request, staff: Reader, released: str | None = None) -> Response:
    notice = f"Bail « {released} » libéré." if released else None
    return _page(request, staff, notice=notice)


@router.post("/cluster/leases/release")
def cluster_release(request: Request, staff: OperatorPost, name: Annotated[str, Form()] = "") -> Response:
    state = app_state(request)
    try:
        # Never forced from the console: a live holder's lease is its own to give back.
        release_lease(state.database, state.config, name, staff.login)
    except LeaseError as exc:
        return _page(request, staff, error=str(exc))
    return RedirectResponse(f"/cluster?released={name}", status_code=303)
