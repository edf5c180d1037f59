"""BufferedSocket over a real connected TCP pair on 127.0.0.1: reads ahead but returns exactly what
each `recv` asks for, in order; keeps the timeout; sends everything; reports the peer's close."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator

import pytest

from gateway.transports.sftp_socket import BufferedSocket


@pytest.fixture
def pair() -> Iterator[tuple[BufferedSocket, socket.socket]]:
    with socket.create_server(("127.0.0.1", 0)) as server:
        client = socket.create_connection(server.getsockname(), timeout=2)
        peer, _ = server.accept()
    buffered = BufferedSocket(client)
    try:
        yield buffered, peer
    finally:
        buffered.close()
        peer.close()


def test_small_reads_are_served_in_order_from_one_read_ahead(pair: tuple[BufferedSocket, socket.socket]) -> None:
    buffered, peer = pair
    data = os.urandom(100_000)
    peer.sendall(data)
    received = bytearray()
    while len(received) < len(data):
        chunk = buffered.recv(16)  # paramiko's first read of a packet: one cipher block
        assert 0 < len(chunk) <= 16
        received += chunk
    assert bytes(received) == data


def test_sends_arrive_whole_and_large_reads_pass_through(pair: tuple[BufferedSocket, socket.socket]) -> None:
    buffered, peer = pair
    data = os.urandom(3 * 1024 * 1024)
    received = bytearray()

    def drain() -> None:
        while len(received) < len(data):
            received.extend(peer.recv(1 << 20))

    reader = threading.Thread(target=drain)
    reader.start()
    sent = 0
    while sent < len(data):  # as paramiko's Packetizer.write_all loops on send()
        sent += buffered.send(data[sent : sent + 32 * 1024])
    reader.join(timeout=10)
    assert bytes(received) == data
    peer.sendall(data[: 1 << 20])
    got = bytearray()
    while len(got) < 1 << 20:
        got += buffered.recv((1 << 20) - len(got))  # larger than the read-ahead: read directly
    assert bytes(got) == data[: 1 << 20]


def test_timeout_and_close_behave_like_a_plain_socket(pair: tuple[BufferedSocket, socket.socket]) -> None:
    buffered, peer = pair
    assert buffered.gettimeout() == 2
    buffered.settimeout(0.1)  # paramiko's reader polls like this
    with pytest.raises(TimeoutError):
        buffered.recv(16)
    peer.sendall(b"abc")
    peer.close()
    assert buffered.recv(2) == b"ab"
    assert buffered.recv(16) == b"c"
    assert buffered.recv(16) == b""  # the peer closed: end of stream
