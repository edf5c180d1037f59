"""Partner API benchmark: conditional GETs answered 304 (wrk), and full downloads against a static server.

    .venv/bin/python -m bench.api_benchmark [--workdir /tmp/lheo-bench] [--offers 5000] [--duration 10]

The store and its feed: bench/export_benchmark.py's workdir when it holds an exported feed,
otherwise a fresh store under `<workdir>/api` (N synthetic offers from bench/synthetic.py,
imported, exported to intercarif). The app runs in its own process (uvicorn on 127.0.0.1,
built by `create_app`), so the load generators do not share its interpreter. Steps:
- wrk: `GET …/snapshots/latest` with the feed's ETag in `If-None-Match` (each answer is a 304,
  after authentication, a manifest lookup and a fetch-log write): requests/s and p99 latency;
- curl: full download of the same XML from the API and from `python -m http.server` serving
  the outbox folder, in the same run: MB/s of each and their ratio.
Figures and ratios are printed against the targets; nothing is asserted. Bounded in time:
`--duration` seconds of wrk, and at most `--downloads` curl runs per server (20 s at most).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
DESTINATION = "intercarif"
EXPORTED_AT = datetime(2026, 11, 27, 8, 0, 0, tzinfo=UTC)
WRK = "/usr/bin/wrk"
CURL = "/usr/bin/curl"


@dataclass(frozen=True)
class Feed:
    id: str
    path: Path
    size: int
    gz_size: int
    sha256: str
    offers: int


def _config(store_dir: Path) -> Any:
    from bench.export_benchmark import _config as export_config  # same layout: bench.sqlite3 + outbox/

    return export_config(store_dir)


def _latest_feed(store_dir: Path) -> Feed | None:
    from sqlalchemy import select

    from gateway.store.database import Database
    from gateway.store.tables import FeedRow

    if not (store_dir / "bench.sqlite3").exists():
        return None
    database = Database(_config(store_dir).store.url)
    try:
        with database.session() as db:
            row = db.scalars(
                select(FeedRow)
                .where(FeedRow.destination == DESTINATION, FeedRow.purged_at.is_(None))
                .order_by(FeedRow.id.desc())
                .limit(1)
            ).first()
    finally:
        database.close()
    if row is None or not Path(row.path).is_file():
        return None
    return Feed(row.id, Path(row.path), row.size, row.gz_size, row.sha256, row.offer_count)


def _prepare(workdir: Path, offers: int) -> tuple[Path, Feed]:
    """A store with an intercarif feed: export_benchmark's if there is one, else a new one."""
    feed = _latest_feed(workdir)
    if feed is not None:
        return workdir, feed
    store_dir = workdir / "api"
    feed = _latest_feed(store_dir)
    if feed is not None and feed.offers == offers:
        return store_dir, feed
    from bench.synthetic import write_jsonl
    from gateway.intake.importer import import_file
    from gateway.pipeline.export import run_export
    from gateway.store.database import Database

    store_dir.mkdir(parents=True, exist_ok=True)
    source = store_dir / f"offers-{offers}.jsonl"
    if not source.exists():
        write_jsonl(source, offers)
    config = _config(store_dir)
    database = Database(config.store.url)
    try:
        import_file(database, source, config.rules)
        run_export(database, config, destinations=[DESTINATION], exported_at=EXPORTED_AT)
    finally:
        database.close()
    feed = _latest_feed(store_dir)
    assert feed is not None, "the export produced no feed"
    return store_dir, feed


def serve(store_dir: Path, port: int) -> None:
    """Child process: the gateway's web app on 127.0.0.1:port (no access log, as in production)."""
    import uvicorn

    from gateway.store.database import Database
    from gateway.web.app import create_app

    config = _config(store_dir)
    app = create_app(config, Database(config.store.url))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_up(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited early ({process.returncode}): {url}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise SystemExit(f"server not up after 20 s: {url}")


def _pinned(cpu: int) -> list[str]:
    """`taskset -c cpu` when there are 2 CPUs or more: servers on CPU 0, load generators on CPU 1,
    so wrk and curl do not steal the server's CPU (the figures are then far less noisy)."""
    if (os.cpu_count() or 1) >= 2 and shutil.which("taskset"):
        return ["taskset", "-c", str(cpu)]
    return []


def _wrk_304(url: str, headers: list[str], duration: int, threads: int, connections: int) -> tuple[float, float, str]:
    """(requests/s, p99 latency in ms, raw output) of wrk on a conditional GET."""
    args = [*_pinned(1), WRK, f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency"]
    for header in headers:
        args += ["-H", header]
    done = subprocess.run([*args, url], capture_output=True, text=True, timeout=duration + 30, check=True)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", done.stdout)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\b", done.stdout, re.MULTILINE)
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", done.stdout)
    if rate is None or p99 is None:
        raise SystemExit(f"unexpected wrk output:\n{done.stdout}\n{done.stderr}")
    if errors is not None:
        raise SystemExit(f"{errors.group(1)} answers were not 304:\n{done.stdout}")
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    return float(rate.group(1)), float(p99.group(1)) * scale, done.stdout


def _curl_mb_s(url: str, headers: list[str], expected_size: int) -> float:
    """MB/s of one full download with curl (body discarded)."""
    args = [*_pinned(1), CURL, "-sS", "-o", "/dev/null", "-w", "%{http_code} %{size_download} %{time_total}"]
    for header in headers:
        args += ["-H", header]
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True, timeout=300).stdout
    status, size, seconds = out.split()
    if status != "200" or int(size) != expected_size:
        raise SystemExit(f"{url}: HTTP {status}, {size} bytes instead of {expected_size}")
    return int(size) / 1e6 / float(seconds)


