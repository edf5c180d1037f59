"""Alerts end to end: a real SMTP server (aiosmtpd, with login) and the real HTTP receiver, on 127.0.0.1.

Each incident gives exactly one notice when it starts and one when it recovers, whatever the
number of retries and checks in between.
"""

from __future__ import annotations

import email
import email.policy
import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from sqlalchemy import select, update

from gateway.alerts.check import check_alerts
from gateway.alerts.settings import AlertSettings, DestinationAlerts, EmailSettings, WebhookSettings
from gateway.config import DestinationSettings, RetryPolicy
from gateway.outbox.relay import deliver_pending, replay
from gateway.store.tables import AlertRow, TransmissionRow
from gateway.transports.http_settings import HttpSettings
from tests.conftest import Gateway, base_offer, with_changes
from tests.transports.http_fixtures import http_receiver  # noqa: F401
from tests.transports.http_receiver import HttpReceiver, Reply

SMTP_USER, SMTP_PASSWORD = "gateway", "s3cret-from-env"


@dataclass
class Mailbox:
    port: int
    messages: list[Message] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.content if isinstance(envelope.content, bytes) else str(envelope.content).encode()
        self.messages.append(email.message_from_bytes(content, policy=email.policy.default))
        return "250 OK"

    def authenticate(self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth: Any) -> AuthResult:
        ok = isinstance(auth, LoginPassword) and (auth.login, auth.password) == (b"gateway", SMTP_PASSWORD.encode())
        if ok:
            self.logins.append(auth.login.decode())
        return AuthResult(success=ok)

    def subjects(self) -> list[str]:
        return [str(message["Subject"]) for message in self.messages]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox(_free_port())
    controller = Controller(
        box, hostname="127.0.0.1", port=box.port, authenticator=box.authenticate, auth_require_tls=False
    )
    controller.start()
    yield box
    controller.stop()


def _alerts(mailbox: Mailbox, receiver: HttpReceiver, **changes: Any) -> AlertSettings:
    values: dict[str, Any] = {
        "enabled": True,
        "no_delivery_hours": 24,
        "quarantine_threshold": 100,
        "email": EmailSettings(
            host="127.0.0.1",
            port=mailbox.port,
            security="none",
            username=SMTP_USER,
            password_env="LHEO_TEST_SMTP_PASSWORD",
            sender="passerelle@carif.example",
            recipients=["exploitation@carif.example"],
        ),
        "webhook": WebhookSettings(url=f"{receiver.url}/hooks/alerts"),
    }
    return AlertSettings(**(values | changes))


def _configure(gateway: Gateway, receiver: HttpReceiver, alerts: AlertSettings) -> None:
    intercarif = DestinationSettings(
        transport=HttpSettings(url=f"{receiver.url}/feeds", connect_timeout=2, read_timeout=5),
        retry=RetryPolicy(max_attempts=3, initial_delay_seconds=0.01, max_delay_seconds=0.01, jitter=0),
    )
    gateway.config = gateway.config.model_copy(update={"destinations": {"intercarif": intercarif}, "alerts": alerts})


def _hooks(receiver: HttpReceiver) -> list[dict[str, Any]]:
    return [json.loads(r.body_head) for r in receiver.requests if r.path == "/hooks/alerts"]


def _incidents(gateway: Gateway) -> list[AlertRow]:
    with gateway.database.session() as db:
        return list(db.scalars(select(AlertRow).order_by(AlertRow.id)))


