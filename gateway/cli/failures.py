"""Faults of the environment (store, disk) as one French line and exit code 2, never a traceback.

A store that is read-only, immutable, locked by another process's write, full or not a
database at all makes every command fail the same way; the command group catches what
escapes a command and says what happened, in French, with the original reason in brackets.
"""

from __future__ import annotations

from typing import Any

import click
import typer
from sqlalchemy.exc import SQLAlchemyError
from typer.core import TyperGroup

from gateway.faults import os_reason, store_reason


def _fail(message: str) -> typer.Exit:
    click.echo(f"erreur : {message}", err=True)
    return typer.Exit(2)


class GatewayGroup(TyperGroup):
    """The command group: environment faults escaping a command become one line and exit 2."""

    def invoke(self, ctx: Any) -> Any:  # typer vendors click: its Context type is private
        try:
            return super().invoke(ctx)
        except SQLAlchemyError as exc:
            raise _fail(f"base de données inutilisable : {store_reason(exc)}") from exc
        except OSError as exc:
            raise _fail(f"opération impossible : {os_reason(exc)}") from exc
