"""A snapshot supersedes only older ones: an older snapshot committed last never goes out as the latest."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from gateway.config import DestinationSettings
from gateway.outbox.relay import due_transmissions
from gateway.store.tables import TransmissionRow
from gateway.transports.local import LocalFolderSettings
from tests.conftest import FIXED_TIME, Gateway, base_offer, with_changes


def _statuses(gateway: Gateway) -> dict[str, tuple[str, str | None]]:
    with gateway.database.session() as db:
        rows = db.scalars(select(TransmissionRow)).all()
        return {row.feed_id: (row.status, row.superseded_by) for row in rows}


def test_older_snapshot_committed_after_a_newer_one_is_superseded_at_once(gateway: Gateway, tmp_path: Path) -> None:
    gateway.config.destinations["intercarif"] = DestinationSettings(transport=LocalFolderSettings(path=tmp_path / "d"))
    gateway.import_offers(base_offer())
    newer = gateway.export("intercarif", at=FIXED_TIME + timedelta(hours=2))["intercarif"].feed_id
    gateway.import_offers(with_changes(base_offer(), title="BTS MCO"))  # other bytes, other feed
    older = gateway.export("intercarif", at=FIXED_TIME)["intercarif"].feed_id
    assert newer and older and newer != older
    statuses = _statuses(gateway)
    assert statuses[newer] == ("pending", None)
    assert statuses[older] == ("superseded", newer)
    # A newer one still supersedes both.
    gateway.import_offers(with_changes(base_offer(), title="BTS MCO 2"))
    newest = gateway.export("intercarif", at=FIXED_TIME + timedelta(hours=3))["intercarif"].feed_id
    statuses = _statuses(gateway)
    assert statuses[newer] == ("superseded", newest) and statuses[newest] == ("pending", None)


def test_without_supersede_feeds_are_delivered_in_snapshot_order(gateway: Gateway, tmp_path: Path) -> None:
    gateway.config.destinations["intercarif"] = DestinationSettings(
        transport=LocalFolderSettings(path=tmp_path / "d"), supersede=False
    )
    gateway.import_offers(base_offer())
    gateway.export("intercarif", at=FIXED_TIME + timedelta(hours=2))
    gateway.import_offers(with_changes(base_offer(), title="BTS MCO"))
    gateway.export("intercarif", at=FIXED_TIME)
    with gateway.database.session() as db:
        order = due_transmissions(db, "intercarif", FIXED_TIME + timedelta(days=3650))
        feeds = [db.get(TransmissionRow, ident).feed_id for ident in order]  # type: ignore[union-attr]
    assert [feed.split("_")[1] for feed in feeds] == ["20261127T080000Z", "20261127T100000Z"]
