"""What an export records in the store, per destination, in one short transaction at the end.

While offers are decided, rows to record go to a temporary spool (`row_spool`); once the feed
file is written, one transaction records the run, its quarantine, the feed manifest, which
offers the feed carries, the first-export dates of new sessions and the feed's transmission.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from gateway.lheo.formation import LHEO_VERSION
from gateway.mapping.profiles import DestinationProfile
from gateway.outbox.feed_file import WrittenFeed
from gateway.pipeline.offer_decision import OfferDecision, Verdict
from gateway.pipeline.row_spool import RowSpool
from gateway.rules.store_checks import ExportedSessionDates
from gateway.store.bulk import driver_marks
from gateway.store.database import Database
from gateway.store.tables import (
    Base,
    ExportRunRow,
    FeedOfferRow,
    FeedRow,
    PendingApprovalRow,
    QuarantineRow,
    SessionHistoryRow,
)


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
    reused: int = 0  # decisions (and fragments) taken from the cache of the last export
    rebuilt: int = 0  # decided, rendered and validated again
    feed_id: str | None = None
    feed: WrittenFeed | None = None
    note: str = ""
    error: str = ""  # why this destination's export failed (disk full…); the others were still attempted
    # Filled for dry runs (every offer) and for quarantined offers (always).
    decisions: list[OfferDecision] = field(default_factory=list)


def feed_id_for(destination: str, stem: str) -> str:
    return f"{destination}_{stem}"


def insert_ignoring_duplicates(db: Session, table: type) -> Any:
    """INSERT … ON CONFLICT DO NOTHING for SQLite and PostgreSQL."""
    dialect = db.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).on_conflict_do_nothing()
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table).on_conflict_do_nothing()


def empty_note(database: Database, destination: str) -> str:
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


def spool_decision(
    spool: RowSpool,
    destination: str,
    decision: OfferDecision,
    history: Mapping[str, ExportedSessionDates],
    first_seen: datetime,
    recorded: dict[str, ExportedSessionDates] | None = None,
) -> None:
    """`recorded` collects the first exports spooled (the first one of a reference wins)."""
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
        if reference not in history:
            if recorded is not None:
                recorded.setdefault(reference, ExportedSessionDates(decision.reference, start, end))
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


def insert_spooled(db: Session, spool: RowSpool, run_id: int, feed_id: str | None) -> None:
    for kind, rows in spool.batches():
        if kind == "quarantine":
            db.execute(insert(_table(QuarantineRow)), [row | {"run_id": run_id} for row in rows])
        elif kind == "pending_approval":
            db.execute(insert(_table(PendingApprovalRow)), [row | {"run_id": run_id} for row in rows])
        elif kind == "feed_offer":
            # One row per offer of every feed of every run (~250,000 a night at 100,000 offers):
            # a driver-level executemany, without SQLAlchemy's per-row parameter processing.
            connection = db.connection()
            connection.exec_driver_sql(
                f"INSERT INTO {FeedOfferRow.__tablename__} "
                "(run_id, formation_reference, fragment_sha256, session_count) "
                f"VALUES ({driver_marks(connection, 4)})",
                [(run_id, r["formation_reference"], r["fragment_sha256"], r["session_count"]) for r in rows],
            )
        elif kind == "feed_offer_range":
            _copy_feed_offers(db, rows, run_id)
        elif kind == "first_export" and feed_id is not None:
            # A reference can come twice (chunks in flight were read before the first was
            # recorded, or another process exported it meanwhile): the first record wins.
            db.execute(
                insert_ignoring_duplicates(db, SessionHistoryRow),
                [row | {"first_feed_id": feed_id} for row in rows],
            )


class CarriedRowsChanged(OSError):
    """The last run's feed_offers rows changed during the export (never expected: its
    destination's lock is held): nothing of this run is recorded, the next one writes every row."""


def _copy_feed_offers(db: Session, ranges: list[dict[str, Any]], run_id: int) -> None:
    """The rows of offers taken unchanged, copied from the run that wrote the index, range by range."""
    connection = db.connection()
    marks = driver_marks(connection, 1)
    statement = (
        f"INSERT INTO {FeedOfferRow.__tablename__} (run_id, formation_reference, fragment_sha256, session_count) "
        f"SELECT {marks}, formation_reference, fragment_sha256, session_count FROM {FeedOfferRow.__tablename__} "
        f"WHERE run_id = {marks} AND formation_reference >= {marks} AND formation_reference <= {marks}"
    )
    for carried in ranges:
        copied = connection.exec_driver_sql(
            statement, (run_id, carried["from_run"], carried["first"], carried["last"])
        ).rowcount
        if copied != carried["count"]:
            raise CarriedRowsChanged(
                0,  # no errno: the message is the reason staff read
                f"les offres du run {carried['from_run']} ({carried['first']} … {carried['last']}) ont changé "
                "pendant l'export",
            )


def count(result: DestinationResult, decision: OfferDecision, dry_run: bool) -> None:
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


def record_feed(
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


def finish_run(db: Session, run_id: int, result: DestinationResult) -> None:
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
