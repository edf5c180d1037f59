"""Login throttling, per account and per client address (failures kept in the store).

Policy: failures are counted over the last WINDOW (15 minutes). From the 5th failure on an
account (or the 20th from one client address, whatever the accounts), further attempts are
refused — the right password too, and without even checking it — until the last failure is
DELAY × 2^(failures − threshold) old (30 s, 1 min, 2 min… capped at the window). A refused
attempt is not counted, so an attacker cannot keep an account locked forever by hammering
it; a successful login clears the account's failures. The store, not the process, keeps the
count: every gateway process serving the console shares it, and a restart does not reset it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from gateway.store.database import Database
from gateway.store.tables import LoginFailureRow

WINDOW = timedelta(minutes=15)
ACCOUNT_THRESHOLD = 5
ADDRESS_THRESHOLD = 20
DELAY = timedelta(seconds=30)


@dataclass(frozen=True)
class Lock:
    until: datetime

    def seconds_left(self, now: datetime) -> int:
        return max(1, int((self.until - now).total_seconds() + 0.999))

    def message(self, now: datetime) -> str:
        seconds = self.seconds_left(now)
        wait = f"{seconds} s" if seconds < 120 else f"{(seconds + 59) // 60} min"
        return (
            "Trop de tentatives de connexion échouées : la connexion est bloquée temporairement "
            f"(réessayez dans {wait}). Si vous avez oublié votre mot de passe, demandez à un administrateur."
        )


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _lock_for(db: Session, by_account: bool, value: str, threshold: int, now: datetime) -> Lock | None:
    column = LoginFailureRow.login if by_account else LoginFailureRow.client
    count, last = db.execute(
        select(func.count(), func.max(LoginFailureRow.at)).where(column == value, LoginFailureRow.at >= now - WINDOW)
    ).one()
    if count < threshold or last is None:
        return None
    delay = min(WINDOW, DELAY * 2 ** min(count - threshold, 16))
    until = _aware(last) + delay
    return Lock(until) if until > now else None


def _key(login: str) -> str:
    return login.strip().lower()[:128]


def current_lock(database: Database, login: str, client: str, now: datetime | None = None) -> Lock | None:
    """The lock that refuses this attempt, if any (the later of the account's and the address's)."""
    now = now or datetime.now(UTC)
    with database.session() as db:
        locks = [
            _lock_for(db, True, _key(login), ACCOUNT_THRESHOLD, now),
            _lock_for(db, False, client[:64], ADDRESS_THRESHOLD, now),
        ]
    found = [lock for lock in locks if lock is not None]
    return max(found, key=lambda lock: lock.until) if found else None


def record_failure(database: Database, login: str, client: str, now: datetime | None = None) -> None:
    now = now or datetime.now(UTC)
    with database.session() as db, db.begin():
        db.execute(delete(LoginFailureRow).where(LoginFailureRow.at < now - WINDOW))  # forget old ones
        db.execute(insert(LoginFailureRow).values(at=now, login=_key(login), client=client[:64]))


def record_success(database: Database, login: str) -> None:
    with database.session() as db, db.begin():
        db.execute(delete(LoginFailureRow).where(LoginFailureRow.login == _key(login)))
