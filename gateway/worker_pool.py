"""Worker processes for the CPU-bound stages (import preparation, export rendering).

Both stages keep the store in the main process and send pure work to a pool: started with
`spawn` (workers start clean, without the parent's open database connections), and tied to the
parent's life, so a killed command (even by SIGKILL) leaves no worker behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor

_PR_SET_PDEATHSIG = 1  # linux/prctl.h
_PARENT_POLL_SECONDS = 0.5


def _poll_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(_PARENT_POLL_SECONDS)
    os._exit(1)  # the command is gone (killed): working for nobody helps no one


def die_with_parent(parent: int) -> None:
    """Worker initializer: a killed parent takes its workers with it.

    On Linux the kernel sends SIGKILL to the worker when the parent dies (PR_SET_PDEATHSIG);
    elsewhere, and as a fallback, a daemon thread notices the worker was re-parented.
    """
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)
    threading.Thread(target=_poll_parent, args=(parent,), name="watch-parent", daemon=True).start()


def start_pool(workers: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=die_with_parent,
        initargs=(os.getpid(),),
    )


def cores() -> int:
    return os.cpu_count() or 1
