"""Start a server (`creditgrade serve`, or any BentoML service) as a child process and wait until it is ready."""

from __future__ import annotations

import contextlib
import ctypes
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


FORWARDED = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)


class Supervised:
    """A server this process starts and stays the parent of (`creditgrade serve`).

    The server runs in a process group of its own, so each signal reaches it once, from this process: SIGTERM,
    SIGHUP (BentoML then reloads its workers) and SIGINT (Ctrl+C, which the terminal sends to this process's
    group) sent to this process are passed on to it, from before it is started. On Linux the server is also
    sent SIGTERM when this process dies, even by SIGKILL, so no server is left behind holding the port. The
    server's exit is this process's: its code, or the signal that killed it."""

    def __init__(self, argv: list[str], env: dict[str, str]):
        self.proc: subprocess.Popen | None = None
        self._pending: list[int] = []
        self._before = {sig: signal.signal(sig, self._forward) for sig in FORWARDED}
        self.proc = subprocess.Popen(argv, env=env, start_new_session=True, preexec_fn=_stop_with_parent)
        for sig in self._pending:  # what arrived while it was being started
            self._forward(sig, None)

    def _forward(self, signum: int, _frame) -> None:
        if self.proc is None:
            self._pending.append(signum)
            return
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(signum)

    def _restore(self) -> None:
        for sig, handler in self._before.items():
            signal.signal(sig, handler)

    def wait(self) -> int:
        """The server's exit code, once it has stopped (a server killed by a signal kills this process alike)."""
        assert self.proc is not None
        while True:  # in steps: a signal the kernel hands to another thread (MLflow's, say) does not interrupt
            try:  # a wait without a timeout, and its handler would run only once the server had stopped
                code = self.proc.wait(timeout=0.25)
                break
            except subprocess.TimeoutExpired:
                continue
        self._restore()
        if code < 0:  # killed by a signal: so is this process, so that whatever restarts it sees why
            with contextlib.suppress(OSError, ValueError):  # SIGKILL's disposition cannot be set, nor need be
                signal.signal(-code, signal.SIG_DFL)
            os.kill(os.getpid(), -code)
        return code

    def stop(self, grace: float = 30.0) -> None:
        """Stop the server and its workers (SIGTERM to its process group, SIGKILL after `grace` seconds)."""
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self._restore()


def _stop_with_parent() -> None:  # pragma: no cover - runs in the child, before it executes the server
    """In the server's process: SIGTERM when its parent dies (Linux's PR_SET_PDEATHSIG; elsewhere nothing)."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG = 1
