"""Record-level hostile families: the bad record is rejected (or accepted when legal), the rest imported."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from tests.conftest import base_offer, with_changes
from tests.hostile.case import HOSTILE, STORED, Case, good, hostile, jsonl, jsonl_raw


def _surrogates() -> Iterator[Case]:
    places = {
        "title": ("title", HOSTILE),
        "objective": ("objective", HOSTILE),
        "responsable.name": ("responsable.name", HOSTILE),
        "sessions.0.reference": ("sessions[0].reference", HOSTILE),
        "contacts.0.last_name": ("contacts[0].last_name", HOSTILE),
        "reference": ("reference", None),
    }
    for key, (path, reference) in places.items():
        record = hostile()
        target: Any = record
        *parents, last = key.split(".")
        for parent in parents:
            target = target[int(parent)] if parent.isdigit() else target[parent]
        for escape in ("\\ud800", "\\udfff", "x\\udc00y"):
            marker = "__SURROGATE__"
            target[last] = marker
            line = json.dumps(record, ensure_ascii=False).replace(marker, escape)
            yield Case(
                f"surrogate-{key}-{escape}",
                "offers.jsonl",
                jsonl(good()) + jsonl_raw(line),
                "record",
                "INPUT_INVALID_CHARACTER",
                path,
                hostile_reference=reference,
            )
    key_line = json.dumps(hostile(), ensure_ascii=False)[:-1] + ', "\\ud800": 1}'
    yield Case(
        "surrogate-in-key", "offers.jsonl", jsonl(good()) + jsonl_raw(key_line), "record", "INPUT_INVALID_CHARACTER"
    )
    document = (
        "[" + json.dumps(good()) + "," + json.dumps(hostile(title="__S__")).replace("__S__", "\\ud83d") + "]"
    ).encode()
    yield Case("surrogate-document", "offers.json", document, "record", "INPUT_INVALID_CHARACTER", "title")
    # NUL: legal JSON, stripped from titles at export; never in a store column (PostgreSQL refuses it).
    for index, changes in enumerate(
        ({"title": "BTS\x00MCO"}, {"responsable__siret": "7328293200\x0074"}, {"certifinfo": "10\x008540"})
    ):
        expect = "accept" if index == 0 else "record"
        yield Case(f"nul-{index}", "offers.jsonl", jsonl(good(), hostile(**changes)), expect)
    session = hostile()["sessions"][0] | {"reference": "0010\x000500"}
    yield Case("nul-session-reference", "offers.jsonl", jsonl(good(), hostile(sessions=[session])), "any")
    yield Case(
        "nul-reference", "offers.jsonl", jsonl(good(), hostile(reference="2026\x0011270500")), "record",
        hostile_reference=None,
    )  # fmt: skip
    pair = json.dumps(hostile(title="__S__")).replace("__S__", "Emoji \\ud83d\\ude00 ok")
    yield Case("surrogate-pair-is-fine", "offers.jsonl", jsonl(good()) + jsonl_raw(pair), "accept")


def _dates_out_of_range() -> Iterator[Case]:
    for stamp in (
        "9999-12-31T23:59:59",
        "0001-01-01T00:00:00",
        "9999-12-31T23:59:59+00:00",
        "9999-12-31T23:59:59-12:00",
        "0001-01-01T00:00:00+14:00",
        "0001-01-01T00:30:00+01:00",
        "1899-12-31T23:59:59Z",
        "2101-01-01T00:00:00Z",
        "2100-12-31T23:30:00-01:00",
        "1000-06-15T12:00:00",
    ):
        yield Case(
            f"updated-at-{stamp}",
            "offers.jsonl",
            jsonl(good(), hostile(updated_at=stamp)),
            "record",
            "INPUT_INVALID",
            "updated_at",
        )
    for stamp in ("2026-13-01T00:00:00", "2026-02-30T00:00:00", "hier", "", "2026-01-01T25:00:00", "1e9"):
        yield Case(
            f"updated-at-bad-{stamp}",
            "offers.jsonl",
            jsonl(good(), hostile(updated_at=stamp)),
            "record",
            "INPUT_INVALID",
            "updated_at",
        )
    for value in (0, -1, 253402300800, 1e20, True):
        yield Case(f"updated-at-number-{value}", "offers.jsonl", jsonl(good(), hostile(updated_at=value)), "any")
    for date in ("9999-12-31", "0001-01-01", "00010101", "99991231", "2027-02-30", "2027-00-10", "20271301"):
        session = hostile()["sessions"][0] | {"start": date}
        second = session | {"reference": "00100501", "start": "2027-09-01"}
        yield Case(
            f"session-start-{date}",
            "offers.jsonl",
            jsonl(good(), hostile(sessions=[session, second])),
            "accept",  # that session is held back at export, the offer goes out with the other
        )


def _reference_oddities() -> Iterator[Case]:
    yield Case(
        "reference-zeros",
        "offers.jsonl",
        jsonl(good(), hostile(reference="000000000000")),
        "record",
        "FORMATION_REFERENCE_FORMAT",
        "reference",
        hostile_reference="000000000000",
    )
    zero_session = hostile()["sessions"][0] | {"reference": "00000000"}
    yield Case("session-reference-zeros", "offers.jsonl", jsonl(good(), hostile(sessions=[zero_session])), "any")
    for index, reference in enumerate(("", " ", "\t", None, 202611270500, ["202611270500"], {"a": 1}, True)):
        yield Case(
            f"reference-unusable-{index}",
            "offers.jsonl",
            jsonl(good(), hostile(reference=reference)),
            "record",
            None or "",
            None,
            hostile_reference=None,
        )
    for index, reference in enumerate(
        ("20261127050", "2026112705000", "2026-1127-05", "٢٠٢٦١١٢٧٠٥٠٠", "２０２６１１２７０５００", "x" * 100)
    ):
        yield Case(
            f"reference-format-{index}",
            "offers.jsonl",
            jsonl(good(), hostile(reference=reference)),
            "record",
            "FORMATION_REFERENCE_FORMAT",
            "reference",
            hostile_reference=reference,
        )


def _invisible_titles() -> Iterator[Case]:
    for index, title in enumerate(
        (
            "\x01",
            "\x01\x02\x03",
            "\x7f\x1b",
            "\u200b\u200d",
            "\ufeff",
            "\x00",
            "\x1f \x1e",
            "\u2028",
            " \x0b\x0c ",
            "\u00a0",
        )
    ):
        yield Case(
            f"title-invisible-{index}",
            "offers.jsonl",
            jsonl(good(), hostile(title=title)),
            "record",
            "TEXT_EMPTY",
            "title",
        )
    for index, text in enumerate(("\x01", "\u200b\u200b")):
        yield Case(
            f"objective-invisible-{index}",
            "offers.jsonl",
            jsonl(good(), hostile(objective=text)),
            "record",
            "TEXT_EMPTY",
            "objective",
        )


def _null_and_types() -> Iterator[Case]:
    yield Case(
        "exit-level-null",
        "offers.jsonl",
        jsonl(good(), hostile(exit_level=None)),
        "record",
        "INPUT_INVALID",
        "exit_level",
    )
    fields = [
        "status", "title", "certifinfo", "rncp", "web_links", "modalities", "apprenticeship_years", "duration_years",
        "entry_level", "objective", "content", "rhythm", "teaching_mode", "formacode", "responsable",
        "responsable__siret", "responsable__address", "contacts", "sessions", "modalities__contrat_apprentissage",
    ]  # fmt: skip
    values: list[Any] = [None, -5, 3.5, "", "deux ans", [None], {"x": 1}, True]
    for name in fields:
        for index, value in enumerate(values):
            yield Case(f"type-{name}-{index}", "offers.jsonl", jsonl(good(), hostile(**{name: value})), "any")


def _huge_and_odd_texts() -> Iterator[Case]:
    yield Case(
        "title-1mb", "offers.jsonl", jsonl(good(), hostile(title="A" * 1_000_000)), "record", "TEXT_TOO_LONG", "title"
    )
    yield Case(
        "key-100kb", "offers.jsonl", jsonl(good(), hostile() | {"k" * 100_000: 1}), "record", "INPUT_UNKNOWN_FIELD"
    )
    many_keys = hostile() | {f"extra{i}": i for i in range(2000)}
    yield Case("unknown-keys-2000", "offers.jsonl", jsonl(good(), many_keys), "record", "INPUT_UNKNOWN_FIELD")
    sessions = [hostile()["sessions"][0] | {"reference": f"{i:08d}"} for i in range(1, 2001)]
    yield Case("sessions-2000", "offers.jsonl", jsonl(good(), hostile(sessions=sessions)), "any")
    for index, title in enumerate(
        (
            "BTS <script>alert(1)</script>",
            "CAP ]]> &amp; &#0; &lt;",
            "Bac pro \u202eénilrac\u202c",
            "Ｆｕｌｌｗｉｄｔｈ ＢＴＳ",
            "BTS\x0bMCO\x1f",
            "BTS e\u0301le\u0300ve",
            "🍞 Boulanger 🥐",
            "\"quoted\" 'single' `back`",
            "BTS\u2028MCO\u2029",
            "x" * 300,
        )
    ):
        yield Case(f"title-odd-{index}", "offers.jsonl", jsonl(good(), hostile(title=title)), "accept")
    yield Case(
        "duplicate-keys",
        "offers.jsonl",
        jsonl(good()) + jsonl_raw(json.dumps(hostile())[:-1] + ', "title": "Dernier"}'),
        "accept",
    )


def _boms_and_layouts() -> Iterator[Case]:
    bom = b"\xef\xbb\xbf"
    yield Case("bom-jsonl", "offers.jsonl", bom + jsonl(good(), hostile()), "accept")
    yield Case("bom-json-array", "offers.json", bom + json.dumps([good(), hostile()]).encode(), "accept")
    yield Case("bom-no-suffix-array", "offers.txt", bom + json.dumps([good(), hostile()]).encode(), "accept")
    yield Case("bom-no-suffix-lines", "offers.txt", bom + jsonl(good(), hostile()), "accept")
    yield Case("bom-wrapped", "offers.json", bom + json.dumps({"offers": [good(), hostile()]}).encode(), "accept")
    yield Case("crlf-lines", "offers.jsonl", jsonl(good(), hostile()).replace(b"\n", b"\r\n"), "accept")
    yield Case("blank-lines", "offers.jsonl", b"\n\n" + jsonl(good()) + b"   \n\t\n" + jsonl(hostile()), "accept")
    yield Case("no-final-newline", "offers.jsonl", jsonl(good(), hostile()).rstrip(b"\n"), "accept")
    yield Case("pretty-array", "offers.json", json.dumps([good(), hostile()], indent=2).encode(), "accept")
    yield Case(
        "record-not-object",
        "offers.jsonl",
        jsonl(good(), [1, 2], "texte", 42, None),
        "record",
        "INPUT_INVALID",
        hostile_reference=None,
    )


def _updates_of_live_offer() -> Iterator[Case]:
    """Re-imports of the stored, exported offer that break it: it must keep its last valid version."""
    breaking = {
        "duration-text": {"duration_years": "deux ans"},
        "siret": {"responsable__siret": "73282932000075"},
        "title-control": {"title": "\x01\x02"},
        "updated-at": {"updated_at": "9999-12-31T23:59:59"},
        "exit-null": {"exit_level": None},
        "no-modalities": {
            "modalities": {
                "formation_continue": False,
                "contrat_professionnalisation": False,
                "contrat_apprentissage": False,
            }
        },
        "status-bad": {"status": "perdue"},
        "years-beyond": {"apprenticeship_years": [1, 2, 3, 4, 5, 6]},
    }
    for name, changes in breaking.items():
        record = with_changes(base_offer(STORED), **changes)
        yield Case(
            f"update-{name}",
            "offers.jsonl",
            jsonl(good(), record),
            "record",
            "",
            None,
            hostile_reference=STORED,
            kept_last_valid=True,
        )
    line = json.dumps(base_offer(STORED) | {"title": "__S__"}).replace("__S__", "\\ud800")
    yield Case(
        "update-surrogate",
        "offers.jsonl",
        jsonl(good()) + jsonl_raw(line),
        "record",
        "INPUT_INVALID_CHARACTER",
        "title",
        hostile_reference=STORED,
        kept_last_valid=True,
    )
