"""How the CLI prints times: in Paris time (as the console does), always saying the zone."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

DISPLAY_ZONE = ZoneInfo("Europe/Paris")


def when(moment: datetime | None, *, seconds: bool = False) -> str:
    """`2026-12-01 09:30 (heure de Paris)`; the store's naive datetimes are UTC."""
    if moment is None:
        return ""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    local = aware.astimezone(DISPLAY_ZONE)
    return local.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M") + f" {local:%Z}"
