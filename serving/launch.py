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


class NoPostgres(RuntimeError):
    """A local PostgreSQL server could not be started here (not installed, no user to run it as, it failed)."""


def _postgres_bin() -> Path | None:
    import glob
    import shutil

    found = shutil.which("pg_ctl") or next(iter(sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))[-1:]), None)
    return Path(found).resolve().parent if found else None


@contextlib.contextmanager
def local_postgres(folder: Path, port: int | None = None) -> Iterator[str]:
    """A PostgreSQL server on loopback with its cluster in `folder` (made there when absent, kept after), for
    the tests and benchmarks of the team-database options: Debian's postgresql package (`make postgres`).
    Yields the SQLAlchemy URL of its server (`postgresql+psycopg://postgres@127.0.0.1:<port>`); stopped at the
    end. Raises NoPostgres, with the reason, where it cannot start."""
    import pwd
    import shutil

    bindir = _postgres_bin()
    if bindir is None:
        raise NoPostgres("PostgreSQL is not installed (Debian's postgresql package; `make postgres` as root)")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    run_as: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root: the cluster belongs to the package's user
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            raise NoPostgres("running as root and there is no `postgres` user to run PostgreSQL as") from None
        shutil.chown(folder, "postgres")
        run_as = ["runuser", "-u", "postgres", "--"]
    data, port = folder / "data", port or free_port()
    # fsync off and no WAL for a table filled in the transaction that made it: a throwaway server, not a record
    options = (
        f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c wal_level=minimal -c max_wal_senders=0"
    )
    try:
        if not (data / "PG_VERSION").exists():
            subprocess.run(
                [*run_as, str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"],
                check=True,
                capture_output=True,
                timeout=120,
            )
        subprocess.run(
            [*run_as, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(folder / "log"), "-w", "-o", options, "start"],
            check=True,
            capture_output=True,
            timeout=120,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        log = (folder / "log").read_text()[-2000:] if (folder / "log").exists() else ""
        raise NoPostgres(f"could not start PostgreSQL: {exc} {getattr(exc, 'stderr', b'') or b''!r} {log}") from None
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run(
            [*run_as, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"], capture_output=True, timeout=120
        )


def new_database(server: str, name: str | None = None) -> str:
    """A new, empty database on the server at `server` (a URL of `local_postgres`); its URL."""
    import uuid

    import sqlalchemy as sa

    name = name or f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as con:
        con.execute(sa.text(f"DROP DATABASE IF EXISTS {name}"))
        con.execute(sa.text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return f"{server}/{name}"
