"""Recognising unchanged records and preparing them in workers, on both stores."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from gateway.intake import prepare as prepare_module
from gateway.intake.importer import import_file
from gateway.intake.report import Outcome
from gateway.store.tables import OfferRow
from tests.conftest import Gateway


def test_unchanged_records_are_recalled_and_workers_agree(
    gateway: Gateway, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bench.synthetic import write_jsonl

    monkeypatch.setattr("gateway.intake.importer.BATCH_SIZE", 20)
    path = tmp_path / "synthetic.jsonl"
    write_jsonl(path, 70, seed=11)
    first = import_file(gateway.database, path, gateway.config.rules, workers=2)
    assert first.counts()[Outcome.CREATED] == 70
    with gateway.database.session() as db:
        assert len(set(db.scalars(select(OfferRow.intake_digest)))) == 70
    parsed = []
    real = prepare_module.prepare

    def counting(*args: Any, **kwargs: Any) -> Any:
        parsed.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(prepare_module, "prepare", counting)
    again = import_file(gateway.database, path, gateway.config.rules, workers=1)
    assert parsed == [] and {r.outcome for r in again.results} == {Outcome.UNCHANGED}
    assert [r.problems for r in again.results] == [r.problems for r in first.results]
