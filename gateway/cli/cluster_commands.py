"""Cluster commands: `status` (instances, leader, leases, slots) and `leases release NAME`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from gateway.cli.context import command_context
from gateway.outbox.relay import requester
from gateway.scheduling.cluster_status import LeaseError, cluster_status, release_lease

leases_app = typer.Typer(help="Baux des instances (qui exécute quelle destination).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command("status")(status)
    app.add_typer(leases_app, name="leases")


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC" if moment else "—"


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def status(ctx: typer.Context) -> None:
    """État de la grappe : instances vivantes (battements), meneur, baux et leur âge, créneaux planifiés."""
    context = command_context(ctx)
    database = context.database()
    try:
        state = cluster_status(database, context.config)
    finally:
        database.close()
    out = context.console
    alive = state.alive
    out.print(
        f"{len(alive)} instance(s) vivante(s), meneur : {escape(state.leader or 'aucun')}, "
        f"planificateur : {'actif' if state.scheduler_alive else 'aucune instance run vivante'}",
        highlight=False,
    )
    instances = Table(title="Instances")
    for column in ("instance", "rôle", "version", "démarrée", "dernier battement", "état"):
        instances.add_column(column)
    for instance in state.instances:
        if instance.stopped and not instance.alive and instance.heartbeat_age > 86400:
            continue  # stopped more than a day ago: history, not status
        verdict = "vivante" if instance.alive else ("arrêtée" if instance.stopped else "morte (plus de battement)")
        instances.add_row(
            escape(instance.id),
            instance.role,
            instance.version,
            _when(instance.started_at),
            f"il y a {_age(instance.heartbeat_age)}",
            verdict,
        )
    out.print(instances)
    leases = Table(title="Baux")
    for column in ("bail", "détenteur", "âge", "expire", "état"):
        leases.add_column(column)
    for lease in state.leases:
        expires = f"dans {_age(lease.expires_in)}" if lease.expires_in >= 0 else f"il y a {_age(-lease.expires_in)}"
        verdict = "actif" if lease.holder_alive else "bloqué : détenteur mort (leases release)"
        leases.add_row(escape(lease.name), escape(lease.owner), _age(lease.age), expires, verdict)
    out.print(leases if state.leases else "Baux : aucun")
    slots = Table(title="Destinations planifiées")
    for column in ("destination", "planning", "dernier créneau", "terminé", "flux", "en cours par", "prochain"):
        slots.add_column(column)
    for destination in state.destinations:
        slots.add_row(
            destination.name,
            destination.schedule or "—",
            _when(destination.last_slot),
            _when(destination.last_completed_at),
            destination.last_feed_id or "—",
            escape(destination.running_by or "—"),
            _when(destination.next_run) if destination.next_run else "— (aucune instance run vivante)",
        )
    out.print(slots)


@leases_app.command("release")
def leases_release(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Nom du bail (ex. destination:parcoursup).")],
    force: Annotated[bool, typer.Option("--force", help="Libérer même si son détenteur paraît vivant.")] = False,
    by: Annotated[str | None, typer.Option("--by", help="Auteur (défaut : l'utilisateur système).")] = None,
) -> None:
    """Libère le bail d'une instance morte (journalisé) ; refuse un détenteur vivant sans --force."""
    context = command_context(ctx)
    database = context.database()
    try:
        holder = release_lease(database, context.config, name, requester(by), force=force)
    except LeaseError as exc:
        raise context.fail(escape(str(exc))) from exc
    finally:
        database.close()
    context.console.print(f"bail {escape(name)} libéré (détenteur : {escape(holder)})", highlight=False)
