"""Delete old feed files from the outbox; their manifest rows stay, marked as purged.

A feed goes when it is both older than `keep_days` and outside the `keep_last` newest of its
destination, so a destination that exports rarely still keeps its recent history.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select

from gateway.config import OutboxSettings
from gateway.outbox.paths import feed_file
from gateway.store.database import Database
from gateway.store.tables import FeedRow

log = logging.getLogger(__name__)


def apply_retention(database: Database, settings: OutboxSettings, destination: str, *, now: datetime) -> list[str]:
    """Purge the destination's expired feeds; returns the purged feed ids."""
    cutoff = now - timedelta(days=settings.keep_days)
    purged = []
    with database.session() as db, db.begin():
        feeds = db.scalars(
            select(FeedRow)
            .where(FeedRow.destination == destination, FeedRow.purged_at.is_(None))
            .order_by(FeedRow.exported_at.desc(), FeedRow.id.desc())
        ).all()
        for feed in feeds[settings.keep_last :]:
            exported_at = feed.exported_at if feed.exported_at.tzinfo else feed.exported_at.replace(tzinfo=now.tzinfo)
            if exported_at >= cutoff:
                continue
            for path in (feed_file(settings.path, feed.path), feed_file(settings.path, feed.gz_path)):
                path.unlink(missing_ok=True)
            feed.purged_at = now
            purged.append(feed.id)
            log.info("retention: purged feed %s", feed.id)
    return purged
