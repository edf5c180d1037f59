"""`lheo-gateway status` and `lheo-gateway leases release`: what an operator sees and may do."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select, update
from typer.testing import CliRunner

from gateway.cli.app import app
from gateway.scheduling.instance import Instance
from gateway.store.locks import try_acquire
from gateway.store.tables import AuditRow, InstanceRow, LockRow
from tests.conftest import Gateway, write_config

runner = CliRunner()


def _config(gateway: Gateway, tmp_path: Path) -> Path:
    return write_config(
        gateway,
        tmp_path,
        """
[destinations.intercarif]
schedule = "30 2 * * 1-5"
[destinations.intercarif.transport]
kind = "local"
path = "../drop"
""",
    )


def test_status_lists_instances_leases_and_slots_and_a_dead_lease_can_be_released(
    gateway: Gateway, tmp_path: Path
) -> None:
    config = _config(gateway, tmp_path)
    live = Instance(gateway.database, gateway.config.store, role="run", lead=True)
    dead = Instance(gateway.database, gateway.config.store, role="run")
    live.start()
    dead.start()
    try:
        dead._stop.set()  # like kill -9: no more heartbeats
        assert try_acquire(gateway.database, "destination:intercarif", dead.id, timedelta(minutes=5))
        with gateway.database.session() as db, db.begin():
            db.execute(
                update(InstanceRow)
                .where(InstanceRow.id == dead.id)
                .values(heartbeat_at=datetime.now(UTC) - timedelta(minutes=10))
            )
        done = runner.invoke(app, ["--config", str(config), "status"], env={"COLUMNS": "250"})
        assert done.exit_code == 0, done.output
        assert "2 instance(s)" not in done.output and "1 instance(s) vivante(s)" in done.output
        assert f"meneur : {live.id}" in done.output and "planificateur : actif" in done.output
        assert "morte (plus de battement)" in done.output and "bloqué : détenteur mort" in done.output
        assert "destination:intercarif" in done.output and "30 2 * * 1-5" in done.output

        # The live leader's lease is refused without --force, with one French line, exit 2.
        refused = runner.invoke(app, ["--config", str(config), "leases", "release", "leader"])
        assert refused.exit_code == 2 and "instance vivante" in refused.output and "--force" in refused.output
        unknown = runner.invoke(app, ["--config", str(config), "leases", "release", "nope"])
        assert unknown.exit_code == 2 and "bail inconnu" in unknown.output

        released = runner.invoke(
            app, ["--config", str(config), "leases", "release", "destination:intercarif", "--by", "alice"]
        )
        assert released.exit_code == 0, released.output
        forced = runner.invoke(app, ["--config", str(config), "leases", "release", "leader", "--force"])
        assert forced.exit_code == 0, forced.output
        with gateway.database.session() as db:
            assert db.scalars(select(LockRow)).all() == []
            entries = db.scalars(select(AuditRow).where(AuditRow.action == "lease-release").order_by(AuditRow.id)).all()
        assert (entries[0].actor, entries[0].target) == ("alice", "lease:destination:intercarif")
        assert f"holder={dead.id} holder_alive=False" in entries[0].detail and "force=True" in entries[1].detail
    finally:
        live.stop()
        dead.stop()


def test_next_runs_are_shown_only_when_a_run_instance_is_alive(gateway: Gateway, tmp_path: Path) -> None:
    config = _config(gateway, tmp_path)
    done = runner.invoke(app, ["--config", str(config), "status"], env={"COLUMNS": "250"})
    assert done.exit_code == 0, done.output
    assert "aucune instance run vivante" in done.output and "0 instance(s) vivante(s)" in done.output
