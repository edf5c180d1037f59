"""Import benchmark: N new offers into a fresh SQLite store, then the same file again, unchanged.

    .venv/bin/python -m bench.import_benchmark [--offers 100000] [--workdir /tmp/lheo-bench-import]

The offers are those of `bench/synthetic.py` (about 10 KB of JSON each), written once to the
work folder and reused. Each import runs in its own process (`gateway.intake.importer.import_file`,
as `lheo-gateway offers import` does), so its peak RSS is its own. Figures are printed beside the
targets of issue #12; nothing is asserted (speed targets are not unit tests).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

from bench.measure import hwm_mb, run_phase

REPO = Path(__file__).resolve().parents[1]
TARGET_NEW_S = 20.0  # 100,000 new offers
TARGET_UNCHANGED_S = 10.0  # the same file again


def _store(workdir: Path) -> Path:
    return workdir / "import.sqlite3"


def phase_import(workdir: Path, source: Path) -> dict[str, Any]:
    from gateway.config import RulesSettings
    from gateway.intake.importer import import_file
    from gateway.store.database import Database

    database = Database(f"sqlite:///{_store(workdir)}")  # migrations run here, before the clock
    started = time.perf_counter()
    cpu = os.times()
    report = import_file(database, source, RulesSettings())
    seconds = time.perf_counter() - started
    spent = os.times()
    database.close()
    return {
        "seconds": seconds,
        "cpu_seconds": (spent.user - cpu.user) + (spent.system - cpu.system),
        "records": len(report.results),
        "counts": {outcome.value: count for outcome, count in sorted(report.counts().items())},
        "rss_mb": hwm_mb(),
    }


def _run_phase(workdir: Path, source: Path) -> dict[str, Any]:
    return run_phase("bench.import_benchmark", "--phase", "import", "--workdir", str(workdir), "--source", str(source))


def _line(label: str, result: dict[str, Any], target: float) -> str:
    seconds = result["seconds"]
    counts = ", ".join(f"{name} {count:,}" for name, count in result["counts"].items())
    return (
        f"{label:<10} {result['records']:>9,} offers   {seconds:7.1f} s   {result['records'] / seconds:9,.0f} offers/s"
        f"   CPU {result['cpu_seconds']:6.1f} s   peak RSS {result['rss_mb']:4.0f} MB"
        f"   (target ≤ {target:g} s; {counts})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--offers", type=int, default=100_000)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/lheo-bench-import"))
    parser.add_argument("--phase", choices=["import"], help=argparse.SUPPRESS)
    parser.add_argument("--source", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    workdir: Path = args.workdir

    if args.phase:
        print(json.dumps(phase_import(workdir, args.source)))
        return 0

    from bench.synthetic import write_jsonl

    workdir.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{_store(workdir)}{suffix}").unlink(missing_ok=True)
    source = workdir / f"offers-{args.offers}.jsonl"
    started = time.perf_counter()
    if not source.exists():
        write_jsonl(source, args.offers)
    size = source.stat().st_size
    print(
        f"generate   {args.offers:>9,} offers   {time.perf_counter() - started:7.1f} s   "
        f"({source}, {size / 1e6:,.0f} MB, {size / args.offers / 1e3:.1f} KB/offer)"
    )
    print(_line("import", _run_phase(workdir, source), TARGET_NEW_S * args.offers / 100_000))
    print(_line("unchanged", _run_phase(workdir, source), TARGET_UNCHANGED_S * args.offers / 100_000))
    print(
        f"  targets (issue #12, 2 cores): 100,000 new offers ≤ {TARGET_NEW_S:g} s; unchanged re-import ≤ "
        f"{TARGET_UNCHANGED_S:g} s (scaled to N above); peak RSS ≤ ~300 MB"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
