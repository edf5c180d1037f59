"""Delivery commands: `deliver`, `transmissions list|show`, `replay`, `run`."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Annotated

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn
from rich.table import Table
from sqlalchemy import select

from gateway.cli.arguments import ArgumentProblem, check_port_free, parse_moment
from gateway.cli.context import Context, command_context
from gateway.cli.times import when
from gateway.outbox.relay import Status, deliver_pending, replay, requester
from gateway.scheduling.instance import Instance
from gateway.scheduling.service import GatewayService
from gateway.store.tables import AttemptRow, ReplayRow, TransmissionRow

MAX_ROW_ID = 2**63 - 1  # the largest id a SQLite or PostgreSQL bigint row can have

transmissions_app = typer.Typer(help="Transmissions des flux vers les destinations.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(transmissions_app, name="transmissions")
    app.command("deliver")(deliver)
    app.command("replay")(replay_command)
    app.command("run")(run)
    app.command("serve")(serve)


def deliver(
    ctx: typer.Context,
    destination: Annotated[
        list[str] | None, typer.Option("--destination", "-d", help="Destination (répétable).")
    ] = None,
) -> None:
    """Transmet maintenant tout ce qui est en attente (ou à réessayer) pour les destinations configurées."""
    context = command_context(ctx)
    config = context.config
    unknown = [name for name in destination or [] if name not in config.destinations]
    if unknown:
        raise context.fail(f"destination(s) sans transport configuré : {', '.join(unknown)}")
    database = context.database()
    # A member of the cluster while it delivers: each destination under its lease, so a `deliver`
    # beside `run` instances never sends a destination's feeds out of order.
    instance = Instance(database, config.store, role="deliver")
    try:
        instance.start()  # what a dead process left in `sending` is recovered under each lease
        if context.console.is_terminal:
            with Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                console=context.console,
                transient=False,
            ) as progress:

                def on_start(feed_id: str, transmission_id: int, size: int) -> Callable[[int], None]:
                    task = progress.add_task(f"#{transmission_id} {feed_id}", total=size, completed=0)
                    return lambda sent: progress.advance(task, sent)

                report = deliver_pending(
                    database, config, destinations=destination, on_start=on_start, owner=instance.id
                )
        else:
            report = deliver_pending(database, config, destinations=destination, owner=instance.id)
    finally:
        instance.stop()
        database.close()
    for name in report.busy:
        context.console.print(f"destination {name} : en cours sur une autre instance, ignorée", highlight=False)
    context.console.print(
        f"envoyées {len(report.sent)}, en échec (nouvel essai prévu) {len(report.failed)}, "
        f"abandonnées {len(report.dead)}, prises par un autre processus {len(report.skipped)}",
        highlight=False,
    )
    if report.failed or report.dead:
        raise typer.Exit(1)


@transmissions_app.command("list")
def transmissions_list(
    ctx: typer.Context,
    status: Annotated[str | None, typer.Option(help="pending, sending, sent, failed, dead, superseded")] = None,
    destination: Annotated[str | None, typer.Option("--destination", "-d")] = None,
    since: Annotated[str | None, typer.Option(help="Créées depuis (ISO 8601, ex. 2026-11-01 ; UTC).")] = None,
    limit: Annotated[int, typer.Option(min=1)] = 200,
) -> None:
    """Liste les transmissions, les plus récentes d'abord."""
    context = command_context(ctx)
    if status and status not in {s.value for s in Status}:
        raise context.fail(f"statut inconnu : {status} ({', '.join(s.value for s in Status)})")
    if destination:
        context.check_destinations([destination])
    try:
        moment = parse_moment(since, "--since")
    except ArgumentProblem as exc:
        raise context.fail(str(exc)) from exc
    database = context.database()
    try:
        with database.session() as db:
            query = select(TransmissionRow).order_by(TransmissionRow.created_at.desc(), TransmissionRow.id.desc())
            if status:
                query = query.where(TransmissionRow.status == status)
            if destination:
                query = query.where(TransmissionRow.destination == destination)
            if moment:
                query = query.where(TransmissionRow.created_at >= moment)
            table = Table(title="Transmissions")
            columns = ("id", "destination", "flux", "statut", "essais", "créée", "prochain essai", "dernière erreur")
            for column in columns:
                table.add_column(column)
            for row in db.scalars(query.limit(limit)):
                table.add_row(
                    str(row.id),
                    row.destination,
                    row.feed_id,
                    row.status,
                    str(row.attempts),
                    when(row.created_at),
                    when(row.next_attempt_at, seconds=True),
                    f"{row.last_error_code}: {row.last_error}" if row.last_error_code else "",
                )
    finally:
        database.close()
    context.console.print(table)


