"""Pick a transport by the `kind` of its settings: `local`, `sftp` or `http`.

A destination's delivery section is one of the settings models below, told apart by `kind`, so
that a typo in a field is reported against the right transport. Each transport's settings live
in its own module; this one only composes them and builds the transport they describe.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import ConfigDict, Field, TypeAdapter

from gateway.transports.base import Transport
from gateway.transports.http_settings import HttpSettings
from gateway.transports.local import LocalFolderSettings, LocalFolderTransport
from gateway.transports.sftp_settings import SftpSettings

TransportSettings = Annotated[LocalFolderSettings | SftpSettings | HttpSettings, Field(discriminator="kind")]

# Errors must not echo their input: a secret pasted where a variable's name belongs would reach the logs.
_ADAPTER: TypeAdapter[TransportSettings] = TypeAdapter(TransportSettings, config=ConfigDict(hide_input_in_errors=True))


def transport_settings(data: Mapping[str, Any]) -> TransportSettings:
    """Validate a delivery section (e.g. a TOML table) into the settings its `kind` names."""
    return _ADAPTER.validate_python(data)


def make_transport(settings: TransportSettings) -> Transport:
    """A new transport for one delivery run (connections open on first delivery); the caller closes it."""
    if isinstance(settings, LocalFolderSettings):
        return LocalFolderTransport(settings)
    # Imported on use: a process that only reads the configuration (an export, its workers, the
    # web server) does not load httpx, or paramiko and cryptography.
    if isinstance(settings, HttpSettings):
        from gateway.transports.http import HttpTransport

        return HttpTransport(settings)
    from gateway.transports.sftp import SftpTransport

    return SftpTransport(settings)
