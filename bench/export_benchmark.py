"""Export benchmark (issue #12): cold and warm exports against the naive "whole tree" peer.

    .venv/bin/python -m bench.export_benchmark [--offers 100000] [--workdir /tmp/lheo-bench]

Steps, each timed, all in one run: generate N synthetic offers (bench/synthetic.py), import
them into a fresh SQLite store, re-import the unchanged file; then, each export in its own
process (so peak memory is measured apart), every one `--no-cache` unless said:
- each of the four destinations alone, cold, on every core (intercarif once more inline);
- the four destinations in one cold run (one pass over the store);
- 1 % of the offers changed (their title; re-imported), then the nightly run: the four
  destinations with the fragment cache of the previous run;
- the peer: the whole `<lheo>` tree built with lxml's element API, validated whole against
  the same XSD, serialized to a file and hashed, in one process (intercarif's perimeter);
- the I/O floor: the warm run's feed files copied with `cp` and fsynced, as the disk allows;
  then the same files copied, digested (sha256 of both, crc32 of the .xml) and fsynced by one
  Python thread: what any warm run must do to those bytes.
Figures and ratios are printed beside the targets; nothing is asserted.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import time
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.measure import WorkerPeaks, hwm_mb, run_phase

REPO = Path(__file__).resolve().parents[1]
DESTINATION = "intercarif"  # takes every offer: the one compared with the peer
DESTINATIONS = ["affelnet", "intercarif", "parcoursup", "pole-emploi"]
WORKERS = 2
EXPORTED_AT = datetime(2026, 11, 27, 8, 0, 0, tzinfo=UTC)


def _peak_rss_mb(workers: WorkerPeaks | None = None) -> tuple[float, float]:
    """(this process, largest worker) peak resident set size in MB."""
    return hwm_mb(), workers.peak if workers is not None else 0.0


def _config(workdir: Path) -> Any:
    from gateway.config import GatewayConfig, OutboxSettings, StoreSettings, ValidationSettings

    return GatewayConfig(
        store=StoreSettings(url=f"sqlite:///{workdir / 'bench.sqlite3'}"),
        outbox=OutboxSettings(path=workdir / "outbox", keep_last=1000),
        validation=ValidationSettings(schema_path=REPO / "xsd" / "lheo-2.3-gateway.xsd"),
        mappings_path=REPO / "mappings",
    )


def phase_export(workdir: Path, destinations: list[str], no_cache: bool, workers: int, minute: int) -> dict[str, Any]:
    from gateway.pipeline.export import run_export
    from gateway.store.database import Database

    config = _config(workdir)
    config.export.workers = workers
    database = Database(config.store.url)
    started = time.perf_counter()
    with WorkerPeaks() as peaks:
        results = run_export(
            database,
            config,
            destinations=destinations,
            exported_at=EXPORTED_AT + timedelta(minutes=minute),
            no_cache=no_cache,
        )
    seconds = time.perf_counter() - started
    main_rss, worker_rss = _peak_rss_mb(peaks)
    return {
        "seconds": seconds,
        "offers": sum(r.exported for r in results),
        "reused": sum(r.reused for r in results),
        "rebuilt": sum(r.rebuilt for r in results),
        "bytes": sum(r.feed.size for r in results if r.feed),
        "gz_bytes": sum(r.feed.gz_size for r in results if r.feed),
        "feeds": [str(p) for r in results if r.feed for p in (r.feed.path, r.feed.gz_path)],
        "rss_main_mb": main_rss,
        "rss_worker_mb": worker_rss,
        "workers": workers,
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


def _run_phase(workdir: Path, *args: str) -> dict[str, Any]:
    return run_phase("bench.export_benchmark", "--workdir", str(workdir), "--phase", *args)


def _export(workdir: Path, destinations: list[str], *, cold: bool, workers: int, minute: int) -> dict[str, Any]:
    return _run_phase(workdir, "export", ",".join(destinations), "cold" if cold else "warm", str(workers), str(minute))


def _line(label: str, run: dict[str, Any]) -> str:
    mb = run["bytes"] / 1e6
    return (
        f"{label:<28} {run['seconds']:7.1f} s   {run['offers']:>7,} offers in feeds   {mb:6,.0f} MB "
        f"(gzip {run['gz_bytes'] / 1e6:,.0f} MB)   reused {run['reused']:,} / rebuilt {run['rebuilt']:,}   "
        f"peak RSS main {run['rss_main_mb']:.0f} MB, workers ≤ {run['rss_worker_mb']:.0f} MB"
    )


def _change_one_percent(source: Path, out: Path) -> int:
    """Every 100th offer with another title, as a back-office export of the day's changes."""
    changed = 0
    with source.open(encoding="utf-8") as lines, out.open("w", encoding="utf-8") as sink:
        for number, line in enumerate(lines):
            if number % 100 == 0:
                record = json.loads(line)
                record["title"] = f"{record['title'][:200]} (modifiée)"
                sink.write(json.dumps(record, ensure_ascii=False) + "\n")
                changed += 1
    return changed


def _io_floor(feeds: list[str], workdir: Path) -> float:
    """Copy the feed files with cp and fsync them: what the disk alone costs for those bytes."""
    target = workdir / "io-floor"
    target.mkdir(exist_ok=True)
    started = time.perf_counter()
    for feed in feeds:
        copy = target / Path(feed).name
        subprocess.run(["cp", feed, str(copy)], check=True)
        with open(copy, "rb+") as handle:
            os.fsync(handle.fileno())
    seconds = time.perf_counter() - started
    for copy in target.iterdir():
        copy.unlink()
    return seconds


