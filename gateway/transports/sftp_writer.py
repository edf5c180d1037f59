"""The upload loop of the SFTP transport: SSH_FXP_WRITE requests pipelined on paramiko's channel.

paramiko's own `SFTPFile.write` spends most of an upload in Python rather than in the network:
each write builds its request in a `Message` (one copy), prefixes it (another copy), cuts it for
the channel with `out = out[n:]` (a copy of the whole remainder per SSH packet), and in pipelined
mode drains *every* outstanding answer, waiting for the last one, once 100 are pending — the pipe
runs dry every 100 writes. Here each request is read from the outbox file straight into its place
behind the request header (no copy on our side), handed to `Channel.sendall` as a memoryview
(paramiko then cuts it into SSH packets without copying the rest), and answers are consumed as
they arrive, waiting only when `max_outstanding` are unanswered.

paramiko stays the engine: SSH transport, encryption, channel flow control, timeouts, and every
other SFTP operation (open, close, stat, rename). Request ids are taken from the SFTPClient's own
counter so they never collide with its requests; an answer we leave unread after a failure is
skipped by paramiko as "unexpected" (its `_read_response` ignores ids it did not issue).

Errors are raised as paramiko would raise them (socket.timeout when the channel stays silent for
its timeout, EOFError when it closes, PermissionError / FileNotFoundError / OSError for an SFTP
failure status), so the transport maps them to its codes as for every other remote operation.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import struct
from collections.abc import Callable

import paramiko
from paramiko.sftp import CMD_STATUS, CMD_WRITE

# SSH_FXP_WRITE: uint32 length, byte type, uint32 id, string handle, uint64 offset, string data.
_WRITE_HEAD = struct.Struct(">IBII")  # length, type, id, handle length — then handle, then _WRITE_TAIL
_WRITE_TAIL = struct.Struct(">QI")  # offset, data length
_LENGTH = struct.Struct(">I")
_STATUS_HEAD = struct.Struct(">BII")  # type, id, status code — then message and language tag
_MAX_ANSWER = 256 * 1024  # an answer to a write is a few dozen bytes; anything huge is garbage
# SSH_FX_* codes (draft-ietf-secsh-filexfer-02, section 7).
_FX_OK, _FX_NO_SUCH_FILE, _FX_PERMISSION_DENIED = 0, 2, 3
_RECEIVE = 64 * 1024
_CHANNEL_RESERVE = 64  # what paramiko's Channel.send keeps of each packet for the SSH framing


class SourceChanged(Exception):
    """The outbox file ended before, or went on after, the size it was announced with."""

    def __init__(self, read: int) -> None:
        super().__init__(read)
        self.read = read


class SourceUnreadable(Exception):
    """Reading the outbox file failed (the OSError is the cause)."""


class PipelinedWriter:
    """Writes one local file to an open remote handle; `write_all` returns once every write is answered."""

    def __init__(
        self,
        sftp: paramiko.SFTPClient,
        handle: bytes,
        *,
        request_size: int,
        max_outstanding: int,
        progress: Callable[[int], None] | None = None,
        progress_step: int = 1024 * 1024,
    ) -> None:
        channel = sftp.get_channel()
        if channel is None:
            raise EOFError("SFTP channel closed")
        self._sftp = sftp
        self._channel = channel
        self._handle = handle
        self._request_size = request_size
        self._max_outstanding = max_outstanding
        self._progress = progress
        self._progress_step = progress_step
        self._pending: set[int] = set()  # ids of unanswered writes
        self._answers = bytearray()  # bytes received and not yet parsed

    def write_all(self, source: io.FileIO, size: int) -> int:
        """Send exactly `size` bytes of `source` from offset 0; raises SourceChanged if it has another size."""
        handle = self._handle
        header = _WRITE_HEAD.size + len(handle) + _WRITE_TAIL.size
        buffer = bytearray(header + self._request_size)
        view = memoryview(buffer)
        data = view[header:]
        buffer[_WRITE_HEAD.size : _WRITE_HEAD.size + len(handle)] = handle
        tail_at = _WRITE_HEAD.size + len(handle)
        requests = -(-size // self._request_size)
        # Reserve our ids in paramiko's counter: its later requests never reuse them.
        next_id = self._sftp.request_number
        self._sftp.request_number = next_id + requests
        offset = unreported = 0
        pending = self._pending
        while offset < size:
            want = min(self._request_size, size - offset)
            count = _read_fully(source, data[:want])
            if count < want:
                raise SourceChanged(offset + count)
            _WRITE_HEAD.pack_into(buffer, 0, header - 4 + count, CMD_WRITE, next_id, len(handle))
            _WRITE_TAIL.pack_into(buffer, tail_at, offset, count)
            self._send(view[: header + count])
            pending.add(next_id)
            next_id += 1
            offset += count
            self._collect(block=len(pending) >= self._max_outstanding)
            unreported += count
            if self._progress is not None and unreported >= self._progress_step:
                self._progress(unreported)
                unreported = 0
        if _read_fully(source, data[:1]):
            raise SourceChanged(size + 1)
        while pending:
            self._collect(block=True)
        if self._progress is not None and unreported:
            self._progress(unreported)
        return offset

    def _send(self, request: memoryview) -> None:
        """Channel.sendall, one SSH packet's worth of bytes at a time.

        Given a memoryview, paramiko's Message.add_string coerces it through two caught exceptions
        per packet (util.asbytes), costlier than copying the packet's 32 KiB into bytes; given the
        whole request as bytes, sendall would copy the remainder at every packet.
        """
        channel = self._channel
        packet = channel.out_max_packet_size - _CHANNEL_RESERVE
        sent, total = 0, len(request)
        while sent < total:
            count = channel.send(bytes(request[sent : sent + packet]))
            if count <= 0:
                raise EOFError("SFTP channel closed")
            sent += count

    def _collect(self, *, block: bool) -> None:
        """Consume the answers that arrived; with `block`, wait until at least one does."""
        channel, answers = self._channel, self._answers
        before = len(self._pending)
        while True:
            if channel.recv_ready():
                received = channel.recv(_RECEIVE)
            elif block and len(self._pending) == before:
                received = channel.recv(_RECEIVE)  # raises socket.timeout after the channel's timeout
            else:
                return
            if not received:
                raise EOFError("SFTP channel closed by the server")
            answers += received
            self._parse()

    def _parse(self) -> None:
        answers, pending = self._answers, self._pending
        start = 0
        while len(answers) - start >= _LENGTH.size:
            (length,) = _LENGTH.unpack_from(answers, start)
            if length > _MAX_ANSWER or length < _STATUS_HEAD.size:
                raise paramiko.SSHException(f"garbage SFTP answer ({length} bytes announced)")
            end = start + _LENGTH.size + length
            if end > len(answers):
                break
            kind, request_id, code = _STATUS_HEAD.unpack_from(answers, start + _LENGTH.size)
            if kind != CMD_STATUS or request_id not in pending:
                # A write is only ever answered by a status (in any order: SFTP lets a server
                # reorder, though OpenSSH answers in order).
                raise paramiko.SSHException(f"unexpected SFTP answer to a write (type {kind}, id {request_id})")
            if code != _FX_OK:
                message = _status_message(answers, start + _LENGTH.size + _STATUS_HEAD.size, end)
                raise _status_error(code, message)
            pending.discard(request_id)
            start = end
        del answers[:start]


def _read_fully(source: io.FileIO, into: memoryview) -> int:
    """Fill `into` from the file, fewer bytes only at end of file."""
    filled = 0
    try:
        while filled < len(into):
            count = source.readinto(into[filled:])
            if not count:
                break
            filled += count
    except OSError as exc:
        raise SourceUnreadable(str(exc)) from exc
    return filled


def _status_message(answers: bytearray, at: int, end: int) -> str:
    if at + _LENGTH.size > end:
        return ""
    (length,) = _LENGTH.unpack_from(answers, at)
    return bytes(answers[at + _LENGTH.size : min(end, at + _LENGTH.size + length)]).decode("utf-8", "replace")


def _status_error(code: int, message: str) -> OSError:
    """The exception paramiko raises for the same status (SFTPClient._convert_status)."""
    if code == _FX_NO_SUCH_FILE:
        return FileNotFoundError(errno.ENOENT, message)
    if code == _FX_PERMISSION_DENIED:
        return PermissionError(errno.EACCES, message)
    return OSError(message or f"SFTP status {code}")


def advise_sequential(source: io.FileIO) -> None:
    """Ask the kernel to read ahead generously: an outbox feed not in the page cache is read once, in order."""
    if hasattr(os, "posix_fadvise"):
        with contextlib.suppress(OSError):
            os.posix_fadvise(source.fileno(), 0, 0, os.POSIX_FADV_SEQUENTIAL)
