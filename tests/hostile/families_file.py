"""File-level hostile families: the whole file must be refused (exit 2), the store unchanged."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from tests.hostile.case import Case, good, hostile, jsonl, jsonl_raw, nested, with_raw_value


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
