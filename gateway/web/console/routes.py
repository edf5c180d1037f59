"""The staff console (server-rendered French pages): `router` is included at the root of the app.

Pages: dashboard `/`, `/transmissions`, `/quarantine`, `/offers/{reference}`, `/audit`,
`/users` (admins), `/login`. Security lives in `security.py`; the data each page shows in
`dashboard.py`, `transmissions.py` and `offers.py`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from starlette.responses import FileResponse, RedirectResponse, Response

from gateway.web.console import admin_routes, auth_routes, cluster_routes, transmission_routes
from gateway.web.console.dashboard import overview
from gateway.web.console.offers import offer_page
from gateway.web.console.offers import quarantine as quarantine_data
from gateway.web.console.security import ConsoleRoute, Reader, Refused
from gateway.web.console.views import render
from gateway.web.state import app_state

STATIC_DIR = Path(__file__).with_name("static")
# Served by name from this list only: no path from the URL ever reaches the file system.
STATIC_FILES = {"console.css": "text/css; charset=utf-8", "favicon.svg": "image/svg+xml"}

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
router.include_router(auth_routes.router)
router.include_router(transmission_routes.router)
router.include_router(admin_routes.router)
router.include_router(cluster_routes.router)


@router.get("/static/{name}")
def static_file(name: str) -> Response:
    media_type = STATIC_FILES.get(name)
    if media_type is None:
        raise Refused(404, "Fichier introuvable.")
    return FileResponse(STATIC_DIR / name, media_type=media_type, headers={"Cache-Control": "public, max-age=3600"})


@router.get("/")
def dashboard(request: Request, staff: Reader) -> Response:
    state = app_state(request)
    return render(request, "dashboard.html", {"lines": overview(state.database, state.config), "nav": "dashboard"})


@router.get("/quarantine")
def quarantine(request: Request, staff: Reader, destination: str | None = None) -> Response:
    groups = quarantine_data(app_state(request).database)
    shown = [group for group in groups if not destination or group.run.destination == destination]
    context = {
        "groups": shown,
        "destinations": [group.run.destination for group in groups],
        "destination": destination or "",
        "nav": "quarantine",
    }
    return render(request, "quarantine.html", context)


@router.get("/offers")
def find_offer(staff: Reader, reference: Annotated[str, Query()] = "") -> Response:
    reference = reference.strip()
    if not reference:
        return RedirectResponse("/quarantine", status_code=303)
    return RedirectResponse(f"/offers/{quote(reference, safe='')}", status_code=303)


@router.get("/offers/{reference}")
def offer(request: Request, staff: Reader, reference: str) -> Response:
    state = app_state(request)
    page = offer_page(state.database, state.config, reference)
    if page is None:
        raise Refused(404, f"Offre « {reference} » introuvable dans le stock.")
    return render(request, "offer.html", {"page": page, "nav": "quarantine"})
