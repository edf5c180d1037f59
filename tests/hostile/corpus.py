"""A generator of hostile import files: every way an offers file can be wrong, malicious or unlucky.

Each case is a file (name and bytes, or a path trick) and what the gateway must do with it:
refuse the whole file (exit 2, a French message naming the file and line, the store unchanged),
or reject the bad record with a code at a path and import exactly the good ones. A good
record of a fresh reference rides along in record-level cases, so "the rest is imported" is
checked too; `update` cases re-import an offer the base store already holds and exports.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.conftest import base_offer, with_changes

STORED = "202611270001"  # in the base store, valid and exported
FRESH = "202611279999"  # the good record riding along in record-level cases
HOSTILE = "202611270500"  # the hostile record's reference, when it has a usable one


@dataclass(frozen=True)
class Case:
    name: str
    filename: str
    content: bytes | None  # None: `setup` makes the path (missing file, symlink loop…)
    # "file": the whole file is refused; "record": the hostile record is rejected, the rest imported;
    # "accept": every record is accepted (hostile-looking but legal, e.g. a BOM, markup in a text).
    expect: str
    message: str = ""  # for "file": a fragment of the error; for "record": the problem code
    path: str | None = None  # for "record": where the problem is (None: anywhere)
    hostile_reference: str | None = HOSTILE  # None: no usable reference (kept in import_rejections)
    kept_last_valid: bool = False
    setup: Callable[[Path], None] | None = field(default=None, compare=False)


def good(reference: str = FRESH) -> dict[str, Any]:
    return base_offer(reference, (reference[-8:],))


def hostile(**changes: Any) -> dict[str, Any]:
    return with_changes(base_offer(HOSTILE, ("00100500",)), **changes)


def jsonl(*records: Any) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()


def jsonl_raw(*lines: str) -> bytes:
    return "".join(line + "\n" for line in lines).encode("utf-8", "surrogatepass")


def with_raw_value(record: dict[str, Any], key_path: str, raw: str) -> str:
    """The record as one JSON line with `key_path` (a.b) set to `raw`, written verbatim (not JSON-encoded)."""
    marker = "__RAW_MARKER__"
    data = copy.deepcopy(record)
    target = data
    *parents, last = key_path.split(".")
    for parent in parents:
        target = target[parent]
    target[last] = marker
    return json.dumps(data, ensure_ascii=False).replace(f'"{marker}"', raw)


def nested(depth: int, kind: str) -> str:
    return ("[" * depth + "]" * depth) if kind == "array" else ('{"a":' * depth + "1" + "}" * depth)


# ------------------------------------------------------------------------------ file-level families


def _not_json() -> Iterator[Case]:
    broken = [
        '{"reference": "2026112700',
        "{'reference': '202611270500'}",
        '{"reference": "202611270500",}',
        '{"reference": 202611270500 "title": "x"}',
        '{"reference" "202611270500"}',
        "[1, 2,]",
        "{}}",
        '{"a": tru}',
        '{"a": nul}',
        '{"a": "\\x41"}',
        '{"a": "\\u12"}',
        '{"a": "tab\there"}',
        '{"a": 0123}',
        '{"a": .5}',
        '{"a": +1}',
        '{"a": 1.}',
        '{"a": --1}',
        '{"a": undefined}',
        '{"a": 1} {"b": 2}',
        "/* comment */ {}",
        '{"a": "x"} // comment',
        "<offers><offer/></offers>",
        "reference,title\n202611270500,x",
    ]
    for index, line in enumerate(broken):
        content = jsonl(good()) + (line + "\n").encode()
        yield Case(f"not-json-{index}", "offers.jsonl", content, "file", "ligne 2 : JSON invalide")
    yield Case(
        "not-json-document", "offers.json", b'[{"reference": "1"},\n {"a": }]', "file", "ligne 2 : JSON invalide"
    )
    yield Case("not-json-empty-document", "offers.json", b"", "file", "JSON invalide")


def _non_json_numbers() -> Iterator[Case]:
    for literal in ("NaN", "Infinity", "-Infinity"):
        for key in ("duration_years", "entry_level", "title", "modalities.contrat_apprentissage"):
            line = with_raw_value(hostile(), key, literal)
            yield Case(f"literal-{literal}-{key}", "offers.jsonl", jsonl(good()) + jsonl_raw(line), "file", literal)
        document = b'[{"reference": "202611270500", "duration_years": ' + literal.encode() + b"}]"
        yield Case(f"literal-{literal}-document", "offers.json", document, "file", literal)
    for number in ("1e999", "-1e999", "1E400"):
        line = with_raw_value(hostile(), "duration_years", number)
        yield Case(f"float-overflow-{number}", "offers.jsonl", jsonl(good()) + jsonl_raw(line), "file", "hors limites")


def _huge_integers() -> Iterator[Case]:
    for digits in (101, 4300, 4301, 5000, 100_000):
        for key in ("duration_years", "apprenticeship_years", "reference"):
            raw = "9" * digits if key != "apprenticeship_years" else f"[1, {'9' * digits}]"
            line = with_raw_value(hostile(), key, raw)
            yield Case(f"huge-int-{digits}-{key}", "offers.jsonl", jsonl(good()) + jsonl_raw(line), "file", "chiffres")
    yield Case(
        "huge-int-negative",
        "offers.jsonl",
        jsonl_raw(with_raw_value(hostile(), "entry_level", "-" + "1" * 5000)),
        "file",
        "chiffres",
    )
    yield Case(
        "huge-int-document", "offers.json", b'{"offers": [{"exit_level": ' + b"7" * 6000 + b"}]}", "file", "chiffres"
    )


def _deep_nesting() -> Iterator[Case]:
    for depth in (33, 100, 990, 1000, 5000, 100_000):
        for kind in ("array", "object"):
            line = with_raw_value(hostile(), "title", nested(depth, kind))
            yield Case(
                f"deep-{kind}-{depth}",
                "offers.jsonl",
                jsonl(good()) + jsonl_raw(line),
                "file",
                "imbriqué trop profondément",
            )
            yield Case(
                f"deep-{kind}-{depth + 2}-document",
                "offers.json",
                ("[" + nested(depth + 2, kind) + "]").encode(),
                "file",
                "imbriqué trop profondément",
            )
    yield Case("deep-as-line", "offers.jsonl", jsonl(good()) + jsonl_raw(nested(50_000, "array")), "file", "ligne 2")


def _bad_encodings() -> Iterator[Case]:
    record = json.dumps(hostile(title="Boulanger pâtissier"), ensure_ascii=False)
    yield Case("latin-1", "offers.jsonl", jsonl(good()) + record.encode("latin-1") + b"\n", "file", "UTF-8")
    yield Case("lone-continuation-byte", "offers.jsonl", b'{"title": "\x80"}\n', "file", "UTF-8")
    yield Case("overlong-encoding", "offers.jsonl", b'{"title": "\xc0\xaf"}\n', "file", "UTF-8")
    yield Case("truncated-sequence", "offers.jsonl", b'{"title": "\xe2\x82"}\n', "file", "UTF-8")
    yield Case("utf-16", "offers.jsonl", record.encode("utf-16"), "file", "UTF-8")
    yield Case("encoded-surrogate", "offers.jsonl", b'{"title": "\xed\xa0\x80"}\n', "file", "UTF-8")
    yield Case("latin-1-document", "offers.json", ("[" + record + "]").encode("latin-1"), "file", "UTF-8")
    yield Case("nul-bytes", "offers.jsonl", b"\x00\x00\x00\n", "file", "JSON invalide")


def _wrong_shapes() -> Iterator[Case]:
    for index, document in enumerate(['"offers"', "42", "null", "true", '{"offers": "none"}'.replace("{", "[{") + "]"]):
        if document.startswith("[{"):
            continue
        yield Case(f"shape-{index}", "offers.json", document.encode(), "file", "attendu une offre")


def _unreadable_paths() -> Iterator[Case]:
    def missing(root: Path) -> None:
        pass

    def directory(root: Path) -> None:
        (root / "offers.jsonl").mkdir()

    def loop(root: Path) -> None:
        (root / "offers.jsonl").symlink_to(root / "offers.jsonl")

    def dangling(root: Path) -> None:
        (root / "offers.jsonl").symlink_to(root / "nowhere.jsonl")

    def two_step_loop(root: Path) -> None:
        (root / "a.jsonl").symlink_to(root / "offers.jsonl")
        (root / "offers.jsonl").symlink_to(root / "a.jsonl")

    yield Case("path-missing", "offers.jsonl", None, "file", "fichier introuvable", setup=missing)
    yield Case("path-directory", "offers.jsonl", None, "file", "dossier", setup=directory)
    yield Case("path-symlink-loop", "offers.jsonl", None, "file", "boucle", setup=loop)
    yield Case("path-symlink-loop-2", "offers.jsonl", None, "file", "boucle", setup=two_step_loop)
    yield Case("path-dangling-symlink", "offers.jsonl", None, "file", "lien symbolique cassé", setup=dangling)
    yield Case("path-missing-no-suffix", "offers", None, "file", "fichier introuvable", setup=missing)


# ------------------------------------------------------------------------------ record-level families


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


FAMILIES = (
    _not_json,
    _non_json_numbers,
    _huge_integers,
    _deep_nesting,
    _bad_encodings,
    _wrong_shapes,
    _unreadable_paths,
    _surrogates,
    _dates_out_of_range,
    _reference_oddities,
    _invisible_titles,
    _null_and_types,
    _huge_and_odd_texts,
    _boms_and_layouts,
    _updates_of_live_offer,
)


def cases() -> list[Case]:
    found = [case for family in FAMILIES for case in family()]
    names = [case.name for case in found]
    assert len(names) == len(set(names)), "case names must be unique"
    return found


def materialise(case: Case, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / case.filename
    if case.setup is not None:
        case.setup(folder)
    elif case.content is not None:
        path.write_bytes(case.content)
    return path
