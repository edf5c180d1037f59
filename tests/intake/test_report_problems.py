"""The import report reads each stored row's problems only when they are asked for."""

from __future__ import annotations

import pytest

from gateway.intake import report as report_module
from gateway.intake.report import StoredProblems
from gateway.problems import Code, warning
from gateway.store.queries import dump_problems
from tests.conftest import Gateway, base_offer, with_changes


def test_stored_problems_behave_like_the_list_they_encode() -> None:
    problems = [
        warning(Code.DUPLICATE_SUSPECTED, "reference", "Doublon probable : même certification."),
        warning(Code.FORMATION_REFERENCE_REPEATED, "reference", "La référence apparaît deux fois."),
    ]
    stored = StoredProblems(dump_problems(problems))
    assert stored and len(stored) == 2
    assert stored == problems and problems == stored
    assert list(stored) == problems and stored[1] == problems[1] and list(stored[:1]) == problems[:1]
    assert stored != problems[:1]
    empty = StoredProblems(dump_problems([]))
    assert not empty and empty == [] and len(empty) == 0 and list(empty) == []
    assert not StoredProblems(" [ ]\n")


def test_unchanged_rows_of_a_report_are_not_parsed_until_read(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    offer = with_changes(base_offer(), responsable__siret="73282932000075")  # rejected, one problem
    gateway.import_offers(offer)
    calls: list[str] = []
    real = report_module.load_problems_json
    monkeypatch.setattr(report_module, "load_problems_json", lambda text: calls.append(text) or real(text))
    report = gateway.import_offers(offer)
    [result] = report.results
    assert result.outcome.value == "rejected" and bool(result.problems) and calls == []
    [problem] = result.problems
    assert problem.code is Code.SIRET_CHECKSUM and len(calls) == 1
    assert [p.code for p in result.problems] == [Code.SIRET_CHECKSUM] and len(calls) == 1  # parsed once
