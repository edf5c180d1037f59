"""Scheduled slots: one decision per destination and fire time, whatever the number of instances,
a clock running ahead, or an instance that dies in the middle of a slot."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from gateway import clock
from gateway.scheduling.instance import Instance
from gateway.scheduling.service import GatewayService
from gateway.scheduling.slots import Claim, claim, due_slot, parse_schedule
from gateway.store.locks import try_acquire
from gateway.store.tables import ExportRunRow, FeedRow, SlotRow, TransmissionRow
from tests.conftest import Gateway, base_offer, write_config


def _config(gateway: Gateway, tmp_path: Path, schedule: str = "*/10 * * * * *") -> None:
    write_config(
        gateway,
        tmp_path,
        f"""
[destinations.intercarif]
schedule = "{schedule}"
timezone = "Europe/Paris"
[destinations.intercarif.transport]
kind = "local"
path = "../drop"
""",
        store_toml="heartbeat_seconds = 1\nlease_seconds = 3",
    )


def _service(gateway: Gateway) -> GatewayService:
    service = GatewayService(gateway.config, gateway.database)
    service.schedule()
    service.instance.start()
    return service


def test_due_slot_is_the_latest_fire_time_within_the_grace() -> None:
    trigger = parse_schedule("15 3 * * 1-5", "Europe/Paris")
    # Tuesday 2026-12-01 03:15 Paris = 02:15 UTC.
    assert due_slot(trigger, datetime(2026, 12, 1, 2, 20, tzinfo=UTC)) == datetime(2026, 12, 1, 2, 15, tzinfo=UTC)
    assert due_slot(trigger, datetime(2026, 12, 1, 2, 14, 59, tzinfo=UTC)) is None
    assert due_slot(trigger, datetime(2026, 12, 1, 2, 31, tzinfo=UTC)) is None  # beyond 15 minutes of grace
    seconds = parse_schedule("*/10 * * * * *", "UTC")
    assert due_slot(seconds, datetime(2026, 12, 1, 2, 0, 27, 500, tzinfo=UTC)) == datetime(
        2026, 12, 1, 2, 0, 20, tzinfo=UTC
    )


def test_clock_offset_is_a_test_hook(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(clock.OFFSET_ENV, "30")
    assert timedelta(seconds=29) < clock.now() - datetime.now(UTC) < timedelta(seconds=31)


def test_two_instances_and_a_fast_clock_run_a_slot_once(
    gateway: Gateway, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store_kind: str
) -> None:
    _config(gateway, tmp_path)
    gateway.import_offers(base_offer())
    fast, slow = _service(gateway), _service(gateway)
    try:
        monkeypatch.setenv(clock.OFFSET_ENV, "30")
        fast.poll_slot("intercarif")
        with gateway.database.session() as db:
            [slot] = db.scalars(select(SlotRow)).all()
        fire_at = slot.fire_at.replace(tzinfo=UTC)
        if store_kind == "postgresql":
            # Due on the server's clock: the fast instance saw no slot early.
            assert fire_at <= datetime.now(UTC)
        monkeypatch.setenv(clock.OFFSET_ENV, "0")
        assert slow.run_slot("intercarif", fire_at)  # already completed: nothing done
        fast.run_slot("intercarif", fire_at)
        with gateway.database.session() as db:
            assert db.scalar(select(func.count()).select_from(ExportRunRow)) == 1
            [slot] = db.scalars(select(SlotRow)).all()
            assert slot.completed_at is not None and slot.claimed_by == fast.instance.id and slot.feed_id
            [feed] = db.scalars(select(FeedRow)).all()
            assert feed.exported_at.replace(tzinfo=UTC) == fire_at  # stamped with its slot
            assert not Path(feed.path).is_absolute()  # relative to the outbox root
        assert len(list((tmp_path / "drop").glob("*.xml"))) == 1
    finally:
        fast.instance.stop()
        slow.instance.stop()


def test_a_slot_left_by_a_dead_instance_is_taken_over_and_finished(gateway: Gateway, tmp_path: Path) -> None:
    _config(gateway, tmp_path)
    gateway.import_offers(base_offer())
    fire_at = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    # The dead instance registered, took the lease, claimed the slot, exported — then died.
    dead = Instance(gateway.database, gateway.config.store, role="run")
    dead.start()
    dead._stop.set()  # its heartbeat stops, as with kill -9 (the row stays, the lease expires)
    assert try_acquire(gateway.database, "destination:intercarif", dead.id, timedelta(seconds=1))
    assert claim(gateway.database, "intercarif", fire_at, dead.id).outcome is Claim.NEW
    gateway.export("intercarif", at=fire_at)
    survivor = _service(gateway)
    try:
        deadline = datetime.now(UTC) + timedelta(seconds=10)
        while not survivor.run_slot("intercarif", fire_at):
            assert datetime.now(UTC) < deadline, "the lease of the dead instance was never taken over"
        with gateway.database.session() as db:
            [slot] = db.scalars(select(SlotRow)).all()
            assert slot.completed_at is not None and slot.takeovers == 1 and slot.claimed_by == survivor.instance.id
            assert db.scalar(select(func.count()).select_from(FeedRow)) == 1  # not exported again
            [transmission] = db.scalars(select(TransmissionRow)).all()
            assert transmission.status == "sent"
    finally:
        survivor.instance.stop()
