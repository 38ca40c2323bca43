"""Start a server (`creditgrade serve`, or any BentoML service) as a child process and wait until it is ready."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx

from creditgrade.features.settings import settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running(
    argv: list[str],
    port: int,
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 180.0,
    on_start: Callable[[subprocess.Popen], None] | None = None,
) -> Iterator[str]:
    """Run `argv` (a server listening on `port`) until its /readyz answers; yield its base URL, stop it after.
    `on_start` is given the server's process once it is ready (to watch its workers' memory, say)."""
    log = open(settings().server_log or os.devnull, "ab")
    proc = subprocess.Popen(
        argv, env={**os.environ, **(env or {})}, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"`{' '.join(argv[:3])}` exited with code {proc.returncode} before it was ready")
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.time() > deadline:
                raise TimeoutError(f"`{' '.join(argv[:3])}` was not ready after {timeout:.0f} s")
            time.sleep(0.5)
        if on_start is not None:
            on_start(proc)
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


def running_server(
    *args: str,
    env: dict[str, str] | None = None,
    timeout: float = 180.0,
    on_start: Callable[[subprocess.Popen], None] | None = None,
):
    """`creditgrade serve *args` on a free loopback port (see `running`)."""
    port = free_port()
    exe = Path(sys.executable).parent / "creditgrade"
    return running([str(exe), "serve", "--port", str(port), *args], port, env=env, timeout=timeout, on_start=on_start)


def supervise(proc: subprocess.Popen) -> int:
    """Wait for `proc`, a server this process started in its own process group, and return its exit code.
    SIGTERM and SIGHUP sent to this process are passed on to it. SIGINT is not: Ctrl+C reaches the whole
    process group from the terminal, the server included, and a second SIGINT would make it quit at once
    instead of finishing its requests."""

    def forward(signum, _frame) -> None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGHUP, forward)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    return proc.wait()  # retried after each forwarded signal (PEP 475)


def stop(proc: subprocess.Popen, grace: float = 30.0) -> None:
    """Stop `proc` (SIGTERM, then SIGKILL after `grace` seconds) and wait for it."""
    with contextlib.suppress(ProcessLookupError):
        proc.terminate()
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