@transmissions_app.command("show")
def transmissions_show(ctx: typer.Context, transmission_id: int) -> None:
    """Détail d'une transmission : chaque essai (heure, durée, erreur, chemin distant ou statut HTTP)."""
    context = command_context(ctx)
    database = context.database()
    try:
        with database.session() as db:
            row = db.get(TransmissionRow, transmission_id) if 0 < transmission_id <= MAX_ROW_ID else None
            if row is None:
                raise context.fail(f"transmission inconnue : {transmission_id}", code=1)
            console = context.console
            console.print(
                f"[bold]#{row.id}[/] {row.destination} — flux {row.feed_id} — statut [bold]{row.status}[/] — "
                f"{row.attempts} essai(s)"
                + (f" — envoyé le {when(row.sent_at, seconds=True)} vers {row.remote}" if row.sent_at else ""),
                highlight=False,
            )
            if row.superseded_by:
                console.print(f"remplacée par le flux plus récent {row.superseded_by}", highlight=False)
            table = Table(title="Essais")
            for column in ("n°", "début", "durée", "résultat", "erreur", "distant / HTTP", "réponse"):
                table.add_column(column)
            for attempt in db.scalars(
                select(AttemptRow).where(AttemptRow.transmission_id == row.id).order_by(AttemptRow.id)
            ):
                table.add_row(
                    str(attempt.number),
                    when(attempt.started_at, seconds=True),
                    f"{attempt.duration_ms} ms" if attempt.duration_ms is not None else "",
                    attempt.outcome + (" (rejeu)" if attempt.replay_id else ""),
                    f"{attempt.error_code}: {attempt.error_message}" if attempt.error_code else "",
                    " ".join(x for x in (attempt.remote or "", str(attempt.http_status or "")) if x),
                    (attempt.response_excerpt or "")[:200],
                )
            console.print(table)
            replays = db.scalars(
                select(ReplayRow).where(ReplayRow.transmission_id == row.id).order_by(ReplayRow.id)
            ).all()
            for item in replays:
                console.print(
                    f"rejeu demandé par {item.requested_by} le {when(item.requested_at, seconds=True)} "
                    f"(statut précédent : {item.previous_status})",
                    highlight=False,
                )
    finally:
        database.close()


