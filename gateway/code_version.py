"""The gateway's own code and data as one digest: what a cached result was computed with.

Both the fragment cache of exports and the importer's recognition of unchanged records reuse
work done earlier; any change of a module or data file of the package (a new version, a patch)
gives another digest, so nothing computed by other code is ever reused.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

import gateway


def files_digest(files: Iterable[Path], root: Path) -> str:
    sha = hashlib.sha256()
    for path in sorted(files):
        sha.update(str(path.relative_to(root)).encode() + b"\0")
        sha.update(path.read_bytes())
        sha.update(b"\0")
    return sha.hexdigest()


def code_fingerprint() -> str:
    """Digest of the gateway package's sources and data: any code change gives another."""
    root = Path(gateway.__file__).resolve().parent
    files = [p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"]
    return files_digest(files, root)
