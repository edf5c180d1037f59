"""Faults: exports killed at random moments, two exports at once, a full disk, a locked or read-only store.

Each test asserts no orphan process, no orphan file (no temporary, nothing under a final name
that the manifest does not list), and no lost or reordered snapshot.
"""

from __future__ import annotations

import json
import random
import signal
import time
from datetime import timedelta
from pathlib import Path

from lxml import etree
from sqlalchemy import select

from gateway.intake.importer import import_file
from gateway.outbox.leftovers import export_lock
from gateway.store.tables import FeedRow, TransmissionRow
from tests.conftest import FIXED_TIME, Gateway, assert_valid_official, base_offer, write_config
from tests.hostile.conftest import store_digest
from tests.hostile.faults import (
    children,
    cli,
    immutable,
    outbox_state,
    read_only_bind,
    run_cli,
    store_write_locked,
    tmpfs,
    wait_gone,
)

DELIVERY = """
[export]
workers = 2
[destinations.intercarif.transport]
kind = "local"
path = "{deliveries}"
"""


def _catalogue(gateway: Gateway, tmp_path: Path, count: int) -> None:
    from bench.synthetic import write_jsonl

    offers = tmp_path / "synthetic.jsonl"
    write_jsonl(offers, count, seed=9)
    import_file(gateway.database, offers, gateway.config.rules)


def _one_error_line(stderr: str) -> bool:
    """One `erreur :` line (log records, JSON when piped, may come before it)."""
    return len([line for line in stderr.splitlines() if line.startswith("erreur")]) == 1


def _assert_clean(gateway: Gateway, official_schema: etree.XMLSchema) -> None:
    temporaries, unlisted = outbox_state(gateway.database, gateway.outbox)
    assert temporaries == [] and unlisted == [], (temporaries, unlisted)
    for feed in gateway.outbox.glob("*/*.xml"):
        assert_valid_official(official_schema, feed)


def test_export_killed_at_random_moments_leaves_no_process_and_no_file(
    gateway: Gateway, tmp_path: Path, official_schema: etree.XMLSchema
) -> None:
    config = write_config(gateway, tmp_path, DELIVERY.format(deliveries=tmp_path / "deliveries"))
    _catalogue(gateway, tmp_path, 600)
    chance = random.Random(20261201)
    saw_workers = False
    for kill in range(3):
        process = cli(config, "export", "-d", "intercarif", "-d", "pole-emploi", "--at", f"2026-11-27T0{kill}:00:00Z")
        seen: set[int] = set()
        moment = time.monotonic() + chance.uniform(0.8, 3.0)
        while time.monotonic() < moment and process.poll() is None:
            seen |= children(process.pid)
            time.sleep(0.02)
        seen |= children(process.pid)
        saw_workers = saw_workers or len(seen) >= 2
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=30)
        assert wait_gone(seen) == set(), "worker processes outlived the killed export"
    assert saw_workers, "no kill happened during the workers' phase"
    # The next export cleans whatever the dead ones left, at once (no export is running).
    code, out, err = run_cli(config, "export", "-d", "intercarif", "-d", "pole-emploi", "--at", "2026-11-28T00:00:00Z")
    assert code == 0, out + err
    _assert_clean(gateway, official_schema)


def test_import_killed_at_random_moments_changes_nothing(gateway: Gateway, tmp_path: Path) -> None:
    """A kill lands mid-import (the store is as before) or after its commit (as a whole import leaves it)."""
    from bench.synthetic import write_jsonl

    config = write_config(gateway, tmp_path)
    gateway.import_offers(base_offer())
    before = store_digest(gateway.database)
    offers = tmp_path / "big.jsonl"
    write_jsonl(offers, 4000, seed=5)  # large enough to be prepared by worker processes
    chance = random.Random(7)
    seen_digests: list[str] = []
    killed_mid_import = 0
    for _ in range(3):
        process = cli(config, "offers", "import", str(offers))
        deadline = time.monotonic() + 60
        # Its workers run only while records are prepared and stored, batch by batch: the import
        # is under way. (Not the WAL's growth: with the import's page cache, its first write to
        # the WAL may be the commit itself.)
        workers: set[int] = set()
        while process.poll() is None and len(workers) < 2:
            assert time.monotonic() < deadline
            workers = children(process.pid)
            time.sleep(0.01)
        time.sleep(chance.uniform(0, 0.8))
        finished = process.poll() is not None
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=30)
        assert wait_gone(workers) == set(), "worker processes outlived the killed import"
        seen_digests.append(store_digest(gateway.database))
        if not finished and seen_digests[-1] == before:
            killed_mid_import += 1
    assert killed_mid_import, "no kill landed during an import"
    code, out, err = run_cli(config, "offers", "import", str(offers))
    assert code == 0, out + err
    after = store_digest(gateway.database)  # the file imported whole (the same whatever came before)
    assert after != before
    assert set(seen_digests) <= {before, after}, "a killed import left part of its work"


