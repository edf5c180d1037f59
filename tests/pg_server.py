"""A throwaway PostgreSQL server for the tests: initdb into a temporary folder, pg_ctl on 127.0.0.1.

Debian's binaries live under /usr/lib/postgresql/<version>/bin (`scripts/install-test-deps.sh`
installs the `postgresql` package). PostgreSQL refuses to run as root, so under root the cluster
belongs to the `postgres` system user (or `nobody`). Password authentication (scram) over TCP,
like a real deployment; fsync off, since the data is thrown away.
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

USER = "gateway"


@dataclass(frozen=True)
class PgServer:
    host: str
    port: int
    user: str
    password: str
    root: Path
    bin_dir: Path

    def url(self, database: str, *, with_password: bool = True) -> str:
        secret = f":{self.password}" if with_password else ""
        return f"postgresql+psycopg://{self.user}{secret}@{self.host}:{self.port}/{database}"

    def admin(self, sql: str) -> None:
        """Run one statement outside a transaction (CREATE/DROP DATABASE)."""
        import psycopg

        with psycopg.connect(
            host=self.host, port=self.port, user=self.user, password=self.password, dbname="postgres", autocommit=True
        ) as connection:
            connection.execute(sql)  # type: ignore[arg-type]

    def create_database(self, prefix: str = "t") -> str:
        name = f"{prefix}_{secrets.token_hex(6)}"
        self.admin(f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        self.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def postgres_bin_dir() -> Path | None:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[4]))
    return Path(candidates[-1]).parent if candidates else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _run_as() -> tuple[list[str], int | None, int | None]:
    """Command prefix and uid/gid that the cluster runs under."""
    if os.geteuid() != 0:
        return [], None, None
    for name in ("postgres", "nobody"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return ["runuser", "-u", name, "--"], entry.pw_uid, entry.pw_gid
    raise RuntimeError("running as root and no `postgres` or `nobody` user to run PostgreSQL")


@contextmanager
def running_postgres() -> Iterator[PgServer]:
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        raise FileNotFoundError("PostgreSQL binaries not found under /usr/lib/postgresql/*/bin")
    prefix, uid, gid = _run_as()
    root = Path(tempfile.mkdtemp(prefix="lheo-pg-tests-"))
    password = secrets.token_urlsafe(18)
    (root / "pwfile").write_text(password + "\n", encoding="utf-8")
    (root / "sock").mkdir()
    if uid is not None and gid is not None:
        for path in (root, root / "pwfile", root / "sock"):
            os.chown(path, uid, gid)
    data = root / "data"
    port = _free_port()
    quiet: dict[str, object] = {"check": True, "stdout": subprocess.DEVNULL, "stderr": subprocess.PIPE}
    try:
        subprocess.run(
            [
                *prefix,
                str(bin_dir / "initdb"),
                "-D",
                str(data),
                "-U",
                USER,
                f"--pwfile={root / 'pwfile'}",
                "-A",
                "scram-sha-256",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            ],
            **quiet,  # type: ignore[call-overload]
        )
        options = (
            f"-c listen_addresses=127.0.0.1 -p {port} -k {root / 'sock'} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200 "
            "-c log_lock_waits=on -c deadlock_timeout=1s"
        )
        subprocess.run(
            [
                *prefix,
                str(bin_dir / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(root / "server.log"),
                "-o",
                options,
                "-w",
                "-t",
                "60",
                "start",
            ],
            **quiet,  # type: ignore[call-overload]
        )
        yield PgServer("127.0.0.1", port, USER, password, root, bin_dir)
    finally:
        if data.exists():
            subprocess.run(
                [*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                check=False,
            )
        shutil.rmtree(root, ignore_errors=True)
