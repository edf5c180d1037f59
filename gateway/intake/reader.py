"""Read an offers file as the back-office exports it: JSON Lines, a JSON array, or one object.

Records are yielded one by one so a large JSON Lines file never sits in memory. A file that
is not JSON raises `InputFileError` naming the line; the importer runs in one transaction,
so such a file changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class InputFileError(Exception):
    """The file cannot be read as offers (not JSON, wrong top-level shape)."""


@dataclass(frozen=True)
class RawRecord:
    line: int  # 1-based line of the record in the file (1 for a whole-file JSON document)
    data: Any  # whatever JSON value stood there; the importer checks it is an object


def _looks_like_json_lines(path: Path) -> bool:
    if path.suffix.lower() in {".jsonl", ".ndjson"}:
        return True
    if path.suffix.lower() == ".json":
        return False
    with path.open("rb") as handle:
        head = handle.read(1 << 16).lstrip()
    return not head.startswith(b"[")


def read_records(path: Path) -> Iterator[RawRecord]:
    try:
        json_lines = _looks_like_json_lines(path)
    except OSError as exc:
        raise InputFileError(f"{path}: {exc.strerror or exc}") from exc
    if json_lines:
        yield from _read_json_lines(path)
    else:
        yield from _read_json_document(path)


def _read_json_lines(path: Path) -> Iterator[RawRecord]:
    with path.open("r", encoding="utf-8-sig") as handle:
        try:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    yield RawRecord(number, json.loads(line))
                except json.JSONDecodeError as exc:
                    raise InputFileError(
                        f"{path}, ligne {number} : JSON invalide ({exc.msg}, colonne {exc.colno})"
                    ) from exc
        except UnicodeDecodeError as exc:
            raise InputFileError(f"{path}: le fichier n'est pas encodé en UTF-8 ({exc.reason})") from exc


def _read_json_document(path: Path) -> Iterator[RawRecord]:
    try:
        document = json.loads(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise InputFileError(f"{path}: le fichier n'est pas encodé en UTF-8 ({exc.reason})") from exc
    except json.JSONDecodeError as exc:
        raise InputFileError(f"{path}, ligne {exc.lineno} : JSON invalide ({exc.msg})") from exc
    if isinstance(document, dict) and isinstance(document.get("offers"), list):
        document = document["offers"]
    if isinstance(document, dict):
        yield RawRecord(1, document)
    elif isinstance(document, list):
        for item in document:
            yield RawRecord(1, item)
    else:
        raise InputFileError(f'{path}: attendu une offre, une liste d\'offres ou {{"offers": [...]}}')