def _downloads(api: tuple[str, list[str]], static: str, size: int, runs: int, budget: float) -> tuple[float, float]:
    """Median MB/s of (API, static server), runs alternating so both see the same machine load."""
    api_speeds: list[float] = []
    static_speeds: list[float] = []
    started = time.monotonic()
    while len(api_speeds) < runs and (not api_speeds or time.monotonic() - started < budget):
        api_speeds.append(_curl_mb_s(api[0], api[1], size))
        static_speeds.append(_curl_mb_s(static, [], size))
    return statistics.median(api_speeds), statistics.median(static_speeds)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/lheo-bench"))
    parser.add_argument("--offers", type=int, default=5000, help="offers to generate when no feed is found")
    parser.add_argument("--duration", type=int, default=10, help="seconds of wrk load")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--downloads", type=int, default=5, help="curl downloads per server (at most)")
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve, args.port)
        return 0

    from gateway.store.database import Database
    from gateway.web.partners import add_partner, revoke

    started = time.perf_counter()
    store_dir, feed = _prepare(args.workdir, args.offers)
    print(
        f"store      {store_dir}   feed {feed.id}: {feed.offers:,} offers, {feed.size / 1e6:,.1f} MB "
        f"(gzip {feed.gz_size / 1e6:,.1f} MB)   ready in {time.perf_counter() - started:.1f} s"
    )
    config = _config(store_dir)
    database = Database(config.store.url)
    partner = f"bench-{datetime.now(UTC):%Y%m%dT%H%M%S}"
    token = add_partner(database, config, partner, [DESTINATION], "api-benchmark").token
    api_port, static_port = _free_port(), _free_port()
    api = subprocess.Popen(
        [*_pinned(0), sys.executable, "-m", "bench.api_benchmark", "--serve", str(store_dir), "--port", str(api_port)],
        cwd=REPO,
    )
    static_command = ["http.server", str(static_port), "--bind", "127.0.0.1", "--directory", str(feed.path.parent)]
    static = subprocess.Popen(
        [*_pinned(0), sys.executable, "-m", *static_command], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        base = f"http://127.0.0.1:{api_port}"
        _wait_up(f"{base}/healthz", api)
        _wait_up(f"http://127.0.0.1:{static_port}/", static)
        auth = f"Authorization: Bearer {token}"
        latest = f"{base}/api/v1/feeds/{DESTINATION}/snapshots/latest"
        conditional = [auth, f'If-None-Match: "{feed.sha256}"', "Accept-Encoding: identity"]
        check = httpx.get(latest, headers=dict(h.split(": ", 1) for h in conditional))
        assert check.status_code == 304, f"expected 304, got {check.status_code}"

        if shutil.which(WRK):
            rate, p99, _ = _wrk_304(latest, conditional, args.duration, args.threads, args.connections)
            print(
                f"304        wrk -t{args.threads} -c{args.connections} -d{args.duration}s   {rate:9,.0f} req/s   "
                f"p99 {p99:6.1f} ms   (targets ≥ 1,000 req/s, p99 < 50 ms)"
            )
        else:
            print(f"304        skipped: wrk not found at {WRK}")

        identity = [auth, "Accept-Encoding: identity"]
        api_url = f"{base}/api/v1/feeds/{DESTINATION}/snapshots/{feed.id}"
        static_url = f"http://127.0.0.1:{static_port}/{feed.path.name}"
        api_speed, static_speed = _downloads((api_url, identity), static_url, feed.size, args.downloads, 20.0)
        print(
            f"download   API {api_speed:8,.0f} MB/s   python -m http.server {static_speed:8,.0f} MB/s   "
            f"ratio {api_speed / static_speed:.2f}× (target ≥ 0.5×)   curl, median of ≤ {args.downloads} runs each"
        )
        if _pinned(0):
            print("           servers pinned to CPU 0, wrk and curl to CPU 1 (taskset)")
    finally:
        _stop(api)
        _stop(static)
        revoke(database, partner, "api-benchmark")
        database.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
