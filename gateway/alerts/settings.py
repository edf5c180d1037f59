"""`[alerts]` of the configuration: thresholds, e-mail (SMTP) and webhook, per-destination overrides.

Secrets are never written in the file: the SMTP password and the webhook token are read from
an environment variable or a file named here, when a notice is sent.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SecretError(ValueError):
    """A secret named in the configuration cannot be read (French message, never the secret)."""


def read_secret(env: str | None, file: Path | None, what: str) -> str | None:
    if env:
        value = os.environ.get(env)
        if value is None:
            raise SecretError(f"{what} : la variable d'environnement {env} n'est pas définie")
        return value
    if file is not None:
        try:
            return file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SecretError(f"{what} : fichier {file} illisible ({exc.strerror or exc})") from exc
    return None


class EmailSettings(_Settings):
    host: str
    port: int = Field(default=587, ge=1, le=65535)
    # "starttls" (port 587), "ssl" (implicit TLS, port 465) or "none" (a relay on the local network).
    security: str = Field(default="starttls", pattern="^(starttls|ssl|none)$")
    username: str | None = None
    password_env: str | None = None
    password_file: Path | None = None
    sender: str
    recipients: list[str] = Field(default_factory=list)
    timeout_seconds: float = Field(default=15, gt=0)

    def password(self) -> str | None:
        return read_secret(self.password_env, self.password_file, "mot de passe SMTP des alertes")


class WebhookSettings(_Settings):
    url: str = Field(pattern="^https?://")
    token_env: str | None = None  # sent as `Authorization: Bearer <token>` when set
    token_file: Path | None = None
    timeout_seconds: float = Field(default=10, gt=0)

    def token(self) -> str | None:
        return read_secret(self.token_env, self.token_file, "jeton du webhook des alertes")


class DestinationAlerts(_Settings):
    """Overrides for one destination; unset values fall back to `[alerts]`."""

    enabled: bool = True
    no_delivery_hours: float | None = Field(default=None, gt=0)
    quarantine_threshold: int | None = Field(default=None, ge=0)
    recipients: list[str] | None = None
    webhook_url: str | None = Field(default=None, pattern="^https?://")


class AlertSettings(_Settings):
    enabled: bool = False
    # How often `run` checks (also after each scheduled export and delivery).
    check_interval_seconds: float = Field(default=300, gt=0)
    # No successful delivery to a destination for this long opens an incident.
    no_delivery_hours: float = Field(default=24, gt=0)
    # An export that quarantines more offers than this opens an incident.
    quarantine_threshold: int = Field(default=100, ge=0)
    email: EmailSettings | None = None
    webhook: WebhookSettings | None = None
    destinations: dict[str, DestinationAlerts] = Field(default_factory=dict)

    def anchored(self, anchor: Callable[[Path], Path]) -> AlertSettings:
        """Secret files named relative to the configuration file's folder."""
        updates: dict[str, object] = {}
        if self.email is not None and self.email.password_file is not None:
            updates["email"] = self.email.model_copy(update={"password_file": anchor(self.email.password_file)})
        if self.webhook is not None and self.webhook.token_file is not None:
            updates["webhook"] = self.webhook.model_copy(update={"token_file": anchor(self.webhook.token_file)})
        return self.model_copy(update=updates)

    def rule(self, destination: str) -> DestinationAlerts:
        return self.destinations.get(destination, DestinationAlerts())

    def no_delivery_for(self, destination: str) -> float:
        return self.rule(destination).no_delivery_hours or self.no_delivery_hours

    def quarantine_threshold_for(self, destination: str) -> int:
        value = self.rule(destination).quarantine_threshold
        return self.quarantine_threshold if value is None else value

    def recipients_for(self, destination: str) -> list[str]:
        explicit = self.rule(destination).recipients
        return explicit if explicit is not None else (self.email.recipients if self.email else [])

    def webhook_url_for(self, destination: str) -> str | None:
        return self.rule(destination).webhook_url or (self.webhook.url if self.webhook else None)
