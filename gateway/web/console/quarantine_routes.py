"""Quarantine pages: the list by offer, and what one organisme must fix (CSV and printable page)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from gateway.problems import Code
from gateway.web.console.quarantine import (
    QuarantineFilter,
    QuarantineFilterError,
    QuarantineView,
    quarantine_view,
)
from gateway.web.console.security import ConsoleRoute, Reader, Refused
from gateway.web.console.views import format_moment, render
from gateway.web.state import app_state

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

Text = Annotated[str, Query(max_length=200)]
CSV_COLUMNS = (
    "référence offre",
    "intitulé",
    "session",
    "champ à corriger",
    "ce qu'il faut corriger",
    "destinations concernées",
    "en quarantaine depuis",
    "code",
    "chemin",
)


def _view(request: Request, wanted: QuarantineFilter, *, paginate: bool = True) -> QuarantineView:
    try:
        return quarantine_view(app_state(request).database, wanted, paginate=paginate)
    except QuarantineFilterError as exc:
        raise Refused(404, f"Quarantaine : {exc}.") from exc


@router.get("/quarantine")
def quarantine(
    request: Request,
    staff: Reader,
    problem: Text = "",
    organisme: Text = "",
    destination: Text = "",
    min_days: Annotated[int, Query(ge=0, le=3650)] = 0,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    wanted = QuarantineFilter(problem.strip(), organisme.strip(), destination.strip(), min_days, page)
    view = _view(request, wanted)
    codes = [code.value for code in Code]
    return render(request, "quarantine.html", {"view": view, "wanted": wanted, "codes": codes, "nav": "quarantine"})


def _organisme(request: Request, siret: str) -> QuarantineView:
    if not siret.isdigit() or len(siret) != 14:
        raise Refused(404, f"SIRET « {siret} » invalide : 14 chiffres attendus.")
    view = _view(request, QuarantineFilter(organisme=siret), paginate=False)
    view.offers = [offer for offer in view.offers if offer.siret == siret]
    return view


@router.get("/quarantine/organismes/{siret}.csv")
def organisme_csv(request: Request, staff: Reader, siret: str) -> Response:
    view = _organisme(request, siret)
    buffer = io.StringIO()
    # Semicolons and a BOM: what a French spreadsheet opens without an import dialog.
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for offer in view.offers:
        for finding in offer.findings:
            writer.writerow(
                (
                    offer.reference,
                    offer.title or "",
                    finding.session_reference or "",
                    finding.field_label,
                    finding.message,
                    ", ".join(finding.destinations),
                    format_moment(offer.since, with_seconds=False) if offer.since else "",
                    finding.code,
                    finding.path,
                )
            )
    day = datetime.now(UTC).strftime("%Y%m%d")
    return Response(
        "\ufeff" + buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="quarantaine-{siret}-{day}.csv"'},
    )


@router.get("/quarantine/organismes/{siret}")
def organisme_page(request: Request, staff: Reader, siret: str) -> Response:
    view = _organisme(request, siret)
    name = view.offers[0].organisme if view.offers else ""
    context = {"view": view, "siret": siret, "name": name, "today": datetime.now(UTC), "nav": "quarantine"}
    return render(request, "quarantine_organisme.html", context)
