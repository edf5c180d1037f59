"""The transport contract: deliver one outbox feed to one destination, or say why not.

Each transport (local folder, SFTP, HTTP) is its own module with its own pydantic settings
model beside it, chosen by name from configuration. A transport either returns a receipt or
raises `DeliveryError`, whose `retryable` flag tells the delivery loop whether to try again
later (network down, 5xx) or to give up at once (permission denied, 4xx, host key mismatch).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Protocol, Self

# Names shared by the file transports (local folder, SFTP), so both sides of a partner see the
# same conventions: uploads go to `.<name>.part-<random>` (hidden, no `*.xml` watcher picks it
# up), and the "versioned" policy writes `X.1.xml`, `X.2.xml`... beside an existing `X.xml`.
TEMP_MARK = ".part-"
MAX_VERSIONS = 999


def versioned_name(name: str, version: int) -> str:
    """`X.xml` → `X.1.xml`, `X.xml.gz` → `X.1.xml.gz`; version 0 is the name itself."""
    if version == 0:
        return name
    stem, dot_xml, rest = name.rpartition(".xml")
    if not dot_xml:
        return f"{name}.{version}"
    return f"{stem}.{version}.xml{rest}"


@dataclass(frozen=True)
class FeedToDeliver:
    """One feed of the outbox, as handed to a transport."""

    feed_id: str
    destination: str
    path: Path  # the .xml
    gz_path: Path  # the .xml.gz beside it
    sha256: str
    size: int
    gz_sha256: str
    gz_size: int
    # A staff replay: send the bytes again even when a copy of the same name and size is
    # already there (file transports overwrite it or write a versioned name, per exists_policy).
    resend: bool = False

    @property
    def name(self) -> str:
        return self.path.name


@dataclass(frozen=True)
class DeliveryReceipt:
    """What the destination acknowledged; kept with the attempt for staff to read."""

    remote: str  # remote path, or URL
    bytes_sent: int
    detail: str = ""  # e.g. HTTP status and response excerpt
    http_status: int | None = None
    extra: dict[str, str] = field(default_factory=dict)


class DeliveryError(Exception):
    """A failed delivery, with a stable code (e.g. SFTP_HOSTKEY_MISMATCH) and a retry hint."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        retryable: bool,
        retry_after: float | None = None,
        http_status: int | None = None,
        response_excerpt: str = "",
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.retryable = retryable
        self.retry_after = retry_after  # seconds, when the destination said (Retry-After)
        self.http_status = http_status
        self.response_excerpt = response_excerpt


ProgressCallback = Callable[[int], None]  # called with the number of bytes just sent


class Transport(Protocol):
    """Delivers feeds; one instance serves one delivery run and is always closed.

    `progress`, when set by the caller, is called as bytes go out (for progress bars).
    """

    progress: ProgressCallback | None

    def deliver(self, feed: FeedToDeliver) -> DeliveryReceipt: ...

    def close(self) -> None: ...


class ClosingTransport:
    """Shared by the transports: a progress hook and `with transport:` closing it."""

    progress: ProgressCallback | None = None

    def close(self) -> None:
        pass

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
