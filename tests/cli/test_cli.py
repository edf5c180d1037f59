"""The `lheo-gateway` command line, driven as a user would (config file, exit codes, printed text)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree
from typer.testing import CliRunner

from gateway.cli.app import app
from tests.conftest import OFFICIAL_XSD, REPO, assert_valid_official, base_offer, standalone_config, with_changes

runner = CliRunner()


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    return standalone_config(tmp_path)


def _run(config: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["--config", str(config), *args], catch_exceptions=False)
    return result.exit_code, result.output


def _write(path: Path, *offers: dict[str, object]) -> Path:
    path.write_text("".join(json.dumps(o, ensure_ascii=False) + "\n" for o in offers), encoding="utf-8")
    return path


def test_import_list_show_export_round_trip(
    config_file: Path, tmp_path: Path, official_schema: etree.XMLSchema
) -> None:
    bad = with_changes(base_offer("202611270002", ("00100002",)), responsable__siret="73282932000075")
    offers = _write(tmp_path / "offers.jsonl", base_offer(), bad)
    code, out = _run(config_file, "offers", "import", str(offers))
    assert code == 0, out
    assert "SIRET_CHECKSUM" in out and "rejetée 1" in out and "créée 1" in out
    assert _run(config_file, "offers", "import", str(offers), "--strict")[0] == 1

    code, out = _run(config_file, "offers", "list")
    assert code == 0 and "202611270001" in out and "SIRET_CHECKSUM" in out

    code, out = _run(config_file, "export", "--at", "2026-11-27T08:00:00Z")
    assert code == 0, out
    assert "pole-emploi" in out and "Quarantaine" in out
    feeds = sorted((tmp_path / "outbox").glob("*/*.xml"))
    assert {feed.parent.name for feed in feeds} == {"pole-emploi", "intercarif", "parcoursup"}
    for feed in feeds:
        assert_valid_official(official_schema, feed)

    code, out = _run(config_file, "offers", "show", "202611270002")
    assert code == 0 and "SIRET_CHECKSUM" in out and "non" in out
    code, out = _run(config_file, "offers", "show", "202611270001")
    assert code == 0 and "intercarif" in out and "oui" in out
    assert _run(config_file, "offers", "show", "999999999999")[0] == 1

    code, out = _run(config_file, "feeds", "list")
    assert code == 0 and "intercarif_20261127T080000Z_" in out


def test_malformed_file_is_a_clear_error_and_changes_nothing(config_file: Path, tmp_path: Path) -> None:
    path = tmp_path / "broken.jsonl"
    path.write_text(json.dumps(base_offer()) + "\nnot json\n", encoding="utf-8")
    code, out = _run(config_file, "offers", "import", str(path))
    assert code == 2
    assert "ligne 2" in out and "aucune offre n'a été importée" in out
    code, out = _run(config_file, "offers", "list")
    assert "202611270001" not in out


def test_dry_run_explains_and_writes_nothing(config_file: Path, tmp_path: Path) -> None:
    _run(config_file, "offers", "import", str(_write(tmp_path / "o.jsonl", with_changes(base_offer(), exit_level=3))))
    code, out = _run(config_file, "export", "--dry-run", "--destination", "parcoursup")
    assert code == 0, out
    assert "hors périmètre" in out and "niveau de sortie" in out
    assert not list((tmp_path / "outbox").rglob("*.xml"))


def test_unknown_destination_is_reported(config_file: Path) -> None:
    code, out = _run(config_file, "export", "--destination", "nowhere")
    assert code == 2 and "destination inconnue : nowhere" in out and "parcoursup" in out


def test_schema_command_publishes_the_input_format(config_file: Path) -> None:
    code, out = _run(config_file, "offers", "schema")
    schema = json.loads(out)
    assert code == 0
    assert {"reference", "status", "title", "certifinfo", "modalities", "sessions"} <= set(schema["properties"])
    assert schema["additionalProperties"] is False


def test_demo_job_as_an_installed_command(tmp_path: Path, official_schema: etree.XMLSchema) -> None:
    """The README's main job: bundled samples in, one valid feed per destination out, quarantine shown."""
    assert OFFICIAL_XSD.exists()
    workdir = tmp_path / "work"
    (workdir / "config").mkdir(parents=True)
    (workdir / "config" / "gateway.toml").write_text(
        (REPO / "config" / "gateway.toml")
        .read_text(encoding="utf-8")
        .replace('"../mappings"', f'"{REPO / "mappings"}"')
        .replace('"../xsd/lheo-2.3-gateway.xsd"', f'"{REPO / "xsd" / "lheo-2.3-gateway.xsd"}"'),
        encoding="utf-8",
    )
    command = [sys.executable, "-m", "gateway.cli", "demo", "--at", "2026-11-27T08:00:00Z"]
    env = dict(os.environ, COLUMNS="200")
    done = subprocess.run(command, cwd=workdir, capture_output=True, text=True, env=env, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "Quarantaine" in done.stdout and "SIRET_CHECKSUM" in done.stdout
    feeds = sorted((workdir / "outbox").glob("*/*.xml"))
    assert {feed.parent.name for feed in feeds} == {"pole-emploi", "parcoursup", "affelnet", "intercarif"}
    for feed in feeds:
        assert_valid_official(official_schema, feed)
    # Delivered into the embedded default's local folders, byte for byte.
    assert "Transmission" in done.stdout
    for feed in feeds:
        delivered = workdir / "var" / "deliveries" / feed.parent.name / feed.name
        assert delivered.read_bytes() == feed.read_bytes()
    # Same samples, same clock: a second run gives the very same files.
    again = subprocess.run(command, cwd=workdir, capture_output=True, text=True, env=env, timeout=120, check=False)
    assert again.returncode == 0, again.stderr
    assert sorted((workdir / "outbox").glob("*/*.xml")) == feeds


def test_export_says_what_the_cache_reused_and_no_cache_forces_a_cold_run(config_file: Path, tmp_path: Path) -> None:
    offers = _write(tmp_path / "offers.jsonl", base_offer(), base_offer("202611270002", ("00100002",)))
    assert _run(config_file, "offers", "import", str(offers))[0] == 0
    code, out = _run(config_file, "export", "-d", "intercarif", "--at", "2026-11-27T08:00:00Z")
    assert code == 0 and "repris / recalculés" in out and "0 / 2" in out, out
    code, out = _run(config_file, "export", "-d", "intercarif", "--at", "2026-11-28T08:00:00Z")
    assert code == 0 and "2 / 0" in out, out
    code, out = _run(config_file, "export", "-d", "intercarif", "--at", "2026-11-29T08:00:00Z", "--no-cache")
    assert code == 0 and "0 / 2" in out, out
    first, second, third = sorted((tmp_path / "outbox" / "intercarif").glob("*.xml"))
    # The feeds differ only by their export time (the document's head), cached or not.
    assert first.read_bytes().split(b"\n", 2)[2] == second.read_bytes().split(b"\n", 2)[2]
    assert second.read_bytes().split(b"\n", 2)[2] == third.read_bytes().split(b"\n", 2)[2]
