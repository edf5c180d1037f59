"""What every command gets: configuration, store and consoles, created once per invocation."""

from __future__ import annotations

import os
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from gateway.config import DEFAULT_CONFIG_PATH, ConfigError, GatewayConfig, load_config
from gateway.store.database import Database, StoreError, store_url


def _console(*, stderr: bool) -> Console:
    # Piped output (logs, CI) gets wide tables instead of Rich's 80-column default.
    probe = Console(stderr=stderr)
    if probe.is_terminal:
        return probe
    return Console(stderr=stderr, width=int(os.environ.get("COLUMNS", "160")))


class Context:
    """What every command gets: configuration and console, created once per invocation."""

    def __init__(self, config_path: Path | None) -> None:
        self.config_path = config_path
        self.console = _console(stderr=False)
        self.errors = _console(stderr=True)
        self._config: GatewayConfig | None = None

    @property
    def config(self) -> GatewayConfig:
        if self._config is None:
            path = self.config_path
            if path is None and not DEFAULT_CONFIG_PATH.exists():
                # Never fall back to built-in defaults here: a store would be created silently
                # in whatever folder the command happens to run from.
                raise self.fail(
                    f"aucune configuration : {Path.cwd() / DEFAULT_CONFIG_PATH} est introuvable — lancez la commande"
                    " depuis le dossier de la passerelle, ou indiquez --config FICHIER (ou LHEO_GATEWAY_CONFIG)"
                )
            try:
                self._config = load_config(path)
            except ConfigError as exc:
                raise self.fail(str(exc)) from exc
        return self._config

    def database(self) -> Database:
        try:
            return Database(store_url(self.config.store), busy_timeout=self.config.store.busy_timeout_seconds)
        except StoreError as exc:
            raise self.fail(escape(str(exc))) from exc  # "[postgresql]" is not Rich markup

    def known_destinations(self) -> list[str]:
        """Destinations with a mapping profile or a `[destinations.*]` section."""
        config = self.config
        folder = config.mappings_path
        profiles = {path.stem for path in folder.glob("*.toml")} if folder.is_dir() else set()
        return sorted(profiles | set(config.destinations))

    def check_destinations(self, names: list[str] | None) -> None:
        """A misspelt `-d` must not silently match nothing: refuse it and list the known names."""
        known = self.known_destinations()
        unknown = [name for name in names or [] if name not in known]
        if unknown:
            raise self.fail(
                f"destination inconnue : {', '.join(unknown)} (destinations connues : {', '.join(known) or 'aucune'})"
            )

    def fail(self, message: str, code: int = 2) -> typer.Exit:
        self.errors.print(f"[bold red]erreur[/] : {message}", highlight=False, soft_wrap=True)
        raise typer.Exit(code)


def command_context(ctx: typer.Context) -> Context:
    assert isinstance(ctx.obj, Context)
    return ctx.obj
