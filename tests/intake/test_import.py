"""Importing offers files: formats, idempotent upserts, rejected records kept, malformed files change nothing."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from gateway.intake.importer import import_file
from gateway.intake.reader import InputFileError
from gateway.store.queries import load_problems
from gateway.store.tables import ImportRejectionRow, OfferRow
from tests.conftest import Gateway, base_offer, with_changes


def _count(gateway: Gateway, table: type) -> int:
    with gateway.database.session() as db:
        return db.scalar(select(func.count()).select_from(table)) or 0


def test_import_is_an_idempotent_upsert_by_reference(gateway: Gateway) -> None:
    first = gateway.import_offers(base_offer())
    assert [r.outcome.value for r in first.results] == ["created"]
    again = gateway.import_offers(base_offer())
    assert [r.outcome.value for r in again.results] == ["unchanged"]
    changed = gateway.import_offers(with_changes(base_offer(), title="BTS MCO"))
    assert [r.outcome.value for r in changed.results] == ["updated"]
    assert _count(gateway, OfferRow) == 1
    with gateway.database.session() as db:
        row = db.get(OfferRow, "202611270001")
        assert row is not None and row.title == "BTS MCO"


def test_json_array_and_wrapped_documents_are_read(gateway: Gateway) -> None:
    array = gateway.root / "offers.json"
    array.write_text(json.dumps([base_offer("202611270001"), base_offer("202611270002", ("00100002",))]))
    assert len(import_file(gateway.database, array, gateway.config.rules).results) == 2
    wrapped = gateway.root / "wrapped.json"
    wrapped.write_text(json.dumps({"offers": [base_offer("202611270003", ("00100003",))]}))
    assert len(import_file(gateway.database, wrapped, gateway.config.rules).results) == 1
    single = gateway.root / "single.json"
    single.write_text(json.dumps(base_offer("202611270004", ("00100004",))))
    assert len(import_file(gateway.database, single, gateway.config.rules).results) == 1
    assert _count(gateway, OfferRow) == 4


def test_malformed_file_changes_nothing(gateway: Gateway) -> None:
    path = gateway.root / "broken.jsonl"
    path.write_text(json.dumps(base_offer()) + "\n" + '{"reference": "2026112700\n')
    with pytest.raises(InputFileError, match="ligne 2"):
        import_file(gateway.database, path, gateway.config.rules)
    assert _count(gateway, OfferRow) == 0


def test_record_not_fitting_the_format_is_stored_with_its_reasons(gateway: Gateway) -> None:
    offer = base_offer()
    del offer["certifinfo"]
    offer["colour"] = "blue"
    report = gateway.import_offers(offer)
    result = report.results[0]
    assert result.outcome.value == "rejected"
    codes = {(p.code.value, p.path) for p in result.problems}
    assert codes == {("INPUT_MISSING_FIELD", "certifinfo"), ("INPUT_UNKNOWN_FIELD", "colour")}
    with gateway.database.session() as db:
        row = db.get(OfferRow, "202611270001")
        assert row is not None and not row.accepted
        assert {p.code.value for p in load_problems(row)} == {"INPUT_MISSING_FIELD", "INPUT_UNKNOWN_FIELD"}
        assert "champ obligatoire" in load_problems(row)[0].message


def test_record_without_reference_is_kept_apart(gateway: Gateway) -> None:
    offer = base_offer()
    del offer["reference"]
    report = gateway.import_offers(offer, ["not", "an", "offer"])  # type: ignore[arg-type]
    assert [r.outcome.value for r in report.results] == ["rejected", "rejected"]
    assert _count(gateway, ImportRejectionRow) == 2
    assert _count(gateway, OfferRow) == 0


def test_case13_bad_siret_rejected_with_code_path_and_french_message(gateway: Gateway) -> None:
    report = gateway.import_offers(with_changes(base_offer(), responsable__siret="73282932000075"))
    [problem] = report.results[0].problems
    assert problem.code.value == "SIRET_CHECKSUM"
    assert problem.path == "responsable.siret"
    assert "SIRET" in problem.message and "invalide" in problem.message


def test_case13_la_poste_siret_accepted(gateway: Gateway) -> None:
    report = gateway.import_offers(with_changes(base_offer(), responsable__siret="35600000049837"))
    assert report.results[0].outcome.value == "created"
    assert report.results[0].problems == []


def test_accented_status_labels_are_understood(gateway: Gateway) -> None:
    report = gateway.import_offers(with_changes(base_offer(), status="Validée"))
    assert report.results[0].outcome.value == "created"
    with gateway.database.session() as db:
        row = db.get(OfferRow, "202611270001")
        assert row is not None and row.bo_status == "validee"


def test_likely_duplicate_is_flagged_but_accepted(gateway: Gateway) -> None:
    gateway.import_offers(base_offer("202611270001", ("00100001",)))
    report = gateway.import_offers(base_offer("202611270002", ("00100002",)))
    result = report.results[0]
    assert result.outcome.value == "created"
    assert [p.code.value for p in result.problems] == ["DUPLICATE_SUSPECTED"]
    assert "202611270001" in result.problems[0].message
