"""Where a feed's file is: stored relative to the outbox root, so instances on other machines
(which mount the shared outbox wherever they like) find the same file."""

from __future__ import annotations

from pathlib import Path


def feed_file(outbox: Path | None, stored: str) -> Path:
    """The file of a stored feed path (relative to `outbox`; rows of older versions are absolute)."""
    path = Path(stored)
    return path if path.is_absolute() or outbox is None else outbox / path
