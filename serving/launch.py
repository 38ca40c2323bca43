"""Start `creditgrade serve` as a child process and wait until it is ready (demo, tests, benchmarks)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_server(*args: str, env: dict[str, str] | None = None, timeout: float = 180.0) -> Iterator[str]:
    """`creditgrade serve *args` on a free loopback port; yields its base URL and stops it afterwards."""
    port = free_port()
    exe = Path(sys.executable).parent / "creditgrade"
    log = open(os.devnull, "wb") if os.environ.get("CREDITGRADE_SERVER_LOG") is None else \
        open(os.environ["CREDITGRADE_SERVER_LOG"], "ab")
    proc = subprocess.Popen([str(exe), "serve", "--port", str(port), *args], env={**os.environ, **(env or {})},
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"`creditgrade serve` exited with code {proc.returncode} before it was ready")
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.time() > deadline:
                raise TimeoutError(f"`creditgrade serve` was not ready after {timeout:.0f} s")
            time.sleep(0.5)
        yield base
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
