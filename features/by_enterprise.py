"""The ingested records sorted by enterprise: one enterprise's neighbourhood read without reading the city.

The clean tables are kept in arrival order, so finding one enterprise's records in them reads every file
whole: 1.5–4 s on the 2.23 M-enterprise city, most of a recourse's time. `copy_for(data)` writes each table
again sorted by USCC in row groups of `ROW_GROUP` rows — the Parquet statistics then name the one or two
row groups that can hold an enterprise — and the links a neighbourhood is found by (enterprises by address
and by legal representative, holdings by holder), each sorted by its key. Measured on the 2.23 M city
(`benchmarks/recourse.py`): the records of one enterprise from 19 tables in ~0.12 s instead of ~1.8 s.

The copy lives in `<data>/.by_enterprise/<stamp>/` (in a cache folder under the system's temporary folder when
`<data>` may not be written), the stamp a digest of the clean files' names, sizes and
modification times: a city ingested again gets a new copy, never a stale one. It is written to a temporary
folder and renamed whole (a reader never sees half of it); older copies are removed once a new one is in
place. `Records` reads it through one DuckDB database per process whose Parquet metadata stays cached
between reads, one cursor per thread.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import pyarrow as pa

from creditgrade.features.contract import TABLES
from creditgrade.features.errors import NotFound

FOLDER = ".by_enterprise"
ROW_GROUP = 16_384  # smaller groups read less per enterprise but make every file's footer longer (measured)
LINKS = {  # file -> (table, key column it is sorted by, columns)
    "enterprises_by_address": ("enterprises", "address_id", ("address_id", "uscc")),
    "enterprises_by_rep": ("enterprises", "legal_rep_id", ("legal_rep_id", "uscc")),
    "holdings_by_holder": ("shareholdings", "holder_id", ("holder_id", "uscc")),
}
_LOCK = threading.RLock()
STALE_PARTIAL = 3600.0  # seconds after which a partial copy is a killed writer's, not another's in progress


def stamp(data: Path) -> str:
    """A digest of the clean tables' names, sizes and modification times (NotFound if one is missing)."""
    h = hashlib.sha256()
    for t in TABLES:
        path = Path(data) / f"{t.name}.parquet"
        try:
            st = path.stat()
        except FileNotFoundError:
            raise NotFound(
                f"raw table '{t.name}' not found: expected {path}", f"未找到原始数据表 {t.name}：应为 {path}"
            ) from None
        h.update(f"{t.name}:{st.st_size}:{st.st_mtime_ns};".encode())
    return h.hexdigest()[:16]


def copy_for(data: Path) -> Path:
    """The sorted copy of the clean tables in `data`, written first if there is none for them as they are."""
    data = Path(data)
    name = stamp(data)
    target = data / FOLDER / name
    if target.is_dir():
        return target
    if not os.access(data, os.W_OK):  # a records folder the service may only read: a cache folder of its own
        target = Path(tempfile.gettempdir()) / "creditgrade-by-enterprise" / _digest(str(data.resolve())) / name
        if target.is_dir():
            return target
    with _LOCK:
        if target.is_dir():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-partial-", dir=target.parent))
        try:
            _write(data, tmp)
            try:
                os.rename(tmp, target)  # another process may have finished the same copy first: keep theirs
            except OSError:
                if not target.is_dir():
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        now = time.time()
        for old in target.parent.iterdir():  # older copies, and partials of killed writers
            partial = old.name.startswith(".")
            if old != target and (not partial or now - old.stat().st_mtime > STALE_PARTIAL):
                shutil.rmtree(old, ignore_errors=True)
    return target


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _write(data: Path, out: Path) -> None:
    with duckdb.connect(config={"threads": os.cpu_count() or 1, "preserve_insertion_order": False}) as con:
        for t in TABLES:
            src = _quoted(data / f"{t.name}.parquet")
            keys = ", ".join(f'"{k}"' for k in t.key if k != "uscc")
            order = "uscc" + (f", {keys}" if keys else "")
            con.execute(
                f"COPY (SELECT * FROM read_parquet({src}) ORDER BY {order}) TO {_quoted(out / f'{t.name}.parquet')} "
                f"(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE {ROW_GROUP})"
            )
        for name, (table, key, columns) in LINKS.items():
            cols = ", ".join(columns)
            con.execute(
                f"COPY (SELECT DISTINCT {cols} FROM read_parquet({_quoted(data / f'{table}.parquet')}) "
                f"WHERE {key} IS NOT NULL ORDER BY {cols}) TO {_quoted(out / f'{name}.parquet')} "
                f"(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE {ROW_GROUP})"
            )


