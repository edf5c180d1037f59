"""Helpers of the fault tests: processes to kill and find, a tiny filesystem, the outbox's state."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import select

from gateway.outbox.feed_file import TEMP_PREFIX
from gateway.pipeline.fragment_index import CACHE_FOLDER
from gateway.store.database import Database
from gateway.store.tables import FeedRow
from tests.conftest import REPO


def cli(config: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "-c", str(config), *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ | {"COLUMNS": "200"},
    )


def run_cli(config: Path, *args: str, timeout: float = 120) -> tuple[int, str, str]:
    process = cli(config, *args)
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


def children(pid: int) -> set[int]:
    """Live descendants of `pid` (from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if fields[0] != "Z":
                parents[int(entry.name)] = int(fields[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_gone(pids: set[int], timeout: float = 10) -> set[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = {pid for pid in pids if alive(pid)}
        if not left:
            return set()
        time.sleep(0.05)
    return {pid for pid in pids if alive(pid)}


def outbox_state(database: Database, outbox: Path) -> tuple[list[Path], list[Path]]:
    """(temporaries, files under a final name that no manifest row lists) in every destination folder."""
    with database.session() as db:
        listed = {Path(p).name for row in db.execute(select(FeedRow.path, FeedRow.gz_path)) for p in row}
    temporaries, unlisted = [], []
    for path in sorted(outbox.glob("*/*")):
        if path.parent.name == CACHE_FOLDER:
            # The fragment cache: no temporary left, and an index only ever points into a listed feed.
            if TEMP_PREFIX in path.name:
                temporaries.append(path)
            elif json.loads(path.read_text(encoding="utf-8").splitlines()[0])["xml"] not in listed | {None}:
                unlisted.append(path)
        elif path.name.startswith(".tmp-"):
            temporaries.append(path)
        elif path.name not in listed:
            unlisted.append(path)
    return temporaries, unlisted


@contextmanager
def tmpfs(where: Path, size: str) -> Iterator[Path]:
    """A small tmpfs mounted at `where` (the test is skipped only when mounting is impossible)."""
    where.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


@contextmanager
def read_only_bind(where: Path) -> Iterator[None]:
    done = subprocess.run(["mount", "--bind", "-o", "ro", str(where), str(where)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot bind-mount read-only here: {done.stderr.decode().strip()}")
    try:
        yield
    finally:
        subprocess.run(["umount", str(where)], check=False)


@contextmanager
def immutable(*paths: Path) -> Iterator[None]:
    done = subprocess.run(["chattr", "+i", *map(str, paths)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot make files immutable here: {done.stderr.decode().strip()}")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", *map(str, paths)], check=False)


@contextmanager
def store_write_locked(store: Path) -> Iterator[None]:
    """Another process holding SQLite's write lock (BEGIN IMMEDIATE) until the block ends."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys, time\n"
            f"c = sqlite3.connect({str(store)!r}, isolation_level=None)\n"
            "c.execute('BEGIN IMMEDIATE')\n"
            "print('held', flush=True)\n"
            "sys.stdin.read()\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    try:
        yield
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=10)
