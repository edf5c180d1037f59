"""Worker processes change nothing in the output: same feed, same gzip, same manifest."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from gateway.config import ExportSettings
from gateway.intake.importer import import_file
from gateway.pipeline.chunks import CHUNK_SIZE
from tests.conftest import Gateway


def test_pool_and_inline_exports_are_byte_identical(gateway: Gateway, tmp_path: Path) -> None:
    from bench.synthetic import write_jsonl

    count = CHUNK_SIZE * 2 + 17  # several chunks, the last one partial
    offers = tmp_path / "synthetic.jsonl"
    write_jsonl(offers, count, seed=3)
    import_file(gateway.database, offers, gateway.config.rules)

    gateway.config = gateway.config.model_copy(update={"export": ExportSettings(workers=1)})
    inline = gateway.export("intercarif")["intercarif"]
    assert inline.feed is not None and inline.exported == count
    inline_xml, inline_gz = inline.feed.path.read_bytes(), inline.feed.gz_path.read_bytes()
    inline.feed.path.unlink()
    inline.feed.gz_path.unlink()

    gateway.config = gateway.config.model_copy(update={"export": ExportSettings(workers=2)})
    pooled = gateway.export("intercarif")["intercarif"]
    assert pooled.feed is not None and pooled.exported == count
    assert pooled.feed.path.read_bytes() == inline_xml
    assert pooled.feed.gz_path.read_bytes() == inline_gz
    assert gzip.decompress(inline_gz) == inline_xml
    assert json.dumps(pooled.feed.sha256) == json.dumps(inline.feed.sha256)
