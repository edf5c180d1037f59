"""The outbox relay against real receivers: local folder and a real HTTP server on 127.0.0.1."""

# ruff: noqa: F811
from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from gateway.config import DestinationSettings, RetryPolicy
from gateway.outbox.relay import Status, backoff_delay, deliver_pending, recover_interrupted, replay
from gateway.store.tables import AttemptRow, AuditRow, FeedRow, ReplayRow, TransmissionRow
from gateway.transports.http_settings import HttpSettings
from gateway.transports.local import LocalFolderSettings
from tests.conftest import Gateway, base_offer, with_changes, write_config
from tests.transports.http_fixtures import http_receiver  # noqa: F401
from tests.transports.http_receiver import HttpReceiver, Reply

FAST_RETRY = RetryPolicy(max_attempts=3, initial_delay_seconds=0.01, max_delay_seconds=0.05, jitter=0)


def _configure(gateway: Gateway, **destinations: DestinationSettings) -> None:
    gateway.config = gateway.config.model_copy(update={"destinations": destinations})


def _transmissions(gateway: Gateway) -> list[TransmissionRow]:
    with gateway.database.session() as db:
        return list(db.scalars(select(TransmissionRow).order_by(TransmissionRow.id)))


def _attempts(gateway: Gateway, transmission_id: int) -> list[AttemptRow]:
    with gateway.database.session() as db:
        query = select(AttemptRow).where(AttemptRow.transmission_id == transmission_id).order_by(AttemptRow.id)
        return list(db.scalars(query))


def _make_due(gateway: Gateway) -> None:
    with gateway.database.session() as db, db.begin():
        db.execute(update(TransmissionRow).values(next_attempt_at=datetime.now(UTC) - timedelta(seconds=1)))


def test_export_queues_a_transmission_in_the_same_transaction(gateway: Gateway, tmp_path: Path) -> None:
    _configure(gateway, intercarif=DestinationSettings(transport=LocalFolderSettings(path=tmp_path / "drop")))
    gateway.import_offers(base_offer())
    results = gateway.export()
    [row] = _transmissions(gateway)
    assert (row.destination, row.status, row.feed_id) == ("intercarif", "pending", results["intercarif"].feed_id)
    report = deliver_pending(gateway.database, gateway.config)
    assert report.sent == [row.id]
    feed = results["intercarif"].feed
    assert feed is not None
    assert (tmp_path / "drop" / feed.path.name).read_bytes() == feed.path.read_bytes()
    [sent] = _transmissions(gateway)
    assert sent.status == "sent" and sent.remote and sent.remote.endswith(feed.path.name)
    [attempt] = _attempts(gateway, sent.id)
    assert attempt.outcome == "sent" and attempt.bytes_sent and attempt.duration_ms is not None
    # Nothing is sent twice.
    assert deliver_pending(gateway.database, gateway.config).sent == []


def test_http_retries_reuse_the_idempotency_key_then_succeed(gateway: Gateway, http_receiver: HttpReceiver) -> None:
    settings = DestinationSettings(
        transport=HttpSettings(url=f"{http_receiver.url}/feeds", connect_timeout=2, read_timeout=2), retry=FAST_RETRY
    )
    _configure(gateway, intercarif=settings)
    gateway.import_offers(base_offer())
    feed = gateway.export("intercarif")["intercarif"].feed
    assert feed is not None
    http_receiver.will(Reply.respond(503, "maintenance"), Reply.respond(429, "slow down", {"Retry-After": "0"}))
    assert deliver_pending(gateway.database, gateway.config).failed
    [row] = _transmissions(gateway)
    assert row.status == "failed" and row.last_error_code == "HTTP_RETRYABLE_STATUS"
    _make_due(gateway)
    assert deliver_pending(gateway.database, gateway.config).failed
    _make_due(gateway)
    assert deliver_pending(gateway.database, gateway.config).sent == [row.id]
    keys = {request.headers["idempotency-key"] for request in http_receiver.requests}
    assert len(http_receiver.requests) == 3 and len(keys) == 1
    assert http_receiver.requests[-1].body_sha256 == hashlib.sha256(feed.path.read_bytes()).hexdigest()
    attempts = _attempts(gateway, row.id)
    assert [(a.outcome, a.http_status) for a in attempts] == [("failed", 503), ("failed", 429), ("sent", 200)]
    assert attempts[0].response_excerpt == "maintenance"


