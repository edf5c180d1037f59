"""Three `lheo-gateway run` instances on one PostgreSQL store, killed with SIGKILL at random.

Short schedules (a slot every 10 s, six-field cron), a partner that takes 1.5 s to answer, one
instance whose clock is 30 s fast (LHEO_GATEWAY_CLOCK_OFFSET_SECONDS), instances made to look
like separate machines (LHEO_GATEWAY_INSTANCE_HOST), so a dead one is only noticed because its
heartbeat stops. At least ten times, whichever instance is running a slot or sending a feed is
killed (and replaced, keeping three). Then: every slot produced exactly one feed, every feed was
delivered once and in order, and each takeover came within the bound.
"""

from __future__ import annotations

import itertools
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import func, select

from gateway.store.tables import AttemptRow, FeedRow, InstanceRow, LockRow, SlotRow, TransmissionRow
from tests.conftest import REPO, Gateway, base_offer, write_config
from tests.pg_server import PgServer

pytestmark = pytest.mark.slow

SLOT_EVERY = 6  # seconds (divides a minute: every gap is the same)
LEASE, HEARTBEAT, POLL = 3.0, 1.0, 1.0
# Takeover bound: the lease outlives the last renewal by LEASE, then the next poll takes it; the
# slack absorbs process scheduling on a loaded two-core CI machine.
BOUND = LEASE + POLL + 3.0
KILLS = 10
PARTNER_DELAY = 1.5


@pytest.fixture
def store_kind() -> str:
    return "postgresql"


class _Partner:
    """A partner's HTTP endpoint that is slow to answer and records every arrival."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[str, str]] = []  # (Idempotency-Key, X-Feed-Name)
        self.lock = threading.Lock()
        partner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                self.rfile.read(length)
                with partner.lock:
                    partner.arrivals.append((self.headers["Idempotency-Key"], self.headers["X-Feed-Name"]))
                time.sleep(PARTNER_DELAY)
                try:
                    self.send_response(200)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:
                    pass  # the sender was killed meanwhile

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/feeds"


@pytest.fixture
def partner() -> Iterator[_Partner]:
    receiver = _Partner()
    receiver.thread.start()
    yield receiver
    receiver.server.shutdown()


class _Cluster:
    def __init__(self, config: Path, logs: Path) -> None:
        self.config, self.logs = config, logs
        self.processes: dict[int, tuple[subprocess.Popen[bytes], str]] = {}  # pid → (process, offset)
        self.started = 0
        self.polls = ["--retry-poll", str(POLL), "--slot-poll", str(POLL)]

    def start(self, offset: str = "0") -> None:
        self.started += 1
        env = {
            **os.environ,
            "LHEO_GATEWAY_INSTANCE_HOST": f"node{self.started}",
            "LHEO_GATEWAY_CLOCK_OFFSET_SECONDS": offset,
        }
        log = (self.logs / f"node{self.started}.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "gateway.cli", "-c", str(self.config), "run", "--no-web", *self.polls],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.processes[process.pid] = (process, offset)

    def kill(self, pid: int) -> None:
        process, offset = self.processes.pop(pid)
        os.kill(pid, signal.SIGKILL)
        process.wait(timeout=10)
        self.start(offset)  # keep three, and keep one with a fast clock

    def stop(self) -> None:
        for process, _ in self.processes.values():
            process.send_signal(signal.SIGTERM)
        for process, _ in self.processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def _busy_instance(gateway: Gateway) -> str | None:
    """An instance doing work now: sending a feed, or running a slot (exporting)."""
    with gateway.database.session() as db:
        sending = db.scalar(select(TransmissionRow.owner).where(TransmissionRow.status == "sending").limit(1))
        return sending or db.scalar(select(SlotRow.claimed_by).where(SlotRow.completed_at.is_(None)).limit(1))


def _completed_slots(gateway: Gateway) -> int:
    with gateway.database.session() as db:
        return int(db.scalar(select(func.count()).select_from(SlotRow).where(SlotRow.completed_at.is_not(None))) or 0)


def _lease_owner(gateway: Gateway) -> str | None:
    with gateway.database.session() as db:
        return db.scalar(select(LockRow.owner).where(LockRow.name == "destination:intercarif"))


def test_killed_instances_are_taken_over_and_every_slot_is_delivered_once_in_order(
    gateway: Gateway, tmp_path: Path, partner: _Partner, pg_server: PgServer
) -> None:
    config = write_config(
        gateway,
        tmp_path,
        f"""
