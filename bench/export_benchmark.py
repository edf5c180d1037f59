"""Export benchmark: the gateway's streaming export against the naive "whole tree" peer.

    .venv/bin/python -m bench.export_benchmark [--offers 100000] [--workdir /tmp/lheo-bench]

Steps, each timed: generate N synthetic offers (bench/synthetic.py), import them into a fresh
SQLite store, then in separate processes (so peak memory is measured apart):
- gateway: `run_export` of one destination (intercarif, which takes every offer): render,
  per-offer XSD validation, write, sha256 and gzip, on every core;
- peer: the naive approach — build the whole `<lheo>` tree with lxml's element API, validate it
  whole against the same XSD, serialize it to a file and hash it, in one process.
Figures and ratios are printed; nothing is asserted (speed targets are not unit tests).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DESTINATION = "intercarif"
EXPORTED_AT = datetime(2026, 11, 27, 8, 0, 0, tzinfo=UTC)


def _peak_rss_mb() -> tuple[float, float]:
    """(this process, largest child) peak resident set size in MB (Linux reports KiB)."""
    return (
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    )


def _config(workdir: Path) -> Any:
    from gateway.config import GatewayConfig, OutboxSettings, StoreSettings, ValidationSettings

    return GatewayConfig(
        store=StoreSettings(url=f"sqlite:///{workdir / 'bench.sqlite3'}"),
        outbox=OutboxSettings(path=workdir / "outbox", keep_last=1000),
        validation=ValidationSettings(schema_path=REPO / "xsd" / "lheo-2.3-gateway.xsd"),
        mappings_path=REPO / "mappings",
    )


def phase_export(workdir: Path) -> dict[str, Any]:
    from gateway.pipeline.export import run_export
    from gateway.store.database import Database

    config = _config(workdir)
    database = Database(config.store.url)
    started = time.perf_counter()
    [result] = run_export(database, config, destinations=[DESTINATION], exported_at=EXPORTED_AT)
    seconds = time.perf_counter() - started
    assert result.feed is not None
    main_rss, worker_rss = _peak_rss_mb()
    return {
        "seconds": seconds,
        "offers": result.exported,
        "bytes": result.feed.size,
        "gz_bytes": result.feed.gz_size,
        "rss_main_mb": main_rss,
        "rss_worker_mb": worker_rss,
        "workers": os.cpu_count() or 1,
    }


def phase_peer(workdir: Path) -> dict[str, Any]:
    """Build every formation with lxml's element API into one tree, validate it whole, write it."""
    from lxml import etree

    from bench.tree_renderer import render_formation
    from gateway.intake.models import Offer
    from gateway.lheo.document import export_timestamp
    from gateway.lheo.formation import LHEO_NAMESPACE
    from gateway.mapping.formation_view import build_view
    from gateway.mapping.profiles import load_profiles
    from gateway.rules.geography import Geography
    from gateway.store.database import Database
    from gateway.store.queries import exportable_pages

    config = _config(workdir)
    [profile] = load_profiles(config.mappings_path, [DESTINATION])
    database = Database(config.store.url)
    started = time.perf_counter()
    geography = Geography.bundled()
    schema = etree.XMLSchema(etree.parse(str(config.validation.schema_path)))
    root = etree.Element(f"{{{LHEO_NAMESPACE}}}lheo", nsmap={None: LHEO_NAMESPACE})  # type: ignore[dict-item]
    root.set("horodatage-export", export_timestamp(EXPORTED_AT))
    offres = etree.SubElement(root, f"{{{LHEO_NAMESPACE}}}offres")
    count = 0
    with database.session() as db:
        for page in exportable_pages(db):
            for stored in page:
                view = build_view(Offer.model_validate_json(stored.payload), profile, ())
                if view is not None:
                    offres.append(render_formation(view, config.lheo, geography))
                    count += 1
    valid = schema.validate(root)
    out = workdir / "peer.xml"
    data = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    out.write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    seconds = time.perf_counter() - started
    main_rss, _ = _peak_rss_mb()
    return {
        "seconds": seconds,
        "offers": count,
        "bytes": len(data),
        "valid": valid,
        "sha256": digest,
        "rss_main_mb": main_rss,
    }


def _run_phase(phase: str, workdir: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.export_benchmark", "--phase", phase, "--workdir", str(workdir)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"phase {phase} failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--offers", type=int, default=100_000)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/lheo-bench"))
    parser.add_argument("--skip-peer", action="store_true", help="only measure the gateway")
    parser.add_argument("--phase", choices=["export", "peer"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    workdir: Path = args.workdir

    if args.phase:
        result = phase_export(workdir) if args.phase == "export" else phase_peer(workdir)
        print(json.dumps(result))
        return 0

    from bench.synthetic import write_jsonl
    from gateway.config import RulesSettings
    from gateway.intake.importer import import_file
    from gateway.store.database import Database

    workdir.mkdir(parents=True, exist_ok=True)
    for stale in [workdir / "bench.sqlite3", workdir / "bench.sqlite3-wal", workdir / "bench.sqlite3-shm"]:
        stale.unlink(missing_ok=True)
    source = workdir / f"offers-{args.offers}.jsonl"
    started = time.perf_counter()
    if not source.exists():
        write_jsonl(source, args.offers)
    print(f"generate   {args.offers:>9,} offers   {time.perf_counter() - started:7.1f} s   ({source})")
    started = time.perf_counter()
    database = Database(_config(workdir).store.url)
    report = import_file(database, source, RulesSettings())
    database.close()
    seconds = time.perf_counter() - started
    count = len(report.results)
    print(f"import     {count:>9,} offers   {seconds:7.1f} s   {count / seconds:9,.0f} offers/s")

    gateway = _run_phase("export", workdir)
    mb = gateway["bytes"] / 1e6
    print(
        f"gateway    {gateway['offers']:>9,} offers   {gateway['seconds']:7.1f} s   "
        f"{gateway['offers'] / gateway['seconds']:9,.0f} offers/s   {mb / gateway['seconds']:6.1f} MB/s   "
        f"feed {mb:,.0f} MB (gzip {gateway['gz_bytes'] / 1e6:,.0f} MB, "
        f"{gateway['bytes'] / gateway['offers'] / 1e3:.1f} KB/offer)   peak RSS main {gateway['rss_main_mb']:.0f} MB, "
        f"each of {gateway['workers']} workers ≤ {gateway['rss_worker_mb']:.0f} MB"
    )
    print("  targets: 100,000 offers ≤ 12 s; peak RSS ≤ 200 MB whatever N")
    if args.skip_peer:
        return 0
    peer = _run_phase("peer", workdir)
    print(
        f"peer       {peer['offers']:>9,} offers   {peer['seconds']:7.1f} s   "
        f"{peer['offers'] / peer['seconds']:9,.0f} offers/s   {peer['bytes'] / 1e6 / peer['seconds']:6.1f} MB/s   "
        f"peak RSS {peer['rss_main_mb']:.0f} MB   (whole tree, validated whole: valid={peer['valid']})"
    )
    gateway_rss = gateway["rss_main_mb"] + gateway["workers"] * gateway["rss_worker_mb"]
    print(
        f"ratios     speed {peer['seconds'] / gateway['seconds']:.1f}× faster (target ≥ 2×)   "
        f"memory {peer['rss_main_mb'] / gateway_rss:.1f}× less, all gateway processes counted (target ≥ 15×)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