def test_client_error_is_dead_at_once_and_replay_sends_the_same_bytes(
    gateway: Gateway, http_receiver: HttpReceiver
) -> None:
    settings = DestinationSettings(transport=HttpSettings(url=f"{http_receiver.url}/feeds"), retry=FAST_RETRY)
    _configure(gateway, intercarif=settings)
    gateway.import_offers(base_offer())
    gateway.export("intercarif")
    http_receiver.will(Reply.json(400, {"error": "schema"}))
    report = deliver_pending(gateway.database, gateway.config)
    [row] = _transmissions(gateway)
    assert report.dead == [row.id] and row.status == "dead" and row.last_error_code == "HTTP_REJECTED"
    assert replay(gateway.database, [row.id], "alice") == [row.id]
    assert deliver_pending(gateway.database, gateway.config).sent == [row.id]
    attempts = _attempts(gateway, row.id)
    assert [a.outcome for a in attempts] == ["dead", "sent"]
    assert attempts[0].replay_id is None and attempts[1].replay_id is not None
    assert http_receiver.requests[0].body_sha256 == http_receiver.requests[1].body_sha256
    with gateway.database.session() as db:
        [request] = db.scalars(select(ReplayRow)).all()
        assert (request.requested_by, request.previous_status) == ("alice", "dead")


def test_retries_stop_at_max_attempts(gateway: Gateway, http_receiver: HttpReceiver) -> None:
    settings = DestinationSettings(transport=HttpSettings(url=f"{http_receiver.url}/feeds"), retry=FAST_RETRY)
    _configure(gateway, intercarif=settings)
    gateway.import_offers(base_offer())
    gateway.export("intercarif")
    http_receiver.will(*[Reply.respond(500)] * 3)
    for _ in range(3):
        _make_due(gateway)
        deliver_pending(gateway.database, gateway.config)
    [row] = _transmissions(gateway)
    assert row.status == "dead" and row.attempts == 3


