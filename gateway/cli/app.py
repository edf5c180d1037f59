"""`lheo-gateway`: the command line of the gateway (Typer + Rich).

Each command builds what it needs from the configuration and passes it down explicitly; there
is no module-level state. Exit codes: 0 success, 1 done but some offers were rejected or
quarantined (`--strict`), 2 bad input or configuration (nothing changed).
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Annotated

import typer

from gateway.cli import cluster_commands, delivery_commands, partner_commands, render, user_commands
from gateway.cli.context import Context, command_context
from gateway.cli.log_setup import configure_logging
from gateway.intake.importer import import_file
from gateway.intake.models import Offer
from gateway.intake.reader import InputFileError
from gateway.mapping.profiles import ProfileError
from gateway.outbox.relay import deliver_pending, recover_interrupted
from gateway.pipeline.export import run_export
from gateway.store.database import masked
from gateway.validation.fragment_validator import SchemaLoadError

app = typer.Typer(
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
    typer.Option("--config", "-c", help="Fichier de configuration TOML (défaut : config/gateway.toml)."),
]


@app.callback()
def main_callback(
    ctx: typer.Context,
    config: ConfigOption = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Journal détaillé sur stderr.")] = False,
    log_format: Annotated[str, typer.Option(help="auto (texte dans un terminal, JSON sinon), text ou json.")] = "auto",
) -> None:
    configure_logging(verbose=verbose, log_format=log_format)
    ctx.obj = Context(config)


def _parse_moment(value: str | None) -> datetime | None:
    """`--at` or SOURCE_DATE_EPOCH fix the export timestamp (reproducible feeds)."""
    if value:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    return datetime.fromtimestamp(int(epoch), UTC) if epoch else None


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
        report = import_file(database, file, context.config.rules)
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
    status: Annotated[str | None, typer.Option(help="Statut back-office (validee, publiee...).")] = None,
    rejected: Annotated[bool, typer.Option("--rejected", help="Seulement les offres rejetées.")] = False,
    limit: Annotated[int, typer.Option(help="Nombre maximum de lignes affichées.")] = 200,
) -> None:
    """Liste les offres du stock avec leur statut et leurs problèmes."""
    context = command_context(ctx)
    database = context.database()
    try:
        render.offers_table(context.console, database, status=status, rejected_only=rejected, limit=limit)
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
) -> None:
    """Construit le flux LHÉO 2.3 de chaque destination dans l'outbox."""
    context = command_context(ctx)
    database = context.database()
    try:
        results = run_export(
            database, context.config, destinations=destination, dry_run=dry_run, exported_at=_parse_moment(at)
        )
    except (ProfileError, SchemaLoadError) as exc:
        raise context.fail(str(exc)) from exc
    finally:
        database.close()
    if dry_run:
        render.dry_run_explanations(context.console, results)
    render.export_summary(context.console, results, dry_run=dry_run)
    if strict and any(result.quarantined for result in results):
        raise typer.Exit(1)


@app.command("demo")
def demo(
    ctx: typer.Context,
    at: Annotated[str | None, typer.Option(help="Horodatage d'export fixé (ISO 8601).")] = None,
) -> None:
    """Tâche principale de démonstration : importe les offres d'exemple, exporte et transmet chaque destination."""
    context = command_context(ctx)
    sample = resources.files("gateway.demo").joinpath("sample_offers.jsonl")
    database = context.database()
    try:
        with resources.as_file(sample) as sample_path:
            report = import_file(database, sample_path, context.config.rules)
        render.import_summary(context.console, report)
        results = run_export(database, context.config, exported_at=_parse_moment(at))
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
cluster_commands.register(app)


def main() -> None:
    app()
