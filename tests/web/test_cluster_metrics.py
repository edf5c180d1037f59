"""Metrics in a cluster: every /metrics names its instance; the store-wide figures come from
one process only (the leader), so summing over instances does not count them N times."""

from __future__ import annotations

from datetime import timedelta

import httpx
from prometheus_client.parser import text_string_to_metric_families

from gateway.store.locks import LEADER, release, try_acquire
from gateway.web.cluster_metrics import this_process
from tests.conftest import base_offer
from tests.web.conftest import LiveServer


def _families(url: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    response = httpx.get(f"{url}/metrics", timeout=10)
    assert response.status_code == 200
    return {
        family.name: [(sample.labels, sample.value) for sample in family.samples]
        for family in text_string_to_metric_families(response.text)
    }


def test_store_wide_metrics_come_from_the_leader_only(live_server: LiveServer) -> None:
    gateway = live_server.gateway
    gateway.import_offers(base_offer())
    gateway.export("intercarif")

    # No instance leads (a lone `serve`): this process exports everything.
    alone = _families(live_server.url)
    [(labels, value)] = alone["lheo_gateway_instance_info"]
    assert value == 1 and labels["gateway_instance"] == this_process() and labels["store_metrics"] == "true"
    assert "lheo_gateway_exports" in alone and "lheo_gateway_cluster_leases" in alone

    # Another machine's `run` instance leads: only the instance info here.
    assert try_acquire(gateway.database, LEADER, "other-host:4242:abcdef", timedelta(minutes=1))
    follower = _families(live_server.url)
    assert follower["lheo_gateway_instance_info"][0][0]["store_metrics"] == "false"
    assert "lheo_gateway_exports" not in follower and "lheo_gateway_transmissions" not in follower
    release(gateway.database, LEADER, "other-host:4242:abcdef")

    # This process leads: it exports them.
    assert try_acquire(gateway.database, LEADER, f"{this_process()}:123abc", timedelta(minutes=1))
    leader = _families(live_server.url)
    assert leader["lheo_gateway_instance_info"][0][0]["store_metrics"] == "true"
    assert leader["lheo_gateway_exports"][0][1] == 1