def test_one_failing_destination_does_not_block_another(gateway: Gateway, tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where a folder should be")
    _configure(
        gateway,
        intercarif=DestinationSettings(transport=LocalFolderSettings(path=blocked / "drop"), retry=FAST_RETRY),
        **{"pole-emploi": DestinationSettings(transport=LocalFolderSettings(path=tmp_path / "pe"))},
    )
    gateway.import_offers(base_offer())
    gateway.export()
    report = deliver_pending(gateway.database, gateway.config)
    statuses = {row.destination: row.status for row in _transmissions(gateway)}
    assert statuses == {"intercarif": "dead", "pole-emploi": "sent"}
    assert len(report.sent) == 1 and len(report.dead) == 1


def test_newer_full_feed_supersedes_an_undelivered_one_unless_configured_otherwise(
    gateway: Gateway, tmp_path: Path
) -> None:
    _configure(gateway, intercarif=DestinationSettings(transport=LocalFolderSettings(path=tmp_path / "drop")))
    gateway.import_offers(base_offer())
    gateway.export("intercarif", at=datetime(2026, 11, 27, 8, tzinfo=UTC))
    gateway.import_offers(with_changes(base_offer(), title="BTS MCO"))
    gateway.export("intercarif", at=datetime(2026, 11, 27, 9, tzinfo=UTC))
    first, second = _transmissions(gateway)
    assert (first.status, first.superseded_by, second.status) == ("superseded", second.feed_id, "pending")
    assert deliver_pending(gateway.database, gateway.config).sent == [second.id]

    _configure(
        gateway, intercarif=DestinationSettings(transport=LocalFolderSettings(path=tmp_path / "d2"), supersede=False)
    )
    gateway.import_offers(with_changes(base_offer(), title="BTS MCO 2"))
    gateway.export("intercarif", at=datetime(2026, 11, 27, 10, tzinfo=UTC))
    gateway.import_offers(with_changes(base_offer(), title="BTS MCO 3"))
    gateway.export("intercarif", at=datetime(2026, 11, 27, 11, tzinfo=UTC))
    assert len(deliver_pending(gateway.database, gateway.config).sent) == 2


def test_interrupted_send_goes_back_to_pending(gateway: Gateway, tmp_path: Path) -> None:
    _configure(gateway, intercarif=DestinationSettings(transport=LocalFolderSettings(path=tmp_path / "drop")))
    gateway.import_offers(base_offer())
    gateway.export("intercarif")
    with gateway.database.session() as db, db.begin():
        db.execute(
            update(TransmissionRow).values(
                status="sending", owner="localhost-gone:999999", claimed_at=datetime.now(UTC)
            )
        )
    # A sender on another machine may still be alive: only its age tells.
    assert recover_interrupted(gateway.database) == []
    import socket

    with gateway.database.session() as db, db.begin():
        db.execute(update(TransmissionRow).values(owner=f"{socket.gethostname()}:999999"))
    [row] = _transmissions(gateway)
    assert recover_interrupted(gateway.database) == [row.id]
    [row] = _transmissions(gateway)
    assert row.status == "pending"
    assert [a.outcome for a in _attempts(gateway, row.id)] == ["interrupted"]
    assert deliver_pending(gateway.database, gateway.config).sent == [row.id]


def test_backoff_is_capped_exponential_with_jitter() -> None:
    policy = RetryPolicy(initial_delay_seconds=10, multiplier=2, max_delay_seconds=100, jitter=0.2)
    assert backoff_delay(policy.model_copy(update={"jitter": 0}), 1) == 10
    assert backoff_delay(policy.model_copy(update={"jitter": 0}), 3) == 40
    assert backoff_delay(policy.model_copy(update={"jitter": 0}), 10) == 100
    delays = [backoff_delay(policy, 2) for _ in range(200)]
    assert all(16 <= d <= 24 for d in delays) and len(set(delays)) > 1


def test_cli_transmissions_and_replay(gateway: Gateway, tmp_path: Path) -> None:
    from gateway.cli.app import app

    config = write_config(
        gateway,
        tmp_path,
        """
[destinations.intercarif]
schedule = "0 3 * * *"
[destinations.intercarif.transport]
kind = "local"
path = "../drop"
exists_policy = "fail"
[destinations.intercarif.retry]
max_attempts = 1
""",
    )
    runner = CliRunner()
    gateway.import_offers(base_offer())
    (tmp_path / "drop").write_text("blocks the folder")  # first delivery fails: not a folder
    assert runner.invoke(app, ["-c", str(config), "export", "-d", "intercarif"]).exit_code == 0
    result = runner.invoke(app, ["-c", str(config), "deliver"])
    assert result.exit_code == 1 and "abandonnées 1" in result.output
    listing = runner.invoke(app, ["-c", str(config), "transmissions", "list", "--status", "dead"])
    assert "intercarif" in listing.output and "LOCAL_" in listing.output
    (tmp_path / "drop").unlink()
    result = runner.invoke(
        app, ["-c", str(config), "replay", "--status", "dead", "-d", "intercarif", "--yes", "--by", "bob"]
    )
    assert result.exit_code == 0 and "1 transmission(s) remise(s) en attente" in result.output
    result = runner.invoke(app, ["-c", str(config), "deliver"])
    assert result.exit_code == 0 and "envoyées 1" in result.output
    [row] = _transmissions(gateway)
    shown = runner.invoke(app, ["-c", str(config), "transmissions", "show", str(row.id)])
    assert "dead" in shown.output and "sent (rejeu)" in shown.output and "bob" in shown.output
    with gateway.database.session() as db:
        [entry] = db.scalars(select(AuditRow)).all()
        assert (entry.actor, entry.action, entry.target) == ("bob", "replay", f"transmission:{row.id}")
    assert runner.invoke(app, ["-c", str(config), "transmissions", "list", "--status", "nope"]).exit_code == 2


@pytest.mark.parametrize("status", [Status.SENDING, Status.PENDING])
def test_replay_ignores_transmissions_already_on_their_way(gateway: Gateway, tmp_path: Path, status: Status) -> None:
    _configure(gateway, intercarif=DestinationSettings(transport=LocalFolderSettings(path=tmp_path / "drop")))
    gateway.import_offers(base_offer())
    gateway.export("intercarif")
    with gateway.database.session() as db, db.begin():
        db.execute(update(TransmissionRow).values(status=status))
    [row] = _transmissions(gateway)
    assert replay(gateway.database, [row.id], "carol") == []


def test_progress_is_reported_as_bytes_go_out(gateway: Gateway, http_receiver: HttpReceiver) -> None:
    _configure(gateway, intercarif=DestinationSettings(transport=HttpSettings(url=f"{http_receiver.url}/feeds")))
    synthetic = gateway.root / "many.jsonl"
    from bench.synthetic import write_jsonl
    from gateway.intake.importer import import_file

    write_jsonl(synthetic, 150)
    import_file(gateway.database, synthetic, gateway.config.rules)
    feed = gateway.export("intercarif")["intercarif"].feed
    assert feed is not None and feed.size > 1_000_000  # several chunks of the streamed body
    seen: list[tuple[str, int]] = []
    chunks: list[int] = []

    def on_start(feed_id: str, transmission_id: int, size: int) -> Callable[[int], None]:
        seen.append((feed_id, size))
        return chunks.append

    assert deliver_pending(gateway.database, gateway.config, on_start=on_start).sent
    assert seen == [(f"intercarif_{feed.stem}", feed.size)]
    assert len(chunks) > 1 and sum(chunks) == feed.size


def test_a_poison_feed_never_blocks_newer_feeds(gateway: Gateway, http_receiver: HttpReceiver) -> None:
    settings = DestinationSettings(
        transport=HttpSettings(url=f"{http_receiver.url}/feeds"), retry=FAST_RETRY, supersede=False
    )
    _configure(gateway, intercarif=settings)
    gateway.import_offers(base_offer())
    gateway.export("intercarif", at=datetime(2026, 11, 27, 8, tzinfo=UTC))
    gateway.import_offers(with_changes(base_offer(), title="BTS MCO"))
    gateway.export("intercarif", at=datetime(2026, 11, 27, 9, tzinfo=UTC))
    http_receiver.will(Reply.respond(500, "boom"))  # the older feed fails, the newer one goes through
    report = deliver_pending(gateway.database, gateway.config)
    older, newer = _transmissions(gateway)
    assert (older.status, newer.status) == ("failed", "sent")
    assert report.failed == [older.id] and report.sent == [newer.id]


def test_an_instance_that_cannot_see_the_feed_fails_the_attempt_as_retryable(gateway: Gateway, tmp_path: Path) -> None:
    settings = DestinationSettings(transport=LocalFolderSettings(path=tmp_path / "drop"), retry=FAST_RETRY)
    _configure(gateway, intercarif=settings)
    gateway.import_offers(base_offer())
    gateway.export("intercarif")
    with gateway.database.session() as db:
        [row] = db.scalars(select(TransmissionRow)).all()
        feed = db.get(FeedRow, row.feed_id)
        assert feed is not None and not Path(feed.path).is_absolute()  # relative to the outbox root
    # Another machine's instance: its outbox is a folder where the shared feeds are not mounted.
    elsewhere = gateway.config.model_copy(
        update={"outbox": gateway.config.outbox.model_copy(update={"path": tmp_path / "not-mounted"})}
    )
    for _ in range(FAST_RETRY.max_attempts + 1):
        _make_due(gateway)
        report = deliver_pending(gateway.database, elsewhere)
        assert report.failed and not report.dead  # never killed for that
    with gateway.database.session() as db:
        [row] = db.scalars(select(TransmissionRow)).all()
        assert row.status == "failed" and row.last_error_code == "FEED_NOT_VISIBLE"
        assert "introuvable depuis cette instance" in (row.last_error or "")
    _make_due(gateway)
    assert deliver_pending(gateway.database, gateway.config).sent == [row.id]  # an instance that sees it
