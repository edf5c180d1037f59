"""Outbox files: atomic writes, retention, leftovers of an interrupted export."""

from __future__ import annotations

import gzip
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from gateway.config import OutboxSettings
from gateway.outbox.feed_file import TEMP_PREFIX, FeedFileWriter, sweep_temporaries
from gateway.outbox.retention import apply_retention
from gateway.store.tables import FeedRow
from tests.conftest import Gateway, base_offer


def test_abort_leaves_nothing(tmp_path: Path) -> None:
    writer = FeedFileWriter(tmp_path, datetime(2026, 1, 1, tzinfo=UTC))
    writer.write(b"<lheo>")
    writer.abort()
    assert list(tmp_path.iterdir()) == []


def test_gzip_assembled_from_blocks_reads_with_any_gunzip(tmp_path: Path) -> None:
    writer = FeedFileWriter(tmp_path, datetime(2026, 1, 1, tzinfo=UTC), gzip_level=9)
    parts = [b"<a>" * 1000, b"", "é€".encode() * 5000, b"</a>"]
    for part in parts:
        writer.write(part)
    feed = writer.commit()
    assert gzip.decompress(feed.gz_path.read_bytes()) == b"".join(parts)
    assert feed.path.read_bytes() == b"".join(parts)


def test_sweep_removes_temporaries_of_an_interrupted_export(tmp_path: Path) -> None:
    folder = tmp_path / "intercarif"
    folder.mkdir()
    dead = folder / f"{TEMP_PREFIX}dead.xml"
    dead.write_bytes(b"partial")
    os.utime(dead, (time.time() - 7200, time.time() - 7200))
    (folder / f"{TEMP_PREFIX}live.xml").write_bytes(b"being written right now")
    (folder / "20260101T000000Z_abcdef012345.xml").write_bytes(b"<lheo/>")
    removed = sweep_temporaries(tmp_path)
    assert [p.name for p in removed] == [f"{TEMP_PREFIX}dead.xml"]
    assert sorted(p.name for p in folder.iterdir()) == [f"{TEMP_PREFIX}live.xml", "20260101T000000Z_abcdef012345.xml"]


def test_retention_keeps_the_newest_and_the_recent(gateway: Gateway) -> None:
    gateway.import_offers(base_offer())
    start = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
    results = [gateway.export("intercarif", at=start + timedelta(days=day))["intercarif"] for day in range(5)]
    paths = [r.feed.path for r in results if r.feed is not None]
    assert all(path.exists() for path in paths)
    settings = OutboxSettings(path=gateway.outbox, keep_last=2, keep_days=2)
    purged = apply_retention(gateway.database, settings, "intercarif", now=start + timedelta(days=5))
    # Kept: the 2 newest (days 3 and 4); days 0-2 are older than 2 days → purged.
    assert sorted(purged) == sorted(r.feed_id for r in results[:3] if r.feed_id)
    assert [path.exists() for path in paths] == [False, False, False, True, True]
    with gateway.database.session() as db:
        rows = db.scalars(select(FeedRow).order_by(FeedRow.exported_at)).all()
        assert [row.purged_at is not None for row in rows] == [True, True, True, False, False]
