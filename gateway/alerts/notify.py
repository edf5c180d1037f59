"""Send one notice: an e-mail over SMTP and/or a JSON POST to a webhook.

Each channel reports its own failure (French message) so the caller can keep the notice
pending and try again at the next check; a secret is never part of a message.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

import httpx

from gateway.alerts.settings import AlertSettings, SecretError


@dataclass(frozen=True)
class Notice:
    event: str  # "opened" or "closed"
    incident_id: int
    destination: str
    kind: str
    kind_label: str
    message: str
    opened_at: str  # ISO 8601, UTC
    closed_at: str | None

    @property
    def subject(self) -> str:
        if self.event == "opened":
            return f"[Passerelle LHÉO] {self.destination} : {self.kind_label}"
        return f"[Passerelle LHÉO] rétabli — {self.destination} : {self.kind_label}"

    def body(self) -> str:
        if self.event == "opened":
            lines = [f"Incident n° {self.incident_id} ouvert le {self.opened_at} (UTC).", "", self.message]
        else:
            lines = [
                f"Incident n° {self.incident_id} clos le {self.closed_at} (UTC), ouvert le {self.opened_at}.",
                "",
                f"Rétabli : {self.message}",
            ]
        lines += ["", "Un seul message à l'ouverture et un seul au rétablissement ; détail dans la console (Alertes)."]
        return "\n".join(lines)

    def payload(self) -> dict[str, Any]:
        return {
            "event": f"alert.{self.event}",
            "incident": self.incident_id,
            "destination": self.destination,
            "kind": self.kind,
            "summary": self.subject,
            "message": self.message,
            "opened_at": self.opened_at,
            "closed_at": self.closed_at,
        }


class NoticeError(Exception):
    """A channel failed; the message is French and says which."""


def send_email(settings: AlertSettings, notice: Notice) -> bool:
    """False when no e-mail is configured for this destination; raises NoticeError on failure."""
    email = settings.email
    recipients = settings.recipients_for(notice.destination)
    if email is None or not recipients:
        return False
    message = EmailMessage()
    message["Subject"] = notice.subject
    message["From"] = email.sender
    message["To"] = ", ".join(recipients)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="lheo-gateway")
    message.set_content(notice.body())
    try:
        password = email.password()
        client: smtplib.SMTP
        if email.security == "ssl":
            client = smtplib.SMTP_SSL(
                email.host, email.port, timeout=email.timeout_seconds, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(email.host, email.port, timeout=email.timeout_seconds)
        with client:
            if email.security == "starttls":
                client.starttls(context=ssl.create_default_context())
            if email.username:
                client.login(email.username, password or "")
            client.send_message(message, to_addrs=recipients)
    except SecretError as exc:
        raise NoticeError(str(exc)) from exc
    except (OSError, smtplib.SMTPException) as exc:
        raise NoticeError(f"e-mail vers {email.host}:{email.port} impossible : {type(exc).__name__}: {exc}") from exc
    return True


def send_webhook(settings: AlertSettings, notice: Notice) -> bool:
    """False when no webhook is configured for this destination; raises NoticeError on failure."""
    url = settings.webhook_url_for(notice.destination)
    if url is None:
        return False
    webhook = settings.webhook
    timeout = webhook.timeout_seconds if webhook else 10.0
    headers = {"User-Agent": "lheo-gateway-alerts"}
    try:
        token = webhook.token() if webhook else None
    except SecretError as exc:
        raise NoticeError(str(exc)) from exc
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        response = httpx.post(url, json=notice.payload(), headers=headers, timeout=timeout)
    except httpx.HTTPError as exc:
        raise NoticeError(f"webhook {url} injoignable : {type(exc).__name__}: {exc}") from exc
    if response.status_code >= 300:
        raise NoticeError(f"webhook {url} a répondu HTTP {response.status_code}")
    return True
