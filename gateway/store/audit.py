"""The audit log: who replayed, added partners, changed users, and when."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from gateway.store.tables import AuditRow


def record(db: Session, actor: str, action: str, target: str, detail: str = "") -> None:
    """Add an audit entry in the caller's transaction (so it exists iff the action happened)."""
    db.add(AuditRow(at=datetime.now(UTC), actor=actor, action=action, target=target, detail=detail))
