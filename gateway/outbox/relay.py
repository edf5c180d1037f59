"""The outbox relay: deliver pending transmissions, record every attempt, retry or give up.

A transmission is claimed with one conditional UPDATE (pending/failed and due → sending, with
this process as owner): whichever process wins sends it, the others skip it, so two gateways
started by mistake never send the same transmission twice. Each destination gets one transport
per run, always closed; one failing destination or one poison feed never stops the others.

Statuses live in `states.py`, the recovery of interrupted sends in `recovery.py` (both also
importable from here).
"""

from __future__ import annotations

import dataclasses
import getpass
import logging
import os
import random
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from gateway.config import DestinationSettings, GatewayConfig, RetryPolicy
from gateway.outbox.paths import feed_file
from gateway.outbox.recovery import has_work as has_work
from gateway.outbox.recovery import recover_interrupted as recover_interrupted
from gateway.outbox.states import Status as Status
from gateway.outbox.states import _aware
from gateway.outbox.states import process_owner as process_owner
from gateway.outbox.states import utcnow as utcnow
from gateway.store import audit
from gateway.store.database import Database
from gateway.store.locks import destination_lease, holds, release, store_now, try_acquire
from gateway.store.tables import AttemptRow, FeedRow, ReplayRow, TransmissionRow
from gateway.transports.base import DeliveryError, DeliveryReceipt, FeedToDeliver, Transport
from gateway.transports.registry import make_transport

log = logging.getLogger(__name__)


def backoff_delay(policy: RetryPolicy, attempt: int, rng: random.Random | None = None) -> float:
    """Seconds before retry number `attempt` (1 = first retry): capped exponential, with jitter."""
    base = min(policy.max_delay_seconds, policy.initial_delay_seconds * policy.multiplier ** (attempt - 1))
    spread = base * policy.jitter
    return max(0.0, base + (rng or random).uniform(-spread, spread))


# ------------------------------------------------------------------------------------ creation


def enqueue(db: Session, feed_id: str, destination: str, settings: DestinationSettings, now: datetime) -> None:
    """Record the feed's transmission (same transaction as the feed) and supersede older ones.

    "Older" is by snapshot time (`exported_at`), not by commit order: two exports run with
    different `--at` may commit in either order, and a snapshot must never supersede a newer
    one — an older snapshot committed last is itself recorded as superseded (issue #9).
    """
    if db.scalar(
        select(TransmissionRow.id).where(TransmissionRow.feed_id == feed_id, TransmissionRow.destination == destination)
    ):
        return  # the same feed again (a re-run with a fixed clock): already queued
    status, superseded_by = Status.PENDING, None
    if settings.supersede:
        exported_at = db.scalar(select(FeedRow.exported_at).where(FeedRow.id == feed_id))
        snapshots = select(FeedRow.id).where(FeedRow.destination == destination)
        if exported_at is not None:
            superseded_by = db.scalar(
                select(TransmissionRow.feed_id)
                .join(FeedRow, FeedRow.id == TransmissionRow.feed_id)
                .where(TransmissionRow.destination == destination, FeedRow.exported_at > exported_at)
                .order_by(FeedRow.exported_at.desc(), FeedRow.id.desc())
                .limit(1)
            )
            snapshots = snapshots.where(FeedRow.exported_at <= exported_at)
        if superseded_by is not None:
            status = Status.SUPERSEDED  # a newer snapshot is already queued or sent
        else:
            db.execute(
                update(TransmissionRow)
                .where(
                    TransmissionRow.destination == destination,
                    TransmissionRow.status.in_([Status.PENDING, Status.FAILED]),
                    TransmissionRow.feed_id.in_(snapshots),
                )
                .values(status=Status.SUPERSEDED, superseded_by=feed_id, updated_at=now, next_attempt_at=None)
                .execution_options(synchronize_session=False)
            )
    db.add(
        TransmissionRow(
            feed_id=feed_id,
            destination=destination,
            status=status,
            superseded_by=superseded_by,
            attempts=0,
            attempts_since_replay=0,
            next_attempt_at=now if status is Status.PENDING else None,
            created_at=now,
            updated_at=now,
            window_started_at=now,
        )
    )