def test_two_exports_at_once_the_older_snapshot_never_supersedes_the_newer(
    gateway: Gateway, tmp_path: Path, official_schema: etree.XMLSchema
) -> None:
    config = write_config(gateway, tmp_path, DELIVERY.format(deliveries=tmp_path / "deliveries"))
    _catalogue(gateway, tmp_path, 150)
    newer_at, older_at = FIXED_TIME + timedelta(hours=1), FIXED_TIME
    newer = cli(config, "export", "-d", "intercarif", "--at", newer_at.isoformat())
    # Wait until the newer export holds the destination's lock, then start the older one:
    # it must wait, and it commits last.
    deadline = time.monotonic() + 60
    while True:
        with export_lock(gateway.outbox, "intercarif", wait=False) as free:
            if not free:
                break
        assert time.monotonic() < deadline and newer.poll() is None, newer.communicate()
        time.sleep(0.01)
    older = cli(config, "export", "-d", "intercarif", "--at", older_at.isoformat())
    for process in (newer, older):
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, out + err
    with gateway.database.session() as db:
        rows = db.execute(
            select(FeedRow.id, FeedRow.created_at, TransmissionRow.status, TransmissionRow.superseded_by)
            .join(TransmissionRow, TransmissionRow.feed_id == FeedRow.id)
            .order_by(FeedRow.exported_at)
        ).all()
    assert len(rows) == 2
    (_, old_created, old_status, old_by), (new_id, new_created, new_status, _) = rows
    assert old_created > new_created, "the older snapshot should have committed last (serialised exports)"
    assert new_status == "pending" and old_status == "superseded" and old_by == new_id
    _assert_clean(gateway, official_schema)


def test_disk_full_fails_that_destination_cleanly_and_the_others_go_on(
    gateway: Gateway, tmp_path: Path, official_schema: etree.XMLSchema
) -> None:
    config = write_config(gateway, tmp_path, DELIVERY.format(deliveries=tmp_path / "deliveries"))
    _catalogue(gateway, tmp_path, 120)  # a feed of some 400 kB: it cannot fit in 64 kB
    with tmpfs(gateway.outbox / "intercarif", "64k"):
        code, out, err = run_cli(
            config, "export", "-d", "intercarif", "-d", "pole-emploi", "--at", "2026-11-27T08:00:00Z"
        )
        assert code == 2, out + err
        assert "intercarif" in err and "plus d'espace disque" in err and "Traceback" not in err + out
        assert list((gateway.outbox / "intercarif").iterdir()) == []  # temporaries removed on the full disk
        with gateway.database.session() as db:
            destinations = set(db.scalars(select(FeedRow.destination)))
        assert destinations == {"pole-emploi"}  # attempted after the failure, and written
        _assert_clean(gateway, official_schema)
    # Room again (the tmpfs is gone): the next export of that destination works.
    assert gateway.export("intercarif")["intercarif"].feed is not None
    _assert_clean(gateway, official_schema)


def test_locked_store_fails_the_export_cleanly_with_nothing_under_a_final_name(
    gateway: Gateway, tmp_path: Path, official_schema: etree.XMLSchema
) -> None:
    config = write_config(gateway, tmp_path, DELIVERY.format(deliveries=tmp_path / "deliveries"))
    config.write_text(config.read_text().replace("[store]\n", "[store]\nbusy_timeout_seconds = 0.5\n", 1))
    gateway.import_offers(base_offer())
    changed = tmp_path / "changed.jsonl"
    changed.write_text(json.dumps(base_offer("202611270002", ("00100002",))) + "\n", encoding="utf-8")
    store = Path(gateway.config.store.url.removeprefix("sqlite:///"))
    with store_write_locked(store):
        for command in (["export", "--at", "2026-11-27T08:00:00Z"], ["offers", "import", str(changed)]):
            code, out, err = run_cli(config, *command)
            assert code == 2, out + err
            assert "verrouillée" in err and "Traceback" not in out + err and _one_error_line(err), err
        temporaries, unlisted = outbox_state(gateway.database, gateway.outbox)
        assert temporaries == [] and unlisted == []
    assert gateway.export("intercarif")["intercarif"].feed is not None  # the lock gone, exports work
    _assert_clean(gateway, official_schema)


def test_read_only_and_immutable_store_are_one_clear_line(gateway: Gateway, tmp_path: Path) -> None:
    config = write_config(gateway, tmp_path)
    gateway.import_offers(base_offer())
    gateway.database.close()  # checkpoint: the store is one file again
    store = Path(gateway.config.store.url.removeprefix("sqlite:///"))
    for leftover in (store.with_name(store.name + "-wal"), store.with_name(store.name + "-shm")):
        leftover.unlink(missing_ok=True)
    changed = tmp_path / "changed.jsonl"
    changed.write_text(json.dumps(base_offer("202611270002", ("00100002",))) + "\n", encoding="utf-8")
    with read_only_bind(store.parent):
        for command in (["offers", "list"], ["offers", "import", str(changed)]):
            code, out, err = run_cli(config, *command)
            assert code == 2 and "lecture seule" in err, (command, out, err)
            assert "Traceback" not in out + err and _one_error_line(err), err
    with immutable(store.parent):
        for command in (["feeds", "list"],):
            code, out, err = run_cli(config, *command)
            assert code == 2 and "erreur : base de données inutilisable" in err, (command, out, err)
            assert "Traceback" not in out + err and _one_error_line(err), err
