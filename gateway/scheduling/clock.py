"""The scheduler's clock: UTC now, shifted by a test hook.

LHEO_GATEWAY_CLOCK_OFFSET_SECONDS (a test hook, not a setting) shifts this instance's clock, so
the cluster test can run one instance whose clock is 30 s fast. Only the scheduling decision
(which slot is due) reads it; leases and heartbeats use the store's clock.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

OFFSET_ENV = "LHEO_GATEWAY_CLOCK_OFFSET_SECONDS"


def now() -> datetime:
    offset = os.environ.get(OFFSET_ENV, "").strip()
    moment = datetime.now(UTC)
    return moment + timedelta(seconds=float(offset)) if offset else moment
