"""Partner commands: `partners add|list|rotate|revoke` (API tokens for the snapshot API).

A token is printed once, when issued, and never again: the store only keeps its digest.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from gateway.cli.context import Context, command_context
from gateway.cli.times import when
from gateway.outbox.relay import requester
from gateway.web.partners import PartnerError, add_partner, list_partners, revoke, rotate_token

partners_app = typer.Typer(help="Partenaires de l'API des instantanés et leurs jetons.", no_args_is_help=True)

ByOption = Annotated[
    str | None, typer.Option("--by", help="Auteur de la modification (défaut : l'utilisateur système).")
]


def register(app: typer.Typer) -> None:
    app.add_typer(partners_app, name="partners")


def _when(moment: datetime | None) -> str:
    return when(moment)


def _print_token(context: Context, token: str) -> None:
    context.console.print(
        "jeton (affiché une seule fois, à transmettre au partenaire par un canal sûr) :", highlight=False
    )
    # Plain echo: no wrapping nor markup, so the token can be copied or piped as is.
    typer.echo(token)


@partners_app.command("add")
def partners_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Nom du partenaire (lettres, chiffres, . _ -).")],
    feeds: Annotated[str, typer.Option("--feeds", help="Flux autorisés, séparés par des virgules.")],
    by: ByOption = None,
) -> None:
    """Crée un partenaire et son premier jeton d'accès aux flux indiqués."""
    context = command_context(ctx)
    database = context.database()
    try:
        issued = add_partner(database, context.config, name, feeds.split(","), requester(by))
    except PartnerError as exc:
        raise context.fail(str(exc)) from exc
    finally:
        database.close()
    context.console.print(f"partenaire {issued.partner} créé (jeton {issued.prefix}…)", highlight=False)
    _print_token(context, issued.token)


@partners_app.command("list")
def partners_list(ctx: typer.Context) -> None:
    """Liste les partenaires, leurs flux et leurs jetons (préfixe, expiration, dernier usage)."""
    context = command_context(ctx)
    database = context.database()
    try:
        partners = list_partners(database)
    finally:
        database.close()
    now = datetime.now(UTC)
    table = Table(title="Partenaires")
    for column in ("partenaire", "flux", "statut", "jeton", "créé le", "expire le", "dernier usage"):
        table.add_column(column)
    for partner in partners:
        status = f"révoqué le {_when(partner.revoked_at)}" if partner.revoked_at else "actif"
        for index, token in enumerate(partner.tokens or (None,)):
            first = index == 0
            table.add_row(
                partner.name if first else "",
                ", ".join(partner.feeds) if first else "",
                status if first else "",
                "" if token is None else f"{token.prefix}…" + ("" if token.live(now) else " (expiré)"),
                _when(token.created_at) if token else "",
                _when(token.expires_at) if token else "",
                _when(token.last_used_at) if token else "",
            )
    context.console.print(table)


@partners_app.command("rotate")
def partners_rotate(ctx: typer.Context, name: str, by: ByOption = None) -> None:
    """Émet un nouveau jeton ; l'ancien reste valide pendant le délai de grâce configuré."""
    context = command_context(ctx)
    database = context.database()
    try:
        issued = rotate_token(database, context.config, name, requester(by))
    except PartnerError as exc:
        raise context.fail(str(exc)) from exc
    finally:
        database.close()
    context.console.print(
        f"nouveau jeton {issued.prefix}… pour {name} ; les jetons précédents expirent le "
        f"{_when(issued.previous_expires_at)}",
        highlight=False,
    )
    _print_token(context, issued.token)


@partners_app.command("revoke")
def partners_revoke(
    ctx: typer.Context,
    name: str,
    token: Annotated[
        str | None, typer.Option("--token", help="Révoquer seulement ce jeton (préfixe affiché par `list`).")
    ] = None,
    by: ByOption = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Ne pas demander confirmation.")] = False,
) -> None:
    """Révoque un partenaire (tous ses jetons, définitivement) ou un seul de ses jetons ; effet immédiat."""
    context = command_context(ctx)
    if not yes:
        what = f"le jeton {token} de {name}" if token else f"le partenaire {name} et tous ses jetons"
        typer.confirm(f"Révoquer {what} ?", abort=True)
    database = context.database()
    try:
        count = revoke(database, name, requester(by), token_prefix=token)
    except PartnerError as exc:
        raise context.fail(str(exc)) from exc
    finally:
        database.close()
    target = f"jeton {token} de {name}" if token else f"partenaire {name}"
    context.console.print(f"{target} révoqué ({count} jeton(s) désactivé(s))", highlight=False)
