"""Run an export: one pass over the store writes the LHÉO feed of every destination into the outbox.

Offers are read once for all destinations (`one_pass`); an offer unchanged since the last
export, with nothing else that decides its bytes changed, reuses that export's validated
fragment and deflate block (the fragment cache, `fragment_index`); `no_cache` forces a cold
run. Nothing is written to the store while offers are read (rows to record go to a temporary
spool); then, destination by destination, the feed file is renamed into place and one short
transaction records the run (`recording`). A feed with no offer is not emitted.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select

from gateway.code_version import code_fingerprint
from gateway.config import GatewayConfig
from gateway.mapping.profiles import load_profiles
from gateway.outbox.feed_file import FeedFileWriter, WrittenFeed
from gateway.outbox.leftovers import export_lock, remove_leftovers, sweep_idle_destinations
from gateway.outbox.relay import enqueue
from gateway.outbox.retention import apply_retention
from gateway.pipeline.cache_keys import context_key, schema_fingerprint
from gateway.pipeline.chunks import ChunkRunner
from gateway.pipeline.destination_pass import DestinationPass, close_all, failure_note
from gateway.pipeline.fragment_index import IndexReader, IndexWriter
from gateway.pipeline.offer_decision import OfferDecision
from gateway.pipeline.one_pass import run_pass
from gateway.pipeline.recording import (
    DestinationResult,
    empty_note,
    feed_id_for,
    finish_run,
    insert_spooled,
    record_feed,
)
from gateway.pipeline.row_spool import RowSpool
from gateway.store.database import Database
from gateway.store.queries import count_exportable
from gateway.store.tables import ExportRunRow, FeedOfferRow
from gateway.validation.fragment_validator import FragmentValidator
from gateway.worker_pool import cores

__all__ = ["DestinationResult", "outbox_folder", "run_export"]

log = logging.getLogger(__name__)

PARALLEL_THRESHOLD = 2000


def run_export(
    database: Database,
    config: GatewayConfig,
    *,
    destinations: list[str] | None = None,
    dry_run: bool = False,
    exported_at: datetime | None = None,
    on_offer: Callable[[str, OfferDecision], None] | None = None,
    no_cache: bool = False,
) -> list[DestinationResult]:
    """Export every configured destination (or `destinations`) and return one result each."""
    profiles = load_profiles(config.mappings_path, destinations or config.export.destinations or None)
    FragmentValidator(config.validation.schema_path)  # fail early, before any file is opened
    moment = (exported_at or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    code, schema = code_fingerprint(), schema_fingerprint(config.validation.schema_path)
    started_at = datetime.now(UTC)
    passes: list[DestinationPass] = []
    for profile in profiles:
        callback = None
        if on_offer is not None:

            def callback(decision: OfferDecision, name: str = profile.name) -> None:
                on_offer(name, decision)

        result = DestinationResult(destination=profile.name, label=profile.label)
        passes.append(DestinationPass(profile, context_key(profile, config, code, schema), result, on_offer=callback))
    if dry_run:
        # Cold, and nothing written: every decision comes with the rules it went through.
        with ChunkRunner(_worker_count(database, config)) as runner:
            run_pass(database, passes, config, runner, moment.date(), started_at)
        for dest in passes:
            dest.result.note = "simulation : rien n'a été écrit"
        return [dest.result for dest in passes]
    # What dead exports left in the folders of destinations no export is running for.
    sweep_idle_destinations(database, config.outbox.path)
    with contextlib.ExitStack() as locks:
        live = []
        for dest in passes:  # sorted by name: two exports never wait for each other's locks crosswise
            try:
                # Blocks while another process exports this destination: exports of one destination
                # are serialised, and once we hold the lock whatever a dead one left can go.
                locks.enter_context(export_lock(config.outbox.path, dest.name))
                folder = outbox_folder(config, dest.name)
                remove_leftovers(database, folder, dest.name)
                _open(database, dest, folder, config, moment, no_cache)
                live.append(dest)
            except OSError as exc:
                log.error("destination %s: export failed: %s", dest.name, exc)
                dest.fail(exc)
        try:
            with ChunkRunner(_worker_count(database, config)) as runner:
                run_pass(database, live, config, runner, moment.date(), started_at)
            for dest in live:
                if dest.live:
                    _record(database, dest, config, moment, started_at)
        finally:
            close_all(passes)
    return [dest.result for dest in passes]


def _open(
    database: Database, dest: DestinationPass, folder: Path, config: GatewayConfig, moment: datetime, no_cache: bool
) -> None:
    if not no_cache:
        dest.cache_in = IndexReader(config.outbox.path, dest.name, dest.context)
        dest.carry_from = carried_run(database, dest.cache_in)
    # A warm run mostly copies the last feed: its bytes are written and digested on another core.
    warm = dest.cache_in is not None and dest.cache_in.xml_fd is not None
    dest.writer = FeedFileWriter(folder, moment, config.outbox.gzip_level, background=warm)
    dest.spool = RowSpool()
    dest.cache_out = IndexWriter(config.outbox.path, dest.name, dest.context)
    dest.start(moment)


def _record(
    database: Database, dest: DestinationPass, config: GatewayConfig, exported_at: datetime, started_at: datetime
) -> None:
    """Rename the feed into place, then record the whole run in one transaction, or nothing of it."""
    writer, spool, cache_out, result = dest.writer, dest.spool, dest.cache_out, dest.result
    assert writer is not None and spool is not None and cache_out is not None
    written: WrittenFeed | None = None
    try:
        dest.finish_bytes()
        dest.flush_carry()
        if result.exported == 0:
            writer.abort()
            result.note = empty_note(database, dest.name)
            log.warning("destination %s: no offer to export, feed not emitted", dest.name)
        else:
            written = writer.commit()
        with database.session() as db, db.begin():
            run = ExportRunRow(destination=dest.name, started_at=started_at)
            db.add(run)
            db.flush()
            run_id = run.id
            feed_id = feed_id_for(dest.name, written.stem) if written is not None else None
            insert_spooled(db, spool, run.id, feed_id)
            if written is not None and feed_id is not None:
                result.feed, result.feed_id = written, feed_id
                record_feed(db, run.id, feed_id, dest.profile, written, result, exported_at)
                delivery = config.destinations.get(dest.name)
                if delivery is not None and delivery.transport is not None:
                    # Same transaction as the manifest row: a feed never exists without its delivery.
                    enqueue(db, feed_id, dest.name, delivery, datetime.now(UTC))
            finish_run(db, run.id, result)
        # Only now does the cache point into the new feed (a failure above keeps the old one).
        feed = (written.path.name, written.gz_path.name, written.size, written.gz_size) if written else None
        cache_out.commit(feed, dest.starts, run_id, result.exported)
    except OSError as exc:
        log.error("destination %s: export failed: %s", dest.name, exc)
        result.feed = result.feed_id = None
        writer.abort()
        writer.retract()
        cache_out.abort()
        result.error = result.note = failure_note(exc)
        return
    except BaseException:
        writer.abort()
        writer.retract()
        cache_out.abort()
        raise
    finally:
        spool.close()
    if result.feed is None:
        return
    apply_retention(database, config.outbox, dest.name, now=datetime.now(UTC))
    log.info(
        "destination %s: feed %s, %d offers exported (%d reused from the cache, %d rebuilt), %d quarantined, "
        "%d out of perimeter",
        dest.name,
        result.feed_id,
        result.exported,
        result.reused,
        result.rebuilt,
        result.quarantined,
        result.out_of_perimeter,
    )


def carried_run(database: Database, cache: IndexReader) -> int | None:
    """The run whose feed_offers rows this export may copy: the one that wrote the index, if its
    rows are all still there (else every offer's row is written anew)."""
    if not cache.usable or cache.run_id is None:
        return None
    with database.session() as db:
        rows = db.scalar(select(func.count()).select_from(FeedOfferRow).where(FeedOfferRow.run_id == cache.run_id))
    return cache.run_id if rows == cache.exported else None


def _worker_count(database: Database, config: GatewayConfig) -> int:
    """Worker processes only pay off past a few thousand offers (starting one takes ~0.5 s)."""
    if config.export.workers:
        return config.export.workers
    with database.session() as db:
        offers = count_exportable(db)
    return cores() if offers >= PARALLEL_THRESHOLD else 1


def outbox_folder(config: GatewayConfig, destination: str) -> Path:
    return config.outbox.path / destination
