"""Import benchmark: N new offers into a fresh SQLite store, then the same file again, unchanged,
then the first import again in one process only (no workers), on another fresh store.

    .venv/bin/python -m bench.import_benchmark [--offers 100000] [--workdir /tmp/lheo-bench-import]

The offers are those of `bench/synthetic.py` (about 5 KB of JSON each), written once to the
work folder and reused. Each import runs in its own process (`gateway.intake.importer.import_file`,
as `lheo-gateway offers import` does), so its peak RSS is its own; its workers are sampled.
Figures are printed beside the targets of issue #12; nothing is asserted (speed targets are not
unit tests).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

from bench.measure import WorkerPeaks, hwm_mb, run_phase

REPO = Path(__file__).resolve().parents[1]
TARGET_NEW_S = 20.0  # 100,000 new offers
TARGET_UNCHANGED_S = 10.0  # the same file again


def _store(workdir: Path, name: str) -> Path:
    return workdir / f"{name}.sqlite3"


def _fresh(store: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{store}{suffix}").unlink(missing_ok=True)


def phase_import(store: Path, source: Path, workers: int) -> dict[str, Any]:
    from gateway.config import RulesSettings
    from gateway.intake.importer import import_file
    from gateway.store.database import Database

    database = Database(f"sqlite:///{store}")  # migrations run here, before the clock
    started = time.perf_counter()
    cpu = os.times()
    with WorkerPeaks() as peaks:
        report = import_file(database, source, RulesSettings(), workers=workers)
    seconds = time.perf_counter() - started
    spent = os.times()
    database.close()
    return {
        "seconds": seconds,
        "cpu_main": (spent.user - cpu.user) + (spent.system - cpu.system),
        "cpu_workers": (spent.children_user - cpu.children_user) + (spent.children_system - cpu.children_system),
        "records": len(report.results),
        "counts": {outcome.value: count for outcome, count in sorted(report.counts().items())},
        "rss_mb": hwm_mb(),
        "rss_worker_mb": peaks.peak,
    }


def _run_phase(store: Path, source: Path, workers: int) -> dict[str, Any]:
    return run_phase(
        "bench.import_benchmark", "--phase", "import", str(store), "--source", str(source), "--workers", str(workers)
    )


def _line(label: str, result: dict[str, Any], target: float | None) -> str:
    seconds = result["seconds"]
    counts = ", ".join(f"{name} {count:,}" for name, count in result["counts"].items())
    aim = f"target ≤ {target:g} s; " if target else ""
    workers = f", workers {result['cpu_workers']:.1f} s" if result["cpu_workers"] else ""
    memory = f", workers ≤ {result['rss_worker_mb']:.0f} MB" if result["rss_worker_mb"] else ""
    return (
        f"{label:<22} {result['records']:>9,} offers {seconds:7.1f} s {result['records'] / seconds:8,.0f} offers/s"
        f"   CPU main {result['cpu_main']:.1f} s{workers}   peak RSS main {result['rss_mb']:.0f} MB{memory}"
        f"   ({aim}{counts})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--offers", type=int, default=100_000)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/lheo-bench-import"))
    parser.add_argument("--phase", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--source", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    workdir: Path = args.workdir

    if args.phase:
        print(json.dumps(phase_import(Path(args.phase[1]), args.source, args.workers)))
        return 0

    from bench.synthetic import write_jsonl

    workdir.mkdir(parents=True, exist_ok=True)
    source = workdir / f"offers-{args.offers}.jsonl"
    started = time.perf_counter()
    if not source.exists():
        write_jsonl(source, args.offers)
    size = source.stat().st_size
    print(
        f"generate   {args.offers:>9,} offers   {time.perf_counter() - started:7.1f} s   "
        f"({source}, {size / 1e6:,.0f} MB, {size / args.offers / 1e3:.1f} KB/offer)"
    )
    scale = args.offers / 100_000
    pooled, inline = _store(workdir, "import"), _store(workdir, "import-inline")
    _fresh(pooled)
    _fresh(inline)
    new = _run_phase(pooled, source, 0)
    print(_line("import (workers)", new, TARGET_NEW_S * scale))
    print(_line("unchanged re-import", _run_phase(pooled, source, 0), TARGET_UNCHANGED_S * scale))
    alone = _run_phase(inline, source, 1)
    print(_line("import (one process)", alone, None))
    print(
        f"  targets (issue #12, 2 cores): 100,000 new offers ≤ {TARGET_NEW_S:g} s; unchanged re-import ≤ "
        f"{TARGET_UNCHANGED_S:g} s (scaled to N above); workers {alone['seconds'] / new['seconds']:.2f}× one process"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
