"""Unchanged records recognised by digest (gateway.intake.recall): same results, less work.

Every scenario runs twice, on two stores: once recalling unchanged records and once parsing
every record (`recall=False`); reports and stores must be identical at every step. Then the
short-cut is shown to be taken (parsing is made to fail) and to be dropped whenever the code,
the rules or the bytes of the record change.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from gateway.config import (
    ApprovedFormateur,
    GatewayConfig,
    OutboxSettings,
    RulesSettings,
    StoreSettings,
    ValidationSettings,
)
from gateway.intake import prepare as prepare_module
from gateway.intake.importer import import_file
from gateway.intake.report import ImportReport, Outcome
from gateway.pipeline.export import run_export
from gateway.store.database import Database
from gateway.store.tables import ImportRejectionRow, OfferRow, RejectedUpdateRow, SessionOwnerRow
from tests.conftest import FIXED_TIME, REPO, base_offer, with_changes

Step = list[dict[str, Any]] | str  # offers of one file, or "export"


def _elsewhere(reference: str, sessions: tuple[str, ...]) -> dict[str, Any]:
    offer = base_offer(reference, sessions)
    for session in offer["sessions"]:
        session["place"] = {"lines": ["2 avenue des Sports"], "postcode": "33600", "city": "Pessac", "insee": "33318"}
    return offer


class Store:
    def __init__(self, root: Path, rules: RulesSettings | None = None) -> None:
        root.mkdir()
        self.root = root
        self.config = GatewayConfig(
            store=StoreSettings(url=f"sqlite:///{root / 'gateway.sqlite3'}"),
            outbox=OutboxSettings(path=root / "outbox"),
            validation=ValidationSettings(schema_path=REPO / "xsd" / "lheo-2.3-gateway.xsd"),
            mappings_path=REPO / "mappings",
            rules=rules or RulesSettings(),
        )
        self.database = Database(self.config.store.url)
        self.files = 0
        self.exports = 0

    def run(self, step: Step, *, recall: bool) -> Any:
        if step == "export":
            self.exports += 1
            at = FIXED_TIME + timedelta(hours=self.exports)
            run_export(self.database, self.config, destinations=["intercarif"], exported_at=at)
            return "exported"
        return self.import_offers(step, recall=recall)

    def import_offers(self, offers: list[dict[str, Any]], *, recall: bool = True) -> ImportReport:
        self.files += 1
        path = self.root / f"offers-{self.files}.jsonl"
        path.write_text("".join(json.dumps(o, ensure_ascii=False) + "\n" for o in offers), encoding="utf-8")
        return import_file(self.database, path, self.config.rules, now=FIXED_TIME, recall=recall)

    def contents(self) -> dict[str, list[tuple[Any, ...]]]:
        with self.database.session() as db:
            offers = [
                tuple(getattr(row, column.key) for column in OfferRow.__table__.columns if column.key != "source")
                for row in db.scalars(select(OfferRow).order_by(OfferRow.reference))
            ]
            owners = list(db.execute(select(SessionOwnerRow.session_reference, SessionOwnerRow.formation_reference)))
            kept = list(db.execute(select(RejectedUpdateRow.reference, RejectedUpdateRow.payload_sha256)))
            rejections = list(db.execute(select(ImportRejectionRow.line, ImportRejectionRow.raw)))
        return {
            "offers": offers,
            "owners": sorted(map(tuple, owners)),
            "kept": sorted(map(tuple, kept)),
            "rejections": sorted(map(tuple, rejections)),
        }


def _summary(result: Any) -> Any:
    if not isinstance(result, ImportReport):
        return result
    return [
        (r.line, r.reference, r.outcome, [p.model_dump(mode="json") for p in r.problems], r.kept_last_valid)
        for r in result.results
    ]


def _same_either_way(tmp_path: Path, steps: list[Step]) -> list[Any]:
    """Run `steps` with and without recall on two stores; every result and store state must agree."""
    recalling, parsing = Store(tmp_path / "recalling"), Store(tmp_path / "parsing")
    summaries = []
    try:
        for number, step in enumerate(steps, start=1):
            got, expected = recalling.run(step, recall=True), parsing.run(step, recall=False)
            assert _summary(got) == _summary(expected), f"step {number}"
            assert recalling.contents() == parsing.contents(), f"step {number}"
            summaries.append(_summary(got))
    finally:
        recalling.database.close()
        parsing.database.close()
    return summaries


ONE, TWO, THREE = (base_offer(f"20261127000{n}", (f"0010000{n}",)) for n in (1, 2, 3))


def test_look_alikes_and_an_archived_one(tmp_path: Path) -> None:
    far = _elsewhere("202611270004", ("00100004",))
    archived = with_changes(TWO, status="archivee")
    steps: list[Step] = [[ONE], [TWO, far], [ONE, TWO, far], [ONE, archived, far], [ONE, archived, far], [ONE, TWO]]
    summaries = _same_either_way(tmp_path, steps)
    assert {outcome for _, _, outcome, _, _ in summaries[2]} == {Outcome.UNCHANGED}


@pytest.mark.parametrize("batch", [500, 1])  # 1: the repeat lands in a later batch than the first record
def test_repeated_references_in_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, batch: int) -> None:
    monkeypatch.setattr("gateway.intake.importer.BATCH_SIZE", batch)
    changed = with_changes(ONE, title="BTS MCO (corrigé)")
    steps: list[Step] = [[ONE, TWO], [ONE, TWO, ONE], [ONE, TWO, ONE], [changed, ONE], [ONE, TWO], [ONE, TWO, changed]]
    _same_either_way(tmp_path, steps)


def test_a_session_released_by_its_owner(tmp_path: Path) -> None:
    claimer = with_changes(base_offer("202611270002", ("00100001", "00100002")), certifinfo="108541")
    released = base_offer("202611270001", ("00100009",))
    steps: list[Step] = [[ONE], [ONE, claimer], [ONE, claimer], [released, claimer], [released, claimer]]
    _same_either_way(tmp_path, steps)


def test_a_rejected_update_then_the_valid_version_again(tmp_path: Path) -> None:
    broken = with_changes(ONE, responsable__siret="73282932000075")
    steps: list[Step] = [[ONE, TWO], [broken, TWO], [broken, TWO], [ONE, TWO], [ONE, TWO]]
    summaries = _same_either_way(tmp_path, steps)
    assert summaries[1][0][4] is True  # the refused update was kept beside the valid version


def test_sessions_exported_between_imports(tmp_path: Path) -> None:
    moved = with_changes(ONE, sessions=[dict(ONE["sessions"][0], start="2027-10-01")])
    steps: list[Step] = [[ONE, TWO], "export", [ONE, TWO], [moved, TWO], [moved, TWO], "export", [ONE, TWO], [ONE]]
    _same_either_way(tmp_path, steps)


def test_records_that_are_not_offers(tmp_path: Path) -> None:
    nameless = {k: v for k, v in ONE.items() if k != "reference"}
    steps: list[Step] = [[ONE, nameless, {"reference": "x"}], [ONE, nameless, {"reference": "x"}]]
    _same_either_way(tmp_path, steps)


# --- the short-cut is taken, and only when it may be ------------------------------------------


def _parses(monkeypatch: pytest.MonkeyPatch) -> Callable[[], int]:
    calls = []
    real = prepare_module.prepare

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(prepare_module, "prepare", counting)
    return lambda: len(calls)


def test_an_unchanged_file_is_not_parsed_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store(tmp_path / "store")
    first = store.import_offers([ONE, TWO, THREE])
    parsed = _parses(monkeypatch)
    again = store.import_offers([ONE, TWO, THREE])
    assert parsed() == 0
    assert [r.outcome for r in again.results] == [Outcome.UNCHANGED] * 3
    assert [r.problems for r in again.results] == [r.problems for r in first.results]
    changed = store.import_offers([ONE, with_changes(TWO, title="BTS MCO — Bordeaux"), THREE])
    assert parsed() == 1 and [r.outcome for r in changed.results][1] is Outcome.UPDATED
    store.database.close()


def test_another_code_version_or_other_rules_parse_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store(tmp_path / "store")
    store.import_offers([ONE, TWO])
    parsed = _parses(monkeypatch)
    monkeypatch.setattr("gateway.intake.recall.code_fingerprint", lambda: "another version")
    assert [r.outcome for r in store.import_offers([ONE, TWO]).results] == [Outcome.UNCHANGED] * 2
    assert parsed() == 2
    assert [r.outcome for r in store.import_offers([ONE, TWO]).results] == [Outcome.UNCHANGED] * 2
    assert parsed() == 2  # the full path stored the new digests: recalled this time
    store.config.rules = RulesSettings(
        approved_formateurs=[ApprovedFormateur(responsable_siren="732829320", formateur_siren="732829320")]
    )
    store.import_offers([ONE, TWO])
    assert parsed() == 4
    store.database.close()


def test_rows_stored_before_the_digest_existed_are_recalled_from_their_next_import(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    store.import_offers([ONE, TWO])
    with store.database.session() as db, db.begin():
        db.execute(OfferRow.__table__.update().values(intake_digest=None))
    assert {r.outcome for r in store.import_offers([ONE, TWO]).results} == {Outcome.UNCHANGED}
    with store.database.session() as db:
        assert all(db.scalars(select(OfferRow.intake_digest)))
    store.database.close()


# --- records prepared in worker processes -----------------------------------------------------


def _mixed_file(path: Path, count: int) -> list[str]:
    """Synthetic offers, some repeated later (other batches), one look-alike pair, one bad record."""
    from bench.synthetic import write_jsonl

    write_jsonl(path, count, seed=5)
    lines = path.read_text(encoding="utf-8").splitlines()
    lines.insert(40, lines[3])  # the same record again, batches later
    changed = json.loads(lines[7])
    changed["title"] = "Titre corrigé"
    lines.append(json.dumps(changed, ensure_ascii=False))
    lines.append(json.dumps({k: v for k, v in changed.items() if k != "reference"}, ensure_ascii=False))
    lines.insert(100, "")
    return lines


@pytest.mark.parametrize("recall", [True, False])
def test_worker_processes_change_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, recall: bool) -> None:
    monkeypatch.setattr("gateway.intake.importer.BATCH_SIZE", 25)  # many batches in flight
    lines = _mixed_file(tmp_path / "synthetic.jsonl", 160)
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    first.write_text("\n".join(lines) + "\n", encoding="utf-8")
    lines[50] = lines[50].replace('"title": "', '"title": "Nouveau ')
    second.write_text("\n".join(lines[:150]) + "\n", encoding="utf-8")
    stores = {workers: Store(tmp_path / f"workers-{workers}") for workers in (1, 2)}
    try:
        for path in (first, second, second):
            results = {
                workers: _summary(
                    import_file(
                        store.database, path, store.config.rules, now=FIXED_TIME, recall=recall, workers=workers
                    )
                )
                for workers, store in stores.items()
            }
            assert results[2] == results[1]
            assert stores[2].contents() == stores[1].contents()
        assert {outcome for _, _, outcome, _, _ in results[1]} <= {Outcome.UNCHANGED, Outcome.REPEATED}
    finally:
        for store in stores.values():
            store.database.close()


def test_a_bad_line_met_by_a_worker_is_reported_as_inline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gateway.intake.reader import InputFileError

    monkeypatch.setattr("gateway.intake.importer.BATCH_SIZE", 25)
    lines = _mixed_file(tmp_path / "synthetic.jsonl", 120)
    lines[90] = lines[90][:-5]  # cut short: not JSON any more
    lines[110] = "\xff"  # a later problem is not the one reported
    path = tmp_path / "broken.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    messages = []
    for workers in (1, 2):
        store = Store(tmp_path / f"workers-{workers}")
        with pytest.raises(InputFileError) as raised:
            import_file(store.database, path, store.config.rules, workers=workers)
        messages.append(str(raised.value))
        assert store.contents()["offers"] == []  # one transaction: nothing was stored
        store.database.close()
    assert messages[0] == messages[1] and "ligne 91" in messages[0]


def test_a_worker_killed_mid_file_loses_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import signal

    from gateway.intake.batches import RecordBatches

    monkeypatch.setattr("gateway.intake.importer.BATCH_SIZE", 20)
    path = tmp_path / "synthetic.jsonl"
    path.write_text("\n".join(_mixed_file(tmp_path / "source.jsonl", 200)) + "\n", encoding="utf-8")
    real_submit = RecordBatches._submit
    submitted = []

    def submit_then_kill(self: RecordBatches, *args: Any) -> Any:
        batch = real_submit(self, *args)
        submitted.append(batch)
        if len(submitted) == 3 and self._pool is not None:  # batches are in flight in the workers
            os.kill(next(iter(self._pool._processes)), signal.SIGKILL)
        return batch

    expected = Store(tmp_path / "inline")
    wanted = _summary(import_file(expected.database, path, expected.config.rules, now=FIXED_TIME, workers=1))
    monkeypatch.setattr(RecordBatches, "_submit", submit_then_kill)
    store = Store(tmp_path / "killed")
    got = _summary(import_file(store.database, path, store.config.rules, now=FIXED_TIME, workers=2))
    assert got == wanted and store.contents() == expected.contents()
    expected.database.close()
    store.database.close()
