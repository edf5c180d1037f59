"""Real-server fixtures for the transport tests: one OpenSSH sshd on 127.0.0.1 for the whole run.

`sshd` starts the server only when a test asks for it (see `sshd_server.running_sshd`), and skips
with the reason when `/usr/sbin/sshd` is not installed (`scripts/install-test-deps.sh` installs it).
`sftp_remote_dir` gives each test its own empty folder on that server, owned by the login user;
`make_feed` writes a feed (random bytes, so nothing compresses) and its `.xml.gz` into the outbox.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gateway.transports.base import FeedToDeliver
from tests.transports.sshd_server import SshdInfo, running_sshd, sshd_missing_reason

FeedFactory = Callable[..., FeedToDeliver]


@pytest.fixture(scope="session")
def sshd_root() -> Iterator[Path]:
    # Not pytest's tmp_path: its 0700 parents would hide the key and folders from the login user.
    root = Path(tempfile.mkdtemp(prefix="lheo-sftp-tests-"))
    root.chmod(0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def sshd(sshd_root: Path) -> Iterator[SshdInfo]:
    reason = sshd_missing_reason()
    if reason is not None:
        pytest.skip(reason)
    with running_sshd(sshd_root) as info:
        yield info


@pytest.fixture
def sftp_remote_dir(sshd: SshdInfo, sshd_root: Path) -> Path:
    """A fresh, empty folder on the server, writable by the login user only."""
    return sshd.make_remote_dir(sshd_root / "remote" / secrets.token_hex(6))


def write_feed(
    folder: Path, size: int, *, destination: str = "partner", data: bytes | None = None, gz: bool = True
) -> FeedToDeliver:
    """A feed of `size` random bytes (or `data`) and its .xml.gz, named after its sha256 like the outbox does.

    `gz=False` skips compressing a large feed for tests that never send the .gz: the .gz is then
    a valid but empty gzip file.
    """
    content = data if data is not None else os.urandom(size)
    digest = hashlib.sha256(content).hexdigest()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{destination}-20261127T080000Z-{digest[:12]}.xml"
    path.write_bytes(content)
    compressed = gzip.compress(content if gz else b"", compresslevel=1, mtime=0)
    gz_path = path.with_name(path.name + ".gz")
    gz_path.write_bytes(compressed)
    return FeedToDeliver(
        feed_id=f"feed-{digest[:8]}",
        destination=destination,
        path=path,
        gz_path=gz_path,
        sha256=digest,
        size=len(content),
        gz_sha256=hashlib.sha256(compressed).hexdigest(),
        gz_size=len(compressed),
    )


@pytest.fixture
def make_feed(tmp_path: Path) -> FeedFactory:
    def factory(size: int = 256 * 1024, *, data: bytes | None = None, gz: bool = True) -> FeedToDeliver:
        return write_feed(tmp_path / "outbox" / secrets.token_hex(4), size, data=data, gz=gz)

    return factory
