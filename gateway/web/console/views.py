"""Templates of the console and the filters they use (French labels, Paris time)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape
from starlette.responses import Response

# Staff read times in their own zone; the store keeps UTC.
DISPLAY_ZONE = ZoneInfo("Europe/Paris")

STATUS_LABELS = {
    "pending": "en attente",
    "sending": "envoi en cours",
    "sent": "envoyée",
    "failed": "en échec, nouvel essai prévu",
    "dead": "abandonnée",
    "superseded": "remplacée",
    "interrupted": "interrompue",
}

templates = Jinja2Templates(directory=Path(__file__).with_name("templates"))
# Every template is HTML: escape everything, not only what select_autoescape recognises.
templates.env.autoescape = True


def aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def format_moment(moment: datetime | None, with_seconds: bool = True) -> str:
    if moment is None:
        return "—"
    local = aware(moment).astimezone(DISPLAY_ZONE)
    return local.strftime("%d/%m/%Y %H:%M:%S" if with_seconds else "%d/%m/%Y %H:%M")


def format_age(delta: timedelta | None) -> str:
    if delta is None:
        return "—"
    minutes = max(0, int(delta.total_seconds() // 60))
    if minutes < 1:
        return "moins d'une minute"
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} j {hours} h"
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min"


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status)


BO_STATUS_LABELS = {
    "brouillon": "brouillon",
    "publiee": "publiée",
    "validee": "validée",
    "archivee": "archivée",
    "supprimee": "supprimée",
}
TEACHING_LABELS = {"presentiel": "présentiel", "mixte": "mixte", "distance": "à distance"}


def breakable(text: str | None) -> Markup:
    """Let long identifiers (feed ids) wrap after `_` rather than overflow or break anywhere."""
    escaped = str(escape(text or ""))
    return Markup(escaped.replace("_", "_<wbr>"))


def format_int(value: int | None) -> str:
    # French thousands separator: a narrow no-break space.
    return "—" if value is None else f"{value:,}".replace(",", "\u202f")


templates.env.filters["moment"] = format_moment
templates.env.filters["age"] = format_age
templates.env.filters["status_label"] = status_label
templates.env.filters["bo_status"] = lambda value: BO_STATUS_LABELS.get(value or "", value or "inconnu")
templates.env.filters["teaching"] = lambda value: TEACHING_LABELS.get(value or "presentiel", value)
templates.env.filters["breakable"] = breakable
templates.env.filters["number"] = format_int


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """Render a page; the signed-in staff member (if any) is taken from the request state."""
    full = {"staff": getattr(request.state, "staff", None), **(context or {})}
    return templates.TemplateResponse(request, name, full, status_code=status_code, headers=headers)
