"""Shared fixtures: a gateway on a temporary store and outbox, offer factories, the official XSD.

Every feed written under a test's outbox is validated against the official LHÉO 2.3 XSD
(`../shared/lheo/lheo-2.3.xsd`, a test-only oracle) and read the way real consumers read it
(`tests/consumers/lheo_reader.py`) when the test ends.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from gateway.config import GatewayConfig, OutboxSettings, StoreSettings, ValidationSettings
from gateway.intake.importer import import_file
from gateway.intake.report import ImportReport
from gateway.pipeline.export import DestinationResult, run_export
from gateway.store.database import Database
from tests.pg_server import PgServer, postgres_bin_dir, running_postgres

REPO = Path(__file__).resolve().parents[1]
OFFICIAL_XSD = Path(os.environ.get("LHEO_OFFICIAL_XSD", REPO.parent / "shared" / "lheo" / "lheo-2.3.xsd"))
LHEO_NS = "http://lheo.gouv.fr/2.3"
FIXED_TIME = datetime(2026, 11, 27, 8, 0, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def official_schema() -> etree.XMLSchema:
    if not OFFICIAL_XSD.exists():
        pytest.skip(f"official LHÉO XSD not found at {OFFICIAL_XSD} (set LHEO_OFFICIAL_XSD)")
    return etree.XMLSchema(etree.parse(str(OFFICIAL_XSD)))


def assert_valid_official(schema: etree.XMLSchema, path: Path) -> None:
    document = etree.parse(str(path))
    assert schema.validate(document), f"{path} is not valid LHÉO 2.3: {schema.error_log}"
    root = document.getroot()
    assert root.tag == f"{{{LHEO_NS}}}lheo"
    assert len(root.findall(f"{{{LHEO_NS}}}offres")) == 1


def assert_consumer_readable(path: Path) -> None:
    """Issue #7: read as real consumers read (numeros, places, dispositif, addresses, line cut).

    Update dates are only required of the demo feeds (tests/consumers): test offers often
    declare none.
    """
    from tests.consumers.lheo_reader import feed_problems

    problems = feed_problems(path, dates_required=False)
    assert problems == [], f"{path} would be misread by consumers: {problems[:5]}"


def base_offer(reference: str = "202611270001", session_refs: tuple[str, ...] = ("00100001",)) -> dict[str, Any]:
    """A valid apprenticeship offer (BTS in Bordeaux) as the back-office exports it."""
    return {
        "reference": reference,
        "status": "validee",
        "title": "BTS Management commercial opérationnel",
        "certifinfo": "108540",
        "rncp": "38362",
        "web_links": ["https://www.cfa-exemple.example/bts-mco"],
        "modalities": {
            "formation_continue": False,
            "contrat_professionnalisation": False,
            "contrat_apprentissage": True,
        },
        "apprenticeship_years": [1, 2],
        "duration_years": 2,
        "entry_level": 4,
        "exit_level": 5,
        "diploma": {"type": "BTS", "cfd": "32031213", "valid_until": "2030-08-31"},
        "objective": "Former des managers d'unité commerciale.",
        "expected_results": "BTS (niveau 5).",
        "content": "Gestion opérationnelle, animation, relation client.",
        "rhythm": "Alternance : 1 semaine en centre, 2 semaines en entreprise.",
        "responsable": {
            "siret": "73282932000074",
            "name": "CFA Exemple",
            "legal_name": "ASSOCIATION CFA EXEMPLE",
            "nda": "72330000033",
            "uai": "0330000W",
            "address": {"lines": ["1 rue du Port"], "postcode": "33000", "city": "Bordeaux", "insee": "33063"},
            "phone": "05 56 00 00 00",
            "email": "contact@cfa-exemple.example",
        },
        "contacts": [
            {"role": "referent_apprentissage", "last_name": "Martin", "first_name": "Julie", "phone": "0556000001"}
        ],
        "sessions": [
            {
                "reference": ref,
                "start": f"2027-09-0{index + 1}",
                "end": "2029-06-30",
                "place": {"lines": ["1 rue du Port"], "postcode": "33000", "city": "Bordeaux", "insee": "33063"},
            }
            for index, ref in enumerate(session_refs)
        ],
    }


def with_changes(offer: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """Copy of `offer` with keys replaced; `__` reaches into nested dicts (`responsable__siret=...`)."""
    result = copy.deepcopy(offer)
    for key, value in changes.items():
        target = result
        *parents, last = key.split("__")
        for parent in parents:
            target = target[parent]
        target[last] = value
    return result


@dataclass
class Gateway:
    """A gateway wired to a temporary store and outbox (the real mappings and XSD of the repo)."""

    root: Path
    config: GatewayConfig
    database: Database

    @property
    def outbox(self) -> Path:
        return self.config.outbox.path

    def import_offers(self, *offers: dict[str, Any], name: str = "offers.jsonl") -> ImportReport:
        path = self.root / name
        path.write_text("".join(json.dumps(o, ensure_ascii=False) + "\n" for o in offers), encoding="utf-8")
        return import_file(self.database, path, self.config.rules)

    def export(
        self, *destinations: str, at: datetime = FIXED_TIME, dry_run: bool = False
    ) -> dict[str, DestinationResult]:
        results = run_export(
            self.database, self.config, destinations=list(destinations) or None, exported_at=at, dry_run=dry_run
        )
        return {result.destination: result for result in results}

    def feed_xml(self, result: DestinationResult) -> etree._Element:
        assert result.feed is not None, f"no feed for {result.destination}: {result.note}"
        return etree.parse(str(result.feed.path)).getroot()

    def feeds(self) -> list[Path]:
        return sorted(self.outbox.glob("*/*.xml"))


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """One throwaway PostgreSQL server for the whole run, started on first use.

    Skipped when PostgreSQL is not installed, unless LHEO_TEST_POSTGRESQL=required (`dev.sh test`
    sets it, after `scripts/install-test-deps.sh` installed Debian's `postgresql`).
    """
    if postgres_bin_dir() is None:
        if os.environ.get("LHEO_TEST_POSTGRESQL") == "required":
            pytest.fail("PostgreSQL is required (LHEO_TEST_POSTGRESQL=required) but not installed")
        pytest.skip("PostgreSQL not installed (scripts/install-test-deps.sh installs Debian's postgresql)")
    with running_postgres() as server:
        yield server


@pytest.fixture
def store_kind() -> str:
    """Which store the `gateway` fixture uses; store, delivery and scheduling tests parametrise it."""
    return "sqlite"


@pytest.fixture
def store_url(request: pytest.FixtureRequest, store_kind: str, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty store of the kind asked for: a SQLite file, or a new PostgreSQL database."""
    if store_kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'gateway.sqlite3'}"
        return
    server: PgServer = request.getfixturevalue("pg_server")
    name = server.create_database()
    yield server.url(name)
    server.drop_database(name)


