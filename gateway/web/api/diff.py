"""What changed between two feeds of a destination, offer by offer, from the stored fragment digests.

Feeds are never parsed: every run records which offers its feed carries and the SHA-256 of
each offer's fragment (FeedOfferRow), so a diff is three joins on the (run, reference) key.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, and_, func, select
from sqlalchemy.orm import aliased

from gateway.store.tables import FeedOfferRow


@dataclass(frozen=True)
class OfferChanges:
    added: list[str]
    removed: list[str]
    changed: list[str]
    unchanged: int


def _only_in(db: Connection, run_id: int, other_run_id: int) -> list[str]:
    mine, theirs = aliased(FeedOfferRow), aliased(FeedOfferRow)
    query = (
        select(mine.formation_reference)
        .outerjoin(theirs, and_(theirs.run_id == other_run_id, theirs.formation_reference == mine.formation_reference))
        .where(mine.run_id == run_id, theirs.formation_reference.is_(None))
        .order_by(mine.formation_reference)
    )
    return list(db.scalars(query))


def offer_changes(db: Connection, run_id: int, against_run_id: int) -> OfferChanges:
    """Offers of run `run_id`'s feed compared with those of `against_run_id`'s (the reference)."""
    new, old = aliased(FeedOfferRow), aliased(FeedOfferRow)
    both = (
        select(new.formation_reference)
        .join(old, and_(old.run_id == against_run_id, old.formation_reference == new.formation_reference))
        .where(new.run_id == run_id)
    )
    changed = list(db.scalars(both.where(new.fragment_sha256 != old.fragment_sha256).order_by(new.formation_reference)))
    same = db.scalar(
        select(func.count()).select_from(both.where(new.fragment_sha256 == old.fragment_sha256).subquery())
    )
    return OfferChanges(
        added=_only_in(db, run_id, against_run_id),
        removed=_only_in(db, against_run_id, run_id),
        changed=changed,
        unchanged=same or 0,
    )
