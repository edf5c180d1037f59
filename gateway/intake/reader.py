"""Read an offers file as the back-office exports it: JSON Lines, a JSON array, or one object.

Records are yielded one by one so a large JSON Lines file never sits in memory. A file that
is not JSON — or that Python's JSON reader would accept although JSON forbids it (`NaN`,
`Infinity`), or could not hold (integers of thousands of digits, nesting deep enough to
exhaust the interpreter's stack) — raises `InputFileError` naming the file and the line; the
importer runs in one transaction, so such a file changes nothing. A UTF-8 byte order mark is
accepted.
"""

from __future__ import annotations

import errno
import json
import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# An offer is 5 levels deep (offer → sessions → session → place → lines): 32 leaves room for
# growth while refusing, before anything recurses over them, structures built to exhaust the stack.
MAX_DEPTH = 32
# Python refuses to convert longer digit strings to int (CVE-2020-10735); no field needs even 20.
MAX_INT_DIGITS = 100
_BOM = b"\xef\xbb\xbf"
# Fast paths (same results): without a run of MAX_INT_DIGITS + 1 digits no integer can be too long,
# so the per-integer hook is not needed; without a \uD800–\uDFFF escape no lone surrogate can appear
# (UTF-8 input cannot hold one), so the importer may skip its walk of every string.
# (On the UTF-8 bytes: digits all turned into "0", then one substring search — several times
# cheaper than a regex; str.translate would be far slower than either.)
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_RUN = b"0" * (MAX_INT_DIGITS + 1)


def _may_hold_long_integer(raw: bytes) -> bool:
    return _LONG_RUN in raw.translate(_DIGITS_AS_ZERO)


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abcdefABCDEF]")


class InputFileError(Exception):
    """The file cannot be read as offers (not JSON, wrong top-level shape, unreadable)."""


@dataclass(frozen=True)
class RawRecord:
    line: int  # 1-based line of the record in the file (1 for a whole-file JSON document)
    data: Any  # whatever JSON value stood there; the importer checks it is an object
    surrogate_free: bool = False  # True when the text had no surrogate escape: no string to clean


class _NotJson(ValueError):
    """A value Python's json module accepts but JSON does not, or one too large to hold."""


def _refuse_constant(name: str) -> Any:
    raise _NotJson(f"« {name} » n'est pas une valeur JSON (écrivez un nombre, ou null)")


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise _NotJson(f"un nombre entier de {len(text.lstrip('-'))} chiffres dépasse la limite de {MAX_INT_DIGITS}")
    return int(text)


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NotJson(f"le nombre « {text[:40]} » est hors limites")
    return value


def _depth_exceeds(value: Any, limit: int) -> bool:
    """Iterative (no recursion): is `value` nested deeper than `limit` levels?"""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


# The json module's messages are English; staff read French.
_JSON_MESSAGES = {
    "Expecting value": "valeur attendue",
    "Expecting property name enclosed in double quotes": "nom de champ entre guillemets attendu",
    "Expecting ',' delimiter": "virgule attendue",
    "Expecting ':' delimiter": "deux-points attendus",
    "Unterminated string starting at": "texte sans guillemet fermant",
    "Invalid control character at": "caractère de contrôle non échappé dans un texte",
    "Invalid \\escape": "séquence d'échappement invalide",
    "Invalid \\uXXXX escape": "échappement \\uXXXX invalide",
    "Extra data": "données en trop après la valeur JSON",
}


def _json_message(exc: json.JSONDecodeError) -> str:
    return _JSON_MESSAGES.get(exc.msg, "syntaxe invalide")


def _loads(text: str, where: str, *, document: bool = False, long_integers: bool = True) -> Any:
    """Parse one JSON value; `where` names the file (and line) in the messages."""
    too_deep = f"{where} : JSON imbriqué trop profondément (plus de {MAX_DEPTH} niveaux)"
    try:
        if not long_integers:  # the caller checked the text: no integer can exceed the limit
            value = json.loads(text, parse_constant=_refuse_constant, parse_float=_parse_float)
        else:
            value = json.loads(text, parse_constant=_refuse_constant, parse_int=_parse_int, parse_float=_parse_float)
    except json.JSONDecodeError as exc:
        line = f", ligne {exc.lineno}" if document else ""
        raise InputFileError(f"{where}{line} : JSON invalide ({_json_message(exc)}, colonne {exc.colno})") from exc
    except _NotJson as exc:
        raise InputFileError(f"{where} : {exc}") from exc
    except RecursionError as exc:
        raise InputFileError(too_deep) from exc
    except ValueError as exc:  # any other value the json module cannot convert
        raise InputFileError(f"{where} : valeur illisible") from exc
    # The wrapper of a whole document ({"offers": [ … ]}) adds two levels above each record.
    limit = MAX_DEPTH + 2 if document else MAX_DEPTH
    # Fewer opening brackets than the limit (an offer has ~25): no walk needed — in a profile it
    # was 13 % of preparing a record.
    if text.count("{") + text.count("[") > limit and _depth_exceeds(value, limit):
        raise InputFileError(too_deep)
    return value


