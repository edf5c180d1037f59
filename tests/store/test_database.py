"""Opening the store: PostgreSQL passwords from the environment or a file, never printed; one
French line and exit code 2 when the driver is missing, the server is down, the password is wrong
or the database does not exist."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from gateway.config import StoreSettings
from gateway.store.database import Database, StoreError, masked, store_url
from tests.conftest import REPO
from tests.pg_server import PgServer


def _config(tmp_path: Path, store_toml: str) -> Path:
    path = tmp_path / "config" / "gateway.toml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(
        f"""
mappings_path = "{REPO / "mappings"}"
[store]
{store_toml}
[outbox]
path = "../outbox"
[validation]
schema_path = "{REPO / "xsd" / "lheo-2.3-gateway.xsd"}"
""",
        encoding="utf-8",
    )
    return path


def _cli(config: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", "--config", str(config), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=REPO,
        timeout=120,
    )


def test_the_store_opens_on_both_kinds_and_says_which(store_url: str, store_kind: str) -> None:
    database = Database(store_url)
    try:
        assert database.dialect == store_kind
        with database.session() as db:
            assert db.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 1
    finally:
        database.close()


def test_password_from_environment_or_file_and_never_printed(pg_server: PgServer, tmp_path: Path) -> None:
    name = pg_server.create_database()
    try:
        url = pg_server.url(name, with_password=False).replace("postgresql+psycopg", "postgresql")
        config = _config(tmp_path, f'url = "{url}"\npassword_env = "LHEO_TEST_PG_PASSWORD"')
        done = _cli(config, "db", "upgrade", env={"LHEO_TEST_PG_PASSWORD": pg_server.password})
        assert done.returncode == 0, done.stderr
        assert pg_server.password not in done.stdout + done.stderr
        assert "***" in done.stdout and name in done.stdout
        secret = tmp_path / "pg-password"
        secret.write_text(pg_server.password + "\n", encoding="utf-8")
        config = _config(tmp_path, f'url = "{url}"\npassword_file = "{secret}"')
        done = _cli(config, "transmissions", "list")
        assert done.returncode == 0, done.stderr
        assert pg_server.password not in done.stdout + done.stderr
    finally:
        pg_server.drop_database(name)


@pytest.mark.parametrize(
    ("problem", "expected"),
    [
        ("bad-password", "mot de passe refusé"),
        ("unknown-database", "n'existe pas"),
        ("server-down", "serveur injoignable"),
        ("no-driver", "installer lheo-gateway[postgresql]"),
        ("unset-variable", "n'est pas définie"),
    ],
)
def test_store_errors_are_one_french_line_exit_2(
    pg_server: PgServer, tmp_path: Path, problem: str, expected: str
) -> None:
    host, port, user = pg_server.host, pg_server.port, pg_server.user
    url = f"postgresql://{user}@{host}:{port}/postgres"
    env = {"LHEO_TEST_PG_PASSWORD": pg_server.password}
    if problem == "bad-password":
        env["LHEO_TEST_PG_PASSWORD"] = "not-the-password"
    elif problem == "unknown-database":
        url = f"postgresql://{user}@{host}:{port}/no_such_database"
    elif problem == "server-down":
        import socket

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            free = probe.getsockname()[1]
        url = f"postgresql://{user}@127.0.0.1:{free}/postgres"
    elif problem == "no-driver":
        url = f"postgresql+pg8000://{user}@{host}:{port}/postgres"  # a driver that is not installed
    elif problem == "unset-variable":
        env = {}
    config = _config(tmp_path, f'url = "{url}"\npassword_env = "LHEO_TEST_PG_PASSWORD"')
    done = _cli(config, "db", "upgrade", env=env)
    assert done.returncode == 2, done.stdout + done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and expected in lines[0], done.stderr
    assert "Traceback" not in done.stderr and pg_server.password not in done.stderr


def test_masked_url_and_password_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert masked("postgresql://u:s3cret@db:5432/g") == "postgresql://u:***@db:5432/g"
    monkeypatch.setenv("PGPW_TEST", "from-env")
    url = store_url(StoreSettings(url="postgresql://u@db/g", password_env="PGPW_TEST"))
    assert url.password == "from-env" and url.drivername == "postgresql+psycopg"
    secret = tmp_path / "pw"
    secret.write_text("from-file\nignored\n", encoding="utf-8")
    assert store_url(StoreSettings(url="postgresql://u@db/g", password_file=secret)).password == "from-file"
    with pytest.raises(StoreError, match="illisible ou vide"):
        store_url(StoreSettings(url="postgresql://u@db/g", password_file=tmp_path / "missing"))
    with pytest.raises(ValueError, match="s'excluent"):
        StoreSettings(url="postgresql://u@db/g", password_env="A", password_file=secret)


def test_three_instances_starting_together_on_an_empty_store_all_migrate(store_url: str, tmp_path: Path) -> None:
    # Every command migrates at start-up: without the advisory lock two of three crash on
    # `CREATE TABLE alembic_version` (PostgreSQL) — a rolling deploy hits the same race.
    config = _config(tmp_path, f'url = "{store_url}"')
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "gateway.cli", "--config", str(config), "db", "upgrade"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
        )
        for _ in range(3)
    ]
    outcomes = [(process.wait(timeout=120), process.communicate()) for process in processes]
    assert [code for code, _ in outcomes] == [0, 0, 0], outcomes
    database = Database(store_url, migrate=False)
    try:
        with database.session() as db:
            assert db.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 1
    finally:
        database.close()