def replay_command(
    ctx: typer.Context,
    ids: Annotated[list[int] | None, typer.Argument(help="Identifiants de transmissions.")] = None,
    status: Annotated[
        str | None, typer.Option(help="Rejouer toutes les transmissions de ce statut (ex. dead).")
    ] = None,
    destination: Annotated[str | None, typer.Option("--destination", "-d")] = None,
    by: Annotated[
        str | None, typer.Option("--by", help="Qui demande le rejeu (défaut : l'utilisateur système).")
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Ne pas demander confirmation.")] = False,
) -> None:
    """Renvoie les mêmes octets du flux ; l'historique des essais est conservé."""
    context = command_context(ctx)
    if not ids and not status:
        raise context.fail("indiquez des identifiants ou --status (avec --destination)")
    if status and status not in {s.value for s in Status}:
        raise context.fail(f"statut inconnu : {status} ({', '.join(s.value for s in Status)})")
    if destination:
        context.check_destinations([destination])
    database = context.database()
    try:
        selected = list(ids or [])
        if selected:
            # Ids beyond a 64-bit integer cannot exist (and would overflow the store's driver).
            storable = [number for number in selected if 0 < number <= MAX_ROW_ID]
            with database.session() as db:
                found = set(db.scalars(select(TransmissionRow.id).where(TransmissionRow.id.in_(storable))))
            unknown = [str(number) for number in selected if number not in found]
            if unknown:
                raise context.fail(
                    f"transmission(s) inconnue(s) : {', '.join(unknown)} (voir `lheo-gateway transmissions list`)"
                )
        if status:
            with database.session() as db:
                query = select(TransmissionRow.id).where(TransmissionRow.status == status)
                if destination:
                    query = query.where(TransmissionRow.destination == destination)
                selected += list(db.scalars(query.order_by(TransmissionRow.id)))
            if not selected:
                context.console.print("aucune transmission ne correspond")
                return
            if not yes:
                if not sys.stdin.isatty():
                    raise context.fail("rejeu groupé sans terminal : ajoutez --yes pour confirmer")
                typer.confirm(f"Rejouer {len(selected)} transmission(s) ?", abort=True)
        queued = replay(database, selected, requester(by))
    finally:
        database.close()
    skipped = sorted(set(selected) - set(queued))
    context.console.print(
        f"{len(queued)} transmission(s) remise(s) en attente : {', '.join(map(str, queued)) or '—'}"
        + (
            f" ; ignorées (en cours, déjà en attente, inconnues ou flux purgé) : {', '.join(map(str, skipped))}"
            if skipped
            else ""
        ),
        highlight=False,
    )
    if queued:
        context.console.print("elles partiront au prochain passage (`lheo-gateway deliver` ou le service `run`)")


def run(
    ctx: typer.Context,
    retry_poll: Annotated[float, typer.Option(help="Secondes entre deux passages des nouveaux essais.")] = 60,
    slot_poll: Annotated[float, typer.Option(help="Secondes entre deux consultations des plannings.")] = 5,
    web: Annotated[bool, typer.Option("--web/--no-web", help="Servir aussi l'API partenaires et la console.")] = True,
) -> None:
    """Service : exporte et transmet chaque destination selon son planning, et sert l'API et la console."""
    context = command_context(ctx)
    logging.getLogger().setLevel(logging.INFO)
    if web:
        _check_port(context)
    database = context.database()
    web_server = None
    try:
        if web:
            from gateway.web.server import WebServerThread

            web_server = WebServerThread(context.config, database)
            try:
                web_server.start()
            except RuntimeError as exc:
                raise context.fail(
                    f"le serveur web n'a pas démarré sur {context.config.web.host}:{context.config.web.port}"
                ) from exc
        service = GatewayService(context.config, database, retry_poll_seconds=retry_poll, slot_poll_seconds=slot_poll)

        def ready(jobs: list[str]) -> None:
            where = f" — web sur http://{context.config.web.host}:{context.config.web.port}" if web_server else ""
            context.errors.print(
                "passerelle démarrée — " + ("; ".join(jobs) or "aucun export planifié") + where, highlight=False
            )

        service.run(on_ready=ready)
    finally:
        if web_server is not None:
            web_server.stop()
        database.close()


def serve(ctx: typer.Context) -> None:
    """Sert l'API partenaires (/api/v1, documentation sur /docs) et la console des équipes."""
    from gateway.web.server import make_server

    context = command_context(ctx)
    _check_port(context)
    database = context.database()
    try:
        make_server(context.config, database).run()
    finally:
        database.close()


def _check_port(context: Context) -> None:
    try:
        check_port_free(context.config.web.host, context.config.web.port)
    except ArgumentProblem as exc:
        raise context.fail(str(exc)) from exc