[destinations.intercarif]
schedule = "*/{SLOT_EVERY} * * * * *"
timezone = "Europe/Paris"
supersede = false
[destinations.intercarif.transport]
kind = "http"
url = "{partner.url}"
read_timeout = 20
[destinations.intercarif.retry]
initial_delay_seconds = 1
max_delay_seconds = 2
""",
        store_toml=f"heartbeat_seconds = {HEARTBEAT}\nlease_seconds = {LEASE}",
    )
    gateway.import_offers(base_offer())
    cluster = _Cluster(config, tmp_path)
    rng = random.Random(10)
    takeovers: list[float] = []
    try:
        for offset in ("30", "0", "0"):  # all at once, on a store no instance has migrated yet
            cluster.start(offset)
        deadline = time.monotonic() + 150
        while len(takeovers) < KILLS:
            assert time.monotonic() < deadline, f"only {len(takeovers)} kills in time: {takeovers}"
            busy = _busy_instance(gateway)
            if busy is None:
                time.sleep(0.05)
                continue
            time.sleep(rng.uniform(0, 0.8))  # a random moment of its work
            victim = _busy_instance(gateway) or busy
            with gateway.database.session() as db:
                row = db.get(InstanceRow, victim)
            if row is None or row.pid not in cluster.processes:
                continue
            done_before = _completed_slots(gateway)
            cluster.kill(row.pid)
            killed_at = time.monotonic()
            # Taken over: someone else holds the destination's lease (the dead one's work is
            # recovered under it).
            while _lease_owner(gateway) == victim:
                assert time.monotonic() - killed_at < 3 * BOUND, "the dead instance's lease was never taken over"
                time.sleep(0.05)
            takeovers.append(time.monotonic() - killed_at)
            # Progress before the next kill: the interrupted slot is finished by the survivors.
            while _completed_slots(gateway) <= done_before:
                assert time.monotonic() < deadline, "no slot completed after a takeover"
                time.sleep(0.05)
        # Let the last takeover finish its slot and one more slot run.
        time.sleep(SLOT_EVERY + BOUND)
    finally:
        cluster.stop()
        shutil.copy(pg_server.root / "server.log", tmp_path / "postgresql.log")  # for a post-mortem

    assert len(takeovers) >= KILLS and max(takeovers) <= BOUND, takeovers
    with gateway.database.session() as db:
        slots = db.scalars(select(SlotRow).order_by(SlotRow.fire_at)).all()
        feeds = {feed.id: feed for feed in db.scalars(select(FeedRow))}
        transmissions = db.scalars(select(TransmissionRow).order_by(TransmissionRow.id)).all()
        sent_attempts = dict(
            db.execute(
                select(AttemptRow.transmission_id, func.count())
                .where(AttemptRow.outcome == "sent")
                .group_by(AttemptRow.transmission_id)
            ).all()
        )
        interrupted = db.scalar(select(func.count()).select_from(AttemptRow).where(AttemptRow.outcome == "interrupted"))
    completed = [slot for slot in slots if slot.completed_at is not None]
    assert len(completed) >= KILLS
    assert sum(slot.takeovers for slot in slots) >= KILLS // 3  # slots interrupted and finished by another
    # None left unfinished but the very last; a slot skipped only when the one before was still
    # running when it fell due (coalesced, as a late schedule always was).
    for before, after in itertools.pairwise(slots):
        gap = after.fire_at - before.fire_at
        if gap != timedelta(seconds=SLOT_EVERY):
            assert before.completed_at is not None
            skipped = before.fire_at + timedelta(seconds=SLOT_EVERY)
            assert before.completed_at.replace(tzinfo=UTC) > skipped.replace(tzinfo=UTC), (before.fire_at, gap)
    assert all(slot.completed_at is not None for slot in slots[:-1])
    # One feed per slot, stamped with the slot's time, and never claimed before its time (the
    # instance 30 s fast ran nothing early: due is decided on the server's clock).
    by_time = {feed.exported_at.replace(tzinfo=UTC): feed for feed in feeds.values()}
    assert len(by_time) == len(feeds) == len([slot for slot in completed if slot.feed_id]) >= len(completed) - 1
    for slot in completed:
        assert slot.feed_id in feeds and by_time[slot.fire_at.replace(tzinfo=UTC)].id == slot.feed_id
        assert slot.claimed_at.replace(tzinfo=UTC) >= slot.fire_at.replace(tzinfo=UTC)
    # Each feed one transmission, sent exactly once (one `sent` attempt), some of them after a
    # send was interrupted by a kill.
    assert sorted(t.feed_id for t in transmissions) == sorted(feeds)
    delivered = [t for t in transmissions if t.status == "sent"]
    assert len(delivered) >= len(transmissions) - 1, [(t.id, t.status) for t in transmissions]
    assert all(sent_attempts.get(t.id) == 1 for t in delivered)
    assert interrupted >= 1
    # The partner saw every delivered feed, in slot order; a repeat only with the same
    # Idempotency-Key (a send interrupted before its answer), never after a newer feed.
    names = {feeds[t.feed_id].path.rsplit("/", 1)[-1]: feeds[t.feed_id] for t in delivered}
    arrivals = [name for _key, name in partner.arrivals]
    assert set(names) <= set(arrivals)
    stamps = [feeds_by_name.exported_at for feeds_by_name in (names.get(name) for name in arrivals) if feeds_by_name]
    assert stamps == sorted(stamps), arrivals
    keys: dict[str, set[str]] = {}
    for key, name in partner.arrivals:
        keys.setdefault(name, set()).add(key)
    assert all(len(found) == 1 for found in keys.values())
