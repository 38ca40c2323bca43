"""Parquet storage of contract tables: Arrow schemas from the contract, and
folders written whole or not at all."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
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


@contextlib.contextmanager
def atomic_folder(out: Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary sibling folder; on success it replaces `out` in one rename.

    A failure (or Ctrl-C) leaves `out` as it was and removes the partial folder.
    """
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise OutputExists(
            f"output folder {out} already exists and is not empty; pass --overwrite to replace it",
            f"输出目录 {out} 已存在且非空；如需替换请加 --overwrite",
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
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
