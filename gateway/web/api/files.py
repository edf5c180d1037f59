"""Serve one outbox file with HTTP validators: ETag/Last-Modified, 304, single byte ranges, If-Range.

Starlette's FileResponse parses Range itself (answering 416/400 in plain text, multipart for
several ranges) and has no 304 logic; the API needs JSON errors with stable codes, a strong
ETag that is the file's SHA-256, and the byte count for the fetch log. So decisions are taken
here and `FileSlice` only streams a byte range from disk, in chunks, never the whole file.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from functools import lru_cache
from pathlib import Path

import anyio
import anyio.to_thread
from fastapi import Request, Response
from starlette.types import Message, Receive, Scope, Send

from gateway.web.api.schemas import error_response

log = logging.getLogger(__name__)

# 1 MiB: each chunk costs a thread hop and an ASGI message; 256 KiB halved throughput in bench/api_benchmark.py.
CHUNK_SIZE = 1024 * 1024
_DIGITS = re.compile(r"[0-9]+")
MAX_RANGE_DIGITS = 18  # up to ~10^18 bytes; longer numbers are answered 416 (issue #9)
_NOT_MODIFIED_HEADERS = frozenset({"ETag", "Last-Modified", "Cache-Control", "Content-Location", "Vary"})


@dataclass(frozen=True)
class StoredFile:
    """A file to serve and what the manifest says of it (size and digest are trusted, not recomputed)."""

    path: Path  # as the manifest says; served only if it resolves inside `root`
    root: Path
    size: int
    sha256: str
    modified: datetime
    media_type: str
    headers: Mapping[str, str] = field(default_factory=dict)  # Vary, Content-Encoding, Cache-Control…

    @property
    def etag(self) -> str:
        return f'"{self.sha256}"'


@lru_cache(maxsize=16)
def _resolved(root: Path) -> Path:
    return root.resolve()


def inside(root: Path, stored: Path) -> Path | None:
    """`stored` resolved (symlinks followed), or None when it does not lie under `root`."""
    path = stored.resolve()
    return path if path.is_relative_to(_resolved(root)) else None


def accepts_gzip(accept_encoding: str | None) -> bool:
    """True when the client accepts the gzip content-coding (explicitly or through `*`), q > 0."""
    if not accept_encoding:
        return False
    weights: dict[str, float] = {}
    for item in accept_encoding.split(","):
        coding, _, params = item.strip().partition(";")
        weight = 1.0
        name, _, value = params.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                weight = float(value)
            except ValueError:
                weight = 0.0
        weights[coding.strip().lower()] = weight
    for coding in ("gzip", "x-gzip", "*"):
        if coding in weights:
            return weights[coding] > 0
    return False


def _http_date(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC).replace(microsecond=0), usegmt=True)


def _parse_date(value: str) -> datetime | None:
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _tags(header: str) -> list[str]:
    return [tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()]


class _Unsatisfiable(Exception):
    pass


def _one_range(spec: str, size: int) -> tuple[int, int] | None:
    """[start, end] (inclusive) of one `first-last` spec; None when malformed (the header is ignored)."""
    first, dash, last = (part.strip() for part in spec.partition("-"))
    if not dash or (first and not _DIGITS.fullmatch(first)) or (last and not _DIGITS.fullmatch(last)):
        return None
    if len(first) > MAX_RANGE_DIGITS or len(last) > MAX_RANGE_DIGITS:
        # No file is that large; such numbers could not even be converted (Python's digit limit).
        raise _Unsatisfiable
    if not first:  # suffix: the last N bytes
        if not last:
            return None
        if int(last) == 0:
            raise _Unsatisfiable
        return max(0, size - int(last)), size - 1
    start = int(first)
    if last and int(last) < start:
        return None
    if start >= size:
        raise _Unsatisfiable
    end = min(int(last), size - 1) if last else size - 1
    return start, end


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """The single range to send, None to send everything (malformed or several ranges: RFC 9110 allows it).

    Raises _Unsatisfiable when no requested range overlaps the file.
    """
    unit, _, specs = header.partition("=")
    if unit.strip().lower() != "bytes":
        return None
    parts = [part for part in specs.split(",") if part.strip()]
    if not parts:
        return None
    found: list[tuple[int, int]] = []
    for part in parts:
        try:
            one = _one_range(part, size)
        except _Unsatisfiable:
            continue
        if one is None:
            return None
        found.append(one)
    if not found:
        raise _Unsatisfiable
    return found[0] if len(parts) == 1 else None


def _not_modified(request: Request, file: StoredFile) -> bool:
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:  # takes precedence over If-Modified-Since (RFC 9110 §13.2.2)
        tags = _tags(if_none_match)
        return "*" in tags or file.etag in tags
    since = request.headers.get("if-modified-since")
    moment = _parse_date(since) if since else None
    return moment is not None and file.modified.replace(microsecond=0) <= moment


def _range_applies(request: Request, file: StoredFile) -> bool:
    if_range = request.headers.get("if-range")
    if if_range is None:
        return True
    if if_range.startswith('"'):  # strong comparison only: a weak tag never matches
        return if_range.strip() == file.etag
    moment = _parse_date(if_range)
    return moment is not None and moment == file.modified.replace(microsecond=0)


def serve(request: Request, file: StoredFile) -> Response:
    """The answer to a GET/HEAD of `file`: 200, 206, 304 or 416 (with `Content-Range: bytes */size`)."""
    headers = {
        "ETag": file.etag,
        "Last-Modified": _http_date(file.modified),
        "Accept-Ranges": "bytes",
        **file.headers,
    }
    if request.method in ("GET", "HEAD") and _not_modified(request, file):
        # Only what a cache needs to refresh its copy (RFC 9110 §15.4.5); no content headers.
        return Response(status_code=304, headers={k: v for k, v in headers.items() if k in _NOT_MODIFIED_HEADERS})
    start, end, status = 0, file.size - 1, 200
    range_header = request.headers.get("range")
    if range_header is not None and request.method == "GET" and _range_applies(request, file):
        try:
            chosen = parse_range(range_header, file.size)
        except _Unsatisfiable:
            # A JSON error body: none of the file's content headers (Content-Encoding above all).
            kept = {k: v for k, v in headers.items() if k in ("Accept-Ranges", "Vary")}
            message = f"Plage d'octets hors du fichier ({file.size} octets)."
            return error_response(
                416, "RANGE_NOT_SATISFIABLE", message, {**kept, "Content-Range": f"bytes */{file.size}"}
            )
        if chosen is not None:
            (start, end), status = chosen, 206
            headers["Content-Range"] = f"bytes {start}-{end}/{file.size}"
    # Checked only when bytes are to be sent: a 304 or 416 opens no file.
    path = inside(file.root, file.path)
    if path is None:
        log.error("%s: outside %s, not served", file.path, file.root)
        return error_response(404, "SNAPSHOT_NOT_FOUND", "Cet instantané n'est pas disponible.")
    if not path.is_file():
        # Listed in the store but not on this instance's outbox (shared folder not mounted):
        # a temporary condition of this instance, not a missing snapshot.
        log.error("%s: not visible from this instance (is the shared outbox mounted?)", path)
        message = "Cet instantané n'est pas lisible depuis ce serveur pour le moment ; réessayer plus tard."
        return error_response(503, "SNAPSHOT_NOT_VISIBLE", message, {"Retry-After": "60"})
    headers["Content-Length"] = str(end - start + 1)
    return FileSlice(path, start, end - start + 1, status, headers, file.media_type)


class FileSlice(Response):
    """Streams `length` bytes of `path` from `offset`, stopping when the client goes away."""

    def __init__(
        self, path: Path, offset: int, length: int, status_code: int, headers: Mapping[str, str], media_type: str
    ) -> None:
        super().__init__(status_code=status_code, headers=headers, media_type=media_type)
        self.path, self.offset, self.length = path, offset, length

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            fd = await anyio.to_thread.run_sync(os.open, self.path, os.O_RDONLY)
        except FileNotFoundError:  # purged between the lookup and now: nothing was sent yet
            gone = error_response(404, "SNAPSHOT_NOT_FOUND", "Cet instantané n'est plus disponible.")
            await gone(scope, receive, send)
            return
        try:
            await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
            if scope["method"] == "HEAD":
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                return
            # ASGI < 2.4 servers (uvicorn) drop writes after a disconnect instead of failing them:
            # watch `receive` so an abandoned download stops reading the disk.
            async with anyio.create_task_group() as group:

                async def stream() -> None:
                    await self._stream(fd, send)
                    group.cancel_scope.cancel()

                group.start_soon(stream)
                while True:
                    message: Message = await receive()
                    if message["type"] == "http.disconnect":
                        group.cancel_scope.cancel()
                        break
        finally:
            os.close(fd)

    async def _stream(self, fd: int, send: Send) -> None:
        position, remaining = self.offset, self.length
        while remaining > 0:
            chunk = await anyio.to_thread.run_sync(os.pread, fd, min(CHUNK_SIZE, remaining), position)
            if not chunk:
                raise RuntimeError(f"{self.path} is shorter than its manifest says")
            position += len(chunk)
            remaining -= len(chunk)
            await send({"type": "http.response.body", "body": chunk, "more_body": remaining > 0})
        if self.length == 0:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
