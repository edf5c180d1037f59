"""The history page's picture: per destination, the last 30 days drawn as an SVG on the server.

Each day shows its deliveries as stacked bars (sent, failed, dead attempts), the offers of the
day's latest feed as a line, and the feeds exported as dots. Plain SVG markup with presentation
attributes only: no script, no style attribute (the console's CSP), no external asset.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from markupsafe import Markup, escape
from sqlalchemy import select

from gateway.store.database import Database
from gateway.store.tables import AttemptRow, FeedRow, TransmissionRow
from gateway.web.console.views import DISPLAY_ZONE, aware, format_int

DAYS = 30
WIDTH, HEIGHT = 760, 220
LEFT, RIGHT, TOP, BOTTOM = 44, 56, 14, 36
COLOURS = {"sent": "#16a34a", "failed": "#f59e0b", "dead": "#dc2626", "offers": "#1d4ed8", "feeds": "#6b7280"}


@dataclass
class DayFigures:
    day: date
    feeds: int = 0
    offers: int | None = None  # offers of the day's latest feed
    sent: int = 0
    failed: int = 0
    dead: int = 0

    @property
    def deliveries(self) -> int:
        return self.sent + self.failed + self.dead

    def summary(self) -> str:
        offers = "—" if self.offers is None else format_int(self.offers)
        return (
            f"{self.day:%d/%m/%Y} : {self.feeds} flux exporté(s), {offers} offre(s) ; essais de livraison : "
            f"{self.sent} envoyé(s), {self.failed} en échec, {self.dead} abandonné(s)"
        )


def last_days(database: Database, now: datetime | None = None, days: int = DAYS) -> dict[str, list[DayFigures]]:
    """Per destination, one entry per Paris day, oldest first, today included."""
    today = (now or datetime.now(UTC)).astimezone(DISPLAY_ZONE).date()
    first = today - timedelta(days=days - 1)
    start = datetime.combine(first, time.min, DISPLAY_ZONE).astimezone(UTC)
    figures: dict[str, dict[date, DayFigures]] = defaultdict(dict)

    def bucket(destination: str, moment: datetime) -> DayFigures:
        day = aware(moment).astimezone(DISPLAY_ZONE).date()
        return figures[destination].setdefault(day, DayFigures(day))

    with database.session() as db:
        feeds = db.execute(
            select(FeedRow.destination, FeedRow.created_at, FeedRow.offer_count)
            .where(FeedRow.created_at >= start)
            .order_by(FeedRow.created_at)
        )
        for destination, created, offers in feeds:
            entry = bucket(destination, created)
            entry.feeds += 1
            entry.offers = offers  # ordered by time: the day's latest feed wins
        attempts = db.execute(
            select(TransmissionRow.destination, AttemptRow.finished_at, AttemptRow.outcome)
            .join(TransmissionRow, TransmissionRow.id == AttemptRow.transmission_id)
            .where(AttemptRow.finished_at >= start)
        )
        for destination, finished, outcome in attempts:
            if finished is not None and outcome in ("sent", "failed", "dead"):
                entry = bucket(destination, finished)
                setattr(entry, outcome, getattr(entry, outcome) + 1)
    return {
        name: [by_day.get(first + timedelta(days=n), DayFigures(first + timedelta(days=n))) for n in range(days)]
        for name, by_day in sorted(figures.items())
    }


def _element(tag: str, text: str | None = None, **attributes: object) -> str:
    """`fill_opacity=…` becomes `fill-opacity="…"`, `class_` becomes `class`; values escaped."""
    rendered = " ".join(
        f'{key.rstrip("_").replace("_", "-")}="{escape(str(value))}"' for key, value in attributes.items()
    )
    return f"<{tag} {rendered}/>" if text is None else f"<{tag} {rendered}>{escape(text)}</{tag}>"


def chart_svg(destination: str, days: list[DayFigures]) -> Markup:
    """The SVG of one destination's days."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(1, len(days))
    bar_w = max(2.0, slot * 0.6)
    top_deliveries = max([day.deliveries for day in days] + [1])
    top_offers = max([day.offers or 0 for day in days] + [1])
    base = TOP + plot_h
    label = f"Livraisons et offres de {destination}, {len(days)} derniers jours"
    opening = _element(
        "svg",
        "",
        xmlns="http://www.w3.org/2000/svg",
        viewBox=f"0 0 {WIDTH} {HEIGHT}",
        width=WIDTH,
        height=HEIGHT,
        role="img",
        class_="chart",
        aria_label=label,
        data_destination=destination,
    ).removesuffix("</svg>")
    axis = {"font_size": 11, "fill": "#374151"}
    parts = [
        opening,
        _element("line", x1=LEFT, y1=base, x2=WIDTH - RIGHT, y2=base, stroke="#9ca3af"),
        _element("text", str(top_deliveries), x=LEFT - 6, y=TOP + 10, text_anchor="end", **axis),
        _element("text", "0", x=LEFT - 6, y=base, text_anchor="end", **axis),
        _element("text", format_int(top_offers), x=WIDTH - RIGHT + 6, y=TOP + 10, font_size=11, fill=COLOURS["offers"]),
    ]
    points = []
    for index, day in enumerate(days):
        x = LEFT + index * slot + (slot - bar_w) / 2
        centre = LEFT + index * slot + slot / 2
        parts.append(f'<g data-day="{day.day.isoformat()}">' + _element("title", day.summary()))
        y = base
        for kind in ("sent", "failed", "dead"):
            count = getattr(day, kind)
            if count:
                height = plot_h * count / top_deliveries
                y -= height
                parts.append(
                    _element(
                        "rect",
                        x=f"{x:.1f}",
                        y=f"{y:.1f}",
                        width=f"{bar_w:.1f}",
                        height=f"{height:.1f}",
                        fill=COLOURS[kind],
                        data_kind=kind,
                        data_count=count,
                    )
                )
        if day.feeds:
            parts.append(
                _element(
                    "circle",
                    cx=f"{centre:.1f}",
                    cy=base + 8,
                    r=f"{2 + min(day.feeds, 6) * 0.5:.1f}",
                    fill=COLOURS["feeds"],
                    data_kind="feeds",
                    data_count=day.feeds,
                )
            )
        if index % 5 == 0 or index == len(days) - 1:
            parts.append(
                _element(
                    "text",
                    f"{day.day:%d/%m}",
                    x=f"{centre:.1f}",
                    y=HEIGHT - 6,
                    text_anchor="middle",
                    font_size=10,
                    fill="#6b7280",
                )
            )
        parts.append("</g>")
        if day.offers is not None:
            points.append(f"{centre:.1f},{TOP + plot_h * (1 - day.offers / top_offers):.1f}")
    if points:
        parts.append(
            _element(
                "polyline",
                points=" ".join(points),
                fill="none",
                stroke=COLOURS["offers"],
                stroke_width=2,
                data_kind="offers",
            )
        )
    parts.append("</svg>")
    return Markup("".join(parts))
