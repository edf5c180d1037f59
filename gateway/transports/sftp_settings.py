"""What a destination's SFTP delivery section may say (`kind = "sftp"`), validated without paramiko.

Kept apart from the transport so that reading the configuration — which every command does —
does not load paramiko and cryptography (≈ 25 MB per process; see `registry.py`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

MAX_WRITE_SIZE = 1024 * 1024  # above what any server announces today; bounds our one buffer
_FINGERPRINT = re.compile(r"^SHA256:([A-Za-z0-9+/]{43})=?$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _env_name(value: str | None, field: str) -> str | None:
    if value is None:
        return None
    if "PRIVATE KEY" in value or "\n" in value:
        raise ValueError(f"{field} must name an environment variable holding the secret, not contain the secret")
    if not _ENV_NAME.match(value):
        raise ValueError(f"{field} must be an environment variable name (letters, digits, _), got {value!r}")
    return value


class SftpSettings(BaseModel):
    """Where and how to deliver by SFTP. Secrets are never here: only where to find them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["sftp"] = "sftp"
    host: str = Field(min_length=1)
    port: int = Field(default=22, ge=1, le=65535)
    username: str = Field(min_length=1)
    # Folder on the server; relative paths are relative to the login folder.
    remote_dir: str = Field(min_length=1)
    # The private key: a file, or the name of an environment variable holding the key text.
    private_key_file: Path | None = None
    private_key_env: str | None = None
    # Name of an environment variable holding the key's passphrase, if the key is encrypted.
    passphrase_env: str | None = None
    # Host key pinning, at least one: the fingerprint as `ssh-keygen -lf <host key .pub>` prints
    # it ("SHA256:…"), and/or an OpenSSH known_hosts file (hashed entries allowed). With both, the
    # key must satisfy both. paramiko prefers ed25519, then ECDSA, then RSA host keys: pin that one.
    host_key_fingerprint: str | None = None
    known_hosts_file: Path | None = None
    # A *different* file already under the feed's name (same name and size = already delivered).
    exists_policy: Literal["fail", "overwrite", "versioned"] = "fail"
    connect_timeout: float = Field(default=10.0, gt=0)  # TCP connect, SSH handshake, login
    io_timeout: float = Field(default=30.0, gt=0)  # longest silence while transferring
    upload_gz: bool = False  # send the .xml.gz instead of the .xml
    # Bytes per SFTP write request. Default: the largest the server announces (limits@openssh.com,
    # 255 KiB for OpenSSH 9), else the 32 KiB every server accepts. A value set here is used as is
    # with a server that announces nothing, and never above what a server announces.
    write_size: int | None = Field(default=None, ge=4096, le=MAX_WRITE_SIZE)
    # Writes sent ahead without waiting for their answers (the server's flow-control window still
    # bounds what is in flight); 1 waits for each answer, as a plain SFTP client does.
    max_outstanding_writes: int = Field(default=64, ge=1, le=1024)
    # Send each SSH packet at once (no Nagle). Measured with the pipelined writes: about 15 % less
    # CPU and a faster upload, Nagle holding back the short packets cut at the window's edge.
    tcp_nodelay: bool = True

    @field_validator("host", "username")
    @classmethod
    def _no_blank(cls, value: str) -> str:
        if value != value.strip() or any(character.isspace() for character in value):
            raise ValueError("must not contain spaces")
        return value

    @field_validator("remote_dir")
    @classmethod
    def _clean_dir(cls, value: str) -> str:
        if "\x00" in value:
            raise ValueError("must not contain NUL characters")
        return value.rstrip("/") or "/"

    @field_validator("private_key_env")
    @classmethod
    def _key_env(cls, value: str | None) -> str | None:
        return _env_name(value, "private_key_env")

    @field_validator("passphrase_env")
    @classmethod
    def _passphrase_env(cls, value: str | None) -> str | None:
        return _env_name(value, "passphrase_env")

    @field_validator("host_key_fingerprint")
    @classmethod
    def _fingerprint(cls, value: str | None) -> str | None:
        if value is None:
            return None
        match = _FINGERPRINT.match(value.strip())
        if match is None:
            raise ValueError(
                "expected a SHA256 fingerprint as `ssh-keygen -lf` prints it, e.g. "
                "'SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8' (MD5 fingerprints are not accepted)"
            )
        return "SHA256:" + match.group(1)

    @model_validator(mode="after")
    def _sources(self) -> Self:
        if (self.private_key_file is None) == (self.private_key_env is None):
            raise ValueError("give exactly one of private_key_file or private_key_env")
        if self.host_key_fingerprint is None and self.known_hosts_file is None:
            raise ValueError("the server's host key must be pinned: give host_key_fingerprint and/or known_hosts_file")
        return self
