"""`creditgrade serve` stays its server's parent: each signal it is sent reaches the server once, the server's exit
is its own, and the server does not outlive it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

# The parent, as `serve` is: a server (here a child that says which signal reached it, then exits with 7) started
# and supervised. The child prints its pid when its handlers are set.
PARENT = """
import sys
from creditgrade.serving.launch import Supervised
server = Supervised([sys.executable, "-c", '''
import os, signal, sys, time
def said(signum, _):
    print(signal.Signals(signum).name, flush=True)
    sys.exit(7)
for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
    signal.signal(s, said)
print(os.getpid(), flush=True)
time.sleep(60)
'''], dict(__import__("os").environ))
sys.exit(server.wait())
"""


def _parent() -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True, start_new_session=True)
    assert proc.stdout is not None
    return proc, int(proc.stdout.readline())


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_signal_sent_to_serve_reaches_the_server_once_and_its_exit_code_is_serves(sig):
    proc, _ = _parent()
    os.kill(proc.pid, sig)  # to the parent alone, as `kill PID`, Docker's stop signal or a supervisor does
    assert proc.wait(timeout=30) == 7
    assert proc.stdout.read().split() == [sig.name]


def test_ctrl_c_from_the_terminal_reaches_the_server_once():
    proc, _ = _parent()
    os.killpg(proc.pid, signal.SIGINT)  # the terminal sends Ctrl+C to serve's whole process group
    assert proc.wait(timeout=30) == 7
    assert proc.stdout.read().split() == ["SIGINT"]  # once: a second SIGINT makes BentoML quit at once


def test_a_server_killed_by_a_signal_kills_serve_alike():
    proc, server = _parent()
    os.kill(server, signal.SIGKILL)  # the kernel's OOM killer, say
    assert proc.wait(timeout=30) == -signal.SIGKILL


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's")
def test_the_server_does_not_outlive_serve_killed_outright():
    proc, server = _parent()
    os.kill(proc.pid, signal.SIGKILL)  # no chance to pass anything on
    proc.wait(timeout=30)
    assert proc.stdout.read().split() == ["SIGTERM"]  # the server was told to stop
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            os.kill(server, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    raise AssertionError(f"the server {server} is still running after serve was killed")


def test_the_real_serve_passes_ctrl_c_on_to_its_server_and_nothing_is_left(graded_city, tmp_path):
    """`creditgrade serve` has MLflow's threads: a signal the kernel hands to one of them must still be passed on
    (a wait without a timeout in the main thread never ran the handler, and the server kept serving)."""
    import httpx

    from creditgrade.serving.launch import free_port
    from tests.serving.conftest import service_env

    port = free_port()
    env = {**os.environ, **service_env(graded_city, tmp_path, {})}
    exe = os.path.join(os.path.dirname(sys.executable), "creditgrade")
    argv = [exe, "serve", "--graded", str(graded_city.graded), "--workers", "2", "--port", str(port)]
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.time() + 120
        while True:
            assert proc.poll() is None and time.time() < deadline, "the server did not become ready"
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        server = [int(p) for p in os.listdir("/proc") if p.isdigit() and _parent_of(int(p)) == proc.pid]
        os.kill(proc.pid, signal.SIGINT)  # to serve alone
        assert proc.wait(timeout=60) == 0
        time.sleep(1)
        assert [p for p in server if os.path.exists(f"/proc/{p}")] == []  # the server is gone, its port free
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)


def _parent_of(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None
