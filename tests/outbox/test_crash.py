"""Crash tests: a delivering `lheo-gateway` killed with SIGKILL, then restarted."""

# ruff: noqa: F811
from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select

from gateway.store.tables import AttemptRow, FeedRow, TransmissionRow
from tests.conftest import REPO, Gateway, base_offer, write_config
from tests.transports.conftest import sftp_remote_dir, sshd, sshd_root  # noqa: F401
from tests.transports.http_fixtures import http_receiver  # noqa: F401
from tests.transports.http_receiver import HttpReceiver, Reply
from tests.transports.sshd_server import SshdInfo


def crash_config(gateway: Gateway, tmp_path: Path, transport: str) -> Path:
    return write_config(
        gateway,
        tmp_path,
        "[destinations.intercarif.retry]\ninitial_delay_seconds = 0.01\njitter = 0\n"
        f"[destinations.intercarif.transport]\n{transport}\n",
    )


def start_delivery(config: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "-c", str(config), "deliver"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(condition: Callable[[], bool], process: subprocess.Popen[str], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        if process.poll() is not None:
            raise AssertionError(f"gateway exited early ({process.returncode}): {process.communicate()}")
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


def test_http_delivery_killed_in_flight_is_sent_again_with_the_same_key(
    gateway: Gateway, tmp_path: Path, http_receiver: HttpReceiver
) -> None:
    config = crash_config(gateway, tmp_path, f'kind = "http"\nurl = "{http_receiver.url}/feeds"\nread_timeout = 30')
    gateway.import_offers(base_offer())
    gateway.export("intercarif")
    http_receiver.will(Reply.hang())  # the body arrives, the answer never does
    process = start_delivery(config)
    wait_for(lambda: len(http_receiver.requests) == 1, process)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    with gateway.database.session() as db:
        [row] = db.scalars(select(TransmissionRow)).all()
        assert row.status == "sending"  # what a crash leaves behind

    restarted = start_delivery(config)
    out, err = restarted.communicate(timeout=60)
    assert restarted.returncode == 0, err
    assert "envoyées 1" in out
    with gateway.database.session() as db:
        [row] = db.scalars(select(TransmissionRow)).all()
        outcomes = [a.outcome for a in db.scalars(select(AttemptRow).order_by(AttemptRow.id))]
    assert row.status == "sent"
    assert outcomes == ["interrupted", "sent"]
    keys = [request.headers["idempotency-key"] for request in http_receiver.requests]
    assert len(keys) == 2 and keys[0] == keys[1]  # the receiver can tell it is the same delivery
    assert http_receiver.requests[0].body_sha256 == http_receiver.requests[1].body_sha256


def test_sftp_delivery_killed_mid_upload_ends_with_one_whole_file(
    gateway: Gateway, tmp_path: Path, sshd: SshdInfo, sftp_remote_dir: Path
) -> None:
    """A feed big enough to be caught mid-upload; after a restart: one whole file, no leftovers."""
    transport = (
        f'kind = "sftp"\nhost = "{sshd.host}"\nport = {sshd.port}\nusername = "{sshd.username}"\n'
        f'remote_dir = "{sftp_remote_dir}"\nprivate_key_file = "{sshd.client_key}"\n'
        f'host_key_fingerprint = "{sshd.host_key_fingerprint}"'
    )
    config = crash_config(gateway, tmp_path, transport)
    gateway.import_offers(base_offer())
    feed = gateway.export("intercarif")["intercarif"].feed
    assert feed is not None
    # Swap in a large payload (the transports move bytes; the manifest must match them).
    original = feed.path.read_bytes()
    big = os.urandom(256 * 1024 * 1024)
    feed.path.write_bytes(big)
    try:
        _kill_then_restart(gateway, config, feed.path.name, big, sftp_remote_dir)
    finally:
        feed.path.write_bytes(original)  # the fixture checks every outbox feed against the XSD


def _kill_then_restart(gateway: Gateway, config: Path, name: str, big: bytes, sftp_remote_dir: Path) -> None:
    with gateway.database.session() as db, db.begin():
        row = db.scalars(select(FeedRow)).one()
        row.size, row.sha256 = len(big), hashlib.sha256(big).hexdigest()
    process = start_delivery(config)

    def uploading() -> bool:
        return any(p.name.startswith(f".{name}.part-") and p.stat().st_size > 0 for p in sftp_remote_dir.iterdir())

    wait_for(uploading, process, timeout=60)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    assert not (sftp_remote_dir / name).exists()  # nothing partial under the final name

    restarted = start_delivery(config)
    out, err = restarted.communicate(timeout=120)
    assert restarted.returncode == 0, err
    assert "envoyées 1" in out
    assert sorted(p.name for p in sftp_remote_dir.iterdir()) == [name]  # one file, no leftovers
    assert hashlib.sha256((sftp_remote_dir / name).read_bytes()).hexdigest() == hashlib.sha256(big).hexdigest()
    with gateway.database.session() as db:
        outcomes = [a.outcome for a in db.scalars(select(AttemptRow).order_by(AttemptRow.id))]
    assert outcomes == ["interrupted", "sent"]