# ------------------------------------------------------------------------------------ recovery


# ------------------------------------------------------------------------------------ delivery


@dataclass
class DeliveryReport:
    sent: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    dead: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)  # claimed by another process meanwhile
    busy: list[str] = field(default_factory=list)  # destinations whose lease another instance holds

    def merge(self, other: DeliveryReport) -> None:
        for name in ("sent", "failed", "dead", "skipped", "busy"):
            getattr(self, name).extend(getattr(other, name))


def due_transmissions(db: Session, destination: str, now: datetime) -> list[int]:
    return list(
        db.scalars(
            select(TransmissionRow.id)
            .join(FeedRow, FeedRow.id == TransmissionRow.feed_id)
            .where(
                TransmissionRow.destination == destination,
                TransmissionRow.status.in_([Status.PENDING, Status.FAILED]),
                or_(TransmissionRow.next_attempt_at.is_(None), TransmissionRow.next_attempt_at <= now),
            )
            # Snapshot order (two exports with different `--at`, issue #9), then creation order by id
            # (scheduled exports are stamped with their slot's fire time, so clocks do not reorder them).
            .order_by(FeedRow.exported_at, TransmissionRow.id)
        )
    )


def _claim(database: Database, transmission_id: int, now: datetime, owner: str, lease: str | None) -> bool:
    with database.session() as db, db.begin():
        # Fence: a holder that lost its lease (stalled past the TTL) must not send out of order.
        if lease is not None and not holds(db, lease, owner, store_now(db)):
            return False
        claimed = db.execute(
            update(TransmissionRow)
            .where(
                TransmissionRow.id == transmission_id,
                TransmissionRow.status.in_([Status.PENDING, Status.FAILED]),
                or_(TransmissionRow.next_attempt_at.is_(None), TransmissionRow.next_attempt_at <= now),
            )
            .values(status=Status.SENDING, owner=owner, claimed_at=now, updated_at=now)
        )
        return bool(claimed.rowcount == 1)  # type: ignore[attr-defined]


def _feed_to_deliver(feed: FeedRow, outbox: Path | None) -> FeedToDeliver:
    return FeedToDeliver(
        feed_id=feed.id,
        destination=feed.destination,
        path=feed_file(outbox, feed.path),
        gz_path=feed_file(outbox, feed.gz_path),
        sha256=feed.sha256,
        size=feed.size,
        gz_sha256=feed.gz_sha256,
        gz_size=feed.gz_size,
    )


# Called when a transfer starts with (feed id, transmission id, size in bytes); may return a
# callback that the transport then calls with the bytes sent as they go (a progress bar).
ProgressHook = Callable[[str, int, int], Callable[[int], None] | None]


def deliver_destination(
    database: Database,
    name: str,
    settings: DestinationSettings,
    *,
    transport_factory: Callable[[DestinationSettings], Transport] | None = None,
    on_start: ProgressHook | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    owner: str | None = None,
    lease: str | None = None,
    outbox: Path | None = None,
) -> DeliveryReport:
    """Deliver every due transmission of one destination, oldest first, with one transport.

    `owner` marks the claims (an instance id); with `lease`, each claim also checks that the
    owner still holds that lease, so feeds leave in order even if the lease was lost meanwhile.
    """
    owner = owner or process_owner()
    report = DeliveryReport()
    if settings.transport is None:
        return report
    with database.session() as db:
        due = due_transmissions(db, name, utcnow())
    if not due:
        return report
    transport: Transport | None = None
    try:
        for transmission_id in due:
            if should_stop():
                break
            now = utcnow()
            if not _claim(database, transmission_id, now, owner, lease):
                report.skipped.append(transmission_id)
                if lease is not None:
                    break  # lease lost: the next holder delivers the rest, in order
                continue
            if transport is None:
                transport = (transport_factory or _default_transport)(settings)
            _attempt(database, transmission_id, transport, settings.retry, report, on_start, outbox)
    finally:
        if transport is not None:
            transport.close()
    return report


