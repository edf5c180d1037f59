"""Alerts page: incidents per destination (open first), with what was notified and when."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import select
from starlette.responses import Response

from gateway.alerts.conditions import KIND_LABELS
from gateway.store.tables import AlertRow
from gateway.web.console.security import ConsoleRoute, Reader
from gateway.web.console.views import render
from gateway.web.state import app_state

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
SHOWN = 200


@router.get("/alerts")
def alerts(request: Request, staff: Reader) -> Response:
    state = app_state(request)
    with state.database.session() as db:
        rows = list(
            db.scalars(select(AlertRow).order_by(AlertRow.closed_at.is_not(None), AlertRow.id.desc()).limit(SHOWN))
        )
    settings = state.config.alerts
    context = {
        "rows": rows,
        "labels": {kind.value: label for kind, label in KIND_LABELS.items()},
        "settings": settings,
        "nav": "alerts",
    }
    return render(request, "alerts.html", context)
