"""SFTP transport against a real OpenSSH sshd on 127.0.0.1 (no mocks): uploads, host key pinning,
authentication, remote folder errors, exists policies, dropped and stalled connections."""

from __future__ import annotations

import concurrent.futures
import dataclasses
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import paramiko
import pytest
from pydantic import ValidationError

from gateway.transports.base import DeliveryError, DeliveryReceipt, FeedToDeliver, versioned_name
from gateway.transports.sftp import SftpTransport, host_key_fingerprint
from gateway.transports.sftp_settings import SftpSettings
from tests.transports.conftest import FeedFactory
from tests.transports.sshd_server import (
    SshdInfo,
    ensure_keys,
    free_port,
    running_sshd,
)

FAKE_FINGERPRINT = "SHA256:" + "A" * 43


def settings_for(sshd: SshdInfo, remote: Path, **overrides: Any) -> SftpSettings:
    values: dict[str, Any] = {
        "host": sshd.host,
        "port": sshd.port,
        "username": sshd.username,
        "remote_dir": str(remote),
        "private_key_file": sshd.client_key,
        "host_key_fingerprint": sshd.host_key_fingerprint,
        "connect_timeout": 5,
        "io_timeout": 10,
    }
    values.update(overrides)
    return SftpSettings.model_validate({key: value for key, value in values.items() if value is not None})


def names(folder: Path) -> list[str]:
    return sorted(entry.name for entry in folder.iterdir())


def temporaries(folder: Path) -> list[str]:
    return [name for name in names(folder) if ".part-" in name]


def accepted_logins(sshd: SshdInfo) -> int:
    return sshd.log.read_text(encoding="utf-8", errors="replace").count("Accepted publickey")


def deliver_error(settings: SftpSettings, feed: FeedToDeliver) -> DeliveryError:
    with SftpTransport(settings) as transport, pytest.raises(DeliveryError) as caught:
        transport.deliver(feed)
    return caught.value


def wait_for_partial_upload(folder: Path, at_least: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name in temporaries(folder):
            try:
                if (folder / name).stat().st_size >= at_least:
                    return
            except FileNotFoundError:
                pass
        time.sleep(0.001)
    raise AssertionError(f"no partial upload of {at_least} bytes appeared in {folder}")


# -- settings ----------------------------------------------------------------------------------

BASE = {"host": "sftp.example.org", "username": "cfa", "remote_dir": "/in", "private_key_file": "/k"}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({}, "host key must be pinned"),
        ({"host_key_fingerprint": "MD5:16:27:ac", "private_key_file": "/k"}, "SHA256 fingerprint"),
        ({"host_key_fingerprint": FAKE_FINGERPRINT, "private_key_env": "KEY"}, "exactly one of private_key"),
        ({"host_key_fingerprint": FAKE_FINGERPRINT, "private_key_file": None}, "exactly one of private_key"),
        (
            {"host_key_fingerprint": FAKE_FINGERPRINT, "private_key_file": None, "private_key_env": "-----BEGIN "},
            "environment variable",
        ),
        ({"known_hosts_file": "/kh", "password": "secret"}, "Extra inputs are not permitted"),
        ({"known_hosts_file": "/kh", "exists_policy": "append"}, "exists_policy"),
    ],
)
def test_settings_refuse_incomplete_or_secret_values(changes: dict[str, Any], message: str) -> None:
    values = {**BASE, **changes}
    with pytest.raises(ValidationError, match=message):
        SftpSettings.model_validate({key: value for key, value in values.items() if value is not None})


def test_settings_defaults_and_fingerprint_padding() -> None:
    settings = SftpSettings.model_validate({**BASE, "host_key_fingerprint": FAKE_FINGERPRINT + "="})
    assert settings.kind == "sftp"
    assert settings.host_key_fingerprint == FAKE_FINGERPRINT
    assert (settings.port, settings.connect_timeout, settings.io_timeout) == (22, 10.0, 30.0)
    assert (settings.exists_policy, settings.upload_gz) == ("fail", False)


def test_versioned_name_goes_before_the_extension() -> None:
    assert versioned_name("p-abc.xml", 0) == "p-abc.xml"
    assert versioned_name("p-abc.xml", 1) == "p-abc.1.xml"
    assert versioned_name("p-abc.xml.gz", 2) == "p-abc.2.xml.gz"


