"""One hostile import case and the helpers that build the files (see `corpus.py`)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
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
