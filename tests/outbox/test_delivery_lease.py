"""`deliver` takes the destination's lease: beside a running instance it leaves the destination
alone, and several `deliver` processes at once never send a destination's feeds out of order."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from gateway.outbox.relay import deliver_pending
from gateway.scheduling.instance import Instance
from gateway.store.locks import destination_lease, try_acquire
from gateway.store.tables import AttemptRow, TransmissionRow
from tests.conftest import FIXED_TIME, REPO, Gateway, base_offer, write_config


def _config(gateway: Gateway, tmp_path: Path) -> Path:
    return write_config(
        gateway,
        tmp_path,
        """
[destinations.intercarif]
supersede = false
[destinations.intercarif.transport]
kind = "local"
path = "../drop"
""",
    )


def test_deliver_leaves_a_destination_another_live_instance_holds(gateway: Gateway, tmp_path: Path) -> None:
    config = _config(gateway, tmp_path)
    gateway.import_offers(base_offer())
    gateway.export("intercarif")
    other = Instance(gateway.database, gateway.config.store, role="run")
    other.start()
    try:
        assert try_acquire(gateway.database, destination_lease("intercarif"), other.id, timedelta(minutes=1))
        report = deliver_pending(gateway.database, gateway.config, owner="me:1:abc")
        assert report.busy == ["intercarif"] and not report.sent
        done = subprocess.run(
            [sys.executable, "-m", "gateway.cli", "-c", str(config), "deliver"],
            capture_output=True,
            text=True,
            cwd=REPO,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert "destination intercarif : en cours sur une autre instance, ignorée" in done.stdout
        assert not (tmp_path / "drop").exists()
    finally:
        other.stop()  # releases its leases
    assert deliver_pending(gateway.database, gateway.config, owner="me:1:abc").sent


def test_three_deliver_processes_at_once_deliver_in_order(gateway: Gateway, tmp_path: Path) -> None:
    config = _config(gateway, tmp_path)
    gateway.import_offers(base_offer())
    for hour in range(8):  # eight feeds (one per export time), none superseded
        gateway.export("intercarif", at=FIXED_TIME + timedelta(hours=hour))
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "gateway.cli", "-c", str(config), "deliver"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
        )
        for _ in range(3)
    ]
    outputs = []
    for process in processes:
        out, err = process.communicate(timeout=180)
        assert process.returncode == 0, err
        outputs.append(out)
    # One process held the destination's lease and sent all eight; the others sent none.
    assert sorted("envoyées 8" in out for out in outputs) == [False, False, True], outputs
    assert sum("envoyées 0" in out for out in outputs) == 2, outputs
    with gateway.database.session() as db:
        rows = db.scalars(select(TransmissionRow).order_by(TransmissionRow.id)).all()
        attempts = db.scalars(select(AttemptRow).where(AttemptRow.outcome == "sent")).all()
    assert [row.status for row in rows] == ["sent"] * 8
    assert sorted(attempt.transmission_id for attempt in attempts) == [row.id for row in rows]  # once each
    finished = [row.sent_at for row in rows]
    assert finished == sorted(finished)  # no older feed finished after a newer one
