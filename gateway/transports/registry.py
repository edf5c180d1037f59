"""Pick a transport by the `kind` of its settings: `local`, `sftp` or `http`.

A destination's delivery section is one of the settings models below, told apart by `kind`, so
that a typo in a field is reported against the right transport. Each transport's settings live
in its own module; this one only composes them and builds the transport they describe.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import Field, TypeAdapter

from gateway.transports.base import Transport
from gateway.transports.http import HttpSettings, HttpTransport
from gateway.transports.local import LocalFolderSettings, LocalFolderTransport

# TODO(sftp): `gateway/transports/sftp.py` did not exist yet when this was written. Once it does,
# import `SftpSettings` from it above (it needs a `kind: Literal["sftp"] = "sftp"` field) and add it
# to this union: `LocalFolderSettings | SftpSettings | HttpSettings`.
TransportSettings = Annotated[LocalFolderSettings | HttpSettings, Field(discriminator="kind")]

_ADAPTER: TypeAdapter[TransportSettings] = TypeAdapter(TransportSettings)


def transport_settings(data: Mapping[str, Any]) -> TransportSettings:
    """Validate a delivery section (e.g. a TOML table) into the settings its `kind` names."""
    return _ADAPTER.validate_python(data)


def make_transport(settings: TransportSettings) -> Transport:
    """A new, open transport for one delivery run; the caller closes it."""
    if isinstance(settings, LocalFolderSettings):
        return LocalFolderTransport(settings)
    if isinstance(settings, HttpSettings):
        return HttpTransport(settings)
    # SFTP, imported only here so that configurations without SFTP never load paramiko.
    sftp = importlib.import_module("gateway.transports.sftp")
    transport: Transport = sftp.SftpTransport(settings)
    return transport
