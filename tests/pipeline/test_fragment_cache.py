"""The fragment cache (issue #12): reused exactly when nothing that decides the bytes changed.

Both directions are checked: a stale fragment is never served (every input of the key changes
the bytes or the decision, and the warm feed equals a cold one byte for byte), and an unchanged
offer is never rendered again (rendering is made to fail, the warm export still succeeds).
"""

from __future__ import annotations

import gzip
import hashlib
import shutil
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

import gateway.pipeline.offer_decision as offer_decision
from gateway.config import LheoSettings, ValidationSettings
from gateway.pipeline.export import run_export
from gateway.pipeline.fragment_index import CACHE_FOLDER
from gateway.pipeline.recording import DestinationResult
from gateway.store.tables import SessionHistoryRow
from tests.conftest import FIXED_TIME, REPO, Gateway, base_offer, with_changes

LATER = FIXED_TIME + timedelta(days=1)


def _offers(count: int = 6) -> list[dict[str, Any]]:
    # Distinct certifications: look-alikes would carry duplicate warnings that change with the file.
    return [
        with_changes(base_offer(f"2026112700{i:02d}", (f"0010{i:04d}",)), certifinfo=f"1085{i:02d}")
        for i in range(1, count + 1)
    ]


def _export(gateway: Gateway, *destinations: str, at: datetime = LATER, no_cache: bool = False) -> dict[str, Any]:
    results = run_export(
        gateway.database, gateway.config, destinations=list(destinations) or None, exported_at=at, no_cache=no_cache
    )
    return {r.destination: r for r in results}


def _bytes(result: DestinationResult) -> tuple[bytes, bytes]:
    assert result.feed is not None, result.note
    return result.feed.path.read_bytes(), result.feed.gz_path.read_bytes()


