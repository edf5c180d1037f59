"""What the benchmarks share: each phase in its own process, and honest peak memory figures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def hwm_mb(pid: int | str = "self") -> float:
    """Peak resident set size of one process's own memory (VmHWM, kB), 0 if it is gone.

    Not `ru_maxrss`: Linux keeps that across exec, so a process started by a large one (a
    benchmark after its import, a worker spawned by the export) would report its parent's size.
    """
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class WorkerPeaks:
    """Samples the worker processes (children of this one) while a phase runs."""

    def __init__(self) -> None:
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = str(os.getpid())
        while not self._stop.wait(0.25):
            for status in Path("/proc").glob("[0-9]*/stat"):
                try:
                    fields = status.read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if fields[1] == me:  # its parent is this process
                    self.peak = max(self.peak, hwm_mb(status.parent.name))

    def __enter__(self) -> WorkerPeaks:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def run_phase(module: str, *args: str) -> dict[str, Any]:
    """Run `python -m <module> <args>` and return the JSON object its last line prints."""
    done = subprocess.run([sys.executable, "-m", module, *args], cwd=REPO, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"phase {args} failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result