def test_fingerprint_helpers_match_ssh_keygen(sshd: SshdInfo) -> None:
    printed = subprocess.run(
        ["ssh-keygen", "-lf", str(sshd.keys.host_key_pub)], check=True, capture_output=True, text=True
    ).stdout.split()[1]
    presented = paramiko.PKey.from_path(sshd.keys.host_key)
    assert printed == sshd.host_key_fingerprint == host_key_fingerprint(presented)


# -- uploads -----------------------------------------------------------------------------------


def test_upload_gives_the_final_name_identical_content_and_no_temporary(
    sshd: SshdInfo, sftp_remote_dir: Path, make_feed: FeedFactory
) -> None:
    feed = make_feed(3 * 1024 * 1024 + 17)
    with SftpTransport(settings_for(sshd, sftp_remote_dir)) as transport:
        receipt = transport.deliver(feed)
    assert names(sftp_remote_dir) == [feed.name]
    assert (sftp_remote_dir / feed.name).read_bytes() == feed.path.read_bytes()
    assert receipt.remote == f"{sftp_remote_dir}/{feed.name}"
    assert receipt.bytes_sent == feed.size
    assert receipt.extra["cipher"] == "aes128-gcm@openssh.com"
    assert receipt.extra["already_delivered"] == "false"
    assert "aes128-gcm@openssh.com" in receipt.detail and " s (" in receipt.detail


def test_upload_gz_sends_the_compressed_file(sshd: SshdInfo, sftp_remote_dir: Path, make_feed: FeedFactory) -> None:
    feed = make_feed(500_000)
    with SftpTransport(settings_for(sshd, sftp_remote_dir, upload_gz=True)) as transport:
        receipt = transport.deliver(feed)
    assert names(sftp_remote_dir) == [feed.gz_path.name]
    assert (sftp_remote_dir / feed.gz_path.name).read_bytes() == feed.gz_path.read_bytes()
    assert receipt.bytes_sent == feed.gz_size


def test_one_connection_serves_the_whole_run_and_close_ends_it(
    sshd: SshdInfo, sftp_remote_dir: Path, make_feed: FeedFactory
) -> None:
    feeds = [make_feed(100_000 + index) for index in range(3)]
    before = accepted_logins(sshd)
    transport = SftpTransport(settings_for(sshd, sftp_remote_dir))
    with transport:
        assert accepted_logins(sshd) == before  # lazy: nothing before the first delivery
        for feed in feeds:
            transport.deliver(feed)
        assert transport.connections_opened == 1
        assert sshd.connection_processes()
    assert accepted_logins(sshd) == before + 1
    assert names(sftp_remote_dir) == sorted(feed.name for feed in feeds)
    deadline = time.monotonic() + 5
    while sshd.connection_processes() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not sshd.connection_processes(), "close() must end the SSH connection"
    with pytest.raises(RuntimeError, match="after close"):
        transport.deliver(feeds[0])


