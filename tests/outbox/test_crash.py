"""Crash tests: a delivering `lheo-gateway` killed with SIGKILL, then restarted."""

# ruff: noqa: F811
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select

from gateway.config import load_config
from gateway.store.tables import AttemptRow, TransmissionRow
from tests.conftest import REPO, Gateway, base_offer
from tests.transports.http_fixtures import http_receiver  # noqa: F401
from tests.transports.http_receiver import HttpReceiver, Reply


def write_config(gateway: Gateway, tmp_path: Path, transport: str) -> Path:
    config = tmp_path / "config" / "gateway.toml"
    config.parent.mkdir(exist_ok=True)
    config.write_text(
        f"""
mappings_path = "{REPO / "mappings"}"
[store]
url = "{gateway.config.store.url}"
[outbox]
path = "{gateway.outbox}"
[validation]
schema_path = "{REPO / "xsd" / "lheo-2.3-gateway.xsd"}"
[destinations.intercarif.retry]
initial_delay_seconds = 0.01
jitter = 0
[destinations.intercarif.transport]
{transport}
""",
        encoding="utf-8",
    )
    gateway.config = load_config(config)  # exports in the test queue transmissions like the CLI
    return config


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
    config = write_config(gateway, tmp_path, f'kind = "http"\nurl = "{http_receiver.url}/feeds"\nread_timeout = 30')
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
