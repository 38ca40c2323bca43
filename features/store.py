"""Parquet storage of contract tables: Arrow schemas from the contract, and
folders written whole or not at all."""

from __future__ import annotations

import contextlib
import glob
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa

from creditgrade.features.contract import Table
from creditgrade.features.errors import CreditgradeError, OutputExists

ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "int": pa.int64(),
    "float": pa.float64(),
    "bool": pa.bool_(),
    "date": pa.date32(),
}
DUCKDB_TYPES: dict[str, str] = {
    "string": "VARCHAR",
    "int": "BIGINT",
    "float": "DOUBLE",
    "bool": "BOOLEAN",
    "date": "DATE",
}


def arrow_schema(table: Table) -> pa.Schema:
    """The typed Arrow schema of a contract table."""
    return pa.schema([pa.field(c.name, ARROW_TYPES[c.type], nullable=not c.required) for c in table.columns])


def table_path(folder: Path, name: str) -> Path:
    return Path(folder) / f"{name}.parquet"


def partial_path(out: Path, part: str = "") -> Path:
    """Where a writer of `out` keeps what it writes until it is whole: a hidden sibling carrying the writer's
    process and thread ids (`.graded.parquet.partial-4242-4250`), so that a later run can tell a killed
    writer's leftovers from a running writer's work (`sweep_partials`). `part` names one of several pieces
    of one output."""
    out = Path(out)
    return out.with_name(f".{out.name}{part}.partial-{os.getpid()}-{threading.get_native_id()}")


def _alive(pid: int, thread: int | None) -> bool:
    """Whether the writer (process `pid`, thread `thread`) may still be at work."""
    if pid == os.getpid():  # this process: one of its other threads, if that thread is still running
        running = {t.native_id for t in threading.enumerate()} - {threading.get_native_id()}
        return thread is not None and thread in running
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's running process
    return True


def sweep_partials(out: Path) -> list[Path]:
    """Remove what killed writers of `out` left beside it (a SIGKILL or a power cut runs no clean-up): the
    hidden `.partial-<pid>-<thread>` files and folders, and `.old-<pid>` folders of an interrupted swap,
    whose process (or, in this process, thread) is no longer running. A running writer's are kept. Returns
    what was removed."""
    out = Path(out)
    pattern = re.compile(rf"^\.{re.escape(out.name)}(\..+)?\.(partial|old)-(\d+)(?:-(\d+))?(-[^/]*)?$")
    removed = []
    for found in glob.glob(os.path.join(glob.escape(str(out.parent)), f".{glob.escape(out.name)}*")):
        path = Path(found)
        match = pattern.match(path.name)
        if match is None or _alive(int(match.group(3)), int(match.group(4)) if match.group(4) else None):
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(path)
    return removed


@contextlib.contextmanager
def atomic_file(out: Path, sweep: bool = True) -> Iterator[Path]:
    """Yield a temporary sibling path to write `out` to; on success it replaces `out` in one rename. A failure
    removes it, and leftovers of killed writers of `out` are swept first: `out` is written whole or not at
    all, and nothing accumulates beside it. A writer of the same file many times a second sweeps once, when it
    starts, and passes `sweep=False` (the sweep lists the folder)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if sweep:
        sweep_partials(out)
    tmp = partial_path(out)
    try:
        yield tmp
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_folder(out: Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary sibling folder; on success it replaces `out` in one rename.

    A failure (or Ctrl-C) leaves `out` as it was and removes the partial folder; what a killed run left
    (SIGKILL runs no clean-up) is removed by the next run (`sweep_partials`).
    """
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise OutputExists(
            f"output folder {out} already exists and is not empty; pass --overwrite to replace it",
            f"输出目录 {out} 已存在且非空；如需替换请加 --overwrite",
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    sweep_partials(out)
    tmp = Path(tempfile.mkdtemp(prefix=f"{partial_path(out).name}-", dir=out.parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if out.exists():
        old = out.parent / f".{out.name}.old-{os.getpid()}"
        os.replace(out, old)
    os.replace(tmp, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def read_user_table(
    path: Path, required: tuple[str, ...], what: tuple[str, str], error: type[CreditgradeError] = CreditgradeError
):
    """A CSV (read as text, nothing turned into NaN) or Parquet file a user brings, refusing a missing
    file or missing columns with `error` naming what (en, zh) it should have been."""
    import pandas as pd

    path = Path(path)
    en, zh = what
    if not path.exists():
        raise error(f"{en} {path} does not exist", f"{zh} {path} 不存在", code="not_found")
    frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise error(f"{en} {path} lacks column(s) {', '.join(missing)}", f"{zh} {path} 缺少字段 {', '.join(missing)}")
    return frame


def no_progress_bar(execute) -> None:
    """Turn DuckDB's progress bar off through `execute` (a connection's execute / raw_sql). In a Jupyter
    kernel without ipywidgets DuckDB refuses to change the setting, and has no bar to draw anyway."""
    import duckdb

    try:
        execute("SET enable_progress_bar = false")
    except duckdb.InvalidInputException:
        pass