def _open_error(path: Path, exc: OSError) -> InputFileError:
    """A French sentence for why the file cannot be opened (missing, a folder, a broken link…)."""
    if exc.errno == errno.ELOOP:
        why = "lien symbolique en boucle"
    elif path.is_symlink() and not path.exists():
        why = f"lien symbolique cassé (la cible « {os.readlink(path)} » n'existe pas)"
    elif exc.errno == errno.ENOENT:
        why = "fichier introuvable"
    elif exc.errno == errno.EISDIR or path.is_dir():
        why = "c'est un dossier, pas un fichier"
    elif exc.errno == errno.EACCES:
        why = "lecture refusée (droits insuffisants)"
    else:
        why = f"illisible ({exc.strerror or exc})"
    return InputFileError(f"{path} : {why}")


def _head(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            return handle.read(1 << 16)
    except OSError as exc:
        raise _open_error(path, exc) from exc


def looks_like_json_lines(path: Path, head: bytes | None = None) -> bool:
    """JSON Lines by its name (.jsonl, .ndjson) or, unless named .json, by not opening with `[`."""
    if head is None and path.suffix.lower() not in {".jsonl", ".ndjson", ".json"}:
        head = _head(path)
    if path.suffix.lower() in {".jsonl", ".ndjson"}:
        return True
    if path.suffix.lower() == ".json":
        return False
    return not (head or b"").removeprefix(_BOM).lstrip().startswith(b"[")


@dataclass(frozen=True)
class RawLine:
    """A JSON Lines record as read, not parsed yet: the importer may recognise it first."""

    line: int
    raw: bytes  # the line's bytes, without the byte order mark


def read_records(path: Path) -> Iterator[RawRecord]:
    for entry in read_entries(path):
        if isinstance(entry, RawLine):
            record = parse_line(path, entry)
            if record is not None:
                yield record
        else:
            yield entry


def read_entries(path: Path) -> Iterator[RawRecord | RawLine]:
    """The file's records: JSON Lines as raw lines (parse them with `parse_line`), others parsed."""
    head = _head(path)  # also checks, before anything is imported, that the file can be read
    if looks_like_json_lines(path, head):
        yield from _read_lines(path)
    else:
        yield from _read_json_document(path)


def _read_lines(path: Path) -> Iterator[RawLine]:
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise _open_error(path, exc) from exc
    with handle:
        try:
            for number, raw in enumerate(handle, start=1):
                if number == 1:
                    raw = raw.removeprefix(_BOM)
                if raw.strip():  # (a line of other Unicode blanks is skipped by `parse_line`)
                    yield RawLine(number, raw)
        except OSError as exc:
            raise _open_error(path, exc) from exc


def parse_line(path: Path, entry: RawLine) -> RawRecord | None:
    """Parse one JSON Lines record (None for a blank line); `InputFileError` names file and line."""
    # Bytes, decoded line by line: a text stream decodes ahead in chunks, and would blame the
    # wrong line for an invalid byte.
    try:
        line = entry.raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputFileError(
            f"{path}, ligne {entry.line} : le fichier n'est pas encodé en UTF-8 (octet invalide en "
            f"colonne {exc.start + 1})"
        ) from exc
    if not line.strip():
        return None
    free = _SURROGATE_ESCAPE.search(line) is None
    value = _loads(line, f"{path}, ligne {entry.line}", long_integers=_may_hold_long_integer(entry.raw))
    return RawRecord(entry.line, value, free)


def _read_json_document(path: Path) -> Iterator[RawRecord]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputFileError(
            f"{path} : le fichier n'est pas encodé en UTF-8 (octet invalide, position {exc.start})"
        ) from exc
    except OSError as exc:
        raise _open_error(path, exc) from exc
    document = _loads(text, str(path), document=True)
    if isinstance(document, dict) and isinstance(document.get("offers"), list):
        document = document["offers"]
    if isinstance(document, dict):
        yield RawRecord(1, document)
    elif isinstance(document, list):
        for item in document:
            yield RawRecord(1, item)
    else:
        raise InputFileError(f'{path} : attendu une offre, une liste d\'offres ou {{"offers": [...]}}')
