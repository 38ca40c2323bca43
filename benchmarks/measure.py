"""Run one benchmark stage in its own process: its wall time and its own peak RSS (from wait4)."""

from __future__ import annotations

import os
import subprocess
import sys
import time


def timed(code: str) -> tuple[float, float]:
    """(wall seconds, peak RSS in GB) of `python -c code`; stops the benchmark if the stage fails."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code])
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"stage failed with exit code {os.waitstatus_to_exitcode(status)}")
    return wall, usage.ru_maxrss / 1024 / 1024  # ru_maxrss is in KiB on Linux
