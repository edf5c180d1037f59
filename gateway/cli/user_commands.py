"""`lheo-gateway users add|list|disable|set-role`: staff accounts of the web console.

Passwords are asked twice without echo, or read from stdin (`--password-stdin`) for scripts;
never taken as an argument, where they would land in the shell history and `ps`. Every change
is audited under `--by` or the OS user.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table

from gateway.cli.context import command_context
from gateway.cli.times import when
from gateway.outbox.relay import requester
from gateway.web.users import Role, UserError, add_user, disable_user, list_users, set_role

users_app = typer.Typer(help="Utilisateurs de la console web.", no_args_is_help=True)

ByOption = Annotated[
    str | None, typer.Option("--by", help="Auteur inscrit au journal d'audit (défaut : l'utilisateur système).")
]


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password: str = typer.prompt("Mot de passe", hide_input=True, confirmation_prompt="Confirmez le mot de passe")
    return password


@users_app.command("add")
def users_add(
    ctx: typer.Context,
    login: Annotated[str, typer.Argument(help="Identifiant de connexion.")],
    role: Annotated[Role, typer.Option("--role", "-r", help="viewer, operator ou admin.")] = Role.VIEWER,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Lit le mot de passe sur l'entrée standard (une ligne).")
    ] = False,
    by: ByOption = None,
) -> None:
    """Ajoute un utilisateur (mot de passe demandé deux fois, sans écho)."""
    context = command_context(ctx)
    password = _read_password(password_stdin)
    database = context.database()
    try:
        user = add_user(database, login, role.value, password, actor=requester(by))
    except UserError as exc:
        raise context.fail(str(exc), code=1) from exc
    finally:
        database.close()
    context.console.print(f"utilisateur ajouté : {user.login} ({user.role.value})", highlight=False)


@users_app.command("list")
def users_list(ctx: typer.Context) -> None:
    """Liste les utilisateurs, leur rôle et leur état."""
    context = command_context(ctx)
    database = context.database()
    try:
        users = list_users(database)
    finally:
        database.close()
    table = Table(title="Utilisateurs")
    for column in ("identifiant", "rôle", "créé le (UTC)", "état"):
        table.add_column(column)
    for user in users:
        table.add_row(
            user.login,
            user.role.value,
            when(user.created_at),
            "actif" if user.active else f"désactivé le {when(user.disabled_at)}",
        )
    context.console.print(table)


@users_app.command("disable")
def users_disable(ctx: typer.Context, login: str, by: ByOption = None) -> None:
    """Désactive un utilisateur et ferme ses sessions ouvertes."""
    context = command_context(ctx)
    database = context.database()
    try:
        disable_user(database, login, actor=requester(by))
    except UserError as exc:
        raise context.fail(str(exc), code=1) from exc
    finally:
        database.close()
    context.console.print(f"utilisateur désactivé : {login}", highlight=False)


@users_app.command("set-role")
def users_set_role(ctx: typer.Context, login: str, role: Role, by: ByOption = None) -> None:
    """Change le rôle d'un utilisateur (viewer, operator ou admin)."""
    context = command_context(ctx)
    database = context.database()
    try:
        user = set_role(database, login, role.value, actor=requester(by))
    except UserError as exc:
        raise context.fail(str(exc), code=1) from exc
    finally:
        database.close()
    context.console.print(f"rôle de {user.login} : {user.role.value}", highlight=False)
