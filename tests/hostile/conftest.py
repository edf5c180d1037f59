"""A seeded store (two valid offers, exported once) that every hostile case starts from, copied."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import select

from gateway.config import GatewayConfig, OutboxSettings, StoreSettings, ValidationSettings
from gateway.intake.importer import import_file
from gateway.pipeline.export import run_export
from gateway.store.database import Database
from gateway.store.tables import ImportRejectionRow, OfferRow, RejectedUpdateRow
from tests.conftest import FIXED_TIME, REPO, assert_valid_official, base_offer
from tests.hostile.corpus import STORED

# Words of pydantic's, json's and SQLAlchemy's English messages that must never reach staff.
ENGLISH = re.compile(
    r"Input should|should be|Field required|Expecting|Extra inputs|Unterminated|Traceback|Exceeds the limit"
    r"|surrogates not allowed|Invalid |not permitted|object has no|Error\b",
)


def assert_french(text: str) -> None:
    found = ENGLISH.search(text)
    assert found is None, f"English reaches staff ({found.group(0)!r}): {text[:300]}"


def make_config(root: Path) -> GatewayConfig:
    return GatewayConfig(
        store=StoreSettings(url=f"sqlite:///{root / 'gateway.sqlite3'}"),
        outbox=OutboxSettings(path=root / "outbox"),
        validation=ValidationSettings(schema_path=REPO / "xsd" / "lheo-2.3-gateway.xsd"),
        mappings_path=REPO / "mappings",
    )


def store_digest(database: Database) -> str:
    """Everything an import may change, as one digest."""
    sha = hashlib.sha256()
    with database.session() as db:
        for row in db.scalars(select(OfferRow).order_by(OfferRow.reference)):
            sha.update(f"{row.reference}|{row.payload_sha256}|{row.accepted}|{row.problems}\n".encode())
        for rejected in db.scalars(select(RejectedUpdateRow).order_by(RejectedUpdateRow.reference)):
            sha.update(f"R{rejected.reference}|{rejected.payload_sha256}\n".encode())
        for rejection in db.scalars(select(ImportRejectionRow).order_by(ImportRejectionRow.id)):
            sha.update(f"I{rejection.raw}\n".encode())
    return sha.hexdigest()


@dataclass(frozen=True)
class SeededStore:
    path: Path
    digest: str


@pytest.fixture(scope="session")
def seeded_store(tmp_path_factory: pytest.TempPathFactory, official_schema: etree.XMLSchema) -> SeededStore:
    """Cases refusing the whole file leave this store unchanged (checked by digest), so the
    next export of theirs is this one, validated here once."""
    root = tmp_path_factory.mktemp("hostile-seed")
    config = make_config(root)
    database = Database(config.store.url)
    offers = root / "seed.jsonl"
    offers.write_text(
        "".join(json.dumps(o) + "\n" for o in (base_offer(STORED), base_offer("202611270002", ("00100002",)))),
        encoding="utf-8",
    )
    import_file(database, offers, config.rules)
    run_export(database, config, exported_at=FIXED_TIME)
    digest = store_digest(database)
    database.close()
    feeds = sorted((root / "outbox").glob("*/*.xml"))
    assert feeds
    for feed in feeds:
        assert_valid_official(official_schema, feed)
    shutil.rmtree(root / "outbox")  # each case exports into its own outbox
    return SeededStore(root / "gateway.sqlite3", digest)


@dataclass
class CaseGateway:
    root: Path
    config: GatewayConfig
    database: Database


@pytest.fixture
def case_gateway(seeded_store: SeededStore, tmp_path: Path) -> Iterator[CaseGateway]:
    shutil.copyfile(seeded_store.path, tmp_path / "gateway.sqlite3")
    config = make_config(tmp_path)
    database = Database(config.store.url, migrate=False)
    yield CaseGateway(tmp_path, config, database)
    database.close()
