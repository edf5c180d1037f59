"""Offer search (console and `offers list --search`): words through FTS5, filters, sort, pages."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import create_engine, text

from gateway.intake.importer import import_file
from gateway.intake.reader import InputFileError
from gateway.store.database import MIGRATIONS_DIR, Database
from gateway.store.offer_search import OfferQuery, fts_expression, search_offers
from gateway.store.search_fields import fold
from tests.conftest import Gateway, base_offer, with_changes

MACON = "202611270010"
BTS = "202611270011"
PAU = "202611270012"
BAD_SIRET = "202611270013"


def _offers() -> list[dict[str, object]]:
    macon = with_changes(
        base_offer(MACON, ("00110001",)),
        title="CAP Maçon",
        certifinfo="54321",
        responsable__name="Bâtiment Formation Gironde",
    )
    pau = with_changes(base_offer(PAU, ("00120001",)), title="Bac pro Menuiserie")
    pau["sessions"][0]["place"] = {"lines": ["2 rue Louis Barthou"], "postcode": "64000", "city": "Pau"}
    bad = with_changes(base_offer(BAD_SIRET, ("00130001",)), title="CAP Cuisine", responsable__siret="73282932000075")
    return [macon, base_offer(BTS, ("00100001",)), pau, bad]


def _refs(gateway: Gateway, **filters: object) -> list[str]:
    with gateway.database.session() as db:
        return [line.reference for line in search_offers(db, OfferQuery(**filters)).lines]  # type: ignore[arg-type]


def test_words_ignore_case_and_accents_and_match_prefixes(gateway: Gateway) -> None:
    gateway.import_offers(*_offers())
    assert _refs(gateway, words="CAP Maçon") == [MACON]
    assert _refs(gateway, words="cap macon") == [MACON]
    assert _refs(gateway, words="maç") == [MACON]
    assert _refs(gateway, words="batiment gironde") == [MACON]  # organisme name
    assert _refs(gateway, words="cap") == [MACON, BAD_SIRET]
    assert _refs(gateway, words=MACON) == [MACON]  # reference
    assert _refs(gateway, words="54321") == [MACON]  # Certifinfo
    assert _refs(gateway, words="73282932000075") == [BAD_SIRET]  # SIRET
    assert _refs(gateway, words="pau") == [PAU]  # town of a session place
    assert _refs(gateway, words="CAP Boulanger") == []
    with gateway.database.session() as db:
        # SQLite searches words with its FTS5 index; PostgreSQL with LIKE on the folded column.
        expected = "fts5" if gateway.database.dialect == "sqlite" else "like"
        assert search_offers(db, OfferQuery(words="cap")).engine == expected


def test_user_text_never_reaches_fts_syntax(gateway: Gateway) -> None:
    gateway.import_offers(*_offers())
    assert fts_expression('cap" OR title:*') == '"cap"* "or"* "title"*'
    assert _refs(gateway, words='"') == [MACON, BTS, PAU, BAD_SIRET]  # no word: no word filter
    assert _refs(gateway, words="NEAR(cap") == []  # searched as words, no syntax error


def test_filters_sort_and_pages(gateway: Gateway) -> None:
    gateway.import_offers(*_offers())
    assert _refs(gateway, town="PAU") == [PAU]
    assert _refs(gateway, town="bordeaux") == [MACON, BTS, PAU, BAD_SIRET]  # organisme address too
    assert _refs(gateway, siret="732 829 320 00075") == [BAD_SIRET]
    assert _refs(gateway, certifinfo="54321") == [MACON]
    assert _refs(gateway, problem="SIRET_CHECKSUM") == [BAD_SIRET]
    assert _refs(gateway, status="validee", rejected_only=True) == [BAD_SIRET]
    assert _refs(gateway, sort="title") == [BTS, PAU, BAD_SIRET, MACON]
    assert _refs(gateway, sort="reference", descending=True) == [BAD_SIRET, PAU, BTS, MACON]
    with gateway.database.session() as db:
        second = search_offers(db, OfferQuery(page=2, page_size=3))
    assert second.total == 4 and second.pages == 2 and [line.reference for line in second.lines] == [BAD_SIRET]


def test_presence_in_a_destination_feed(gateway: Gateway) -> None:
    gateway.import_offers(*_offers())
    gateway.export("intercarif")
    assert _refs(gateway, destination="intercarif", presence="in") == [MACON, BTS, PAU]
    assert _refs(gateway, destination="intercarif", presence="out") == [BAD_SIRET]
    assert _refs(gateway, destination="intercarif", presence="quarantined") == [BAD_SIRET]
    assert _refs(gateway, destination="parcoursup", presence="in") == []  # never exported


def test_reimport_keeps_the_index_in_step(gateway: Gateway) -> None:
    gateway.import_offers(*_offers())
    renamed = with_changes(_offers()[0], title="CAP Carreleur mosaïste")
    gateway.import_offers(renamed, name="again.jsonl")
    assert _refs(gateway, words="macon") == []
    assert _refs(gateway, words="mosaiste") == [MACON]


def test_migration_fills_the_columns_of_offers_stored_before_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    engine = create_engine(url)
    alembic_cfg = AlembicConfig()
    alembic_cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        alembic_cfg.attributes["connection"] = connection
        command.upgrade(alembic_cfg, "0004")
        now = datetime(2026, 11, 1, tzinfo=UTC)
        connection.execute(
            text(
                "INSERT INTO offers (reference, bo_status, title, certifinfo, session_references, session_starts,"
                " payload, payload_sha256, accepted, problems, first_imported_at, updated_at)"
                " VALUES ('202611270099', 'validee', 'CAP Maçon', '1', '', '', :payload, 'x', 1, '[]', :now, :now)"
            ),
            {"payload": '{"title": "CAP Maçon", "responsable": {"name": "Éco BTP", "siret": "1"}}', "now": now},
        )
    engine.dispose()
    database = Database(url)
    with database.session() as db:
        found = search_offers(db, OfferQuery(words="eco btp macon"))
    database.close()
    assert [line.reference for line in found.lines] == ["202611270099"]


def test_fold() -> None:
    assert fold("Œuvre Élève Maçon") == "œuvre eleve macon"


def test_search_index_heals_when_a_later_migration_dropped_its_triggers(gateway: Gateway) -> None:
    """Alembic's batch mode on SQLite rebuilds a table without its triggers: the next start repairs them."""
    if gateway.database.dialect != "sqlite":
        pytest.skip("the FTS5 index and its triggers exist on SQLite only")
    gateway.import_offers(*_offers())
    with gateway.database.engine.begin() as connection:
        connection.execute(text("DROP TRIGGER offers_search_update"))
        connection.execute(text("DROP TRIGGER offers_search_insert"))
    gateway.import_offers(with_changes(_offers()[0], title="CAP Carreleur mosaïste"), name="again.jsonl")
    assert _refs(gateway, words="mosaiste") == []  # the index went stale without its triggers
    reopened = Database(gateway.config.store.url)  # what every command does: upgrade, then repair
    with reopened.session() as db:
        assert [line.reference for line in search_offers(db, OfferQuery(words="mosaiste")).lines] == [MACON]
        assert search_offers(db, OfferQuery(words="macon")).lines == []
    with reopened.engine.connect() as connection:
        names = set(connection.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).scalars())
    reopened.close()
    assert {"offers_search_insert", "offers_search_update", "offers_search_delete"} <= names


