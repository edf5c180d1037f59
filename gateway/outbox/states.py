"""Transmission statuses and the clock and owner names the relay and its recovery share."""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime
from enum import StrEnum

from gateway import clock


class Status(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"  # will be retried
    DEAD = "dead"  # gave up; only a replay sends it again
    SUPERSEDED = "superseded"  # a newer full feed of the destination replaced it


def process_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def utcnow() -> datetime:
    return clock.now()  # shifted by the clock test hook


def _aware(moment: datetime) -> datetime:
    # SQLite returns naive datetimes for timezone-aware columns; they are stored in UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
