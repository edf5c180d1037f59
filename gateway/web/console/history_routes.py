"""History page: the last 30 days of each destination, drawn on the server (SVG)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from gateway.web.console.history import DAYS, chart_svg, last_days
from gateway.web.console.security import ConsoleRoute, Reader
from gateway.web.console.views import render
from gateway.web.state import app_state

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)


@router.get("/history")
def history(request: Request, staff: Reader) -> Response:
    figures = last_days(app_state(request).database)
    charts = [(name, chart_svg(name, days), days) for name, days in figures.items()]
    return render(request, "history.html", {"charts": charts, "days": DAYS, "nav": "history"})
