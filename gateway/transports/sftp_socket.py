"""The TCP socket under paramiko's SSH transport, with its reads buffered.

paramiko's reader thread reads each incoming SSH packet with two `recv` calls (the first cipher
block, then the rest), and the socket has a timeout, so each call is a poll plus a read and a
release and re-acquisition of the GIL, fought over with the thread that is uploading. During an
upload the server sends a flow-control window adjustment every few dozen KiB and an answer per
write: tens of thousands of small packets per GiB, which arrive in bursts. Reading whatever is
there (up to 256 KiB) in one call and serving the following `recv`s from memory cuts those system
calls and GIL hand-offs several-fold. Sends skip the poll that a socket with a timeout makes
before each write (one per SSH packet) unless the kernel's buffer is full. Nothing else changes:
timeouts, `close` and the `_closed` flag paramiko checks are the socket's own; paramiko never
`select`s on the socket, so bytes waiting in the buffer cannot go unnoticed.
"""

from __future__ import annotations

import contextlib
import os
import socket
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

_READ = 256 * 1024


class BufferedSocket(socket.socket):
    """A socket.socket whose `recv` reads ahead; built from a connected socket, which it takes over."""

    def __init__(self, connected: socket.socket) -> None:
        timeout = connected.gettimeout()
        super().__init__(connected.family, connected.type, connected.proto, fileno=connected.detach())
        self.settimeout(timeout)
        self._buffer = bytearray(_READ)  # one buffer for the connection's life: no allocation per read
        self._view = memoryview(self._buffer)
        self._start = self._end = 0  # bytes read from the kernel and not yet asked for

    def send(self, data: ReadableBuffer, flags: int = 0, /) -> int:
        if not flags:
            # The socket has a timeout, so socket.send polls before every write; the kernel
            # buffer almost always has room, so try first and wait (with that timeout) only if not.
            with contextlib.suppress(BlockingIOError):
                return os.write(self.fileno(), data)
        return super().send(data, flags)

    def recv(self, bufsize: int, flags: int = 0, /) -> bytes:
        if self._start == self._end:
            if flags or bufsize >= _READ:  # nothing buffered: the plain call is as good
                return super().recv(bufsize, flags)
            count = self.recv_into(self._buffer)  # blocks (or times out) exactly like recv
            if not count:
                return b""
            self._start, self._end = 0, count
        elif flags:
            raise OSError("BufferedSocket.recv: flags while bytes are buffered")  # paramiko passes none
        end = min(self._start + bufsize, self._end)
        chunk = bytes(self._view[self._start : end])
        self._start = end
        return chunk
