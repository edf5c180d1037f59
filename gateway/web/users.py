"""Staff accounts of the console: argon2id hashes, roles, and the audited changes to them.

Shared by the web console (login, the admin's Users page) and `lheo-gateway users`. Every
change is written with its audit entry in the same transaction. Passwords are never stored
nor logged; only their argon2id hash (with its parameters, so they can be raised later).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from gateway.store import audit
from gateway.store.database import Database
from gateway.store.tables import UserRow, WebSessionRow

MIN_PASSWORD_LENGTH = 12
LOGIN_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,63}$")


class Role(StrEnum):
    VIEWER = "viewer"  # reads everything
    OPERATOR = "operator"  # + replays transmissions
    ADMIN = "admin"  # + manages users

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def allows(self, needed: Role) -> bool:
        return self.rank >= needed.rank

    @property
    def label(self) -> str:
        return {"viewer": "lecture seule", "operator": "opérateur", "admin": "administrateur"}[self.value]


class UserError(Exception):
    """A user change that cannot be made; the message is French, for staff."""


@dataclass(frozen=True)
class User:
    id: int
    login: str
    role: Role
    created_at: datetime
    disabled_at: datetime | None

    @property
    def active(self) -> bool:
        return self.disabled_at is None


# argon2-cffi's defaults are argon2id with RFC 9106's low-memory profile.
_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


@cache
def _dummy_hash() -> str:
    return _hasher.hash("not a password: only spends the time a real check would")


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def check_password_policy(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"le mot de passe doit compter au moins {MIN_PASSWORD_LENGTH} caractères")
    if password != password.strip():
        raise UserError("le mot de passe ne doit pas commencer ni finir par une espace")


def parse_role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise UserError(f"rôle inconnu : {value} (viewer, operator ou admin)") from None


def _to_user(row: UserRow) -> User:
    return User(row.id, row.login, Role(row.role), row.created_at, row.disabled_at)


def _find(db: Session, login: str) -> UserRow:
    row = db.scalar(select(UserRow).where(UserRow.login == login))
    if row is None:
        raise UserError(f"utilisateur inconnu : {login}")
    return row


def _other_active_admins(db: Session, login: str) -> int:
    return (
        db.scalar(
            select(func.count())
            .select_from(UserRow)
            .where(UserRow.role == Role.ADMIN, UserRow.disabled_at.is_(None), UserRow.login != login)
        )
        or 0
    )


def authenticate(database: Database, login: str, password: str) -> User | None:
    """The active user with these credentials, or None; as slow for an unknown login as for a known one."""
    with database.session() as db, db.begin():
        row = db.scalar(select(UserRow).where(UserRow.login == login.strip().lower()))
        if row is None:
            _verify(_dummy_hash(), password)
            return None
        if not _verify(row.password_hash, password) or row.disabled_at is not None:
            return None
        if _hasher.check_needs_rehash(row.password_hash):
            row.password_hash = _hasher.hash(password)  # parameters were raised since it was set
        return _to_user(row)


def add_user(database: Database, login: str, role: str, password: str, *, actor: str) -> User:
    login = login.strip().lower()
    if not LOGIN_PATTERN.match(login):
        raise UserError("identifiant invalide : 2 à 64 caractères parmi a-z, 0-9, « . _ @ - »")
    parsed = parse_role(role)
    check_password_policy(password)
    password_hash = hash_password(password)  # before the transaction: hashing takes a while
    with database.session() as db, db.begin():
        if db.scalar(select(UserRow.id).where(UserRow.login == login)) is not None:
            raise UserError(f"l'utilisateur {login} existe déjà")
        row = UserRow(login=login, password_hash=password_hash, role=parsed, created_at=datetime.now(UTC))
        db.add(row)
        db.flush()
        audit.record(db, actor, "user.add", f"user:{login}", f"role={parsed}")
        return _to_user(row)


def list_users(database: Database) -> list[User]:
    with database.session() as db:
        return [_to_user(row) for row in db.scalars(select(UserRow).order_by(UserRow.login))]


def get_user(database: Database, login: str) -> User | None:
    with database.session() as db:
        row = db.scalar(select(UserRow).where(UserRow.login == login))
        return None if row is None else _to_user(row)


def disable_user(database: Database, login: str, *, actor: str) -> User:
    """Disable the account and end its open console sessions at once."""
    with database.session() as db, db.begin():
        row = _find(db, login)
        if row.disabled_at is not None:
            raise UserError(f"l'utilisateur {login} est déjà désactivé")
        if row.role == Role.ADMIN and _other_active_admins(db, login) == 0:
            raise UserError("impossible de désactiver le dernier administrateur actif")
        row.disabled_at = datetime.now(UTC)
        db.execute(delete(WebSessionRow).where(WebSessionRow.user_id == row.id))
        audit.record(db, actor, "user.disable", f"user:{login}")
        return _to_user(row)


def set_role(database: Database, login: str, role: str, *, actor: str) -> User:
    parsed = parse_role(role)
    with database.session() as db, db.begin():
        row = _find(db, login)
        previous = row.role
        if previous == parsed:
            return _to_user(row)
        if previous == Role.ADMIN and row.disabled_at is None and _other_active_admins(db, login) == 0:
            raise UserError("impossible de retirer son rôle au dernier administrateur actif")
        row.role = parsed
        audit.record(db, actor, "user.set-role", f"user:{login}", f"{previous} -> {parsed}")
        return _to_user(row)