def _quoted(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


class Records:
    """Reads enterprises' records from the sorted copy of one city folder (see the module's note)."""

    def __init__(self, data: Path):
        self.data = Path(data)
        self.stamp = stamp(self.data)
        self.folder = copy_for(self.data)
        self._db = duckdb.connect(config={"threads": 1})
        self._db.execute("SET parquet_metadata_cache = true")
        self._local = threading.local()
        self._pool = ThreadPoolExecutor(max(2, min(4, os.cpu_count() or 1)), thread_name_prefix="records")

    def _con(self) -> duckdb.DuckDBPyConnection:
        con = getattr(self._local, "con", None)
        if con is None:
            con = self._local.con = self._db.cursor()
        return con

    def _file(self, name: str) -> str:
        return f"read_parquet({_quoted(self.folder / f'{name}.parquet')})"

    def neighbourhood(self, uscc: str) -> list[str]:
        """`uscc`, the enterprises at its address or with its legal representative, those sharing a shareholder
        with it and its enterprise shareholders (NotFound when it is not on the register)."""
        con = self._con()
        me = con.execute(
            f"SELECT address_id, legal_rep_id FROM {self._file('enterprises')} WHERE uscc = ?", [uscc]
        ).fetchall()
        if not me:
            raise NotFound(f"{uscc} is not on the register", f"{uscc} 不在登记册上")
        address, rep = me[0]
        holders = [
            h
            for (h,) in con.execute(
                f"SELECT holder_id FROM {self._file('shareholdings')} WHERE uscc = ?", [uscc]
            ).fetchall()
        ]
        found = {uscc}
        if address is not None:
            found.update(self._linked(con, "enterprises_by_address", "address_id", [address]))
        if rep is not None:
            found.update(self._linked(con, "enterprises_by_rep", "legal_rep_id", [rep]))
        if holders:
            found.update(self._linked(con, "holdings_by_holder", "holder_id", holders))
            found.update(self._linked(con, "enterprises", "uscc", holders))
        return sorted(found)

    def _linked(self, con, name: str, key: str, values: list[str]) -> list[str]:
        return [
            u
            for (u,) in con.execute(f"SELECT uscc FROM {self._file(name)} WHERE {key} IN ({_list(values)})").fetchall()
        ]

    def of(
        self, members: list[str], only: Collection[str] | None = None, own: str | None = None
    ) -> dict[str, pa.Table]:
        """Every raw table's rows of `members`, as in the clean folder (row order: by USCC); with `only`, the
        other tables hold the rows of `own` alone."""

        def read(name: str) -> pa.Table:  # DuckDB lets go of the GIL: two tables are read at once
            wanted = _list(members if only is None or name in only else [own])
            return self._con().sql(f"SELECT * FROM {self._file(name)} WHERE uscc IN ({wanted})").to_arrow_table()

        return dict(zip((t.name for t in TABLES), self._pool.map(read, [t.name for t in TABLES])))


def _list(values: list[str]) -> str:
    """SQL literals for an IN list: constants, so the Parquet reader can skip row groups by their statistics."""
    return ", ".join("'" + str(v).replace("'", "''") + "'" for v in values)


_READERS: dict[Path, Records] = {}


def records(data: Path) -> Records:
    """This process's reader of `data`'s sorted copy (a new one once the clean tables change)."""
    key = Path(data).resolve()
    reader = _READERS.get(key)
    if reader is None or reader.stamp != stamp(key):
        with _LOCK:
            reader = _READERS.get(key)
            if reader is None or reader.stamp != stamp(key):
                reader = _READERS[key] = Records(key)
    return reader