def test_a_dead_transmission_gives_one_notice_then_one_recovery(
    gateway: Gateway,
    mailbox: Mailbox,
    http_receiver: HttpReceiver,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LHEO_TEST_SMTP_PASSWORD", SMTP_PASSWORD)
    _configure(gateway, http_receiver, _alerts(mailbox, http_receiver))
    gateway.import_offers(base_offer())
    gateway.export("intercarif")
    http_receiver.will(*[Reply.respond(503)] * 3)  # three retryable failures: dead after max_attempts
    for _ in range(3):
        deliver_pending(gateway.database, gateway.config)
        with gateway.database.session() as db, db.begin():  # retries due at once
            db.execute(update(TransmissionRow).values(next_attempt_at=datetime.now(UTC) - timedelta(seconds=1)))
        check_alerts(gateway.database, gateway.config)  # checks between retries: nothing to say yet
    [row] = list(_transmissions(gateway))
    assert row.status == "dead"
    for _ in range(3):  # the incident stays open: checked again and again, notified once
        check_alerts(gateway.database, gateway.config)
    assert mailbox.subjects() == ["[Passerelle LHÉO] intercarif : transmission abandonnée"]
    assert mailbox.logins == [SMTP_USER]  # logged in with the password from the environment
    body = mailbox.messages[0].get_payload(decode=True)
    assert isinstance(body, bytes) and f"n° {row.id}" in body.decode()
    assert [(h["event"], h["kind"], h["destination"]) for h in _hooks(http_receiver)] == [
        ("alert.opened", "transmission_dead", "intercarif")
    ]

    # Replayed, delivered: one recovery notice on each channel, and the incident is closed.
    replay(gateway.database, [row.id], "oscar")
    assert deliver_pending(gateway.database, gateway.config).sent
    check_alerts(gateway.database, gateway.config)
    check_alerts(gateway.database, gateway.config)
    assert mailbox.subjects() == [
        "[Passerelle LHÉO] intercarif : transmission abandonnée",
        "[Passerelle LHÉO] rétabli — intercarif : transmission abandonnée",
    ]
    assert [h["event"] for h in _hooks(http_receiver)] == ["alert.opened", "alert.closed"]
    [incident] = _incidents(gateway)
    assert incident.closed_at is not None and incident.closed_notified_at is not None


def test_no_delivery_and_quarantine_thresholds_per_destination(
    gateway: Gateway,
    mailbox: Mailbox,
    http_receiver: HttpReceiver,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LHEO_TEST_SMTP_PASSWORD", SMTP_PASSWORD)
    rules = {"intercarif": DestinationAlerts(no_delivery_hours=12, quarantine_threshold=0)}
    _configure(gateway, http_receiver, _alerts(mailbox, http_receiver, destinations=rules))
    bad = with_changes(base_offer("202611270002", ("00200001",)), responsable__siret="73282932000075")
    gateway.import_offers(base_offer(), bad)
    gateway.export("intercarif")
    assert deliver_pending(gateway.database, gateway.config).sent
    check_alerts(gateway.database, gateway.config)
    assert mailbox.subjects() == ["[Passerelle LHÉO] intercarif : quarantaine au-dessus du seuil"]

    # 13 hours without a successful delivery (threshold 12 h for this destination).
    check_alerts(gateway.database, gateway.config, now=datetime.now(UTC) + timedelta(hours=13))
    assert mailbox.subjects()[-1] == "[Passerelle LHÉO] intercarif : aucune livraison réussie"
    check_alerts(gateway.database, gateway.config, now=datetime.now(UTC) + timedelta(hours=14))
    assert len(mailbox.messages) == 2

    # The offer is fixed and exported again, and that feed is delivered: both incidents recover.
    gateway.import_offers(base_offer("202611270002", ("00200001",)), name="fixed.jsonl")
    gateway.export("intercarif", at=datetime(2026, 11, 28, 8, tzinfo=UTC))
    assert deliver_pending(gateway.database, gateway.config).sent
    check_alerts(gateway.database, gateway.config)
    assert sorted(mailbox.subjects()[2:]) == [
        "[Passerelle LHÉO] rétabli — intercarif : aucune livraison réussie",
        "[Passerelle LHÉO] rétabli — intercarif : quarantaine au-dessus du seuil",
    ]
    assert [h["event"] for h in _hooks(http_receiver)].count("alert.closed") == 2


def test_a_notice_that_cannot_go_is_sent_once_at_the_next_check(
    gateway: Gateway,
    mailbox: Mailbox,
    http_receiver: HttpReceiver,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _configure(gateway, http_receiver, _alerts(mailbox, http_receiver, quarantine_threshold=0))
    bad = with_changes(base_offer("202611270002", ("00200001",)), responsable__siret="73282932000075")
    gateway.import_offers(bad)
    gateway.export("intercarif")
    first = check_alerts(gateway.database, gateway.config)  # the SMTP password is not in the environment yet
    assert first.opened and "LHEO_TEST_SMTP_PASSWORD" in first.errors[0] and SMTP_PASSWORD not in first.errors[0]
    assert mailbox.messages == [] and len(_hooks(http_receiver)) == 1  # the webhook went
    monkeypatch.setenv("LHEO_TEST_SMTP_PASSWORD", SMTP_PASSWORD)
    second = check_alerts(gateway.database, gateway.config)
    assert second.opened == [] and second.errors == []
    assert len(mailbox.messages) == 1 and len(_hooks(http_receiver)) == 1  # e-mail now, webhook not again
    check_alerts(gateway.database, gateway.config)
    assert len(mailbox.messages) == 1


def _transmissions(gateway: Gateway) -> list[TransmissionRow]:
    with gateway.database.session() as db:
        return list(db.scalars(select(TransmissionRow).order_by(TransmissionRow.id)))


def test_the_service_checks_alerts_on_its_own(
    gateway: Gateway,
    http_receiver: HttpReceiver,  # noqa: F811
    tmp_path: Path,
) -> None:
    from gateway.scheduling.service import GatewayService
    from tests.conftest import write_config

    write_config(
        gateway,
        tmp_path,
        f"""
[destinations.intercarif]
schedule = "30 2 * * *"
[destinations.intercarif.transport]
kind = "local"
path = "../drop"
[alerts]
enabled = true
check_interval_seconds = 120
quarantine_threshold = 0
[alerts.webhook]
url = "{http_receiver.url}/hooks/alerts"
""",
    )
    service = GatewayService(gateway.config, gateway.database)
    assert "alertes : toutes les 120 s" in service.schedule()
    assert service.scheduler.get_job("alerts") is not None
    bad = with_changes(base_offer("202611270002", ("00200001",)), responsable__siret="73282932000075")
    gateway.import_offers(bad, base_offer())
    service.export_and_deliver("intercarif")  # the scheduled job: export, deliver, then check
    assert [(h["event"], h["kind"]) for h in _hooks(http_receiver)] == [("alert.opened", "quarantine_high")]
