"""Cluster metrics, and which process exports the store-wide ones.

Every process's `/metrics` says which instance it is (`lheo_gateway_instance_info`). Figures
computed from the shared store (exports, transmissions, these cluster gauges…) would be the same
on every instance, and a sum over instances would count them N times: they are exported only by
the process holding the leader lease (a `run` instance), or by every process while no instance
leads (a lone `serve`, a single-process set-up). During a leader takeover (at most
`store.lease_seconds`) no process exports them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import select

from gateway import clock
from gateway.config import GatewayConfig
from gateway.scheduling.cluster_status import cluster_status
from gateway.scheduling.instance import gateway_version
from gateway.store.database import Database
from gateway.store.locks import LEADER, aware, store_now
from gateway.store.tables import LockRow

PREFIX = "lheo_gateway"


def this_process() -> str:
    return f"{clock.host_name()}:{os.getpid()}"


def store_wide_here(database: Database) -> bool:
    """Whether this process exports the store-wide metrics (see the module's docstring)."""
    with database.session() as db:
        now = store_now(db)
        row = db.execute(select(LockRow.owner, LockRow.expires_at).where(LockRow.name == LEADER)).first()
    if row is None or aware(row.expires_at) <= now:
        return True
    return bool(row.owner.startswith(this_process() + ":"))


class ClusterCollector(Collector):
    def __init__(self, database: Database, config: GatewayConfig) -> None:
        self.database = database
        self.config = config

    def collect(self) -> Iterator[Metric]:
        exporting = store_wide_here(self.database)
        info = GaugeMetricFamily(
            f"{PREFIX}_instance_info",
            "This process (always 1); store_metrics=true on the one process exporting the store-wide metrics.",
            labels=["gateway_instance", "host", "version", "store_metrics"],
        )
        info.add_metric([this_process(), clock.host_name(), gateway_version(), str(exporting).lower()], 1)
        yield info
        if not exporting:
            return
        status = cluster_status(self.database, self.config)
        alive = GaugeMetricFamily(
            f"{PREFIX}_cluster_instances_alive", "Instances with a recent heartbeat, by role.", labels=["role"]
        )
        for role in ("run", "deliver"):
            alive.add_metric([role], sum(1 for instance in status.alive if instance.role == role))
        yield alive
        leases = GaugeMetricFamily(
            f"{PREFIX}_cluster_leases", "Leases by state (stuck: the holder is dead).", labels=["state"]
        )
        leases.add_metric(["active"], sum(1 for lease in status.leases if not lease.stuck))
        leases.add_metric(["stuck"], sum(1 for lease in status.leases if lease.stuck))
        yield leases
        last = GaugeMetricFamily(
            f"{PREFIX}_cluster_last_slot_completed_age_seconds",
            "Seconds since the destination's last scheduled slot completed.",
            labels=["destination"],
        )
        for destination in status.destinations:
            if destination.last_completed_at is not None:
                last.add_metric([destination.name], (status.now - destination.last_completed_at).total_seconds())
        yield last
