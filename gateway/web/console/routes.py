"""The staff console (server-rendered French pages): `router` is included at the root of the app.

Pages: dashboard `/`, `/transmissions`, `/quarantine`, `/approvals`, `/offers` (search),
`/offers/{reference}`, `/audit`, `/users` (admins), `/login`. Security lives in `security.py`;
the data each page shows in `dashboard.py`, `transmissions.py` and `offers.py`.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from starlette.responses import FileResponse, Response

from gateway.web.console import (
    admin_routes,
    alert_routes,
    approval_routes,
    auth_routes,
    cluster_routes,
    history_routes,
    offer_routes,
    partner_routes,
    quarantine_routes,
    transmission_routes,
)
from gateway.web.console.dashboard import overview
from gateway.web.console.offers import offer_page
from gateway.web.console.security import ConsoleRoute, Reader, Refused
from gateway.web.console.views import render
from gateway.web.state import app_state

STATIC_DIR = Path(__file__).with_name("static")
# Served by name from this list only: no path from the URL ever reaches the file system.
STATIC_FILES = {
    "console.css": "text/css; charset=utf-8",
    "favicon.svg": "image/svg+xml",
    "print.js": "text/javascript; charset=utf-8",
}

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
router.include_router(auth_routes.router)
router.include_router(transmission_routes.router)
router.include_router(admin_routes.router)
router.include_router(approval_routes.router)
router.include_router(offer_routes.router)
router.include_router(quarantine_routes.router)
router.include_router(partner_routes.router)
router.include_router(history_routes.router)
router.include_router(alert_routes.router)
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


@router.get("/offers/{reference}")
def offer(request: Request, staff: Reader, reference: str) -> Response:
    state = app_state(request)
    page = offer_page(state.database, state.config, reference)
    if page is None:
        raise Refused(404, f"Offre « {reference} » introuvable dans le stock.")
    return render(request, "offer.html", {"page": page, "nav": "offers"})
