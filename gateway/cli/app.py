"""`lheo-gateway`: the command line of the gateway (Typer + Rich).

Each command builds what it needs from the configuration and passes it down explicitly; there
is no module-level state. Exit codes: 0 success, 1 done but some offers were rejected or
quarantined (`--strict`), 2 bad input or configuration (nothing changed).
"""

from __future__ import annotations

import json
from datetime import datetime
from importlib import metadata, resources
from pathlib import Path
from typing import Annotated

import typer

from gateway.cli import (
    alert_commands,
    approval_commands,
    cluster_commands,
    delivery_commands,
    partner_commands,
    render,
    user_commands,
)
from gateway.cli.arguments import ArgumentProblem, parse_moment, source_date_epoch
from gateway.cli.context import Context, command_context
from gateway.cli.failures import GatewayGroup
from gateway.cli.log_setup import configure_logging
from gateway.cli.progress import ExportProgress
from gateway.intake.importer import import_file
from gateway.intake.models import Offer
from gateway.intake.reader import InputFileError
from gateway.mapping.profiles import ProfileError
from gateway.outbox.relay import deliver_pending, recover_interrupted
from gateway.pipeline.export import run_export
from gateway.store.database import masked
from gateway.store.offer_search import OfferQuery, SearchError
from gateway.validation.fragment_validator import SchemaLoadError

app = typer.Typer(
    cls=GatewayGroup,
    name="lheo-gateway",
    help="Passerelle LHÉO 2.3 : offres validées → un flux par destination (France Travail, Parcoursup…).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
offers_app = typer.Typer(help="Offres de formation : import, consultation, format d'import.", no_args_is_help=True)
feeds_app = typer.Typer(help="Flux écrits dans l'outbox.", no_args_is_help=True)
db_app = typer.Typer(help="Base de données de la passerelle.", no_args_is_help=True)
app.add_typer(offers_app, name="offers")
app.add_typer(feeds_app, name="feeds")
app.add_typer(db_app, name="db")


ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        envvar="LHEO_GATEWAY_CONFIG",
        help="Fichier de configuration TOML (défaut : config/gateway.toml du dossier courant).",
    ),
]


def _print_version(value: bool) -> None:
    if value:
        try:
            number = metadata.version("lheo-gateway")
        except metadata.PackageNotFoundError:  # run from a source tree that was never installed
            number = "inconnue (non installée)"
        typer.echo(f"lheo-gateway {number}")
        raise typer.Exit()


@app.callback()
def main_callback(
    ctx: typer.Context,
    config: ConfigOption = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_print_version, is_eager=True, help="Affiche la version.")
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Journal détaillé sur stderr.")] = False,
    log_format: Annotated[str, typer.Option(help="auto (texte dans un terminal, JSON sinon), text ou json.")] = "auto",
) -> None:
    configure_logging(verbose=verbose, log_format=log_format)
    ctx.obj = Context(config)


def _parse_moment(context: Context, value: str | None) -> datetime | None:
    """`--at` or SOURCE_DATE_EPOCH fix the export timestamp (reproducible feeds)."""
    try:
        return parse_moment(value, "--at") or source_date_epoch()
    except ArgumentProblem as exc:
        raise context.fail(str(exc)) from exc


@offers_app.command("import")
def offers_import(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="Fichier JSON ou JSON Lines exporté du back-office.")],
    strict: Annotated[bool, typer.Option(help="Code retour 1 si une offre est rejetée.")] = False,
) -> None:
    """Importe (ou met à jour) des offres ; chaque offre est acceptée ou rejetée avec ses motifs."""
    context = command_context(ctx)
    database = context.database()
    try:
        report = import_file(database, file, context.config.rules, workers=context.config.intake.workers)
    except InputFileError as exc:
        raise context.fail(f"{exc} — aucune offre n'a été importée.") from exc
    finally:
        database.close()
    render.import_report(context.console, report)
    if strict and any(result.problems and result.outcome == "rejected" for result in report.results):
        raise typer.Exit(1)


@offers_app.command("list")
def offers_list(
    ctx: typer.Context,
    search: Annotated[
        str, typer.Option("--search", "-s", help="Mots : référence, intitulé, organisme, SIRET, Certifinfo, ville.")
    ] = "",
    status: Annotated[str, typer.Option(help="Statut back-office (validee, publiee...).")] = "",
    town: Annotated[str, typer.Option(help="Ville d'un lieu de formation ou d'un organisme.")] = "",
    siret: Annotated[str, typer.Option(help="SIRET (ou début de SIRET) d'un organisme ou d'un lieu.")] = "",
    certifinfo: Annotated[str, typer.Option(help="Code Certifinfo exact.")] = "",
    problem: Annotated[str, typer.Option(help="Code problème (import ou dernier export).")] = "",
    destination: Annotated[str, typer.Option("--destination", "-d", help="Destination, avec --presence.")] = "",
    presence: Annotated[
        str, typer.Option(help="in (dans le dernier flux), out (absente), quarantined (retenue).")
    ] = "",
    rejected: Annotated[bool, typer.Option("--rejected", help="Seulement les offres rejetées.")] = False,
    sort: Annotated[str, typer.Option(help="reference, title, status ou updated.")] = "reference",
    desc: Annotated[bool, typer.Option("--desc", help="Tri décroissant.")] = False,
    page: Annotated[int, typer.Option(min=1, help="Page de résultats.")] = 1,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Nombre de lignes par page.")] = 200,
) -> None:
    """Liste et recherche les offres du stock, avec leur statut et leurs problèmes."""
    context = command_context(ctx)
    if destination:
        context.check_destinations([destination])
    query = OfferQuery(
        words=search,
        town=town,
        siret=siret,
        certifinfo=certifinfo,
        status=status,
        problem=problem,
        destination=destination,
        presence=presence,
        rejected_only=rejected,
        sort=sort,
        descending=desc,
        page=page,
        page_size=limit,
    )
    try:
        query.checked()
    except SearchError as exc:
        raise context.fail(str(exc)) from exc
    database = context.database()
    try:
        render.offers_table(context.console, database, query)
    finally:
        database.close()


