"""Partners and their tokens: the service, the API's view of it over real HTTP, and `lheo-gateway partners`."""

from __future__ import annotations

import hashlib
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import typer
from sqlalchemy import select, update
from typer.testing import CliRunner

from gateway.cli import partner_commands
from gateway.store.tables import AuditRow, PartnerTokenRow
from gateway.web.partners import (
    AuthError,
    PartnerError,
    add_partner,
    as_utc,
    authenticate,
    list_partners,
    revoke,
    rotate_token,
)
from tests.conftest import REPO, Gateway
from tests.web.conftest import LiveServer

TOKEN = re.compile(r"lheo_[A-Za-z0-9_-]{43}")
FEEDS_URL = "/api/v1/feeds"


def _status(server: LiveServer, token: str) -> int:
    return httpx.get(f"{server.url}{FEEDS_URL}", headers={"Authorization": f"Bearer {token}"}).status_code


def _audit(gateway: Gateway) -> list[tuple[str, str, str]]:
    with gateway.database.session() as db:
        return [(a.actor, a.action, a.target) for a in db.scalars(select(AuditRow).order_by(AuditRow.id))]


def _wait_until_used(gateway: Gateway, *prefixes: str) -> None:
    """Last use is written with the fetch log, just after the answer: wait for it."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        used = {t.prefix for t in list_partners(gateway.database)[0].tokens if t.last_used_at is not None}
        if used >= set(prefixes):
            return
        time.sleep(0.02)
    raise AssertionError(f"last use of {prefixes} not recorded")


def test_only_a_digest_is_stored(gateway: Gateway) -> None:
    issued = add_partner(gateway.database, gateway.config, "acme", ["intercarif", "pole-emploi"], "alice")
    assert TOKEN.fullmatch(issued.token) and issued.prefix == issued.token[:12]
    with gateway.database.session() as db:
        row = db.scalars(select(PartnerTokenRow)).one()
    assert row.token_sha256 == hashlib.sha256(issued.token.encode()).hexdigest()
    gateway.database.close()  # checkpoint the WAL: every byte of the store is in these files
    for path in gateway.root.glob("gateway.sqlite3*"):
        assert issued.token.encode() not in path.read_bytes()
    principal = authenticate(gateway.database, issued.token)
    assert principal.name == "acme" and principal.feeds == {"intercarif", "pole-emploi"}
    assert _audit(gateway) == [("alice", "partner.add", "acme")]


def test_bad_names_feeds_and_tokens_are_refused(gateway: Gateway) -> None:
    with pytest.raises(PartnerError, match="flux inconnu"):
        add_partner(gateway.database, gateway.config, "acme", ["intercarif", "nowhere"], "alice")
    with pytest.raises(PartnerError, match="nom de partenaire invalide"):
        add_partner(gateway.database, gateway.config, "../acme", ["intercarif"], "alice")
    add_partner(gateway.database, gateway.config, "acme", ["intercarif"], "alice")
    with pytest.raises(PartnerError, match="existe déjà"):
        add_partner(gateway.database, gateway.config, "acme", ["intercarif"], "alice")
    with pytest.raises(PartnerError, match="inconnu"):
        rotate_token(gateway.database, gateway.config, "nobody", "alice")
    for token, code in ((None, "AUTH_REQUIRED"), ("lheo_short", "AUTH_INVALID"), ("lheo_" + "A" * 43, "AUTH_INVALID")):
        with pytest.raises(AuthError) as refused:
            authenticate(gateway.database, token)
        assert refused.value.code == code


def test_rotation_grace_expiry_and_revocation_over_http(live_server: LiveServer) -> None:
    gateway = live_server.gateway
    first = add_partner(gateway.database, gateway.config, "acme", ["intercarif"], "alice")
    assert _status(live_server, first.token) == 200
    before = datetime.now(UTC)
    second = rotate_token(gateway.database, gateway.config, "acme", "bob")
    grace = timedelta(hours=gateway.config.web.token_rotation_grace_hours)
    assert second.previous_expires_at is not None
    assert before + grace <= second.previous_expires_at <= datetime.now(UTC) + grace
    # Both tokens work during the grace period.
    assert _status(live_server, first.token) == _status(live_server, second.token) == 200
    assert list_partners(gateway.database)[0].tokens[1].expires_at is None
    _wait_until_used(gateway, first.prefix, second.prefix)

    # End of the grace period (simulated): the old token stops, the new one goes on.
    with gateway.database.session() as db, db.begin():
        db.execute(
            update(PartnerTokenRow)
            .where(PartnerTokenRow.prefix == first.prefix)
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    assert _status(live_server, first.token) == 401
    assert _status(live_server, second.token) == 200

    third = rotate_token(gateway.database, gateway.config, "acme", "bob")
    assert revoke(gateway.database, "acme", "carol", token_prefix=second.prefix) == 1
    assert _status(live_server, second.token) == 401 and _status(live_server, third.token) == 200
    assert revoke(gateway.database, "acme", "carol") == 1
    assert _status(live_server, third.token) == 401
    partner = list_partners(gateway.database)[0]
    assert partner.revoked_at is not None and not any(t.live(datetime.now(UTC)) for t in partner.tokens)
    with pytest.raises(PartnerError, match="révoqué"):
        rotate_token(gateway.database, gateway.config, "acme", "bob")
    assert [entry[:2] for entry in _audit(gateway)] == [
        ("alice", "partner.add"),
        ("bob", "partner.rotate"),
        ("bob", "partner.rotate"),
        ("carol", "partner.token.revoke"),
        ("carol", "partner.revoke"),
    ]


def test_rotation_never_extends_an_earlier_expiry(gateway: Gateway) -> None:
    add_partner(gateway.database, gateway.config, "acme", ["intercarif"], "alice")
    first_rotation = rotate_token(gateway.database, gateway.config, "acme", "alice")
    soon = datetime.now(UTC) + timedelta(minutes=5)
    with gateway.database.session() as db, db.begin():
        db.execute(
            update(PartnerTokenRow).where(PartnerTokenRow.prefix != first_rotation.prefix).values(expires_at=soon)
        )
    rotate_token(gateway.database, gateway.config, "acme", "alice")
    expiries = sorted(as_utc(t.expires_at) for t in list_partners(gateway.database)[0].tokens if t.expires_at)
    assert len(expiries) == 2 and abs((expiries[0] - soon).total_seconds()) < 1


# --- command line ---------------------------------------------------------------------------

runner = CliRunner()


def _cli() -> typer.Typer:
    """The real `lheo-gateway` once `partners` is wired in, else the same callback plus these commands."""
    from gateway.cli.app import app, main_callback

    if any(group.name == "partners" for group in app.registered_groups):
        return app
    local = typer.Typer(pretty_exceptions_enable=False)
    local.callback()(main_callback)
    partner_commands.register(local)
    return local


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "gateway.toml"
    path.write_text(
        f"""
