"""The offers page: every offer of the store, searched, filtered, sorted and paginated."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from sqlalchemy import select
from starlette.responses import RedirectResponse, Response

from gateway.intake.models import FormationStatus
from gateway.problems import Code
from gateway.store.offer_search import SORT_LABELS, OfferQuery, SearchError, search_offers
from gateway.store.tables import ExportRunRow, OfferRow
from gateway.web.console.security import ConsoleRoute, Reader, Refused
from gateway.web.console.views import render
from gateway.web.state import app_state

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

Text = Annotated[str, Query(max_length=200)]


@router.get("/offers")
def offers(
    request: Request,
    staff: Reader,
    q: Text = "",
    town: Text = "",
    siret: Text = "",
    certifinfo: Text = "",
    status: Text = "",
    problem: Text = "",
    destination: Text = "",
    presence: Text = "",
    sort: Text = "reference",
    desc: Text = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    reference: Text = "",
) -> Response:
    state = app_state(request)
    wanted = (reference or q).strip()
    with state.database.session() as db:
        # A full reference typed in the box (or the old "find by reference" form) opens the offer.
        if wanted.isdigit() and db.get(OfferRow, wanted) is not None:
            return RedirectResponse(f"/offers/{quote(wanted, safe='')}", status_code=303)
        query = OfferQuery(
            words=q or reference,
            town=town,
            siret=siret,
            certifinfo=certifinfo,
            status=status,
            problem=problem,
            destination=destination,
            presence=presence,
            sort=sort,
            descending=desc == "1",
            page=page,
        )
        try:
            results = search_offers(db, query)
        except SearchError as exc:
            raise Refused(400, f"Recherche impossible : {exc}.") from exc
        run_destinations = set(db.scalars(select(ExportRunRow.destination).distinct()))
    context = {
        "results": results,
        "query": results.query,
        "statuses": list(FormationStatus),
        "codes": [code.value for code in Code],
        "destinations": sorted(set(state.config.destinations) | run_destinations),
        "sorts": SORT_LABELS,
        "nav": "offers",
    }
    return render(request, "offers.html", context)
