"""Run an export: for each destination, stream validated offers into one LHÉO feed in the outbox.

Per destination, offers are read and rendered first (nothing written to the store meanwhile:
rows to record go to a temporary spool), then one short transaction records the run, its
quarantine, the feed manifest, which offers the feed carries, the first-export dates of new
sessions and the feed's transmission. The feed file is renamed into place just before that
transaction; a feed with no offer is not emitted.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from gateway.config import GatewayConfig
from gateway.faults import os_reason
from gateway.lheo.document import DOCUMENT_TAIL, document_head
from gateway.lheo.formation import LHEO_VERSION
from gateway.mapping.profiles import DestinationProfile, load_profiles
from gateway.outbox.feed_file import FeedFileWriter, WrittenFeed
from gateway.outbox.leftovers import export_lock, remove_leftovers, sweep_idle_destinations
from gateway.outbox.relay import enqueue
from gateway.outbox.retention import apply_retention
from gateway.pipeline.chunks import CHUNK_SIZE, Chunk, ChunkRunner, ExportJob
from gateway.pipeline.offer_decision import OfferDecision, Verdict
from gateway.pipeline.row_spool import RowSpool
from gateway.store.approvals import approvals_for
from gateway.store.database import Database
from gateway.store.queries import count_exportable, exportable_pages, session_history
from gateway.store.tables import (
    Base,
    ExportRunRow,
    FeedOfferRow,
    FeedRow,
    PendingApprovalRow,
    QuarantineRow,
    SessionHistoryRow,
)
from gateway.validation.fragment_validator import FragmentValidator

log = logging.getLogger(__name__)

PARALLEL_THRESHOLD = 2000


@dataclass
class DestinationResult:
    destination: str
    label: str
    considered: int = 0
    exported: int = 0
    out_of_perimeter: int = 0
    quarantined: int = 0
    awaiting_approval: int = 0
    sessions_exported: int = 0
    sessions_held_back: int = 0
    feed_id: str | None = None
    feed: WrittenFeed | None = None
    note: str = ""
    error: str = ""  # why this destination's export failed (disk full…); the others were still attempted
    # Filled for dry runs (every offer) and for quarantined offers (always).
    decisions: list[OfferDecision] = field(default_factory=list)


def feed_id_for(destination: str, stem: str) -> str:
    return f"{destination}_{stem}"


def _chunks(db: Session, destination: str) -> Iterator[Chunk]:
    for page in exportable_pages(db, CHUNK_SIZE):
        history = session_history(db, (ref for stored in page for ref in stored.session_references))
        yield Chunk(page, history, approvals_for(db, destination, (stored.reference for stored in page)))


def insert_ignoring_duplicates(db: Session, table: type) -> Any:
    """INSERT … ON CONFLICT DO NOTHING for SQLite and PostgreSQL."""
    dialect = db.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).on_conflict_do_nothing()
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table).on_conflict_do_nothing()


def export_destination(
    database: Database,
    profile: DestinationProfile,
    config: GatewayConfig,
    runner: ChunkRunner,
    exported_at: datetime,
    *,
    dry_run: bool = False,
    on_offer: Callable[[OfferDecision], None] | None = None,
) -> DestinationResult:
    result = DestinationResult(destination=profile.name, label=profile.label)
    job = ExportJob(
        profile,
        config.lheo,
        config.validation.schema_path,
        config.outbox.gzip_level,
        today=exported_at.date(),
        rules=config.rules,
    )
    started_at = datetime.now(UTC)
    if dry_run:
        with database.session() as reader:
            for _chunk, outcome in runner.run(job, _chunks(reader, profile.name)):
                for decision in outcome.decisions:
                    _count(result, decision, dry_run=True)
                    if on_offer is not None:
                        on_offer(decision)
        result.note = "simulation : rien n'a été écrit"
        return result

    spool = RowSpool()
    writer = FeedFileWriter(config.outbox.path / profile.name, exported_at, config.outbox.gzip_level)
    try:
        writer.write(document_head(exported_at))
        # Read phase: nothing is written to the store, so its write lock stays free.
        with database.session() as reader:
            for chunk, outcome in runner.run(job, _chunks(reader, profile.name)):
                for decision in outcome.decisions:
                    _count(result, decision, dry_run=False)
                    if on_offer is not None:
                        on_offer(decision)
                    _spool_decision(spool, profile.name, decision, chunk, started_at)
                writer.write_block(outcome.data, outcome.deflated)
        written: WrittenFeed | None = None
        if result.exported == 0:
            writer.abort()
            result.note = _empty_note(database, profile.name)
            log.warning("destination %s: no offer to export, feed not emitted", profile.name)
        else:
            writer.write(DOCUMENT_TAIL)
            written = writer.commit()
        # Write phase: one short transaction records the whole run, or nothing of it (then
        # `writer.retract()` below removes the renamed files, which no manifest would list).
        with database.session() as db, db.begin():
            run = ExportRunRow(destination=profile.name, started_at=started_at)
            db.add(run)
            db.flush()
            feed_id = feed_id_for(profile.name, written.stem) if written is not None else None
            _insert_spooled(db, spool, run.id, feed_id)
            if written is not None and feed_id is not None:
                result.feed, result.feed_id = written, feed_id
                _record_feed(db, run.id, feed_id, profile, written, result, exported_at)
                delivery = config.destinations.get(profile.name)
                if delivery is not None and delivery.transport is not None:
                    # Same transaction as the manifest row: a feed never exists without its delivery.
                    enqueue(db, feed_id, profile.name, delivery, datetime.now(UTC))
            _finish_run(db, run.id, result)
    except BaseException:
        writer.abort()
        writer.retract()
        raise
    finally:
        spool.close()
    if result.feed is None:
        return result
    apply_retention(database, config.outbox, profile.name, now=datetime.now(UTC))
    log.info(
        "destination %s: feed %s, %d offers exported, %d quarantined, %d out of perimeter",
        profile.name,
        result.feed_id,
        result.exported,
        result.quarantined,
        result.out_of_perimeter,
    )
    return result


def _empty_note(database: Database, destination: str) -> str:
    """What staff must know when a destination has no offer left (issue #8)."""
    note = "aucune offre à transmettre : flux non émis"
    with database.session() as db:
        previous = db.execute(
            select(FeedRow.id, FeedRow.offer_count)
            .where(FeedRow.destination == destination)
            .order_by(FeedRow.id.desc())
            .limit(1)
        ).first()
    if previous is not None:
        note += (
            f" ; le dernier flux {previous[0]} ({previous[1]} offre(s)) n'est plus à jour : l'API répond 410 "
            "(FEED_EMPTY) à « latest », "
            "un partenaire livré par fichier garde ce flux tant qu'il n'en reçoit pas d'autre"
        )
    return note


def _spool_decision(
    spool: RowSpool, destination: str, decision: OfferDecision, chunk: Chunk, first_seen: datetime
) -> None:
    for problem in decision.problems:
        spool.add(
            "quarantine",
            {
                "destination": destination,
                "formation_reference": decision.reference,
                "session_reference": problem.session_reference,
                "code": problem.code.value,
                # Messages quote the offending value: a NUL there would not fit a PostgreSQL text.
                "path": problem.path.replace("\x00", ""),
                "message": problem.message.replace("\x00", ""),
            },
        )
    if decision.verdict is Verdict.AWAITING_APPROVAL:
        spool.add(
            "pending_approval",
            {
                "destination": destination,
                "formation_reference": decision.reference,
                "payload_sha256": decision.payload_sha256,
                "reasons": "\n".join(decision.reasons),
            },
        )
    if decision.verdict is not Verdict.EXPORTED:
        return
    spool.add(
        "feed_offer",
        {
            "formation_reference": decision.reference,
            "fragment_sha256": decision.fragment_sha256,
            "session_count": len(decision.exported_sessions),
        },
    )
    for reference, start, end in decision.exported_sessions:
        if reference not in chunk.history:
            spool.add(
                "first_export",
                {
                    "session_reference": reference,
                    "formation_reference": decision.reference,
                    "start": start,
                    "end": end,
                    "first_exported_at": first_seen,
                },
            )


def _table(model: type[Base]) -> Table:
    # Core inserts on the table: the ORM's bulk path costs more than the rows themselves.
    return cast(Table, model.__table__)


def _insert_spooled(db: Session, spool: RowSpool, run_id: int, feed_id: str | None) -> None:
    for kind, rows in spool.batches():
        if kind == "quarantine":
            db.execute(insert(_table(QuarantineRow)), [row | {"run_id": run_id} for row in rows])
        elif kind == "pending_approval":
            db.execute(insert(_table(PendingApprovalRow)), [row | {"run_id": run_id} for row in rows])
        elif kind == "feed_offer":
            db.execute(insert(_table(FeedOfferRow)), [row | {"run_id": run_id} for row in rows])
        elif kind == "first_export" and feed_id is not None:
            # A reference can come twice (chunks in flight were read before the first was
            # recorded, or another process exported it meanwhile): the first record wins.
            db.execute(
                insert_ignoring_duplicates(db, SessionHistoryRow),
                [row | {"first_feed_id": feed_id} for row in rows],
            )


def _count(result: DestinationResult, decision: OfferDecision, dry_run: bool) -> None:
    result.considered += 1
    if decision.verdict is Verdict.EXPORTED:
        result.exported += 1
        result.sessions_exported += len(decision.exported_sessions)
        result.sessions_held_back += len({p.session_reference for p in decision.problems if p.session_reference})
        if dry_run or decision.problems:
            # Reported later; the fragment itself is not needed for that (and would cost memory).
            result.decisions.append(replace(decision, fragment=b""))
    elif decision.verdict is Verdict.OUT_OF_PERIMETER:
        result.out_of_perimeter += 1
        if dry_run:
            result.decisions.append(decision)
    elif decision.verdict is Verdict.AWAITING_APPROVAL:
        result.awaiting_approval += 1
        result.decisions.append(replace(decision, fragment=b""))
    else:
        result.quarantined += 1
        result.decisions.append(decision)


def _record_feed(
    db: Session,
    run_id: int,
    feed_id: str,
    profile: DestinationProfile,
    written: WrittenFeed,
    result: DestinationResult,
    exported_at: datetime,
) -> None:
    # The same id again means same destination, export time and bytes (a re-run with a fixed clock).
    if db.get(FeedRow, feed_id) is None:
        db.add(
            FeedRow(
                id=feed_id,
                destination=profile.name,
                run_id=run_id,
                lheo_version=LHEO_VERSION,
                # Relative to the outbox root, which every instance mounts where it likes.
                path=f"{profile.name}/{written.path.name}",
                gz_path=f"{profile.name}/{written.gz_path.name}",
                sha256=written.sha256,
                gz_sha256=written.gz_sha256,
                size=written.size,
                gz_size=written.gz_size,
                offer_count=result.exported,
                session_count=result.sessions_exported,
                quarantined_count=result.quarantined,
                exported_at=exported_at,
                created_at=datetime.now(UTC),
            )
        )


def _finish_run(db: Session, run_id: int, result: DestinationResult) -> None:
    run = db.get(ExportRunRow, run_id)
    assert run is not None
    run.finished_at = datetime.now(UTC)
    run.feed_id = result.feed_id
    run.offers_considered = result.considered
    run.offers_exported = result.exported
    run.offers_out_of_perimeter = result.out_of_perimeter
    run.offers_quarantined = result.quarantined
    run.sessions_held_back = result.sessions_held_back
    run.offers_awaiting_approval = result.awaiting_approval
    run.note = result.note or None


def run_export(
    database: Database,
    config: GatewayConfig,
    *,
    destinations: list[str] | None = None,
    dry_run: bool = False,
    exported_at: datetime | None = None,
    on_offer: Callable[[str, OfferDecision], None] | None = None,
) -> list[DestinationResult]:
    """Export every configured destination (or `destinations`) and return one result each."""
    profiles = load_profiles(config.mappings_path, destinations or config.export.destinations or None)
    FragmentValidator(config.validation.schema_path)  # fail early, before any file is opened
    moment = (exported_at or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    if not dry_run:
        # What dead exports left in the folders of destinations no export is running for.
        sweep_idle_destinations(database, config.outbox.path)
    results = []
    with ChunkRunner(_worker_count(database, config)) as runner:
        for profile in profiles:
            callback = None
            if on_offer is not None:
                name = profile.name

                def callback(decision: OfferDecision, name: str = name) -> None:
                    on_offer(name, decision)

            results.append(_export_one(database, profile, config, runner, moment, dry_run, callback))
    return results


def _export_one(
    database: Database,
    profile: DestinationProfile,
    config: GatewayConfig,
    runner: ChunkRunner,
    moment: datetime,
    dry_run: bool,
    on_offer: Callable[[OfferDecision], None] | None,
) -> DestinationResult:
    """One destination, under its export lock; a disk fault fails it alone, the others go on."""
    if dry_run:
        return export_destination(database, profile, config, runner, moment, dry_run=True, on_offer=on_offer)
    folder = outbox_folder(config, profile.name)
    try:
        # Blocks while another process exports this destination: exports of one destination
        # are serialised, and once we hold the lock whatever a dead one left can go.
        with export_lock(config.outbox.path, profile.name):
            remove_leftovers(database, folder, profile.name)
            return export_destination(database, profile, config, runner, moment, on_offer=on_offer)
    except OSError as exc:
        log.error("destination %s: export failed: %s", profile.name, exc)
        message = f"export impossible : {os_reason(exc)} — aucun flux écrit, rien d'enregistré"
        return DestinationResult(profile.name, profile.label, note=message, error=message)


def _worker_count(database: Database, config: GatewayConfig) -> int:
    """Worker processes only pay off past a few thousand offers (starting one takes ~0.5 s)."""
    if config.export.workers:
        return config.export.workers
    with database.session() as db:
        offers = count_exportable(db)
    return (os.cpu_count() or 1) if offers >= PARALLEL_THRESHOLD else 1


def outbox_folder(config: GatewayConfig, destination: str) -> Path:
    return config.outbox.path / destination