def test_key_from_environment_with_passphrase(
    sshd: SshdInfo, sftp_remote_dir: Path, make_feed: FeedFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    encrypted = tmp_path / "client_key_encrypted"
    encrypted.write_bytes(sshd.client_key.read_bytes())
    encrypted.chmod(0o600)
    subprocess.run(["ssh-keygen", "-q", "-p", "-N", "s3cret phrase", "-f", str(encrypted)], check=True)
    monkeypatch.setenv("LHEO_SFTP_KEY", encrypted.read_text())
    monkeypatch.setenv("LHEO_SFTP_PASSPHRASE", "s3cret phrase")
    feed = make_feed()
    settings = settings_for(
        sshd,
        sftp_remote_dir,
        private_key_file=None,
        private_key_env="LHEO_SFTP_KEY",
        passphrase_env="LHEO_SFTP_PASSPHRASE",
    )
    with SftpTransport(settings) as transport:
        transport.deliver(feed)
    assert names(sftp_remote_dir) == [feed.name]

    monkeypatch.setenv("LHEO_SFTP_PASSPHRASE", "wrong")
    error = deliver_error(settings, feed)
    assert (error.code, error.retryable) == ("SFTP_CONFIG", False)
    assert "LHEO_SFTP_KEY" in error.message and "PRIVATE KEY" not in error.message
    error = deliver_error(settings.model_copy(update={"passphrase_env": None}), feed)
    assert (error.code, error.retryable) == ("SFTP_CONFIG", False)
    assert "passphrase_env" in error.message


# -- host key pinning --------------------------------------------------------------------------


def test_wrong_fingerprint_is_refused_before_logging_in(
    sshd: SshdInfo, sftp_remote_dir: Path, make_feed: FeedFactory
) -> None:
    before = accepted_logins(sshd)
    error = deliver_error(settings_for(sshd, sftp_remote_dir, host_key_fingerprint=FAKE_FINGERPRINT), make_feed())
    assert (error.code, error.retryable) == ("SFTP_HOSTKEY_MISMATCH", False)
    assert sshd.host_key_fingerprint in error.message and FAKE_FINGERPRINT in error.message
    assert names(sftp_remote_dir) == []
    assert accepted_logins(sshd) == before


def test_unknown_host_key_with_empty_known_hosts_is_refused(
    sshd: SshdInfo, sftp_remote_dir: Path, make_feed: FeedFactory, tmp_path: Path
) -> None:
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text("")
    settings = settings_for(sshd, sftp_remote_dir, host_key_fingerprint=None, known_hosts_file=known_hosts)
    error = deliver_error(settings, make_feed())
    assert (error.code, error.retryable) == ("SFTP_HOSTKEY_UNKNOWN", False)
    assert names(sftp_remote_dir) == []
    assert known_hosts.read_text() == "", "an unknown key must never be learnt"


@pytest.mark.parametrize("hashed", [False, True], ids=["plain", "hashed"])
def test_known_hosts_with_the_right_key_is_accepted(
    sshd: SshdInfo, sftp_remote_dir: Path, make_feed: FeedFactory, tmp_path: Path, hashed: bool
) -> None:
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(sshd.known_hosts.read_text())
    if hashed:
        subprocess.run(["ssh-keygen", "-q", "-H", "-f", str(known_hosts)], check=True, capture_output=True)
        assert known_hosts.read_text().startswith("|1|")
    feed = make_feed()
    settings = settings_for(sshd, sftp_remote_dir, host_key_fingerprint=None, known_hosts_file=known_hosts)
    with SftpTransport(settings) as transport:
        transport.deliver(feed)
    assert names(sftp_remote_dir) == [feed.name]


def test_known_hosts_with_another_key_for_the_host_is_a_mismatch(
    sshd: SshdInfo, sftp_remote_dir: Path, make_feed: FeedFactory, tmp_path: Path
) -> None:
    impostor = ensure_keys(tmp_path / "other").host_key_pub.read_text().split()
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(f"[{sshd.host}]:{sshd.port} {impostor[0]} {impostor[1]}\n")
    settings = settings_for(sshd, sftp_remote_dir, host_key_fingerprint=None, known_hosts_file=known_hosts)
    error = deliver_error(settings, make_feed())
    assert (error.code, error.retryable) == ("SFTP_HOSTKEY_MISMATCH", False)
    assert names(sftp_remote_dir) == []


def test_revoked_host_key_is_refused(
    sshd: SshdInfo, sftp_remote_dir: Path, make_feed: FeedFactory, tmp_path: Path
) -> None:
    known_hosts = tmp_path / "known_hosts"
    line = sshd.known_hosts.read_text()
    known_hosts.write_text(line + "@revoked " + line)
    settings = settings_for(sshd, sftp_remote_dir, known_hosts_file=known_hosts)
    error = deliver_error(settings, make_feed())
    assert (error.code, error.retryable) == ("SFTP_HOSTKEY_MISMATCH", False)
    assert "@revoked" in error.message


# -- reaching and logging in -------------------------------------------------------------------


def test_server_down_is_retryable_and_the_same_delivery_succeeds_once_it_is_up(
    sshd: SshdInfo, sshd_root: Path, sftp_remote_dir: Path, make_feed: FeedFactory
) -> None:
    port = free_port()
    feed = make_feed()
    with SftpTransport(settings_for(sshd, sftp_remote_dir, port=port)) as transport:
        with pytest.raises(DeliveryError) as caught:
            transport.deliver(feed)
        assert (caught.value.code, caught.value.retryable) == ("SFTP_CONNECT", True)
        assert f"127.0.0.1:{port}" in caught.value.message
        # Same keys (same sshd_root), same login user: the server the settings describe comes up.
        with running_sshd(sshd_root, port=port, username=sshd.username):
            receipt = transport.deliver(feed)
    assert receipt.bytes_sent == feed.size
    assert names(sftp_remote_dir) == [feed.name]


def test_server_without_gcm_gets_aes128_ctr(
    sshd: SshdInfo, sshd_root: Path, sftp_remote_dir: Path, make_feed: FeedFactory
) -> None:
    feed = make_feed()
    ctr_only = ["Ciphers aes128-ctr,aes256-ctr"]
    with (
        running_sshd(sshd_root, username=sshd.username, extra_config=ctr_only) as older,
        SftpTransport(settings_for(older, sftp_remote_dir)) as transport,
    ):
        receipt = transport.deliver(feed)
    assert receipt.extra["cipher"] == "aes128-ctr"
    assert (sftp_remote_dir / feed.name).read_bytes() == feed.path.read_bytes()


def test_server_without_sftp_is_unsupported(
    sshd: SshdInfo, sshd_root: Path, sftp_remote_dir: Path, make_feed: FeedFactory
) -> None:
    with running_sshd(sshd_root, username=sshd.username, sftp_subsystem=False) as shell_only:
        error = deliver_error(settings_for(shell_only, sftp_remote_dir), make_feed())
    assert (error.code, error.retryable) == ("SFTP_UNSUPPORTED", False)
    assert "sftp" in error.message


def test_unknown_host_name_is_a_retryable_connect_error(
    sshd: SshdInfo, sftp_remote_dir: Path, make_feed: FeedFactory
) -> None:
    # ".invalid" never resolves (RFC 6761).
    error = deliver_error(settings_for(sshd, sftp_remote_dir, host="no-such-host.invalid"), make_feed())
    assert (error.code, error.retryable) == ("SFTP_CONNECT", True)
    assert "no-such-host.invalid" in error.message


def test_unreadable_private_key_is_a_config_error_found_before_any_network(
    sshd: SshdInfo, sftp_remote_dir: Path, make_feed: FeedFactory, tmp_path: Path
) -> None:
    before = accepted_logins(sshd)
    error = deliver_error(settings_for(sshd, sftp_remote_dir, private_key_file=tmp_path / "nope"), make_feed())
    assert (error.code, error.retryable) == ("SFTP_CONFIG", False)
    assert str(tmp_path / "nope") in error.message
    assert accepted_logins(sshd) == before


def test_refused_key_is_an_auth_error(
    sshd: SshdInfo, sftp_remote_dir: Path, make_feed: FeedFactory, tmp_path: Path
) -> None:
    stranger = ensure_keys(tmp_path / "stranger").client_key
    error = deliver_error(settings_for(sshd, sftp_remote_dir, private_key_file=stranger), make_feed())
    assert (error.code, error.retryable) == ("SFTP_AUTH", False)
    assert sshd.username in error.message
    assert names(sftp_remote_dir) == []


# -- remote folder -----------------------------------------------------------------------------


def test_read_only_remote_folder_is_a_permission_error(
    sshd: SshdInfo, sftp_remote_dir: Path, make_feed: FeedFactory
) -> None:
    sftp_remote_dir.chmod(0o555)
    try:
        error = deliver_error(settings_for(sshd, sftp_remote_dir), make_feed())
    finally:
        sftp_remote_dir.chmod(0o755)
    assert (error.code, error.retryable) == ("SFTP_PERMISSION", False)
    assert str(sftp_remote_dir) in error.message
    assert names(sftp_remote_dir) == []


def test_missing_remote_folder(sshd: SshdInfo, sftp_remote_dir: Path, make_feed: FeedFactory) -> None:
    missing = sftp_remote_dir / "not-there"
    error = deliver_error(settings_for(sshd, missing), make_feed())
    assert (error.code, error.retryable) == ("SFTP_REMOTE_DIR", False)
    assert str(missing) in error.message


def test_outbox_file_that_changed_is_not_sent(sshd: SshdInfo, sftp_remote_dir: Path, make_feed: FeedFactory) -> None:
    feed = make_feed()
    feed.path.write_bytes(b"truncated")
    error = deliver_error(settings_for(sshd, sftp_remote_dir), feed)
    assert (error.code, error.retryable) == ("SFTP_SOURCE", False)
    assert names(sftp_remote_dir) == []


# -- a file already under the final name -------------------------------------------------------


def _preexisting(folder: Path, name: str, content: bytes) -> Path:
    path = folder / name
    path.write_bytes(content)
    return path


def test_policy_fail_refuses_a_different_file(sshd: SshdInfo, sftp_remote_dir: Path, make_feed: FeedFactory) -> None:
    feed = make_feed()
    existing = _preexisting(sftp_remote_dir, feed.name, b"someone else's feed")
    error = deliver_error(settings_for(sshd, sftp_remote_dir, exists_policy="fail"), feed)
    assert (error.code, error.retryable) == ("SFTP_REMOTE_EXISTS", False)
    assert existing.read_bytes() == b"someone else's feed"
    assert names(sftp_remote_dir) == [feed.name]


@pytest.mark.parametrize("policy", ["fail", "overwrite", "versioned"])
def test_same_name_and_size_counts_as_already_delivered(
    sshd: SshdInfo, sftp_remote_dir: Path, make_feed: FeedFactory, policy: str
) -> None:
    feed = make_feed()
    # Same size, other bytes: proves nothing was sent (the name embeds the sha256 prefix).
    existing = _preexisting(sftp_remote_dir, feed.name, b"\0" * feed.size)
    with SftpTransport(settings_for(sshd, sftp_remote_dir, exists_policy=policy)) as transport:
        receipt = transport.deliver(feed)
    assert receipt.bytes_sent == 0
    assert receipt.extra["already_delivered"] == "true"
    assert "déjà présent" in receipt.detail
    assert existing.read_bytes() == b"\0" * feed.size
    assert names(sftp_remote_dir) == [feed.name]


def test_policy_overwrite_replaces_a_different_file(
    sshd: SshdInfo, sftp_remote_dir: Path, make_feed: FeedFactory
) -> None:
    feed = make_feed()
    _preexisting(sftp_remote_dir, feed.name, b"old")
    with SftpTransport(settings_for(sshd, sftp_remote_dir, exists_policy="overwrite")) as transport:
        receipt = transport.deliver(feed)
    assert (sftp_remote_dir / feed.name).read_bytes() == feed.path.read_bytes()
    assert receipt.extra["rename"] == "posix-rename@openssh.com"
    assert names(sftp_remote_dir) == [feed.name]


def test_a_folder_under_the_final_name_is_never_replaced(
    sshd: SshdInfo, sftp_remote_dir: Path, make_feed: FeedFactory
) -> None:
    feed = make_feed()
    (sftp_remote_dir / feed.name).mkdir()
    error = deliver_error(settings_for(sshd, sftp_remote_dir, exists_policy="overwrite"), feed)
    assert (error.code, error.retryable) == ("SFTP_REMOTE_EXISTS", False)
    with SftpTransport(settings_for(sshd, sftp_remote_dir, exists_policy="versioned")) as transport:
        receipt = transport.deliver(feed)
    assert receipt.remote.endswith("/" + versioned_name(feed.name, 1))
    assert temporaries(sftp_remote_dir) == []


def test_policy_versioned_adds_a_number_before_the_extension(
    sshd: SshdInfo, sftp_remote_dir: Path, make_feed: FeedFactory
) -> None:
    feed = make_feed()
    first_version = versioned_name(feed.name, 1)
    _preexisting(sftp_remote_dir, feed.name, b"old")
    with SftpTransport(settings_for(sshd, sftp_remote_dir, exists_policy="versioned")) as transport:
        receipt = transport.deliver(feed)
        assert receipt.remote.endswith("/" + first_version)
        assert receipt.extra["version"] == "1"
        assert (sftp_remote_dir / first_version).read_bytes() == feed.path.read_bytes()
        # Delivering again finds the version already there: no duplicate.
        again = transport.deliver(feed)
        assert (again.remote, again.bytes_sent) == (receipt.remote, 0)
        # A different .1 as well: the next number.
        (sftp_remote_dir / first_version).write_bytes(b"older")
        third = transport.deliver(feed)
    assert third.remote.endswith("/" + versioned_name(feed.name, 2))
    assert names(sftp_remote_dir) == sorted([feed.name, first_version, versioned_name(feed.name, 2)])


# -- broken connections ------------------------------------------------------------------------


def _deliver_in_background(
    transport: SftpTransport, feed: FeedToDeliver
) -> tuple[concurrent.futures.ThreadPoolExecutor, concurrent.futures.Future[DeliveryReceipt]]:
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    return pool, pool.submit(transport.deliver, feed)


def test_connection_dropped_mid_upload_leaves_nothing_and_a_later_delivery_succeeds(
    sshd: SshdInfo, sftp_remote_dir: Path, make_feed: FeedFactory
) -> None:
    feed = make_feed(32 * 1024 * 1024, gz=False)
    with SftpTransport(settings_for(sshd, sftp_remote_dir)) as transport:
        pool, future = _deliver_in_background(transport, feed)
        with pool:
            wait_for_partial_upload(sftp_remote_dir, at_least=1024 * 1024)
            assert sshd.signal_connections(signal.SIGKILL) > 0  # the server side of the connection dies
            with pytest.raises(DeliveryError) as caught:
                future.result(timeout=30)
        assert (caught.value.code, caught.value.retryable) == ("SFTP_TRANSFER", True)
        assert feed.name not in names(sftp_remote_dir)
        receipt = transport.deliver(feed)  # reconnects, and removes the partial file left behind
        assert transport.connections_opened == 2
    assert receipt.bytes_sent == feed.size
    assert names(sftp_remote_dir) == [feed.name]
    assert (sftp_remote_dir / feed.name).read_bytes() == feed.path.read_bytes()


def test_stalled_server_times_out_as_a_retryable_transfer_error(
    sshd: SshdInfo, sftp_remote_dir: Path, make_feed: FeedFactory
) -> None:
    feed = make_feed(32 * 1024 * 1024, gz=False)
    with SftpTransport(settings_for(sshd, sftp_remote_dir, io_timeout=1)) as transport:
        pool, future = _deliver_in_background(transport, feed)
        with pool:
            wait_for_partial_upload(sftp_remote_dir, at_least=1024 * 1024)
            stopped = sshd.connection_processes()
            assert sshd.signal_connections(signal.SIGSTOP) > 0
            try:
                started = time.monotonic()
                with pytest.raises(DeliveryError) as caught:
                    future.result(timeout=30)
                waited = time.monotonic() - started
            finally:
                for process in stopped:
                    process.kill()
        assert (caught.value.code, caught.value.retryable) == ("SFTP_TRANSFER", True)
        assert "1 s" in caught.value.message
        assert waited < 5  # io_timeout is 1 s: not twice, not paramiko's default
        assert feed.name not in names(sftp_remote_dir)
        transport.deliver(feed)
    assert names(sftp_remote_dir) == [feed.name]


@pytest.mark.parametrize("policy", ["fail", "overwrite", "versioned"])
def test_a_replay_sends_again_over_a_same_size_copy(
    sshd: SshdInfo, sftp_remote_dir: Path, make_feed: FeedFactory, policy: str
) -> None:
    feed = dataclasses.replace(make_feed(), resend=True)
    existing = _preexisting(sftp_remote_dir, feed.name, b"\0" * feed.size)
    with SftpTransport(settings_for(sshd, sftp_remote_dir, exists_policy=policy)) as transport:
        receipt = transport.deliver(feed)
    assert receipt.bytes_sent == feed.size and receipt.extra["already_delivered"] == "false"
    assert "rejeu : renvoyé" in receipt.detail
    if policy == "versioned":
        assert names(sftp_remote_dir) == sorted([feed.name, versioned_name(feed.name, 1)])
        assert (sftp_remote_dir / versioned_name(feed.name, 1)).read_bytes() == feed.path.read_bytes()
        assert existing.read_bytes() == b"\0" * feed.size
    else:
        assert names(sftp_remote_dir) == [feed.name]
        assert existing.read_bytes() == feed.path.read_bytes()