def _default_transport(settings: DestinationSettings) -> Transport:
    assert settings.transport is not None
    return make_transport(settings.transport)


def _attempt(
    database: Database,
    transmission_id: int,
    transport: Transport,
    policy: RetryPolicy,
    report: DeliveryReport,
    on_start: ProgressHook | None,
    outbox: Path | None,
) -> None:
    with database.session() as db:
        row = db.get(TransmissionRow, transmission_id)
        assert row is not None
        feed = db.get(FeedRow, row.feed_id)
        assert feed is not None
        replay_id = db.scalar(
            select(ReplayRow.id)
            .where(ReplayRow.transmission_id == transmission_id)
            .order_by(ReplayRow.id.desc())
            .limit(1)
        )
        # After a staff replay the bytes go again for real, even if a copy is already there.
        to_deliver = dataclasses.replace(_feed_to_deliver(feed, outbox), resend=replay_id is not None)
    transport.progress = on_start(to_deliver.feed_id, transmission_id, to_deliver.size) if on_start else None
    started = utcnow()
    clock = time.monotonic()
    receipt: DeliveryReceipt | None = None
    failure: DeliveryError | None = None
    try:
        if not to_deliver.path.is_file():
            # Another instance wrote it and this one does not see the shared outbox (not mounted,
            # not yet synced): retry later, here or elsewhere; never kill the transmission.
            raise DeliveryError(
                "FEED_NOT_VISIBLE",
                f"le flux {to_deliver.path.name} est introuvable depuis cette instance "
                f"({socket.gethostname()}, outbox {outbox or to_deliver.path.parent}) : "
                "le dossier partagé de l'outbox est-il monté ?",
                retryable=True,
            )
        receipt = transport.deliver(to_deliver)
    except DeliveryError as exc:
        failure = exc
    except Exception as exc:  # a bug or an unexpected library error must not wedge the queue
        log.exception("transmission %s: unexpected error", transmission_id)
        failure = DeliveryError("DELIVERY_UNEXPECTED", f"{type(exc).__name__}: {exc}", retryable=True)
    finally:
        transport.progress = None
    finished = utcnow()
    duration_ms = int((time.monotonic() - clock) * 1000)
    with database.session() as db, db.begin():
        row = db.get(TransmissionRow, transmission_id)
        assert row is not None
        row.attempts += 1
        row.attempts_since_replay += 1
        row.owner = None
        row.updated_at = finished
        attempt = AttemptRow(
            transmission_id=transmission_id,
            number=row.attempts,
            started_at=started,
            finished_at=finished,
            duration_ms=duration_ms,
            replay_id=replay_id,
            outcome="",
        )
        if receipt is not None:
            row.status = Status.SENT
            row.sent_at = finished
            row.remote = receipt.remote
            row.next_attempt_at = None
            row.last_error_code = row.last_error = None
            attempt.outcome = Status.SENT
            attempt.remote = receipt.remote
            attempt.http_status = receipt.http_status
            attempt.response_excerpt = receipt.detail[:2000]
            attempt.bytes_sent = receipt.bytes_sent
            report.sent.append(transmission_id)
            log.info("transmission %s: %s sent to %s", transmission_id, to_deliver.name, receipt.remote)
        else:
            assert failure is not None
            attempt.error_code = failure.code
            attempt.error_message = failure.message
            attempt.http_status = failure.http_status
            attempt.response_excerpt = failure.response_excerpt[:2000] or None
            row.last_error_code = failure.code
            row.last_error = failure.message
            age = finished - _aware(row.window_started_at)
            # An instance that cannot see the feed says nothing about the feed: never dead for
            # that (another instance, or this one once the share is back, sends it).
            give_up = failure.code != "FEED_NOT_VISIBLE" and (
                not failure.retryable
                or row.attempts_since_replay >= policy.max_attempts
                or age >= timedelta(hours=policy.max_age_hours)
            )
            if give_up:
                row.status = Status.DEAD
                row.next_attempt_at = None
                attempt.outcome = Status.DEAD
                report.dead.append(transmission_id)
                log.error("transmission %s: dead after %s: %s", transmission_id, failure.code, failure.message)
            else:
                delay = backoff_delay(policy, row.attempts_since_replay)
                if failure.retry_after is not None:
                    delay = max(delay, min(failure.retry_after, policy.max_delay_seconds))
                row.status = Status.FAILED
                row.next_attempt_at = finished + timedelta(seconds=delay)
                attempt.outcome = Status.FAILED
                report.failed.append(transmission_id)
                log.warning(
                    "transmission %s: %s, retry in %.0f s: %s", transmission_id, failure.code, delay, failure.message
                )
        db.add(attempt)


