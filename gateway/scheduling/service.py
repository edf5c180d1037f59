"""The long-running gateway: export and deliver each destination on its schedule.

APScheduler 3 runs one cron job per destination (export, then deliver) and one interval job
that delivers whatever retries have come due. Jobs are coalesced, never run twice at once,
and a lease in the store keeps a second gateway process from running the same destination.
On start-up, transmissions left in `sending` by a crash go back to pending before anything
is dispatched. SIGTERM or Ctrl-C: no new transfer starts, the one in flight finishes.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from datetime import timedelta
from types import FrameType
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from gateway.alerts.check import check_alerts
from gateway.config import GatewayConfig
from gateway.outbox.relay import deliver_destination, process_owner, recover_interrupted
from gateway.pipeline.export import run_export
from gateway.store.database import Database
from gateway.store.locks import held

log = logging.getLogger(__name__)

JOB_DEFAULTS = {
    "coalesce": True,  # several missed runs (machine asleep) collapse into one
    "max_instances": 1,  # a slow export is never overlapped by the next one
    "misfire_grace_time": 15 * 60,  # a run up to 15 minutes late still happens
}
LEASE = timedelta(hours=2)


class GatewayService:
    def __init__(self, config: GatewayConfig, database: Database, *, retry_poll_seconds: float = 60) -> None:
        self.config = config
        self.database = database
        self.retry_poll_seconds = retry_poll_seconds
        self.stopping = threading.Event()
        self.scheduler = BackgroundScheduler(job_defaults=JOB_DEFAULTS, timezone=ZoneInfo("Europe/Paris"))

    # -- jobs

    @staticmethod
    def _owner() -> str:
        # Per thread: the export job and the retry job of one process exclude each other too.
        return f"{process_owner()}:{threading.get_ident()}"

    def export_and_deliver(self, destination: str) -> None:
        with held(self.database, f"destination:{destination}", self._owner(), LEASE) as acquired:
            if not acquired:
                log.warning("destination %s: another gateway process is running it; skipped", destination)
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
            with held(self.database, f"destination:{destination}", self._owner(), LEASE) as acquired:
                if acquired:
                    gave_up = self._deliver(destination) or gave_up
        if gave_up:  # a transmission just died: say so now, not at the next periodic check
            self.check_alerts()

    def _deliver(self, destination: str) -> bool:
        """Deliver what is due; True when a transmission was given up (dead)."""
        settings = self.config.destinations[destination]
        report = deliver_destination(self.database, destination, settings, should_stop=self.stopping.is_set)
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
            trigger = CronTrigger.from_crontab(settings.schedule, timezone=ZoneInfo(settings.timezone))
            self.scheduler.add_job(self.export_and_deliver, trigger, args=[name], id=f"export:{name}", name=name)
            described.append(f"{name}: {settings.schedule} ({settings.timezone})")
        self.scheduler.add_job(
            self.deliver_due, IntervalTrigger(seconds=self.retry_poll_seconds), id="deliver-due", name="retries"
        )
        if self.config.alerts.enabled:
            interval = IntervalTrigger(seconds=self.config.alerts.check_interval_seconds)
            self.scheduler.add_job(self.check_alerts, interval, id="alerts", name="alerts")
            described.append(f"alertes : toutes les {self.config.alerts.check_interval_seconds:g} s")
        return described

    def run(self, *, install_signal_handlers: bool = True, on_ready: Callable[[list[str]], None] | None = None) -> None:
        """Block until SIGTERM/SIGINT (or `stop()`), then stop cleanly."""
        recovered = recover_interrupted(self.database)
        if recovered:
            log.warning("recovered %d transmission(s) interrupted by a previous stop", len(recovered))
        described = self.schedule()
        if install_signal_handlers:
            signal.signal(signal.SIGTERM, self._on_signal)
            signal.signal(signal.SIGINT, self._on_signal)
        self.scheduler.start()
        log.info("gateway started; jobs: %s", "; ".join(described) or "retries only")
        if on_ready is not None:
            on_ready(described)
        self.stopping.wait()
        log.info("stopping: no new transfer starts, the one in flight finishes")
        self.scheduler.shutdown(wait=True)

    def stop(self) -> None:
        self.stopping.set()

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s received", signal.Signals(signum).name)
        self.stop()
