"""`lheo-gateway offers approve` and `offers waiting`: operator approval of "to_validate" offers (issue #8).

The same store functions as the console's approvals page: the approval is audited and holds
for the offer as it is stored now; it goes out at the next export of that destination.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from gateway.cli.context import command_context
from gateway.mapping.profiles import ProfileError, load_profiles
from gateway.outbox.relay import requester
from gateway.store.approvals import ApprovalRefused, approve, waiting_approvals


def register(offers_app: typer.Typer) -> None:
    offers_app.command("approve")(approve_command)
    offers_app.command("waiting")(waiting_command)


def approve_command(
    ctx: typer.Context,
    reference: Annotated[str, typer.Argument(help="Référence formation (12 chiffres).")],
    destination: Annotated[str, typer.Option("--destination", "-d", help="Destination (ex. affelnet).")],
    by: Annotated[str | None, typer.Option("--by", help="Qui approuve (défaut : l'utilisateur système).")] = None,
) -> None:
    """Approuve une offre « à publier après validation » pour une destination, jusqu'à sa prochaine modification."""
    context = command_context(ctx)
    context.check_destinations([destination])  # a typo lists the known destinations, in French
    try:
        load_profiles(context.config.mappings_path, [destination])
    except ProfileError as exc:
        raise context.fail(str(exc)) from exc
    database = context.database()
    try:
        with database.session() as db, db.begin():
            row = approve(db, destination, reference, requester(by))
            digest = row.payload_sha256
    except ApprovalRefused as exc:
        raise context.fail(str(exc), code=1) from exc
    finally:
        database.close()
    context.console.print(
        f"offre {reference} approuvée pour {destination} (empreinte {digest[:12]}) : elle part au prochain export ; "
        "toute modification de l'offre demandera une nouvelle approbation.",
        highlight=False,
    )


def waiting_command(
    ctx: typer.Context,
    destination: Annotated[str | None, typer.Option("--destination", "-d")] = None,
) -> None:
    """Offres en attente d'approbation au dernier export de chaque destination."""
    context = command_context(ctx)
    if destination:
        context.check_destinations([destination])
    database = context.database()
    try:
        with database.session() as db:
            waiting = waiting_approvals(db, destination)
    finally:
        database.close()
    if not waiting:
        context.console.print("aucune offre en attente d'approbation")
        return
    table = Table(title="En attente d'approbation")
    for column in ("destination", "offre", "intitulé", "pourquoi"):
        table.add_column(column)
    for item in waiting:
        why = "\n".join(item.reasons) + ("\n(modifiée depuis l'export)" if item.changed_since_run else "")
        table.add_row(item.destination, item.reference, item.title or "", why)
    context.console.print(table)
