"""Staff accounts: `lheo-gateway users ...`, argon2id hashes (never the password), audit rows."""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Protocol

import pytest
import typer
from argon2 import PasswordHasher, Type
from sqlalchemy import select
from typer.testing import CliRunner, Result

from gateway.cli import user_commands
from gateway.cli.context import Context
from gateway.store.database import Database
from gateway.store.tables import AuditRow, UserRow, WebSessionRow
from gateway.web import users
from gateway.web.console.sessions import open_session

PASSWORD = "correct horse battery staple"


class Invoke(Protocol):
    def __call__(self, *args: str, input: str | None = None) -> Result: ...


def _cli() -> typer.Typer:
    """The real CLI once `users` is wired into it; until then the same commands on a bare app."""
    from gateway.cli.app import app

    if any(group.name == "users" for group in app.registered_groups):
        return app
    bare = typer.Typer()

    @bare.callback()
    def main(ctx: typer.Context, config: Annotated[Path, typer.Option("--config", "-c")]) -> None:
        ctx.obj = Context(config)

    user_commands.register(bare)
    return bare


@pytest.fixture
def light_hashes(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """argon2id with light parameters; `test_production_hashes_are_argon2id_*` checks the real ones."""
    monkeypatch.setattr(users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    users._dummy_hash.cache_clear()
    yield
    users._dummy_hash.cache_clear()


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'gateway.sqlite3'}")
    yield database
    database.close()


@pytest.fixture
def run(tmp_path: Path, database: Database, light_hashes: None) -> Iterator[Invoke]:
    config = tmp_path / "gateway.toml"
    config.write_text(f'[store]\nurl = "{database.engine.url.render_as_string(hide_password=False)}"\n')
    app = _cli()
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None) -> Result:
        return runner.invoke(app, ["-c", str(config), "users", *args], input=input)

    yield invoke


def _user(database: Database, login: str) -> UserRow:
    with database.session() as db:
        return db.scalars(select(UserRow).where(UserRow.login == login)).one()


def _audit(database: Database) -> list[tuple[str, str, str, str]]:
    with database.session() as db:
        return [(a.actor, a.action, a.target, a.detail) for a in db.scalars(select(AuditRow).order_by(AuditRow.id))]


def test_add_from_stdin_stores_only_an_argon2id_hash_and_audits(run: Invoke, database: Database) -> None:
    result = run("add", "Alice", "--role", "operator", "--password-stdin", "--by", "root", input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert "alice (operator)" in result.output  # logins are case-insensitive, stored lower-case
    row = _user(database, "alice")
    assert row.role == "operator" and row.disabled_at is None
    assert row.password_hash.startswith("$argon2id$") and PASSWORD not in row.password_hash
    assert users._hasher.verify(row.password_hash, PASSWORD)
    assert _audit(database) == [("root", "user.add", "user:alice", "role=operator")]


def test_add_asks_the_password_twice_without_echo(run: Invoke, database: Database) -> None:
    result = run("add", "bob", "--role", "viewer", input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output  # hidden prompt: nothing echoed
    assert "Confirmez le mot de passe" in result.output
    mismatch = run("add", "carol", input=f"{PASSWORD}\nsomething else entirely\n")
    assert mismatch.exit_code != 0
    assert [row.login for row in users.list_users(database)] == ["bob"]
    # Without --by, the OS user is the actor.
    assert _audit(database)[0][0] == getpass.getuser()


@pytest.mark.parametrize(
    ("args", "password", "message"),
    [
        (("add", "dave"), "short", "au moins 12 caractères"),
        (("add", "no spaces allowed"), PASSWORD, "identifiant invalide"),
    ],
)
def test_add_refuses_bad_input(
    run: Invoke, database: Database, args: tuple[str, ...], password: str, message: str
) -> None:
    result = run(*args, "--password-stdin", input=password + "\n")
    assert result.exit_code == 1 and message in result.output
    assert users.list_users(database) == [] and _audit(database) == []


def test_duplicate_and_unknown_role_are_refused(run: Invoke, database: Database) -> None:
    assert run("add", "erin", "--password-stdin", input=PASSWORD + "\n").exit_code == 0
    again = run("add", "erin", "--password-stdin", input=PASSWORD + "\n")
    assert again.exit_code == 1 and "existe déjà" in again.output
    assert run("add", "fred", "--role", "superuser", "--password-stdin", input=PASSWORD + "\n").exit_code == 2


def test_list_set_role_and_disable_are_audited(run: Invoke, database: Database) -> None:
    for login, role in (("ada", "admin"), ("oscar", "operator")):
        assert (
            run("add", login, "--role", role, "--password-stdin", "--by", "root", input=PASSWORD + "\n").exit_code == 0
        )
    assert run("set-role", "oscar", "admin", "--by", "ada").exit_code == 0
    assert _user(database, "oscar").role == "admin"
    open_session(database, _user(database, "oscar").id, 8)
    result = run("disable", "oscar", "--by", "ada")
    assert result.exit_code == 0, result.output
    assert _user(database, "oscar").disabled_at is not None
    with database.session() as db:
        assert db.scalars(select(WebSessionRow)).all() == []  # open sessions end with the account
    assert run("disable", "oscar").exit_code == 1  # already disabled
    assert run("disable", "nobody").exit_code == 1
    listing = run("list")
    assert listing.exit_code == 0
    assert "ada" in listing.output and "actif" in listing.output and "désactivé le" in listing.output
    assert _audit(database)[2:] == [
        ("ada", "user.set-role", "user:oscar", "operator -> admin"),
        ("ada", "user.disable", "user:oscar", ""),
    ]


def test_the_last_active_admin_cannot_be_removed(run: Invoke, database: Database) -> None:
    assert run("add", "ada", "--role", "admin", "--password-stdin", input=PASSWORD + "\n").exit_code == 0
    demote = run("set-role", "ada", "viewer")
    assert demote.exit_code == 1 and "dernier administrateur" in demote.output
    assert run("disable", "ada").exit_code == 1
    assert _user(database, "ada").role == "admin"


def test_authenticate(database: Database, light_hashes: None) -> None:
    users.add_user(database, "ada", "admin", PASSWORD, actor="test")
    assert users.authenticate(database, "ada", PASSWORD) is not None
    assert users.authenticate(database, " ADA ", PASSWORD) is not None
    assert users.authenticate(database, "ada", PASSWORD + "!") is None
    assert users.authenticate(database, "nobody", PASSWORD) is None
    users.add_user(database, "root", "admin", PASSWORD, actor="test")
    users.disable_user(database, "ada", actor="test")
    assert users.authenticate(database, "ada", PASSWORD) is None


def test_production_hashes_are_argon2id_and_old_parameters_are_upgraded(database: Database) -> None:
    hasher = users._hasher
    assert hasher.type is Type.ID and hasher.memory_cost >= 65536 and hasher.time_cost >= 2
    weak = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(PASSWORD)
    with database.session() as db, db.begin():
        db.add(UserRow(login="ada", password_hash=weak, role="admin", created_at=datetime.now(UTC)))
    assert users.authenticate(database, "ada", PASSWORD) is not None
    upgraded = _user(database, "ada").password_hash
    assert upgraded != weak and upgraded.startswith(f"$argon2id$v=19$m={hasher.memory_cost},t={hasher.time_cost},")
