"""`creditgrade serve` stays its server's parent: what it is sent reaches the server; the server's exit is its own."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

# The parent, as `serve` is once the server started: a child (the server) that says which signal reached it and
# exits with a code of its own, supervised.
PARENT = """
import subprocess, sys
from creditgrade.serving.launch import supervise
child = subprocess.Popen([sys.executable, "-c", '''
import signal, sys, time
def said(signum, _):
    print(signal.Signals(signum).name, flush=True)
    sys.exit(7)
signal.signal(signal.SIGTERM, said)
signal.signal(signal.SIGHUP, said)
signal.signal(signal.SIGINT, said)
print("ready", flush=True)
time.sleep(60)
'''])
sys.exit(supervise(child))
"""


def _parent() -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True, start_new_session=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


def test_sigterm_and_sighup_sent_to_serve_reach_the_server_and_its_exit_code_is_serves():
    for sig in (signal.SIGTERM, signal.SIGHUP):
        proc = _parent()
        os.kill(proc.pid, sig)  # to the parent alone, as `kill PID` or a supervisor does
        assert proc.wait(timeout=30) == 7
        assert proc.stdout.read().split() == [sig.name]


def test_ctrl_c_reaches_the_server_once_from_the_terminal_not_again_from_serve():
    proc = _parent()
    os.killpg(proc.pid, signal.SIGINT)  # the terminal sends Ctrl+C to the whole process group
    assert proc.wait(timeout=30) == 7
    assert proc.stdout.read().split() == ["SIGINT"]  # once: a second SIGINT makes BentoML quit at once
