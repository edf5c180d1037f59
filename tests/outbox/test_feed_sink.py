"""The feed's writer (on its own thread or not): bytes in order, digests of what was written, errors raised."""

from __future__ import annotations

import gzip
import hashlib
import os
import zlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway.outbox.feed_file import FeedFileWriter, deflate_block

MOMENT = datetime(2026, 1, 1, tzinfo=UTC)


def _source(tmp_path: Path, data: bytes) -> int:
    path = tmp_path / "old.bin"
    path.write_bytes(data)
    return os.open(path, os.O_RDONLY)


@pytest.mark.parametrize("background", [True, False])
def test_copies_and_blocks_keep_their_order_and_digests(tmp_path: Path, background: bool) -> None:
    folder = tmp_path / "feeds"
    old = os.urandom(3 << 20)  # several 1 MB pieces per copy
    fd = _source(tmp_path, old)
    pieces = [b"<lheo>", old[10 : (2 << 20) + 7], "é€".encode() * 3000, old[5:9], b"</lheo>"]
    writer = FeedFileWriter(folder, MOMENT, background=background)
    # The .xml.gz gets blocks of the same bytes, copied from the same source where .xml is.
    blocks = [deflate_block(piece, 6) for piece in pieces]
    gz_path = tmp_path / "old.gz-blocks"
    gz_path.write_bytes(b"".join(blocks))
    gz_source = os.open(gz_path, os.O_RDONLY)
    offsets = [sum(len(b) for b in blocks[:i]) for i in range(len(blocks))]
    writer.write_block(pieces[0], blocks[0])
    writer.copy_from(fd, (10, (2 << 20) - 3), gz_source, (offsets[1], len(blocks[1])))
    writer.write_block(pieces[2], blocks[2])
    writer.copy_from(fd, (5, 4), gz_source, (offsets[3], len(blocks[3])))
    writer.write_block(pieces[4], blocks[4])
    assert writer.positions == (sum(map(len, pieces)), 10 + sum(map(len, blocks)))
    feed = writer.commit()
    os.close(fd)
    os.close(gz_source)
    xml = b"".join(pieces)
    assert feed.path.read_bytes() == xml
    assert gzip.decompress(feed.gz_path.read_bytes()) == xml
    assert feed.sha256 == hashlib.sha256(xml).hexdigest()
    assert feed.gz_sha256 == hashlib.sha256(feed.gz_path.read_bytes()).hexdigest()
    assert feed.size == len(xml) and feed.gz_size == feed.gz_path.stat().st_size
    assert zlib.crc32(xml).to_bytes(4, "little") == feed.gz_path.read_bytes()[-8:-4]


@pytest.mark.parametrize("background", [True, False])
def test_a_truncated_source_fails_the_feed_and_leaves_nothing(tmp_path: Path, background: bool) -> None:
    folder = tmp_path / "feeds"
    fd = _source(tmp_path, b"only a few bytes")
    writer = FeedFileWriter(folder, MOMENT, background=background)
    writer.write(b"<lheo>")
    writer.copy_from(fd, (0, 1 << 20), fd, (0, 4))  # the index promised more than the file holds
    with pytest.raises(OSError, match="tronqué"):
        for _ in range(200):  # raised at a later call, or at the latest by commit
            writer.write(b"<formation/>" * 200)
        writer.commit()
    writer.abort()
    os.close(fd)
    assert list(folder.iterdir()) == []
