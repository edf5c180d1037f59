"""`alerts check` (open/close incidents and notify now) and `alerts list` (recent incidents)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import select

from gateway.alerts.check import check_alerts
from gateway.alerts.conditions import KIND_LABELS, Kind
from gateway.cli.context import command_context
from gateway.cli.times import when
from gateway.store.tables import AlertRow

alerts_app = typer.Typer(
    help="Alertes : incidents par destination, notifiés par e-mail et webhook.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.add_typer(alerts_app, name="alerts")


@alerts_app.command("check")
def alerts_check(ctx: typer.Context) -> None:
    """Évalue les alertes maintenant et envoie les avis dus (ce que `run` fait périodiquement)."""
    context = command_context(ctx)
    if not context.config.alerts.enabled:
        raise context.fail("les alertes sont désactivées : [alerts] enabled = true dans la configuration")
    database = context.database()
    try:
        report = check_alerts(database, context.config)
    finally:
        database.close()
    context.console.print(
        f"alertes : {len(report.opened)} ouverte(s), {len(report.closed)} close(s), "
        f"{len(report.notified)} avis envoyé(s)",
        highlight=False,
    )
    for error in report.errors:
        context.errors.print(f"[yellow]avis en attente[/] : {error}", highlight=False, soft_wrap=True)


@alerts_app.command("list")
def alerts_list(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(min=1, help="Nombre d'incidents affichés.")] = 50,
) -> None:
    """Incidents récents, les ouverts d'abord."""
    context = command_context(ctx)
    database = context.database()
    try:
        with database.session() as db:
            rows = list(
                db.scalars(select(AlertRow).order_by(AlertRow.closed_at.is_not(None), AlertRow.id.desc()).limit(limit))
            )
    finally:
        database.close()
    table = Table(title=f"Alertes ({len(rows)})")
    for column in ("n°", "destination", "type", "ouverte", "close", "avis", "message"):
        table.add_column(column)
    for row in rows:
        notices = "ouverture " + ("envoyé" if row.opened_notified_at else "en attente")
        if row.closed_at is not None:
            notices += ", rétablissement " + ("envoyé" if row.closed_notified_at else "en attente")
        table.add_row(
            str(row.id),
            row.destination,
            KIND_LABELS.get(Kind(row.kind), row.kind),
            when(row.opened_at),
            when(row.closed_at) if row.closed_at else "en cours",
            notices,
            row.message,
        )
    context.console.print(table)
