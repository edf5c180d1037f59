"""What a destination's HTTP delivery section may say (`kind = "http"`), validated without httpx.

Kept apart from the transport so that reading the configuration — which every command does —
does not load httpx (see `registry.py`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal, Self
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# Headers the transport computes itself; a static header must not contradict them.
_RESERVED_HEADERS = frozenset(
    {
        "authorization",
        "content-length",
        "content-encoding",
        "transfer-encoding",
        "host",
        "idempotency-key",
        "digest",
        "content-digest",
        "x-content-sha256",
        "x-feed-sha256",
        "x-feed-name",
    }
)


class _Settings(BaseModel):
    # A secret pasted where its variable's name belongs must not be echoed into logs by the error.
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)


_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _env_name(value: str | None) -> str | None:
    if value is not None and not _ENV_NAME.match(value):
        raise ValueError("must be the name of an environment variable (letters, digits, _), not the secret itself")
    return value


def _exactly_one(owner: str, **candidates: object) -> None:
    given = [name for name, value in candidates.items() if value is not None]
    if len(given) != 1:
        names = " or ".join(candidates)
        raise ValueError(f"{owner}: give exactly one of {names} (got {len(given)})")


class BearerAuth(_Settings):
    """`Authorization: Bearer <token>`, the token read from an env var or a file."""

    type: Literal["bearer"] = "bearer"
    token_env: str | None = None
    token_file: Path | None = None

    @field_validator("token_env")
    @classmethod
    def _token_env(cls, value: str | None) -> str | None:
        return _env_name(value)

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        _exactly_one("bearer auth", token_env=self.token_env, token_file=self.token_file)
        return self


class BasicAuth(_Settings):
    """HTTP Basic; the password read from an env var or a file."""

    type: Literal["basic"] = "basic"
    username: str = Field(min_length=1)
    password_env: str | None = None
    password_file: Path | None = None

    @field_validator("password_env")
    @classmethod
    def _password_env(cls, value: str | None) -> str | None:
        return _env_name(value)

    @field_validator("username")
    @classmethod
    def _no_colon(cls, value: str) -> str:
        if ":" in value:
            raise ValueError("a Basic auth username cannot contain ':'")
        return value

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        _exactly_one("basic auth", password_env=self.password_env, password_file=self.password_file)
        return self


class ClientCertAuth(_Settings):
    """TLS client certificate (mutual TLS). The key file may be the certificate file itself."""

    type: Literal["client_cert"] = "client_cert"
    client_cert_file: Path
    client_key_file: Path | None = None


HttpAuth = Annotated[BearerAuth | BasicAuth | ClientCertAuth, Field(discriminator="type")]


class HttpSettings(_Settings):
    kind: Literal["http"] = "http"
    url: str
    method: Literal["POST", "PUT"] = "POST"
    # Send the .xml.gz with `Content-Encoding: gzip` instead of the .xml.
    gzip: bool = False
    auth: HttpAuth | None = None
    # CA bundle to verify the partner's certificate with; default: certifi's bundle (httpx's default).
    ca_file: Path | None = None
    connect_timeout: float = Field(default=10.0, gt=0)
    # Longest silence allowed while sending or waiting for the answer (not the whole transfer).
    read_timeout: float = Field(default=60.0, gt=0)
    headers: dict[str, str] = Field(default_factory=dict)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        try:
            parts = urlsplit(value)
            parts.port  # noqa: B018 - raises ValueError when out of range
        except ValueError as exc:
            raise ValueError(f"invalid URL {value!r}: {exc}") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {value!r}")
        if parts.username is not None or parts.password is not None:
            raise ValueError("credentials in the URL are refused: use `auth` (basic) with password_env/password_file")
        return value

    @field_validator("headers")
    @classmethod
    def _not_reserved(cls, value: dict[str, str]) -> dict[str, str]:
        clashing = sorted(name for name in value if name.lower() in _RESERVED_HEADERS)
        if clashing:
            raise ValueError(f"headers set by the transport itself cannot be configured: {', '.join(clashing)}")
        for name, text in value.items():
            if not _printable_ascii(name) or " " in name or not _printable_ascii(text):
                raise ValueError(f"header {name!r}: name and value must be printable ASCII")
        return value


def _printable_ascii(text: str) -> bool:
    return text.isascii() and text.isprintable()
