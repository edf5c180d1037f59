"""Upload speed of the gateway's SftpTransport against OpenSSH's own `sftp` client.

    python bench/sftp_benchmark.py [--size 1G | --file FEED.xml] [--runs 5] [--openssh-cipher aes128-gcm@openssh.com]

Both upload the same file (incompressible random bytes, default 1 GiB) to the same local sshd
(started as the SFTP tests start it, see tests/transports/sshd_server.py), with the same client
key and the same pinned host key (`sftp -b batchfile -o StrictHostKeyChecking=yes -o
UserKnownHostsFile=…`). Each timing covers a whole delivery — connect, handshake, login, upload
and, for the gateway, the remote size check and rename, with a progress callback counting the
bytes as the CLI's progress bar does. The two clients take turns and swap who goes first every
run, and dirty pages are flushed (sync) before each upload, so that neither a busy machine nor
the writeback of the previous upload favours one of them. The first gateway upload is checked
byte for byte (sha256). Prints MB/s (10^6 bytes per second) of every run, the best and median
run of each client, and the ratios gateway / OpenSSH (target: ≥ 0.85).

OpenSSH uses the gateway's cipher by default (aes128-gcm@openssh.com) so that the comparison is
of the clients, not of the ciphers; `--openssh-cipher default` lets OpenSSH pick (chacha20-poly1305).
Needs /usr/sbin/sshd and sftp (scripts/install-test-deps.sh). As root, uploads log in as a
temporary non-root user, exactly as in the tests.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script: make `tests` importable like `gateway`
    sys.path.insert(0, str(REPO))

from gateway.transports.base import FeedToDeliver  # noqa: E402
from gateway.transports.sftp import SftpTransport  # noqa: E402
from gateway.transports.sftp_settings import SftpSettings  # noqa: E402
from tests.transports.sshd_server import SshdInfo, running_sshd, sshd_missing_reason  # noqa: E402

_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3}
_CHUNK = 4 * 1024 * 1024


def parse_size(text: str) -> int:
    match = re.fullmatch(r"\s*(\d+)\s*([KMG]?)(?:i?B)?\s*", text.upper())
    if match is None:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 256M, 1G, 1048576)")
    return int(match.group(1)) * _UNITS[match.group(2)]


def write_random_file(path: Path, size: int) -> str:
    """`size` incompressible bytes; returns their sha256."""
    digest = hashlib.sha256()
    with path.open("wb") as out:
        remaining = size
        while remaining:
            chunk = os.urandom(min(_CHUNK, remaining))
            out.write(chunk)
            digest.update(chunk)
            remaining -= len(chunk)
    return digest.hexdigest()


TARGET = 0.85


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def gateway_upload(info: SshdInfo, remote: Path, feed: FeedToDeliver) -> tuple[float, str]:
    settings = SftpSettings(
        host=info.host,
        port=info.port,
        username=info.username,
        remote_dir=str(remote),
        private_key_file=info.client_key,
        known_hosts_file=info.known_hosts,
        exists_policy="overwrite",
    )
    reported = 0

    def progress(sent: int) -> None:
        nonlocal reported
        reported += sent

    started = time.perf_counter()
    with SftpTransport(settings) as transport:
        transport.progress = progress
        receipt = transport.deliver(feed)
    elapsed = time.perf_counter() - started
    if receipt.bytes_sent != feed.size or reported != feed.size:
        raise RuntimeError(f"gateway sent {receipt.bytes_sent} bytes (progress: {reported}) instead of {feed.size}")
    return elapsed, f"{receipt.extra.get('cipher', '?')}, {receipt.extra.get('write_size', '?')}-byte writes"


def openssh_upload(info: SshdInfo, remote: Path, local: Path, workdir: Path, cipher: str | None) -> float:
    batch = workdir / "batch"
    batch.write_text(f"put {local} {remote / 'openssh.bin'}\n", encoding="utf-8")
    command = [
        "sftp",
        "-q",
        "-F",
        "/dev/null",  # no ~/.ssh/config
        "-b",
        str(batch),
        "-i",
        str(info.client_key),
        "-P",
        str(info.port),
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        f"UserKnownHostsFile={info.known_hosts}",
        "-o",
        "Compression=no",
    ]
    if cipher is not None:
        command += ["-c", cipher]
    command.append(f"{info.username}@{info.host}")
    started = time.perf_counter()
    subprocess.run(command, check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=parse_size, default=parse_size("1G"), help="file size (default 1G)")
    parser.add_argument("--runs", type=int, default=5, help="uploads per client, alternating (default 5)")
    parser.add_argument(
        "--file",
        type=Path,
        help="upload this file (e.g. the export benchmark's 100,000-offer feed) instead of random bytes",
    )
    parser.add_argument(
        "--openssh-cipher",
        default="aes128-gcm@openssh.com",
        help="cipher for OpenSSH's sftp; 'default' lets it choose (default: aes128-gcm@openssh.com)",
    )
    args = parser.parse_args(argv)
    reason = sshd_missing_reason()
    if reason is not None or shutil.which("sftp") is None:
        print(reason or "sftp client not found: run scripts/install-test-deps.sh", file=sys.stderr)
        return 2
    cipher = None if args.openssh_cipher == "default" else args.openssh_cipher

    workdir = Path(tempfile.mkdtemp(prefix="lheo-sftp-bench-"))
    workdir.chmod(0o755)  # the login user must reach the key and the remote folder
    try:
        local = workdir / "outbox" / "bench-20261127T080000Z.xml"
        local.parent.mkdir()
        if args.file is not None:
            # A copy inside the workdir: the login user must be able to read it.
            shutil.copyfile(args.file, local)
            args.size = local.stat().st_size
            sha256 = hashlib.sha256(local.read_bytes()).hexdigest()
            print(f"uploading a copy of {args.file} ({args.size / 1e6:.0f} MB)", flush=True)
        else:
            print(f"writing {args.size / 1e6:.0f} MB of random bytes to {local}…", flush=True)
            sha256 = write_random_file(local, args.size)
        feed = FeedToDeliver(
            feed_id="bench",
            destination="bench",
            path=local,
            gz_path=local.with_name(local.name + ".gz"),  # not sent (upload_gz is off)
            sha256=sha256,
            size=args.size,
            gz_sha256=sha256,
            gz_size=0,
        )
        gateway_times: list[float] = []
        openssh_times: list[float] = []
        with running_sshd(workdir) as info:
            remote = info.make_remote_dir(workdir / "remote")
            gateway_cipher = "?"

            def run_gateway() -> None:
                nonlocal gateway_cipher
                os.sync()
                elapsed, gateway_cipher = gateway_upload(info, remote, feed)
                gateway_times.append(elapsed)
                if len(gateway_times) == 1 and sha256_of(remote / local.name) != sha256:
                    raise RuntimeError("the gateway's upload differs from the local file")
                (remote / local.name).unlink()

            def run_openssh() -> None:
                os.sync()
                openssh_times.append(openssh_upload(info, remote, local, workdir, cipher))
                (remote / "openssh.bin").unlink()

            for run in range(1, args.runs + 1):
                order = (run_gateway, run_openssh) if run % 2 else (run_openssh, run_gateway)
                for upload in order:
                    upload()
                first = "gateway" if run % 2 else "OpenSSH"
                print(
                    f"run {run}: gateway {args.size / gateway_times[-1] / 1e6:7.1f} MB/s   "
                    f"OpenSSH sftp {args.size / openssh_times[-1] / 1e6:7.1f} MB/s   ({first} first)",
                    flush=True,
                )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    gateway_best, openssh_best = args.size / min(gateway_times) / 1e6, args.size / min(openssh_times) / 1e6
    gateway_median, openssh_median = _median(args.size, gateway_times), _median(args.size, openssh_times)
    best_ratio, median_ratio = gateway_best / openssh_best, gateway_median / openssh_median
    print()
    print(f"file size           {args.size:,} bytes ({args.size / 1024**2:.0f} MiB), {args.runs} run(s) each")
    print(f"gateway (paramiko)  {gateway_best:8.1f} MB/s best, {gateway_median:8.1f} median   ({gateway_cipher})")
    openssh_cipher = cipher or "default cipher"
    print(f"OpenSSH sftp        {openssh_best:8.1f} MB/s best, {openssh_median:8.1f} median   ({openssh_cipher})")
    verdict = "met" if min(best_ratio, median_ratio) >= TARGET else "NOT met"
    print(f"ratio               {best_ratio:8.2f}x best, {median_ratio:8.2f}x median   (target >= {TARGET}: {verdict})")
    return 0


def _median(size: int, times: list[float]) -> float:
    return size / statistics.median(times) / 1e6


if __name__ == "__main__":
    sys.exit(main())
