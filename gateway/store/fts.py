"""The SQLite full-text index of offers (`offers_search`, FTS5) and the triggers that keep it in step.

An external-content FTS5 table: the text lives once, in `offers.search_text`; the index refers
to offers by rowid. A later migration that rebuilds the `offers` table (Alembic's batch mode
on SQLite copies it into a new one) drops these triggers and may renumber the rows, so
`ensure_offer_search` runs after every upgrade: when a trigger is missing it creates what is
missing and rebuilds the index from the offers.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

TRIGGERS = {
    "offers_search_insert": (
        "CREATE TRIGGER offers_search_insert AFTER INSERT ON offers BEGIN "
        "INSERT INTO offers_search(rowid, search_text) VALUES (new.rowid, new.search_text); END"
    ),
    "offers_search_delete": (
        "CREATE TRIGGER offers_search_delete AFTER DELETE ON offers BEGIN "
        "INSERT INTO offers_search(offers_search, rowid, search_text) "
        "VALUES ('delete', old.rowid, old.search_text); END"
    ),
    "offers_search_update": (
        "CREATE TRIGGER offers_search_update AFTER UPDATE OF search_text ON offers BEGIN "
        "INSERT INTO offers_search(offers_search, rowid, search_text) "
        "VALUES ('delete', old.rowid, old.search_text); "
        "INSERT INTO offers_search(rowid, search_text) VALUES (new.rowid, new.search_text); END"
    ),
}
CREATE_TABLE = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS offers_search USING fts5("
    "search_text, content='offers', content_rowid='rowid', tokenize=\"unicode61 remove_diacritics 2\")"
)


def ensure_offer_search(connection: Connection) -> bool:
    """Create the FTS table and triggers when missing, then rebuild; True when something was done."""
    if connection.dialect.name != "sqlite":
        return False
    columns = {row[1] for row in connection.execute(text("PRAGMA table_info(offers)"))}
    if "search_text" not in columns:
        return False  # before migration 0008
    present = {
        row[0]
        for row in connection.execute(
            text("SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger') AND name LIKE 'offers_search%'")
        )
    }
    missing = [name for name in TRIGGERS if name not in present]
    if "offers_search" in present and not missing:
        return False
    connection.execute(text(CREATE_TABLE))
    for name in missing:
        connection.execute(text(TRIGGERS[name]))
    connection.execute(text("INSERT INTO offers_search(offers_search) VALUES ('rebuild')"))
    return True
