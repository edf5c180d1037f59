"""Gateway configuration, read from a TOML file (`config/gateway.toml` by default).

Relative paths in the file are resolved against the file's own folder, so the gateway behaves
the same whatever the current directory. Secrets never live in the TOML: settings that need
one name an environment variable or a file instead (see the delivery settings).
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from gateway.alerts.settings import AlertSettings
from gateway.intake.input_errors import describe
from gateway.transports.registry import TransportSettings

DEFAULT_CONFIG_PATH = Path("config/gateway.toml")


class _Settings(BaseModel):
    # Errors never echo values: a secret pasted in the wrong place must not reach the logs.
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)


class StoreSettings(_Settings):
    """Where the store lives: SQLite (embedded default) or PostgreSQL (several instances).

    `url` is a SQLAlchemy URL (`sqlite:///…`, `postgresql://user@host:5432/db`); relative SQLite
    paths are resolved against the config folder. A PostgreSQL password never sits in the TOML:
    `password_env` names an environment variable, `password_file` a file (first line).
    """

    url: str = "sqlite:///../var/gateway.sqlite3"
    # SQLite: how long a command waits for another process's write transaction before failing
    # with a clear error (issue #9).
    busy_timeout_seconds: float = Field(default=30, ge=0)
    password_env: str | None = None
    password_file: Path | None = None
    # Cluster timing. Every instance writes a heartbeat every `heartbeat_seconds`, renewing its
    # leases; a lease whose holder stopped renewing for `lease_seconds` is taken over. Takeover
    # bound = lease_seconds + heartbeat_seconds (+ the slot poll): 45 + 10 + 5 = 60 s by default.
    heartbeat_seconds: float = Field(default=10, gt=0, le=300)
    lease_seconds: float = Field(default=45, gt=0, le=3600)

    @model_validator(mode="after")
    def _lease_outlives_heartbeats(self) -> StoreSettings:
        # A holder must be able to miss one heartbeat (a slow query) without losing its lease.
        if self.lease_seconds < 2 * self.heartbeat_seconds:
            raise ValueError("store.lease_seconds doit valoir au moins deux fois store.heartbeat_seconds")
        if self.password_env and self.password_file:
            raise ValueError("store : password_env et password_file s'excluent, n'en donner qu'un")
        return self


class OutboxSettings(_Settings):
    path: Path = Path("../outbox")
    # Retention: a feed is deleted when it is older than keep_days AND not among the keep_last
    # newest of its destination, so a quiet destination always keeps its latest feeds.
    keep_last: int = Field(default=30, ge=1)
    keep_days: int = Field(default=90, ge=1)
    gzip_level: int = Field(default=6, ge=1, le=9)


class ValidationSettings(_Settings):
    # Point this at the official LHÉO XSD to validate against it instead of the gateway's own.
    schema_path: Path = Path("../xsd/lheo-2.3-gateway.xsd")


class ApprovedFormateur(_Settings):
    """A responsable/formateur pair with different SIRENs that staff have approved (seed guide)."""

    responsable_siren: str = Field(pattern=r"^[0-9]{9}$")
    formateur_siren: str = Field(pattern=r"^[0-9]{9}$")
    note: str = ""


class RulesSettings(_Settings):
    approved_formateurs: list[ApprovedFormateur] = Field(default_factory=list)

    def formateur_approved(self, responsable_siren: str, formateur_siren: str) -> bool:
        return any(
            pair.responsable_siren == responsable_siren and pair.formateur_siren == formateur_siren
            for pair in self.approved_formateurs
        )


class LheoSettings(_Settings):
    # FORMACODE public code and dictionary version put on every action (`code-public-vise`):
    # the back-office does not collect it, so the Carif-Oref sets it once here.
    public_code: str = Field(default="83056", pattern=r"^[0-9]{5}$")
    formacode_version: str = "V14"
    # Written as `conditions-specifiques` when an offer declares none (LHÉO asks for "aucune").
    no_specific_conditions: str = "aucune"
    # issue #7. Source prefix of every `numero` (`NA` → `NA_202409024724`), like the network's
    # `01_…`; empty = no prefix. Changing it renumbers everything for consumers: set it once.
    numero_prefix: str = Field(default="", pattern=r"^[A-Za-z0-9]{0,10}$")
    # Public page of a formation (`href` of <formation>, and `url-action`), `{reference}` = the
    # formation reference, e.g. "https://www.example.fr/formation/{reference}". Empty = none.
    public_page_url: str = Field(default="", pattern=r"^(https?://[^\s\"<>]*\{reference\}[^\s\"<>]*)?$")


class IntakeSettings(_Settings):
    # Worker processes preparing the records of an import (parse, rules); 0 = one per core for
    # JSON Lines files of 8 MB or more (≈ 1,500 offers), 1 = always in the importing process.
    workers: int = Field(default=0, ge=0, le=64)


class ExportSettings(_Settings):
    # Profiles (files of the mappings folder) to export; empty means every profile.
    destinations: list[str] = Field(default_factory=list)
    # Worker processes rendering and validating offers; 0 = one per core for large exports.
    workers: int = Field(default=0, ge=0, le=64)


class RetryPolicy(_Settings):
    """Capped exponential backoff with jitter; a transmission dies after max_attempts or max_age."""

    max_attempts: int = Field(default=10, ge=1)
    initial_delay_seconds: float = Field(default=60, gt=0)
    multiplier: float = Field(default=2.0, ge=1)
    max_delay_seconds: float = Field(default=3600, gt=0)
    jitter: float = Field(default=0.2, ge=0, le=1)  # ± this fraction of the delay
    max_age_hours: float = Field(default=72, gt=0)


class DestinationSettings(_Settings):
    """How a profile's feeds reach the partner: transport, schedule, retries.

    The destination is named after its profile in `mappings/` (`[destinations.parcoursup]`).
    """

    transport: TransportSettings | None = None
    # Cron expression (minute hour day month weekday), in `timezone`. Empty: no scheduled run.
    schedule: str | None = None
    timezone: str = "Europe/Paris"
    retry: RetryPolicy = Field(default_factory=RetryPolicy)
    # Every feed is a full snapshot: a newer one supersedes older undelivered ones, which are
    # then marked `superseded` instead of being sent late. Set false to deliver every feed.
    supersede: bool = True


class WebSettings(_Settings):
    """The partner API and staff console (`lheo-gateway serve`, or alongside `run`)."""

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    # Console sessions expire this long after login (absolute, not sliding).
    session_hours: float = Field(default=8, gt=0)
    # Set when served over HTTPS (directly or behind a proxy): cookies get the Secure flag.
    secure_cookies: bool = False
    # Old partner token kept valid this long after a rotation, so the partner can switch.
    token_rotation_grace_hours: float = Field(default=72, ge=0)
    # The public base URL of the API (e.g. https://lheo.carif.example), used for the links it
    # returns (pagination `Link`); without it links are relative — never built from `Host`.
    public_url: str | None = Field(default=None, pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$")


class GatewayConfig(_Settings):
    store: StoreSettings = Field(default_factory=StoreSettings)
    outbox: OutboxSettings = Field(default_factory=OutboxSettings)
    validation: ValidationSettings = Field(default_factory=ValidationSettings)
    mappings_path: Path = Path("../mappings")
    rules: RulesSettings = Field(default_factory=RulesSettings)
    lheo: LheoSettings = Field(default_factory=LheoSettings)
    intake: IntakeSettings = Field(default_factory=IntakeSettings)
    export: ExportSettings = Field(default_factory=ExportSettings)
    destinations: dict[str, DestinationSettings] = Field(default_factory=dict)
    web: WebSettings = Field(default_factory=WebSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)

    def resolved(self, base_dir: Path) -> GatewayConfig:
        """Return a copy whose relative paths are anchored at `base_dir`."""
        base_dir = base_dir.resolve()

        def anchor(path: Path) -> Path:
            return path if path.is_absolute() else (base_dir / path).resolve()

        url = self.store.url
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
            url = prefix + str(anchor(Path(url[len(prefix) :])))
        return self.model_copy(
            update={
                "store": self.store.model_copy(
                    update={
                        "url": url,
                        "password_file": anchor(self.store.password_file) if self.store.password_file else None,
                    }
                ),
                "outbox": self.outbox.model_copy(update={"path": anchor(self.outbox.path)}),
                "validation": self.validation.model_copy(update={"schema_path": anchor(self.validation.schema_path)}),
                "mappings_path": anchor(self.mappings_path),
                "destinations": {
                    name: destination.model_copy(update={"transport": _anchor_paths(destination.transport, anchor)})
                    for name, destination in self.destinations.items()
                },
                "alerts": self.alerts.anchored(anchor),
            }
        )


def _anchor_paths(settings: TransportSettings | None, anchor: Callable[[Path], Path]) -> TransportSettings | None:
    """Anchor every Path field of a transport's settings (key files, folders, certificates)."""
    if settings is None:
        return None
    updates: dict[str, Any] = {}
    for name, value in settings:
        if isinstance(value, Path):
            updates[name] = anchor(value)
        elif isinstance(value, BaseModel):  # nested, e.g. HTTP auth with a token file
            updates[name] = value.model_copy(
                update={key: anchor(item) for key, item in value if isinstance(item, Path)}
            )
    return settings.model_copy(update=updates)


class ConfigError(Exception):
    """The configuration file is missing or wrong; the message says where."""


def load_config(path: Path | None = None) -> GatewayConfig:
    """Load and resolve the configuration. Without a path, `config/gateway.toml` if present."""
    if path is None:
        path = DEFAULT_CONFIG_PATH
        if not path.exists():
            return GatewayConfig().resolved(Path.cwd() / "config")
    try:
        raw: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"fichier de configuration introuvable : {path}") from exc
    except OSError as exc:
        raise ConfigError(f"fichier de configuration illisible : {path} ({exc.strerror or exc})") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} : TOML invalide [{exc}]") from exc
    try:
        config = GatewayConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{path} : configuration invalide — {describe(exc)}") from exc
    except ValueError as exc:
        raise ConfigError(f"{path} : configuration invalide — {exc}") from exc
    return config.resolved(path.parent)