def deliver_pending(
    database: Database,
    config: GatewayConfig,
    *,
    destinations: Sequence[str] | None = None,
    transport_factory: Callable[[DestinationSettings], Transport] | None = None,
    on_start: ProgressHook | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    owner: str | None = None,
) -> DeliveryReport:
    """Deliver what is due for every configured destination (or `destinations`).

    With `owner` (a registered instance), each destination is delivered under its lease, so a
    `deliver` command and `run` instances never send one destination's feeds out of order; a
    destination whose lease another live instance holds is listed in `report.busy`.
    """
    report = DeliveryReport()
    ttl = timedelta(seconds=config.store.lease_seconds)
    for name, settings in sorted(config.destinations.items()):
        if destinations and name not in destinations:
            continue
        lease = destination_lease(name) if owner else None
        try:
            if owner and lease and not try_acquire(database, lease, owner, ttl):
                report.busy.append(name)
                continue
            try:
                if owner:
                    recover_interrupted(database, lease=ttl, destination=name, me=owner)
                report.merge(
                    deliver_destination(
                        database,
                        name,
                        settings,
                        transport_factory=transport_factory,
                        on_start=on_start,
                        should_stop=should_stop,
                        owner=owner,
                        lease=lease,
                        outbox=config.outbox.path,
                    )
                )
            finally:
                if owner and lease:
                    release(database, lease, owner)
        except Exception:
            # One destination's trouble (even a bug) never blocks the others.
            log.exception("destination %s: delivery run failed", name)
    return report


# ------------------------------------------------------------------------------------ replay


def requester(explicit: str | None) -> str:
    if explicit:
        return explicit
    try:
        return getpass.getuser()
    except Exception:  # no login name (containers): still say something true
        return f"uid:{os.getuid()}"


def replay(database: Database, transmission_ids: Sequence[int], requested_by: str) -> list[int]:
    """Queue the same outbox bytes again; the history of earlier attempts is kept.

    Each replay is audited in the same transaction, whoever asked (CLI or console).
    """
    now = utcnow()
    queued = []
    with database.session() as db, db.begin():
        for transmission_id in transmission_ids:
            row = db.get(TransmissionRow, transmission_id)
            if row is None or row.status in (Status.SENDING, Status.PENDING):
                continue
            feed = db.get(FeedRow, row.feed_id)
            if feed is None or feed.purged_at is not None:
                continue  # the bytes are gone: nothing to send again
            db.add(
                ReplayRow(
                    transmission_id=row.id,
                    requested_by=requested_by,
                    requested_at=now,
                    previous_status=row.status,
                )
            )
            audit.record(
                db,
                requested_by,
                "replay",
                f"transmission:{row.id}",
                f"destination={row.destination} feed={row.feed_id} previous_status={row.status}",
            )
            row.status = Status.PENDING
            row.attempts_since_replay = 0
            row.window_started_at = now
            row.next_attempt_at = now
            row.updated_at = now
            queued.append(row.id)
    return queued
