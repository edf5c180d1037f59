"""`lheo-gateway offers approve` / `offers waiting` and the per-rule explanation in the CLI (issue #8)."""

from __future__ import annotations

from pathlib import Path

from tests.cli.test_cli import _run, _write, config_file  # noqa: F401 - the fixture is used by name
from tests.conftest import base_offer, with_changes

MC_OFFER = with_changes(
    base_offer(),
    diploma={"type": "MC", "valid_until": "2030-08-31"},
    exit_level=4,
    duration_years=1,
    apprenticeship_years=[1],
)


def test_offers_approve_then_export(config_file: Path, tmp_path: Path) -> None:  # noqa: F811
    _run(config_file, "offers", "import", str(_write(tmp_path / "in.jsonl", MC_OFFER)))
    code, out = _run(config_file, "export", "--destination", "parcoursup", "--at", "2026-11-27T08:00:00Z")
    assert code == 0 and "à valider" in out
    code, out = _run(config_file, "offers", "waiting")
    assert code == 0 and "202611270001" in out and "parcoursup" in out
    code, out = _run(config_file, "offers", "show", "202611270001")
    assert "à valider" in out and "offers approve 202611270001 --destination parcoursup" in out
    assert "règle 4" in out  # the MC rule of parcoursup.toml, named in the explanation
    code, out = _run(config_file, "offers", "approve", "202611270001", "--destination", "parcoursup", "--by", "alice")
    assert code == 0 and "approuvée pour parcoursup" in out
    code, out = _run(config_file, "offers", "waiting")
    assert "aucune offre en attente" in out
    code, out = _run(config_file, "export", "--destination", "parcoursup", "--at", "2026-11-27T09:00:00Z")
    assert code == 0
    assert list((tmp_path / "outbox" / "parcoursup").glob("*.xml"))


def test_offers_approve_refuses_unknown_offer_or_destination(config_file: Path) -> None:  # noqa: F811
    code, out = _run(config_file, "offers", "approve", "202611270099", "--destination", "parcoursup")
    assert code == 1 and "introuvable" in out
    code, out = _run(config_file, "offers", "approve", "202611270099", "--destination", "nowhere")
    assert code == 2 and "destination inconnue : nowhere" in out
