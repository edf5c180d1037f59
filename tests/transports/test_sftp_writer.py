"""The SFTP upload loop and its speed settings, against a real OpenSSH sshd on 127.0.0.1: write sizes
the server announces or not, one write at a time, progress steps, TCP_NODELAY, a server that fails a
write (a full disk as SFTP sees it), and an outbox file longer or shorter than announced."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import paramiko
import pytest
from pydantic import ValidationError

from gateway.transports.base import DeliveryError
from gateway.transports.sftp import SftpTransport
from gateway.transports.sftp_settings import SftpSettings
from gateway.transports.sftp_writer import PipelinedWriter, SourceChanged
from tests.transports.conftest import FeedFactory
from tests.transports.sshd_server import SshdInfo, running_sshd
from tests.transports.test_sftp import BASE, FAKE_FINGERPRINT, deliver_error, names, settings_for, temporaries

MIB = 1024 * 1024


def test_speed_settings_defaults_and_bounds() -> None:
    settings = SftpSettings.model_validate({**BASE, "host_key_fingerprint": FAKE_FINGERPRINT})
    assert (settings.write_size, settings.max_outstanding_writes, settings.tcp_nodelay) == (None, 64, True)
    for wrong in ({"write_size": 1024}, {"write_size": 2 * MIB}, {"max_outstanding_writes": 0}):
        with pytest.raises(ValidationError):
            SftpSettings.model_validate({**BASE, "host_key_fingerprint": FAKE_FINGERPRINT, **wrong})


def test_writes_are_as_large_as_the_server_announces_and_never_larger(
    sshd: SshdInfo, sftp_remote_dir: Path, make_feed: FeedFactory
) -> None:
    first, second = make_feed(3 * MIB + 5), make_feed(2 * MIB)
    with SftpTransport(settings_for(sshd, sftp_remote_dir)) as transport:
        announced = int(transport.deliver(first).extra["write_size"])
    # OpenSSH >= 8.6 announces 255 KiB (limits@openssh.com): far above paramiko's 32 KiB.
    assert announced > 32 * 1024
    with SftpTransport(settings_for(sshd, sftp_remote_dir, write_size=MIB)) as transport:
        receipt = transport.deliver(second)
    assert int(receipt.extra["write_size"]) == announced
    assert f"écritures de {announced} octets" in receipt.detail
    for feed in (first, second):
        assert (sftp_remote_dir / feed.name).read_bytes() == feed.path.read_bytes()


def test_small_writes_one_at_a_time_deliver_the_same_bytes(
    sshd: SshdInfo, sftp_remote_dir: Path, make_feed: FeedFactory
) -> None:
    feed = make_feed(300 * 1024 + 7)
    settings = settings_for(sshd, sftp_remote_dir, write_size=4096, max_outstanding_writes=1)
    with SftpTransport(settings) as transport:
        receipt = transport.deliver(feed)
    assert receipt.extra["write_size"] == "4096"
    assert names(sftp_remote_dir) == [feed.name]
    assert (sftp_remote_dir / feed.name).read_bytes() == feed.path.read_bytes()


def test_server_announcing_no_limits_gets_32_kib_writes_unless_configured(
    sshd: SshdInfo, sshd_root: Path, sftp_remote_dir: Path, make_feed: FeedFactory
) -> None:
    feeds = [make_feed(MIB + 1), make_feed(MIB + 2)]
    no_limits = ["Subsystem sftp internal-sftp -P limits"]  # the server refuses limits@openssh.com
    with running_sshd(sshd_root, username=sshd.username, sftp_subsystem=False, extra_config=no_limits) as plain:
        with SftpTransport(settings_for(plain, sftp_remote_dir)) as transport:
            assert transport.deliver(feeds[0]).extra["write_size"] == str(32 * 1024)
        # Nothing announced: a size set in the configuration is taken as is (OpenSSH takes 64 KiB).
        with SftpTransport(settings_for(plain, sftp_remote_dir, write_size=64 * 1024)) as transport:
            assert transport.deliver(feeds[1]).extra["write_size"] == str(64 * 1024)
    for feed in feeds:
        assert (sftp_remote_dir / feed.name).read_bytes() == feed.path.read_bytes()


def test_progress_counts_every_byte_in_steps_of_at_least_one_mib(
    sshd: SshdInfo, sftp_remote_dir: Path, make_feed: FeedFactory
) -> None:
    feed = make_feed(5 * MIB + 3, gz=False)
    steps: list[int] = []
    with SftpTransport(settings_for(sshd, sftp_remote_dir)) as transport:
        transport.progress = steps.append
        transport.deliver(feed)
    assert sum(steps) == feed.size
    assert all(step >= MIB for step in steps[:-1]) and steps[-1] > 0
    assert len(steps) <= feed.size // MIB + 1


@pytest.mark.parametrize("nodelay", [True, False])
def test_tcp_nodelay_follows_the_setting(
    sshd: SshdInfo, sftp_remote_dir: Path, make_feed: FeedFactory, nodelay: bool
) -> None:
    with SftpTransport(settings_for(sshd, sftp_remote_dir, tcp_nodelay=nodelay)) as transport:
        transport.deliver(make_feed())
        ssh = cast(Any, transport)._ssh  # the live connection, to read its socket's option
        assert bool(ssh.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)) is nodelay


def test_server_failing_a_write_is_a_retryable_transfer_error_and_leaves_nothing(
    sshd: SshdInfo, sshd_root: Path, sftp_remote_dir: Path, make_feed: FeedFactory
) -> None:
    too_big, small = make_feed(4 * MIB, gz=False), make_feed(200 * 1024)
    with running_sshd(sshd_root, username=sshd.username, file_size_limit=MIB) as full:
        settings = settings_for(full, sftp_remote_dir)
        with SftpTransport(settings) as transport:
            with pytest.raises(DeliveryError) as caught:
                transport.deliver(too_big)
            # The answers to the writes still in flight are left behind; the cleanup and the next
            # delivery (new connection after a transfer error) are not confused by them.
            receipt = transport.deliver(small)
        error = deliver_error(settings, too_big)
    assert (caught.value.code, caught.value.retryable) == ("SFTP_TRANSFER", True)
    assert "écriture de" in caught.value.message and error.code == "SFTP_TRANSFER"
    assert temporaries(sftp_remote_dir) == []
    assert names(sftp_remote_dir) == [small.name]
    assert receipt.bytes_sent == small.size


# -- the writer on its own ---------------------------------------------------------------------


@pytest.fixture
def sftp_client(sshd: SshdInfo) -> Iterator[paramiko.SFTPClient]:
    ssh = paramiko.Transport((sshd.host, sshd.port))
    try:
        ssh.connect(
            hostkey=paramiko.PKey.from_path(sshd.keys.host_key),  # the server's key, pinned
            username=sshd.username,
            pkey=paramiko.PKey.from_path(sshd.client_key),
        )
        client = paramiko.SFTPClient.from_transport(ssh)
        assert client is not None
        yield client
    finally:
        ssh.close()


@pytest.mark.parametrize(("actual", "announced", "read"), [(200_000, 100_000, 100_001), (50_000, 100_000, 50_000)])
def test_writer_refuses_a_source_of_another_size(
    sftp_client: paramiko.SFTPClient, sftp_remote_dir: Path, tmp_path: Path, actual: int, announced: int, read: int
) -> None:
    local = tmp_path / "feed.xml"
    local.write_bytes(b"x" * actual)
    with local.open("rb", buffering=0) as source, sftp_client.open(str(sftp_remote_dir / "out"), "wb") as remote:
        writer = PipelinedWriter(sftp_client, cast(bytes, remote.handle), request_size=16384, max_outstanding=4)
        with pytest.raises(SourceChanged) as caught:
            writer.write_all(cast(Any, source), announced)
    assert caught.value.read == read
    assert sftp_client.stat(str(sftp_remote_dir / "out")).st_size is not None  # the session still answers


def test_writer_sends_exactly_the_file_and_every_write_is_answered(
    sftp_client: paramiko.SFTPClient, sftp_remote_dir: Path, tmp_path: Path
) -> None:
    content = bytes(range(256)) * 4099  # not a multiple of the request size
    local = tmp_path / "feed.xml"
    local.write_bytes(content)
    with local.open("rb", buffering=0) as source, sftp_client.open(str(sftp_remote_dir / "out"), "wb") as remote:
        writer = PipelinedWriter(sftp_client, cast(bytes, remote.handle), request_size=65536, max_outstanding=3)
        assert writer.write_all(cast(Any, source), len(content)) == len(content)
    # Every answer was consumed: the next request's answer is the next thing paramiko reads.
    assert sftp_client.stat(str(sftp_remote_dir / "out")).st_size == len(content)
    assert (sftp_remote_dir / "out").read_bytes() == content
