"""Every ordinary mistake on the command line: one clear French line on stderr, exit code 2, no traceback."""

from __future__ import annotations

import os
import pty
import select
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gateway.cli.app import app
from tests.cli.test_cli import _write, config_file  # noqa: F401
from tests.conftest import REPO, base_offer

runner = CliRunner()
KNOWN = "destinations connues : affelnet, intercarif, parcoursup, pole-emploi"


def _fails(config: Path | None, *args: str) -> str:
    """Run, expect exit 2 and exactly one line on stderr (no traceback); return that line."""
    options = ["--config", str(config)] if config else []
    result = runner.invoke(app, [*options, *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    assert lines[0].startswith("erreur : ")
    return lines[0]


def test_export_at_yesterday(config_file: Path) -> None:  # noqa: F811
    line = _fails(config_file, "export", "--at", "yesterday")
    assert "--at : « yesterday » n'est pas une date ISO 8601" in line and "2026-11-27T08:00:00Z" in line


@pytest.mark.parametrize("value", ["9999-12-31T23:00:00-05:00", "3000-01-01", "1969-12-31T23:59:59Z", "0001-01-01"])
def test_export_at_outside_the_admitted_years(config_file: Path, value: str) -> None:  # noqa: F811
    line = _fails(config_file, "export", "--at", value)
    assert f"--at : « {value} » est hors des années admises (1970 à 2999" in line


def test_export_at_the_edges_of_the_admitted_years() -> None:
    from gateway.cli.arguments import parse_moment

    assert parse_moment("1970-01-01T00:00:00Z", "--at") is not None
    assert parse_moment("2999-12-31T23:59:59Z", "--at") is not None


def test_source_date_epoch_that_is_not_a_number(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "hier")
    assert "SOURCE_DATE_EPOCH" in _fails(config_file, "export")


def test_transmissions_since_in_french_format(config_file: Path) -> None:  # noqa: F811
    assert "--since : « 01/11/2026 » n'est pas une date ISO 8601" in _fails(
        config_file, "transmissions", "list", "--since", "01/11/2026"
    )


@pytest.mark.parametrize(
    "args",
    [
        ("transmissions", "list", "-d", "parcoursupp"),
        ("feeds", "list", "-d", "parcoursupp"),
        ("replay", "--status", "dead", "-d", "parcoursupp", "--yes"),
        ("export", "-d", "parcoursupp"),
        ("offers", "list", "-d", "parcoursupp", "--presence", "in"),
        ("offers", "approve", "202611270001", "-d", "parcoursupp"),
        ("offers", "waiting", "-d", "parcoursupp"),
    ],
)
def test_unknown_destination_lists_the_known_ones(config_file: Path, args: tuple[str, ...]) -> None:  # noqa: F811
    assert f"destination inconnue : parcoursupp ({KNOWN})" in _fails(config_file, *args)


def test_replay_of_an_unknown_transmission(config_file: Path) -> None:  # noqa: F811
    line = _fails(config_file, "replay", "99999")
    assert "transmission(s) inconnue(s) : 99999" in line


def test_replay_of_an_id_no_store_can_hold(config_file: Path) -> None:  # noqa: F811
    huge = "9" * 23  # beyond a 64-bit integer: unknown, not a driver overflow
    assert f"transmission(s) inconnue(s) : {huge}" in _fails(config_file, "replay", huge)


def test_offers_list_presence_without_destination(config_file: Path) -> None:  # noqa: F811
    assert "choisissez une destination" in _fails(config_file, "offers", "list", "--presence", "in")


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


@pytest.mark.parametrize("command", [("serve",), ("run", "--retry-poll", "3600")])
def test_second_run_or_serve_on_a_busy_port(config_file: Path, busy_port: int, command: tuple[str, ...]) -> None:  # noqa: F811
    with config_file.open("a", encoding="utf-8") as toml:
        toml.write(f"[web]\nport = {busy_port}\n")
    line = _fails(config_file, *command)
    assert f"le port {busy_port} de 127.0.0.1 est déjà utilisé" in line


def test_no_config_found_creates_no_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LHEO_GATEWAY_CONFIG", raising=False)
    line = _fails(None, "offers", "list")
    assert f"aucune configuration : {tmp_path / 'config' / 'gateway.toml'} est introuvable" in line
    assert "--config" in line
    assert list(tmp_path.iterdir()) == []  # no var/gateway.sqlite3 created on the way


def test_config_from_the_environment(config_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LHEO_GATEWAY_CONFIG", str(config_file))
    assert runner.invoke(app, ["offers", "list"]).exit_code == 0


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.startswith("lheo-gateway 0.")


def test_cli_times_say_their_zone(config_file: Path, tmp_path: Path) -> None:  # noqa: F811
    _write(tmp_path / "offers.jsonl", base_offer())
    assert (
        runner.invoke(app, ["-c", str(config_file), "offers", "import", str(tmp_path / "offers.jsonl")]).exit_code == 0
    )
    shown = runner.invoke(app, ["-c", str(config_file), "offers", "show", "202611270001"]).output
    assert " CET" in shown or " CEST" in shown


def _in_terminal(config: Path, *args: str) -> str:
    """Run the installed CLI with its stdout on a pseudo-terminal, as in an interactive shell."""
    master, slave = pty.openpty()
    env = dict(os.environ, COLUMNS="160", TERM="xterm")
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "-c", str(config), *args],
        stdout=slave,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env=env,
        cwd=REPO,
    )
    os.close(slave)
    chunks = []
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        if not ready:
            break
        try:
            data = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    process.wait(timeout=60)
    os.close(master)
    assert process.returncode == 0, process.stderr.read() if process.stderr else ""
    return b"".join(chunks).decode("utf-8", "replace")


def test_export_shows_progress_in_a_terminal_only(config_file: Path, tmp_path: Path) -> None:  # noqa: F811
    _write(tmp_path / "offers.jsonl", *(base_offer(f"20261127{n:04d}", (f"0010{n:04d}",)) for n in range(1, 6)))
    assert (
        runner.invoke(app, ["-c", str(config_file), "offers", "import", str(tmp_path / "offers.jsonl")]).exit_code == 0
    )
    shown = _in_terminal(config_file, "export", "-d", "intercarif")
    assert "intercarif" in shown and "5/5" in shown and "offres" in shown and "reste" in shown
    piped = runner.invoke(app, ["-c", str(config_file), "export", "-d", "intercarif", "--at", "2026-11-28"]).output
    assert "5/5" not in piped and "reste" not in piped


def test_offers_list_search_from_the_cli(config_file: Path, tmp_path: Path) -> None:  # noqa: F811
    from tests.conftest import with_changes

    macon = with_changes(base_offer("202611270010", ("00110001",)), title="CAP Maçon")
    _write(tmp_path / "offers.jsonl", macon, base_offer())
    assert (
        runner.invoke(app, ["-c", str(config_file), "offers", "import", str(tmp_path / "offers.jsonl")]).exit_code == 0
    )
    found = runner.invoke(app, ["-c", str(config_file), "offers", "list", "--search", "cap macon"])
    assert found.exit_code == 0 and "202611270010" in found.output and "202611270001" not in found.output
    assert "Offres (1 sur 1)" in found.output
    by_town = runner.invoke(app, ["-c", str(config_file), "offers", "list", "--town", "bordeaux", "--sort", "title"])
    assert by_town.output.index("202611270001") < by_town.output.index("202611270010")  # BTS… before CAP…
    assert "tri inconnu" in _fails(config_file, "offers", "list", "--sort", "price")
