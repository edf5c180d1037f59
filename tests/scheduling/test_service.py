"""The long-running service: jobs, leases, start-up recovery and a clean stop on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, update

from gateway.outbox.relay import process_owner
from gateway.scheduling.service import JOB_DEFAULTS, GatewayService
from gateway.store.locks import held, try_acquire
from gateway.store.tables import TransmissionRow
from tests.conftest import REPO, Gateway, base_offer, write_config


def _config(gateway: Gateway, tmp_path: Path) -> Path:
    return write_config(
        gateway,
        tmp_path,
        """
[destinations.intercarif]
schedule = "30 2 * * 1-5"
timezone = "Europe/Paris"
[destinations.intercarif.transport]
kind = "local"
path = "../drop"
""",
    )


def test_scheduled_job_exports_then_delivers(gateway: Gateway, tmp_path: Path) -> None:
    _config(gateway, tmp_path)
    gateway.import_offers(base_offer())
    service = GatewayService(gateway.config, gateway.database)
    assert service.schedule() == ["intercarif: 30 2 * * 1-5 (Europe/Paris)"]
    assert service.scheduler.get_job("export:intercarif") is not None
    assert str(service.triggers["intercarif"].timezone) == "Europe/Paris"
    assert JOB_DEFAULTS["coalesce"] is True and JOB_DEFAULTS["max_instances"] == 1
    service.export_and_deliver("intercarif")
    delivered = list((tmp_path / "drop").glob("*.xml"))
    assert len(delivered) == 1 and len(list((tmp_path / "drop").glob("*.xml.gz"))) == 1


def test_a_second_process_cannot_run_the_same_destination(gateway: Gateway, tmp_path: Path) -> None:
    _config(gateway, tmp_path)
    gateway.import_offers(base_offer())
    assert try_acquire(gateway.database, "destination:intercarif", "other-host:1:abc", timedelta(hours=1))
    GatewayService(gateway.config, gateway.database).export_and_deliver("intercarif")
    assert not (tmp_path / "drop").exists()  # skipped: another gateway holds the lease
    # An expired lease is taken over.
    assert try_acquire(gateway.database, "destination:x", "a", timedelta(seconds=-1))
    with held(gateway.database, "destination:x", "b", timedelta(minutes=1)) as acquired:
        assert acquired


def test_run_recovers_interrupted_sends_and_stops_cleanly_on_sigterm(gateway: Gateway, tmp_path: Path) -> None:
    config = _config(gateway, tmp_path)
    gateway.import_offers(base_offer())
    gateway.export("intercarif")
    host = process_owner().rsplit(":", 1)[0]
    with gateway.database.session() as db, db.begin():
        db.execute(update(TransmissionRow).values(status="sending", owner=f"{host}:999999"))
    assert process_owner().startswith(host)
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "-c", str(config), "run", "--retry-poll", "0.2", "--no-web"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not list((tmp_path / "drop").glob("*.xml")):
            assert process.poll() is None, process.communicate()
            time.sleep(0.1)
        assert list((tmp_path / "drop").glob("*.xml")), "the recovered transmission was not delivered"
    finally:
        os.kill(process.pid, signal.SIGTERM)
        _out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "passerelle démarrée" in err and "stopping" in err
    with gateway.database.session() as db:
        [row] = db.scalars(select(TransmissionRow)).all()
        assert row.status == "sent"
