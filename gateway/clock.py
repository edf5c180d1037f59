"""This instance's clock: UTC now, shifted by a test hook; and the host name it reports.

LHEO_GATEWAY_CLOCK_OFFSET_SECONDS (a test hook, not a setting) shifts this instance's clock, so
the cluster test can run one instance whose clock is 30 s fast: its transmission timestamps and
retry decisions use it. Which slot is due, leases and heartbeats use the store's clock instead
(the PostgreSQL server's `now()`), so such an instance still runs no slot early or twice.

LHEO_GATEWAY_INSTANCE_HOST overrides the host name an instance registers with (containers that
share a host name; the cluster test, to make instances on one machine look like machines).
"""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime, timedelta

OFFSET_ENV = "LHEO_GATEWAY_CLOCK_OFFSET_SECONDS"


def now() -> datetime:
    offset = os.environ.get(OFFSET_ENV, "").strip()
    moment = datetime.now(UTC)
    return moment + timedelta(seconds=float(offset)) if offset else moment


def host_name() -> str:
    return os.environ.get("LHEO_GATEWAY_INSTANCE_HOST", "").strip() or socket.gethostname()