mappings_path = "{REPO / "mappings"}"
[store]
url = "sqlite:///{tmp_path / "cli.sqlite3"}"
[outbox]
path = "{tmp_path / "outbox"}"
""",
        encoding="utf-8",
    )
    return path


def _run(config: Path, *args: str, stdin: str | None = None) -> tuple[int, str]:
    result = runner.invoke(_cli(), ["--config", str(config), "partners", *args], input=stdin, catch_exceptions=False)
    return result.exit_code, result.output


def test_partners_commands(config_file: Path) -> None:
    code, out = _run(config_file, "add", "acme", "--feeds", "pole-emploi,intercarif", "--by", "alice")
    assert code == 0, out
    [token] = TOKEN.findall(out)
    assert out.count(token) == 1 and "une seule fois" in out

    code, out = _run(config_file, "list")
    assert code == 0 and "acme" in out and "intercarif, pole-emploi" in out and token[:12] in out
    assert not TOKEN.search(out)

    code, out = _run(config_file, "rotate", "acme", "--by", "alice")
    assert code == 0, out
    [new_token] = TOKEN.findall(out)
    assert new_token != token and "expirent le" in out
    code, out = _run(config_file, "list")
    assert token[:12] in out and new_token[:12] in out and not TOKEN.search(out)

    code, out = _run(config_file, "revoke", "acme", stdin="n\n")
    assert code == 1  # answered no: nothing revoked
    code, out = _run(config_file, "revoke", "acme", "--token", token[:12], "--yes")
    assert code == 0 and "1 jeton" in out
    code, out = _run(config_file, "revoke", "acme", "--yes", "--by", "bob")
    assert code == 0 and "révoqué" in out
    code, out = _run(config_file, "rotate", "acme")
    assert code == 2 and "révoqué" in out

    code, out = _run(config_file, "add", "other", "--feeds", "nowhere")
    assert code == 2 and "flux inconnu" in out
