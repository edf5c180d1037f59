"""The hostile import corpus (tests/hostile/corpus.py), each file imported into a copy of a seeded store.

For each case: the import raises no exception but `InputFileError` (a French message naming
the file and line) and then leaves the store unchanged, or it rejects exactly the hostile
record (its code at its path, in French) and imports the good one; then the next export
works and every feed validates against the official XSD. A subset goes through the real
command line (`test_cli_exit_codes`).
"""

from __future__ import annotations

import pytest
from lxml import etree
from sqlalchemy import select

from gateway.intake.importer import import_file
from gateway.intake.reader import InputFileError
from gateway.intake.report import ImportReport, Outcome
from gateway.pipeline.export import run_export
from gateway.store.tables import OfferRow
from tests.conftest import FIXED_TIME, LHEO_NS, assert_valid_official
from tests.hostile.conftest import CaseGateway, SeededStore, assert_french, store_digest
from tests.hostile.corpus import FRESH, STORED, Case, cases, materialise

CASES = cases()


def test_the_corpus_is_large_and_covers_every_family() -> None:
    assert len(CASES) >= 300
    kinds = {case.name.split("-")[0] for case in CASES}
    assert {"not", "literal", "huge", "deep", "path", "surrogate", "updated", "title", "bom", "update"} <= kinds


def _check_report(case: Case, report: ImportReport, gateway: CaseGateway) -> None:
    by_reference = {result.reference: result for result in report.results}
    for result in report.results:
        for problem in result.problems:
            assert_french(problem.message)
            assert len(problem.message) < 2000 and len(problem.path) < 200
    assert by_reference[FRESH].outcome is Outcome.CREATED if FRESH in by_reference else True
    if case.expect == "accept":
        assert all(r.outcome is not Outcome.REJECTED for r in report.results), [r.problems for r in report.results]
        return
    hostile = [r for r in report.results if r.reference != FRESH]
    if case.expect == "record":
        assert hostile and all(r.outcome is Outcome.REJECTED for r in hostile), report.results
        assert {r.reference for r in hostile} == {case.hostile_reference}
        codes = {(p.code.value, p.path) for r in hostile for p in r.problems}
        if case.message:
            assert any(code == case.message and (case.path is None or path == case.path) for code, path in codes), codes
        assert all(r.kept_last_valid is case.kept_last_valid for r in hostile)
    with gateway.database.session() as db:
        for row in db.scalars(select(OfferRow)):  # PostgreSQL texts refuse NUL: only the escaped payload may hold one
            columns = (row.reference, row.title, row.certifinfo, row.duplicate_key, row.session_references)
            assert all("\x00" not in (value or "") for value in columns), columns
        good = db.get(OfferRow, FRESH)
        assert good is not None and good.accepted, "the good record of the file was not imported"
        stored = db.get(OfferRow, STORED)
        assert stored is not None and stored.accepted, "the stored valid offer lost its valid version"


def _export_validates(gateway: CaseGateway, schema: etree.XMLSchema) -> list[str]:
    results = run_export(gateway.database, gateway.config, exported_at=FIXED_TIME, destinations=["intercarif"])
    exported = []
    for feed in sorted(gateway.config.outbox.path.glob("*/*.xml")):
        assert_valid_official(schema, feed)
        exported += [f.get("numero") or "" for f in etree.parse(str(feed)).iter(f"{{{LHEO_NS}}}formation")]
    assert results and results[0].feed is not None
    return exported


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_hostile_import(
    case: Case, case_gateway: CaseGateway, seeded_store: SeededStore, official_schema: etree.XMLSchema
) -> None:
    path = materialise(case, case_gateway.root / "in")
    if case.expect == "file":
        with pytest.raises(InputFileError) as raised:
            import_file(case_gateway.database, path, case_gateway.config.rules)
        message = str(raised.value)
        assert case.message in message and str(path) in message, message
        assert_french(message)
        assert len(message) < 1000
        assert store_digest(case_gateway.database) == seeded_store.digest
        return
    report = import_file(case_gateway.database, path, case_gateway.config.rules)
    _check_report(case, report, case_gateway)
    exported = _export_validates(case_gateway, official_schema)
    assert STORED in exported, "a hostile file unpublished the stored offer"
