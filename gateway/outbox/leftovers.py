"""One export at a time per destination, and the cleanup of what a dead export left behind.

Each export of a destination holds an OS lock (`flock`) on `<outbox>/.export-<destination>.lock`
(beside the destination's folder, which holds only feeds) for its whole duration. The kernel
releases it when the process dies — even by SIGKILL — so holding it proves that no export of
that destination is running, in this process or any other on the machine: whatever then lies
in the folder that the manifest does not list (a temporary, or a complete feed renamed into
place whose manifest transaction never committed) is a leftover, and is removed at once
rather than after an age limit.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import select

from gateway.outbox.feed_file import TEMP_PREFIX
from gateway.store.database import Database
from gateway.store.tables import FeedRow

log = logging.getLogger(__name__)

# Only names the gateway itself gives to feeds are ever removed (feed_stem + suffix).
_FEED_NAME = re.compile(r"[0-9]{8}T[0-9]{6}Z_[0-9a-f]{12}\.xml(\.gz)?")


def lock_path(outbox: Path, destination: str) -> Path:
    return outbox / f".export-{destination}.lock"


@contextmanager
def export_lock(outbox: Path, destination: str, *, wait: bool = True) -> Iterator[bool]:
    """Hold the destination's export lock; with `wait=False`, yield False at once when it is taken."""
    outbox.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path(outbox, destination), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)  # releases the lock


def remove_leftovers(database: Database, folder: Path, destination: str) -> list[Path]:
    """Call with the destination's export lock held: removes temporaries and unlisted feed files."""
    if not folder.is_dir():
        return []
    with database.session() as db:
        listed = {
            Path(name).name
            for row in db.execute(select(FeedRow.path, FeedRow.gz_path).where(FeedRow.destination == destination))
            for name in row
        }
    removed = []
    for entry in sorted(folder.iterdir()):
        name = entry.name
        leftover = name.startswith(TEMP_PREFIX) or (_FEED_NAME.fullmatch(name) is not None and name not in listed)
        if leftover and entry.is_file() and not entry.is_symlink():
            try:
                entry.unlink()
            except FileNotFoundError:
                continue
            removed.append(entry)
            log.warning("removed %s, left by an interrupted export", entry)
    return removed


def sweep_idle_destinations(database: Database, outbox: Path) -> list[Path]:
    """Clean every destination folder whose export lock is free (no export of it is running)."""
    removed: list[Path] = []
    if not outbox.is_dir():
        return removed
    # Dot folders are the gateway's own (the fragment cache), never a destination's.
    folders = (p for p in outbox.iterdir() if p.is_dir() and not p.is_symlink() and not p.name.startswith("."))
    for folder in sorted(folders):
        with export_lock(outbox, folder.name, wait=False) as free:
            if free:
                removed += remove_leftovers(database, folder, folder.name)
    return removed
