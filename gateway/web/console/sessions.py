"""Server-side console sessions: the cookie holds a random token, the store only its SHA-256.

A stolen database therefore yields no usable cookie, and a token is only ever minted by the
server at login (a token chosen by someone else is never adopted: no session fixation).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select

from gateway.store.database import Database
from gateway.store.tables import UserRow, WebSessionRow
from gateway.web.users import Role

COOKIE_NAME = "lheo_session"


@dataclass(frozen=True)
class StaffSession:
    """The signed-in member of staff behind a request."""

    token_sha256: str
    user_id: int
    login: str
    role: Role
    csrf_token: str
    expires_at: datetime

    def can(self, needed: Role) -> bool:
        return self.role.allows(needed)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(moment: datetime) -> datetime:
    # SQLite gives naive datetimes back; they were stored in UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def open_session(
    database: Database, user_id: int, hours: float, *, replaces: str | None = None
) -> tuple[str, datetime]:
    """A new session for the user: (cookie token, expiry). Any session of `replaces` (old cookie) ends."""
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    expires_at = now + timedelta(hours=hours)
    with database.session() as db, db.begin():
        db.execute(delete(WebSessionRow).where(WebSessionRow.expires_at <= now))  # housekeeping
        if replaces:
            db.execute(delete(WebSessionRow).where(WebSessionRow.token_sha256 == digest(replaces)))
        db.add(
            WebSessionRow(
                token_sha256=digest(token),
                user_id=user_id,
                csrf_token=secrets.token_urlsafe(32),
                created_at=now,
                expires_at=expires_at,
            )
        )
    return token, expires_at


def load_session(database: Database, token: str | None) -> StaffSession | None:
    """The live session of this cookie token, or None (unknown, expired, or user disabled)."""
    if not token or len(token) > 128:
        return None
    with database.session() as db:
        found = db.execute(
            select(WebSessionRow, UserRow)
            .join(UserRow, UserRow.id == WebSessionRow.user_id)
            .where(WebSessionRow.token_sha256 == digest(token))
        ).first()
        if found is None:
            return None
        session, user = found
        expires_at = _aware(session.expires_at)
        if expires_at <= datetime.now(UTC) or user.disabled_at is not None:
            return None
        return StaffSession(session.token_sha256, user.id, user.login, Role(user.role), session.csrf_token, expires_at)


def close_session(database: Database, token: str | None) -> None:
    if not token:
        return
    with database.session() as db, db.begin():
        db.execute(delete(WebSessionRow).where(WebSessionRow.token_sha256 == digest(token)))
