"""The import's fast paths (issue #12) decide exactly as the general code they skip."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest

from gateway.intake.importer import import_file
from gateway.intake.models import Offer
from gateway.intake.reader import InputFileError, read_records
from gateway.problems import Code
from gateway.rules import identifiers as ids
from gateway.rules.field_checks import check_fields
from gateway.store.search_fields import fold
from gateway.store.tables import OfferRow
from tests.conftest import Gateway, base_offer


def _lines(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "offers.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_digit_runs_in_texts_do_not_trip_the_integer_limit_but_long_integers_still_do(tmp_path: Path) -> None:
    digits = "9" * 150
    [record] = read_records(_lines(tmp_path, json.dumps({"reference": digits, "n": int("9" * 100)})))
    assert record.data == {"reference": digits, "n": int("9" * 100)}
    with pytest.raises(InputFileError, match="101 chiffres"):
        list(read_records(_lines(tmp_path, '{"n": -' + "1" * 101 + "}")))


def test_records_are_marked_surrogate_free_only_without_a_surrogate_escape(tmp_path: Path) -> None:
    path = _lines(tmp_path, '{"a": "Maçon \\u00e9"}', '{"a": "x\\ud800"}', '{"a": "\\\\ud800 is text"}')
    records = list(read_records(path))
    assert [r.surrogate_free for r in records] == [True, False, False]  # the third: a harmless false alarm
    assert records[2].data == {"a": "\\ud800 is text"}


def test_a_lone_surrogate_is_still_reported_and_replaced(gateway: Gateway) -> None:
    offer = base_offer()
    path = gateway.root / "surrogate.jsonl"
    path.write_text(json.dumps(offer).replace('"title": "', '"title": "\\udc00'), encoding="utf-8")
    [result] = import_file(gateway.database, path, gateway.config.rules).results
    assert Code.INPUT_INVALID_CHARACTER in {p.code for p in result.problems}
    assert result.outcome.value == "rejected"
    with gateway.database.session() as db:
        row = db.get(OfferRow, offer["reference"])
        assert row is not None and json.loads(row.payload)["title"].startswith("\ufffd")


def _reference_fold(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text)
    return "".join(char for char in plain if not unicodedata.combining(char)).lower()


@pytest.mark.parametrize(
    "text",
    ["Maçon", "ÉLÈVE Œuvre", "CFA Île-de-France – l’industrie", "x\u034fy", "ﬁ ß İ ǅ", "a\u20d0\U0001d400", "plain"],
)
def test_fold_is_the_reference_folding(text: str) -> None:
    assert fold(text) == _reference_fold(text)


def test_fold_keeps_the_grapheme_joiner_which_is_no_combining_mark() -> None:
    assert fold("x\u034f") == "x\u034f"
    assert fold("Maçon") == "macon"


@pytest.mark.parametrize("char", ["\u00a0", "\u0085", "\u2028", "\u3000", "\x7f", "\x9f", "\x1f", "\t"])
def test_urls_with_any_unicode_space_or_control_are_refused(char: str) -> None:
    assert ids.url_problem(f"https://cfa.example/a{char}b") is Code.URL_FORMAT


def test_urls_with_other_non_ascii_letters_pass_this_test() -> None:
    assert ids.url_problem("https://cfa-île.example/formation") is None


@pytest.mark.parametrize("title", ["BTS\x01 MCO", "BTS\x85 MCO", "BTS\ufffe MCO", "BTS MCO"])
def test_control_scan_on_the_given_dump_finds_what_the_own_dump_finds(title: str) -> None:
    raw = base_offer() | {"title": title}
    offer = Offer.model_validate(raw)
    dumped = json.dumps(raw, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    own = [p.model_dump() for p in check_fields(offer, raw)]
    given = [p.model_dump() for p in check_fields(offer, raw, dumped=dumped)]
    assert own == given
    assert bool(own) is (title != "BTS MCO")