def _no_rendering(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> object:
        raise AssertionError("an unchanged offer was rendered again")

    monkeypatch.setattr(offer_decision, "render_formation", refuse)


def test_warm_export_reuses_every_fragment_and_equals_a_cold_one(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    gateway.import_offers(*_offers())
    cold = _export(gateway, at=FIXED_TIME)
    assert all(r.rebuilt == r.considered and r.reused == 0 for r in cold.values())
    with monkeypatch.context() as patch:
        _no_rendering(patch)
        warm = _export(gateway)
    for name, result in warm.items():
        assert result.reused == result.considered == cold[name].considered and result.rebuilt == 0, name
    again = _export(gateway, no_cache=True)  # same moment: same file names, bytes compared
    for name, result in warm.items():
        if result.feed is None:  # no offer in this destination's perimeter
            assert again[name].feed is None and not cold[name].exported
            continue
        xml, gz = _bytes(result)
        assert (xml, gz) == _bytes(again[name]) and again[name].rebuilt == again[name].considered
        assert gzip.decompress(gz) == xml
        assert result.feed is not None and hashlib.sha256(xml).hexdigest() == result.feed.sha256


def test_only_the_changed_offer_is_rebuilt(gateway: Gateway) -> None:
    offers = _offers()
    gateway.import_offers(*offers)
    _export(gateway, "intercarif", at=FIXED_TIME)
    gateway.import_offers(with_changes(offers[2], title="BTS Négociation et digitalisation de la relation client"))
    warm = _export(gateway, "intercarif")["intercarif"]
    assert (warm.rebuilt, warm.reused) == (1, 5)
    xml, gz = _bytes(warm)
    assert b"BTS N\xc3\xa9gociation et digitalisation" in xml
    assert (xml, gz) == _bytes(_export(gateway, "intercarif", no_cache=True)["intercarif"])


def test_a_new_and_a_withdrawn_offer_keep_the_feed_exact(gateway: Gateway) -> None:
    offers = _offers()
    gateway.import_offers(*offers)
    _export(gateway, "intercarif", at=FIXED_TIME)
    gateway.import_offers(with_changes(offers[0], status="archivee"), base_offer("202611270050", ("00109999",)))
    warm = _export(gateway, "intercarif")["intercarif"]
    assert (warm.exported, warm.rebuilt, warm.reused) == (6, 1, 5)
    xml, gz = _bytes(warm)
    # The offer after the withdrawn one is reused, its deflate block redone against its new neighbour.
    assert gzip.decompress(gz) == xml
    assert (xml, gz) == _bytes(_export(gateway, "intercarif", no_cache=True)["intercarif"])


def test_a_profile_change_rebuilds_that_destination_only(gateway: Gateway, tmp_path: Path) -> None:
    gateway.import_offers(*_offers())
    _export(gateway, "intercarif", "pole-emploi", at=FIXED_TIME)
    mappings = tmp_path / "mappings"
    shutil.copytree(REPO / "mappings", mappings)
    profile = mappings / "intercarif.toml"
    profile.write_text(profile.read_text(encoding="utf-8").replace("title_suffix = false", "title_suffix = true"))
    gateway.config = gateway.config.model_copy(update={"mappings_path": mappings})
    warm = _export(gateway, "intercarif", "pole-emploi")
    assert warm["intercarif"].rebuilt == 6 and warm["pole-emploi"].reused == 6
    assert (
        b"(Contrat d&apos;apprentissage possible)" in _bytes(warm["intercarif"])[0]
        or b"apprentissage possible" in (_bytes(warm["intercarif"])[0])
    )


def test_settings_schema_and_code_changes_invalidate(
    gateway: Gateway, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gateway.import_offers(*_offers(2))
    _export(gateway, "intercarif", at=FIXED_TIME)
    assert _export(gateway, "intercarif")["intercarif"].reused == 2
    # [lheo] settings reach the output (numero prefix)
    gateway.config = gateway.config.model_copy(update={"lheo": LheoSettings(numero_prefix="NA")})
    result = _export(gateway, "intercarif")["intercarif"]
    assert result.rebuilt == 2 and b"NA_" in _bytes(result)[0]
    assert _export(gateway, "intercarif")["intercarif"].reused == 2
    # another XSD (same content plus a comment: a schema file that changed)
    xsd = tmp_path / "xsd"
    shutil.copytree(REPO / "xsd", xsd)
    schema = xsd / "lheo-2.3-gateway.xsd"
    schema.write_bytes(schema.read_bytes() + b"<!-- changed -->\n")
    gateway.config = gateway.config.model_copy(update={"validation": ValidationSettings(schema_path=schema)})
    assert _export(gateway, "intercarif")["intercarif"].rebuilt == 2
    # a new version of the gateway's code
    monkeypatch.setattr("gateway.pipeline.export.code_fingerprint", lambda: "another version")
    assert _export(gateway, "intercarif")["intercarif"].rebuilt == 2
    # the gzip level changes the deflate blocks
    gateway.config.outbox.gzip_level = 9
    assert _export(gateway, "intercarif")["intercarif"].rebuilt == 2


def test_session_history_changes_invalidate_and_problems_are_reused(gateway: Gateway) -> None:
    [offer] = _offers(1)
    gateway.import_offers(offer)
    _export(gateway, "intercarif", at=FIXED_TIME)
    # Its own first export (same formation, same dates) changes nothing: reused.
    assert _export(gateway, "intercarif")["intercarif"].reused == 1
    # The store now says another formation exported that session first: same payload, other decision.
    with gateway.database.session() as db, db.begin():
        db.execute(update(SessionHistoryRow).values(formation_reference="202601019999"))
    result = _export(gateway, "intercarif")["intercarif"]
    assert result.rebuilt == 1 and result.quarantined == 1
    codes = [p.code.value for d in result.decisions for p in d.problems]
    assert "SESSION_REFERENCE_REUSED" in codes or "SESSION_NONE" in codes
    # and that decision, its problems included, is reused the next night as it was
    again = _export(gateway, "intercarif", at=LATER + timedelta(days=1))["intercarif"]
    assert again.reused == 1 and again.quarantined == 1
    assert [p.message for d in again.decisions for p in d.problems] == [
        p.message for d in result.decisions for p in d.problems
    ]


def test_a_purged_feed_is_not_served(gateway: Gateway) -> None:
    gateway.import_offers(*_offers(3))
    cold = _export(gateway, "intercarif", at=FIXED_TIME)["intercarif"]
    assert cold.feed is not None
    original = cold.feed.path.read_bytes()
    cold.feed.path.write_bytes(original[:-10])  # damaged (or replaced) on disk
    warm = _export(gateway, "intercarif")["intercarif"]
    cold.feed.path.write_bytes(original)
    assert warm.rebuilt == 3 and warm.reused == 0
    assert _bytes(warm) == _bytes(_export(gateway, "intercarif", no_cache=True)["intercarif"])
    assert warm.feed is not None
    warm.feed.path.unlink()  # the feed the cache points into, purged
    warm.feed.gz_path.unlink()
    assert _export(gateway, "intercarif", at=LATER + timedelta(days=1))["intercarif"].rebuilt == 3


def test_one_pass_parses_each_offer_once_for_every_destination(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    gateway.import_offers(*_offers(4))
    parsed: list[str] = []
    real = offer_decision.parse_stored

    def counting(stored: Any) -> Any:
        parsed.append(stored.reference)
        return real(stored)

    monkeypatch.setattr("gateway.pipeline.chunks.parse_stored", counting)
    results = _export(gateway, at=FIXED_TIME)
    assert len(results) == 4 and sorted(parsed) == sorted(o["reference"] for o in _offers(4))
    assert (gateway.outbox / CACHE_FOLDER).is_dir()
    assert not list((gateway.outbox / "intercarif").glob(".tmp-*"))


def test_a_damaged_index_is_ignored_from_the_damage_on(gateway: Gateway) -> None:
    gateway.import_offers(*_offers(12))
    _export(gateway, "intercarif", at=FIXED_TIME)
    index = gateway.outbox / CACHE_FOLDER / "intercarif.fragment-index"
    header, *lines = index.read_bytes().split(b"\n")[:-1]
    segments = [i for i, line in enumerate(lines) if line.startswith(b"#")]
    assert len(segments) >= 2, "the test needs offers in two segments at least"
    damaged = lines[-1].split(b"\t")  # an entry of the last segment
    damaged[7] = b"not-a-length"
    lines[-1] = b"\t".join(damaged)
    index.write_bytes(b"\n".join([header, *lines, b""]))
    before = segments[-1] - (len(segments) - 1)  # entries of the segments before the damaged one
    warm = _export(gateway, "intercarif")["intercarif"]
    assert (warm.reused, warm.rebuilt, warm.exported) == (before, 12 - before, 12)  # reused up to the damage
    assert _bytes(warm) == _bytes(_export(gateway, "intercarif", no_cache=True)["intercarif"])
    index.write_bytes(index.read_bytes().replace(b"\t", b"\t\xff", 1))  # not UTF-8 any more
    again = _export(gateway, "intercarif", at=LATER + timedelta(days=1))["intercarif"]
    assert (again.reused, again.rebuilt, again.exported) == (0, 12, 12)
