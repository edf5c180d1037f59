"""The console's cluster page: health, instances, leases (a stuck one released by an operator,
audited; a live one refused), next runs only when a `run` instance is alive."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from gateway.config import DestinationSettings
from gateway.scheduling.instance import Instance
from gateway.store.locks import try_acquire
from gateway.store.tables import AuditRow, InstanceRow, LockRow
from gateway.transports.local import LocalFolderSettings
from gateway.web.console.dashboard import next_run as dashboard_next_run
from gateway.web.console.views import format_moment
from tests.web.conftest import LiveServer
from tests.web.test_console import cell, csrf_token, make_user, staff_client


def test_cluster_page_shows_health_and_an_operator_releases_a_stuck_lease(live_server: LiveServer) -> None:
    gateway = live_server.gateway
    settings = DestinationSettings(transport=LocalFolderSettings(path=gateway.root / "drop"), schedule="15 3 * * *")
    live_server.gateway.config.destinations["intercarif"] = settings
    make_user(gateway, "oscar", "operator")
    make_user(gateway, "vera", "viewer")
    with staff_client(live_server, "vera") as client:
        page = client.get("/cluster")
        assert page.status_code == 200
        assert "aucun planificateur vivant" in cell(page.text, "//*[@data-check='scheduler']")
        assert "aucune instance pour l'exécuter" in cell(
            page.text, "//tr[@data-destination='intercarif']/td[@data-field='next']"
        )

    live = Instance(gateway.database, gateway.config.store, role="run", lead=True)
    dead = Instance(gateway.database, gateway.config.store, role="run")
    live.start()
    dead.start()
    try:
        dead._stop.set()
        assert try_acquire(gateway.database, "destination:intercarif", dead.id, timedelta(minutes=5))
        with gateway.database.session() as db, db.begin():
            db.execute(
                update(InstanceRow)
                .where(InstanceRow.id == dead.id)
                .values(heartbeat_at=datetime.now(UTC) - timedelta(minutes=10))
            )
        with staff_client(live_server, "vera") as client:
            page = client.get("/cluster").text
            assert "planificateur actif" in cell(page, "//*[@data-check='scheduler']")
            assert "1 bail(s) bloqué(s)" in cell(page, "//*[@data-check='stuck']")
            assert "morte" in cell(page, f"//tr[@data-instance='{dead.id}']")
            next_run = cell(page, "//tr[@data-destination='intercarif']/td[@data-field='next']")
            assert next_run and not next_run.startswith("—")  # a live `run` instance will run it
            # The dashboard shows the next run too, now that something will run it.
            expected = dashboard_next_run(gateway.config.destinations["intercarif"], datetime.now(UTC))
            dashboard = client.get("/").text
            shown = cell(dashboard, "//tr[@data-destination='intercarif']/td[@data-field='next-run']")
            assert expected is not None and shown.startswith(format_moment(expected, False))
            assert '<form method="post" action="/cluster/leases/release"' not in page  # viewers cannot
        with staff_client(live_server, "oscar") as client:
            page = client.get("/cluster").text
            token = csrf_token(page, "/cluster/leases/release")
            origin = {"Origin": live_server.url}
            refused = client.post(
                "/cluster/leases/release", data={"name": "leader", "csrf_token": token}, headers=origin
            )
            assert refused.status_code == 400 and "instance vivante" in refused.text
            released = client.post(
                "/cluster/leases/release", data={"name": "destination:intercarif", "csrf_token": token}, headers=origin
            )
            assert released.status_code == 303, released.text
        with gateway.database.session() as db:
            assert [row.name for row in db.scalars(select(LockRow))] == ["leader"]
            [entry] = db.scalars(select(AuditRow).where(AuditRow.action == "lease-release")).all()
            assert entry.actor == "oscar" and entry.target == "lease:destination:intercarif"
    finally:
        live.stop()
        dead.stop()