def _digest_floor(feeds: list[str], workdir: Path) -> float:
    """What every warm run must do to those bytes whatever the code: copy them, sha256 both
    files, crc32 the .xml (the gzip trailer), fsync — in one thread, 4 MB at a time."""
    target = workdir / "io-floor"
    target.mkdir(exist_ok=True)
    piece = memoryview(bytearray(4 << 20))
    started = time.perf_counter()
    for feed in feeds:
        digest, crc = hashlib.sha256(), 0
        source = os.open(feed, os.O_RDONLY)
        with open(target / Path(feed).name, "wb", buffering=0) as copy:
            offset = 0
            while got := os.preadv(source, [piece], offset):
                view = piece[:got]
                copy.write(view)
                digest.update(view)
                if not feed.endswith(".gz"):
                    crc = zlib.crc32(view, crc)
                offset += got
            os.fsync(copy.fileno())
        os.close(source)
    seconds = time.perf_counter() - started
    for copy_path in target.iterdir():
        copy_path.unlink()
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--offers", type=int, default=100_000)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/lheo-bench"))
    parser.add_argument("--skip-peer", action="store_true", help="only measure the gateway")
    parser.add_argument("--phase", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    workdir: Path = args.workdir

    if args.phase:
        if args.phase[0] == "peer":
            result = phase_peer(workdir)
        else:
            _, names, mode, workers, minute = args.phase
            result = phase_export(workdir, names.split(","), mode == "cold", int(workers), int(minute))
        print(json.dumps(result))
        return 0

    from bench.synthetic import write_jsonl
    from gateway.config import RulesSettings
    from gateway.intake.importer import import_file
    from gateway.store.database import Database

    workdir.mkdir(parents=True, exist_ok=True)
    for stale in [workdir / "bench.sqlite3", workdir / "bench.sqlite3-wal", workdir / "bench.sqlite3-shm"]:
        stale.unlink(missing_ok=True)
    shutil.rmtree(workdir / "outbox", ignore_errors=True)
    source = workdir / f"offers-{args.offers}.jsonl"
    started = time.perf_counter()
    if not source.exists():
        write_jsonl(source, args.offers)
    print(f"generate   {args.offers:>9,} offers   {time.perf_counter() - started:7.1f} s   ({source})")
    database = Database(_config(workdir).store.url)
    timings = []
    for _ in range(2):  # new offers, then the same file again
        started = time.perf_counter()
        report = import_file(database, source, RulesSettings())
        timings.append(time.perf_counter() - started)
    count = len(report.results)
    print(
        f"import     {count:>9,} offers   {timings[0]:7.1f} s   {count / timings[0]:9,.0f} offers/s   "
        f"unchanged re-import {timings[1]:.1f} s   (targets for 100,000: ≤ 20 s, ≤ 10 s)"
    )

    singles = {}
    for minute, name in enumerate(DESTINATIONS):
        singles[name] = _export(workdir, [name], cold=True, workers=WORKERS, minute=minute)
        print(_line(f"cold {name}", singles[name]))
    inline = _export(workdir, [DESTINATION], cold=True, workers=1, minute=10)
    print(_line(f"cold {DESTINATION}, inline", inline))
    every = _export(workdir, DESTINATIONS, cold=True, workers=WORKERS, minute=20)
    print(_line("cold, 4 destinations at once", every))
    changes = workdir / "changes.jsonl"
    changed = _change_one_percent(source, changes)
    import_file(database, changes, RulesSettings())
    database.close()
    warm = _export(workdir, DESTINATIONS, cold=False, workers=WORKERS, minute=30)
    print(_line(f"warm, 4 dest., {changed:,} changed", warm))
    floor = _io_floor(warm["feeds"], workdir)
    print(f"{'I/O floor (cp + fsync)':<28} {floor:7.1f} s   the warm run's {len(warm['feeds'])} feed files, copied")
    digest_floor = _digest_floor(warm["feeds"], workdir)
    print(f"{'copy+sha256+crc32 floor':<28} {digest_floor:7.1f} s   same files, one thread (what a warm run must do)")

    four_cold = sum(run["seconds"] for run in singles.values())
    one = singles[DESTINATION]["seconds"]
    print("targets (measured in this run):")
    print(
        f"  warm nightly ≤ 6 s: {warm['seconds']:.1f} s; ≥ 30× four cold runs ({four_cold:.1f} s): "
        f"{four_cold / warm['seconds']:.1f}×"
    )
    print(f"  cold, 4 destinations ≤ 1.5× one ({one:.1f} s): {every['seconds'] / one:.2f}×")
    print(f"  {WORKERS} workers ≥ 1.8× inline ({inline['seconds']:.1f} s): {inline['seconds'] / one:.2f}×")
    runs = [*singles.values(), inline, every, warm]
    print(
        f"  peak RSS ≤ 200 MB per process: main ≤ {max(r['rss_main_mb'] for r in runs):.0f} MB, "
        f"workers ≤ {max(r['rss_worker_mb'] for r in runs):.0f} MB"
    )
    if args.skip_peer:
        return 0
    peer = _run_phase(workdir, "peer")
    print(
        f"{'peer (whole tree)':<28} {peer['seconds']:7.1f} s   {peer['offers']:>7,} offers   "
        f"{peer['bytes'] / 1e6:6,.0f} MB   peak RSS {peer['rss_main_mb']:.0f} MB   (valid={peer['valid']})"
    )
    print(f"  one cold destination ≥ 2.5× faster than the peer: {peer['seconds'] / one:.2f}×")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