@offers_app.command("show")
def offers_show(ctx: typer.Context, reference: str) -> None:
    """Détail d'une offre : données, problèmes, présence dans les derniers flux."""
    context = command_context(ctx)
    database = context.database()
    try:
        if not render.offer_detail(context.console, database, context.config, reference):
            raise context.fail(f"offre inconnue : {reference}", code=1)
    finally:
        database.close()


@offers_app.command("schema")
def offers_schema(ctx: typer.Context) -> None:
    """Affiche le JSON Schema du format d'import des offres."""
    schema = Offer.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Offre de formation (format d'import de la passerelle LHÉO)"
    typer.echo(json.dumps(schema, ensure_ascii=False, indent=2, sort_keys=True))


@app.command("export")
def export(
    ctx: typer.Context,
    destination: Annotated[
        list[str] | None, typer.Option("--destination", "-d", help="Destination (répétable) ; défaut : toutes.")
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="N'écrit rien ; explique pour chaque offre pourquoi elle est prise ou non."),
    ] = False,
    at: Annotated[
        str | None, typer.Option(help="Horodatage d'export fixé (ISO 8601), pour des flux reproductibles.")
    ] = None,
    strict: Annotated[bool, typer.Option(help="Code retour 1 si une offre est mise en quarantaine.")] = False,
    no_cache: Annotated[
        bool,
        typer.Option(
            "--no-cache", help="Recalcule chaque offre (export à froid) au lieu de reprendre les fragments inchangés."
        ),
    ] = False,
) -> None:
    """Construit le flux LHÉO 2.3 de chaque destination dans l'outbox."""
    context = command_context(ctx)
    moment = _parse_moment(context, at)
    context.check_destinations(destination)
    database = context.database()
    try:
        with ExportProgress(context.console, database, enabled=not dry_run) as progress:
            results = run_export(
                database,
                context.config,
                destinations=destination,
                dry_run=dry_run,
                exported_at=moment,
                on_offer=progress.callback,
                no_cache=no_cache,
            )
    except (ProfileError, SchemaLoadError) as exc:
        raise context.fail(str(exc)) from exc
    finally:
        database.close()
    if dry_run:
        render.dry_run_explanations(context.console, results)
    render.export_summary(context.console, results, dry_run=dry_run)
    failed = [result for result in results if result.error]
    for result in failed:  # the others were still attempted; their feeds stand
        context.errors.print(f"[bold red]erreur[/] : {result.destination} : {result.error}", highlight=False)
    if failed:
        raise typer.Exit(2)
    if strict and any(result.quarantined for result in results):
        raise typer.Exit(1)


@app.command("demo")
def demo(
    ctx: typer.Context,
    at: Annotated[str | None, typer.Option(help="Horodatage d'export fixé (ISO 8601).")] = None,
) -> None:
    """Tâche principale de démonstration : importe les offres d'exemple, exporte et transmet chaque destination."""
    context = command_context(ctx)
    moment = _parse_moment(context, at)
    sample = resources.files("gateway.demo").joinpath("sample_offers.jsonl")
    database = context.database()
    try:
        with resources.as_file(sample) as sample_path:
            report = import_file(database, sample_path, context.config.rules)
        render.import_summary(context.console, report)
        with ExportProgress(context.console, database) as progress:
            results = run_export(database, context.config, exported_at=moment, on_offer=progress.callback)
        render.export_summary(context.console, results, dry_run=False)
        recover_interrupted(database)
        delivered = deliver_pending(database, context.config)
        render.delivery_summary(context.console, database, delivered)
    except (ProfileError, SchemaLoadError, InputFileError) as exc:
        raise context.fail(str(exc)) from exc
    finally:
        database.close()


@feeds_app.command("list")
def feeds_list(
    ctx: typer.Context,
    destination: Annotated[str | None, typer.Option("--destination", "-d")] = None,
    limit: Annotated[int, typer.Option(help="Nombre de flux affichés.")] = 20,
) -> None:
    """Manifeste des flux écrits (empreinte, tailles, nombre d'offres)."""
    context = command_context(ctx)
    if destination:
        context.check_destinations([destination])
    database = context.database()
    try:
        render.feeds_table(context.console, database, destination=destination, limit=limit)
    finally:
        database.close()


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Crée ou met à jour le schéma de la base (migrations Alembic)."""
    context = command_context(ctx)
    database = context.database()
    database.close()
    context.console.print(f"base à jour : {masked(database.engine.url)}", highlight=False, soft_wrap=True)


delivery_commands.register(app)
partner_commands.register(app)
user_commands.register(app)
approval_commands.register(offers_app)
alert_commands.register(app)
cluster_commands.register(app)


def main() -> None:
    app()