@pytest.fixture
def gateway(tmp_path: Path, official_schema: etree.XMLSchema, store_url: str) -> Iterator[Gateway]:
    config = GatewayConfig(
        store=StoreSettings(url=store_url),
        outbox=OutboxSettings(path=tmp_path / "outbox"),
        validation=ValidationSettings(schema_path=REPO / "xsd" / "lheo-2.3-gateway.xsd"),
        mappings_path=REPO / "mappings",
    )
    database = Database(config.store.url)
    instance = Gateway(tmp_path, config, database)
    yield instance
    database.close()
    for feed in instance.feeds():
        assert_valid_official(official_schema, feed)
        assert_consumer_readable(feed)


def q(tag: str) -> str:
    """Qualified LHÉO tag for lxml lookups."""
    return f"{{{LHEO_NS}}}{tag}"


def texts(root: etree._Element, path: str) -> list[str]:
    return [element.text or "" for element in root.iterfind(path, namespaces={"l": LHEO_NS})]


def standalone_config(root: Path) -> Path:
    """`root/config/gateway.toml` as a new installation has it: store and outbox beside the folder."""
    path = root / "config" / "gateway.toml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(
        f"""
mappings_path = "{REPO / "mappings"}"
[store]
url = "sqlite:///../var/gateway.sqlite3"
[outbox]
path = "../outbox"
[validation]
schema_path = "{REPO / "xsd" / "lheo-2.3-gateway.xsd"}"
""",
        encoding="utf-8",
    )
    return path


def write_config(gateway: Gateway, tmp_path: Path, extra_toml: str = "", store_toml: str = "") -> Path:
    """A `config/gateway.toml` over the test's store and outbox (repo mappings and XSD) plus `extra_toml`.

    The gateway fixture is switched to it, so exports in the test see the same destinations as
    the `lheo-gateway` processes the test starts with `--config`.
    """
    from gateway.config import load_config

    path = tmp_path / "config" / "gateway.toml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(
        f"""
mappings_path = "{REPO / "mappings"}"
[store]
url = "{gateway.config.store.url}"
{store_toml}
[outbox]
path = "{gateway.outbox}"
[validation]
schema_path = "{REPO / "xsd" / "lheo-2.3-gateway.xsd"}"
{extra_toml}
""",
        encoding="utf-8",
    )
    gateway.config = load_config(path)
    return path
