"""The long-running gateway: export and deliver each destination on its schedule, in a cluster.

Every `run` instance registers itself with a heartbeat (`instance.py`) and polls each
destination's cron schedule every few seconds. When a slot (a cron fire time) is due and not yet
completed, the instance that takes the destination's lease claims the slot in the store, exports
(the feed is stamped with the slot's time), delivers, and completes the slot: one decision per
slot, whatever the number of instances or a clock running ahead. If it dies, its lease expires
(no heartbeat renews it) and another instance takes the slot over and finishes it — delivering
the feed already exported rather than exporting again. Retries come due on a second poll, also
under the destination's lease; transmissions left in `sending` by a dead instance are recovered
by whoever next holds the lease. SIGTERM or Ctrl-C: no new transfer starts, the one in flight
finishes, leases are released.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from types import FrameType
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import select

from gateway.alerts.check import check_alerts
from gateway.config import GatewayConfig
from gateway.outbox.relay import deliver_destination, has_work, recover_interrupted
from gateway.pipeline.export import run_export
from gateway.scheduling import slots
from gateway.scheduling.instance import Instance
from gateway.store.database import Database
from gateway.store.locks import destination_lease, held
from gateway.store.tables import FeedRow

log = logging.getLogger(__name__)

JOB_DEFAULTS = {
    "coalesce": True,  # polls that fell behind collapse into one
    "max_instances": 1,  # a slow export is never overlapped by the next poll
    "misfire_grace_time": 15 * 60,
}


class GatewayService:
    def __init__(
        self,
        config: GatewayConfig,
        database: Database,
        *,
        retry_poll_seconds: float = 60,
        slot_poll_seconds: float = 5,
        instance: Instance | None = None,
    ) -> None:
        self.config = config
        self.database = database
        self.retry_poll_seconds = retry_poll_seconds
        self.slot_poll_seconds = slot_poll_seconds
        self.instance = instance or Instance(database, config.store, role="run", lead=True)
        self.lease = timedelta(seconds=config.store.lease_seconds)
        self.stopping = threading.Event()
        self.scheduler = BackgroundScheduler(job_defaults=JOB_DEFAULTS, timezone=ZoneInfo("Europe/Paris"))
        self.triggers: dict[str, CronTrigger] = {}
        # The lease belongs to the instance; this keeps the slot job and the retry job of one
        # instance off the same destination at once.
        self._local = {name: threading.Lock() for name in config.destinations}

    @contextmanager
    def _destination(self, destination: str, *, wait: float = 0) -> Iterator[bool]:
        local = self._local.setdefault(destination, threading.Lock())
        if not local.acquire(timeout=wait) if wait else not local.acquire(blocking=False):
            yield False
            return
        try:
            with held(self.database, destination_lease(destination), self.instance.id, self.lease) as acquired:
                yield acquired
        finally:
            local.release()

    # -- jobs

    def poll_slot(self, destination: str) -> None:
        """Finish slots a dead instance left, then run the due slot if nobody completed it.

        Called every few seconds. "Due" is judged on the store's clock, so an instance whose
        own clock runs ahead sees no slot early.
        """
        trigger = self.triggers.get(destination)
        if trigger is None or self.stopping.is_set():
            return
        now = slots.store_time(self.database)
        wanted = slots.unfinished(self.database, destination, now)
        fire_at = slots.due_slot(trigger, now)
        completed = fire_at is None or slots.is_completed(self.database, destination, fire_at)
        if fire_at is not None and fire_at not in wanted and not completed:
            wanted.append(fire_at)
        for moment in wanted:
            if self.stopping.is_set() or not self.run_slot(destination, moment):
                return

    def run_slot(self, destination: str, fire_at: datetime) -> bool:
        """Claim, run and complete one slot; False when another instance has the destination."""
        # A retry run of this instance may hold the destination a moment: wait for it.
        with self._destination(destination, wait=60) as acquired:
            if not acquired:
                log.debug("destination %s: lease held by another instance", destination)
                return False
            claim = slots.claim(self.database, destination, fire_at, self.instance.id)
            if claim.outcome is slots.Claim.DONE:
                return True
            if claim.outcome is slots.Claim.TAKEOVER:
                log.warning(
                    "destination %s: slot %s taken over from %s (claimed %s)",
                    destination,
                    fire_at.isoformat(),
                    claim.previous_owner,
                    claim.claimed_at.isoformat() if claim.claimed_at else "?",
                )
            feed_id, note = self._slot_feed(destination, fire_at), ""
            if feed_id is None:
                results = run_export(self.database, self.config, destinations=[destination], exported_at=fire_at)
                feed_id, note = results[0].feed_id, results[0].note
            if not self.stopping.is_set():
                self._deliver(destination)
            slots.complete(self.database, destination, fire_at, self.instance.id, feed_id, note)
            return True

    def _slot_feed(self, destination: str, fire_at: datetime) -> str | None:
        # An instance that died after exporting left the feed (stamped with the slot's time).
        with self.database.session() as db:
            return db.scalar(
                select(FeedRow.id).where(FeedRow.destination == destination, FeedRow.exported_at == fire_at).limit(1)
            )

    def export_and_deliver(self, destination: str) -> None:
        """Export now and deliver, outside any schedule (under the destination's lease)."""
        with self._destination(destination) as acquired:
            if not acquired:
                log.warning("destination %s: another gateway instance is running it; skipped", destination)
                return
            if self.stopping.is_set():
                return
            run_export(self.database, self.config, destinations=[destination])
            self._deliver(destination)
        self.check_alerts()

    def check_alerts(self) -> None:
        """Open/close alert incidents and send their notices (never fatal to the service)."""
        if not self.config.alerts.enabled or self.stopping.is_set():
            return
        try:
            check_alerts(self.database, self.config)
        except Exception:  # a broken SMTP relay must not stop exports and deliveries
            log.exception("alerts: check failed")

    def deliver_due(self) -> None:
        gave_up = False
        for destination in sorted(self.config.destinations):
            if self.stopping.is_set():
                return
            if not has_work(self.database, destination):
                continue  # nothing due: leave the lease to whoever runs a slot
            with self._destination(destination) as acquired:
                if acquired:
                    gave_up = self._deliver(destination) or gave_up
        if gave_up:  # a transmission just died: say so now, not at the next periodic check
            self.check_alerts()

    def _deliver(self, destination: str) -> bool:
        """Deliver what is due; True when a transmission was given up (dead)."""
        # Under the lease: whatever a dead holder left in `sending` is ours to finish, first.
        recover_interrupted(self.database, lease=self.lease, destination=destination, me=self.instance.id)
        settings = self.config.destinations[destination]
        report = deliver_destination(
            self.database,
            destination,
            settings,
            should_stop=self.stopping.is_set,
            owner=self.instance.id,
            lease=destination_lease(destination),
            outbox=self.config.outbox.path,
        )
        if report.sent or report.failed or report.dead:
            log.info(
                "destination %s: %d sent, %d failed, %d dead",
                destination,
                len(report.sent),
                len(report.failed),
                len(report.dead),
            )
        return bool(report.dead)

    # -- life cycle

    def schedule(self) -> list[str]:
        """Add the jobs; returns a description of each, for the start-up log."""
        described = []
        for name, settings in sorted(self.config.destinations.items()):
            if not settings.schedule:
                continue
            self.triggers[name] = slots.parse_schedule(settings.schedule, settings.timezone)
            self.scheduler.add_job(
                self.poll_slot,
                IntervalTrigger(seconds=self.slot_poll_seconds),
                args=[name],
                id=f"export:{name}",
                name=name,
            )
            described.append(f"{name}: {settings.schedule} ({settings.timezone})")
        # First run at once: recover what a previous stop left in `sending`, deliver what is due.
        self.scheduler.add_job(
            self.deliver_due,
            IntervalTrigger(seconds=self.retry_poll_seconds),
            id="deliver-due",
            name="retries",
            next_run_time=datetime.now(ZoneInfo("UTC")),
        )
        if self.config.alerts.enabled:
            interval = IntervalTrigger(seconds=self.config.alerts.check_interval_seconds)
            self.scheduler.add_job(self.check_alerts, interval, id="alerts", name="alerts")
            described.append(f"alertes : toutes les {self.config.alerts.check_interval_seconds:g} s")
        return described

    def run(self, *, install_signal_handlers: bool = True, on_ready: Callable[[list[str]], None] | None = None) -> None:
        """Block until SIGTERM/SIGINT (or `stop()`), then stop cleanly."""
        # APScheduler logs every poll at INFO (every few seconds): only its warnings are news.
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
        if install_signal_handlers:
            # First, so a signal during start-up is a clean stop too. The main thread then only
            # waits: every job (the first retry run included) runs in the scheduler's threads.
            signal.signal(signal.SIGTERM, self._on_signal)
            signal.signal(signal.SIGINT, self._on_signal)
        self.instance.start()
        try:
            described = self.schedule()
            self.scheduler.start()
            log.info("gateway instance %s started; jobs: %s", self.instance.id, "; ".join(described) or "retries only")
            if on_ready is not None:
                on_ready(described)
            self.stopping.wait()
            log.info("stopping: no new transfer starts, the one in flight finishes")
            self.scheduler.shutdown(wait=True)
        finally:
            self.instance.stop()

    def stop(self) -> None:
        self.stopping.set()

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s received", signal.Signals(signum).name)
        self.stop()