def _index_matches_the_offers(gateway: Gateway) -> None:
    """FTS5's own check of the index against its content table (the offers), and the triggers back."""
    with gateway.database.engine.connect() as connection:
        connection.execute(text("INSERT INTO offers_search(offers_search, rank) VALUES ('integrity-check', 1)"))
        names = set(connection.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).scalars())
    assert {"offers_search_insert", "offers_search_update", "offers_search_delete"} <= names


def test_an_import_indexes_its_rows_itself_and_leaves_the_triggers_in_place(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The importer writes the index batch by batch (triggers dropped inside its transaction)."""
    if gateway.database.dialect != "sqlite":
        pytest.skip("the FTS5 index and its triggers exist on SQLite only")
    monkeypatch.setattr("gateway.intake.importer.BATCH_SIZE", 2)  # rows rewritten across batches too
    gateway.import_offers(*_offers())
    macon, bts, pau, _ = _offers()
    gateway.import_offers(
        with_changes(macon, title="CAP Carreleur"),
        bts,
        with_changes(macon, title="CAP Carreleur mosaïste"),  # the same row again, in a later batch
        with_changes(pau, title="Bac pro Ébénisterie"),
        with_changes(pau, title="Bac pro Charpente"),  # ... and in the same batch
        name="again.jsonl",
    )
    _index_matches_the_offers(gateway)
    assert _refs(gateway, words="mosaiste") == [MACON]
    assert _refs(gateway, words="carreleur") == [MACON]
    assert _refs(gateway, words="charpente") == [PAU]
    assert _refs(gateway, words="ebenisterie") == [] == _refs(gateway, words="macon")
    assert _refs(gateway, words="menuiserie") == []
    # Outside an import the triggers still keep the index in step.
    with gateway.database.engine.begin() as connection:
        connection.execute(text("UPDATE offers SET search_text = 'vitrail' WHERE reference = :r"), {"r": BTS})
    assert _refs(gateway, words="vitrail") == [BTS]
    _index_matches_the_offers(gateway)


def test_an_import_that_fails_halfway_leaves_index_and_triggers_as_they_were(gateway: Gateway) -> None:
    if gateway.database.dialect != "sqlite":
        pytest.skip("the FTS5 index and its triggers exist on SQLite only")
    gateway.import_offers(*_offers())
    path = gateway.root / "broken.jsonl"
    renamed = with_changes(_offers()[0], title="CAP Carreleur")
    path.write_text(json.dumps(renamed, ensure_ascii=False) + "\n{not json\n", encoding="utf-8")
    with pytest.raises(InputFileError):
        import_file(gateway.database, path, gateway.config.rules)
    _index_matches_the_offers(gateway)
    assert _refs(gateway, words="macon") == [MACON]
    assert _refs(gateway, words="carreleur") == []
