"""The ingested records sorted by enterprise: one enterprise's neighbourhood read without reading the city.

The clean tables are kept in arrival order, so finding one enterprise's records in them reads every file
whole: 1.5–4 s on the 2.23 M-enterprise city, most of a recourse's time. `copy_for(data)` writes each table
again sorted by USCC — an uncompressed Arrow IPC file that readers map in place (the rows stay on disk and in
the page cache, shared by every worker, until asked for) with its keys as a sorted byte array beside it — and
the links a neighbourhood is found by (enterprises by address and by legal representative, holdings by
holder), each sorted by its key. An enterprise's rows are then a binary search and a slice: its records from
19 tables in a few milliseconds (`benchmarks/recourse.py`; the Parquet copy sorted in row groups that this
replaced took ~0.15 s, the clean files ~1.8 s).

The copy lives in `<data>/.by_enterprise/<stamp>-<format>/` (in a cache folder under the system's temporary
folder when `<data>` may not be written), the stamp a digest of the clean files' names, sizes and
modification times: a city ingested again gets a new copy, never a stale one. It is written to a temporary
folder and renamed whole (a reader never sees half of it); older copies are removed once a new one is in
place.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Collection
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from creditgrade.features.contract import TABLES
from creditgrade.features.errors import NotFound

FOLDER = ".by_enterprise"
FORMAT = "arrow1"  # part of the copy's name: a copy in an older layout is written again, never misread
BATCH = 65_536  # rows per record batch of the copy
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
    name = f"{stamp(data)}-{FORMAT}"
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
    with duckdb.connect(config={"threads": os.cpu_count() or 1}) as con:
        for t in TABLES:
            keys = ", ".join(f'"{k}"' for k in t.key if k != "uscc")
            order = "uscc" + (f", {keys}" if keys else "")
            query = f"SELECT * FROM read_parquet({_quoted(data / f'{t.name}.parquet')}) ORDER BY {order}"
            _write_sorted(con.sql(query).to_arrow_reader(BATCH), out / t.name, "uscc")
        for name, (table, key, columns) in LINKS.items():
            cols = ", ".join(columns)
            query = (
                f"SELECT DISTINCT {cols} FROM read_parquet({_quoted(data / f'{table}.parquet')}) "
                f"WHERE {key} IS NOT NULL ORDER BY {cols}"
            )
            _write_sorted(con.sql(query).to_arrow_reader(BATCH), out / name, key)


def _write_sorted(reader: pa.RecordBatchReader, stem: Path, key: str) -> None:
    """The rows as an uncompressed Arrow IPC file (`<stem>.arrow`, mapped in place by readers) and their keys
    as bytes (`<stem>.keys.npy`), which the rows are sorted by (checked)."""
    parts = []
    with pa.OSFile(str(stem.with_suffix(".arrow")), "wb") as sink, pa.ipc.new_file(sink, reader.schema) as out:
        for batch in reader:
            out.write_batch(batch)
            parts.append(np.array(pc.cast(batch.column(key), pa.binary()).to_pylist(), dtype=np.bytes_))
    width = max((a.dtype.itemsize for a in parts), default=1)
    keys = np.concatenate([a.astype(f"S{width}") for a in parts]) if parts else np.zeros(0, dtype="S1")
    if keys.size > 1 and not (keys[1:] >= keys[:-1]).all():
        raise RuntimeError(f"{stem.name}: rows not sorted by {key} as bytes")  # would make lookups miss rows
    np.save(stem.with_suffix(".keys.npy"), keys)


def _quoted(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


class Records:
    """Reads enterprises' records from the sorted copy of one city folder (see the module's note)."""

    def __init__(self, data: Path):
        self.data = Path(data)
        self.stamp = stamp(self.data)
        self.folder = copy_for(self.data)
        self._open: dict[str, tuple[pa.Table, np.ndarray]] = {}

    def _table(self, name: str) -> tuple[pa.Table, np.ndarray]:
        """A table of the copy mapped in place (no rows read until asked for) and its sorted keys."""
        held = self._open.get(name)
        if held is None:
            with _LOCK:
                held = self._open.get(name)
                if held is None:
                    stem = self.folder / name
                    table = pa.ipc.open_file(pa.memory_map(str(stem.with_suffix(".arrow")))).read_all()
                    held = self._open[name] = (table, np.load(stem.with_suffix(".keys.npy"), mmap_mode="r"))
        return held

    def rows(self, name: str, values: Collection[str]) -> pa.Table:
        """The rows of table or link file `name` whose key is one of `values`, in the file's order."""
        table, keys = self._table(name)
        width = keys.dtype.itemsize
        wanted = sorted({v.encode() for v in values if v is not None} - {b""})
        wanted = [v for v in wanted if len(v) <= width]  # a longer key cannot be in the file
        if not wanted:
            return table.slice(0, 0)
        v = np.asarray(wanted, dtype=keys.dtype)
        lo, hi = np.searchsorted(keys, v, "left"), np.searchsorted(keys, v, "right")
        spans = [(a, b) for a, b in zip(lo.tolist(), hi.tolist()) if b > a]
        if not spans:
            return table.slice(0, 0)
        return pa.concat_tables([table.slice(a, b - a) for a, b in spans]).combine_chunks()

    def neighbourhood(self, uscc: str) -> list[str]:
        """`uscc`, the enterprises at its address or with its legal representative, those sharing a shareholder
        with it and its enterprise shareholders (NotFound when it is not on the register)."""
        me = self.rows("enterprises", [uscc]).select(["address_id", "legal_rep_id"]).to_pylist()
        if not me:
            raise NotFound(f"{uscc} is not on the register", f"{uscc} 不在登记册上")
        address, rep = me[0]["address_id"], me[0]["legal_rep_id"]
        holders = [h for h in self.rows("shareholdings", [uscc]).column("holder_id").to_pylist() if h is not None]
        found = {uscc}
        for name, values in (
            ("enterprises_by_address", [address]),
            ("enterprises_by_rep", [rep]),
            ("holdings_by_holder", holders),
            ("enterprises", holders),
        ):
            if any(v is not None for v in values):
                found.update(self.rows(name, values).column("uscc").to_pylist())
        return sorted(found)

    def of(
        self, members: list[str], only: Collection[str] | None = None, own: str | None = None
    ) -> dict[str, pa.Table]:
        """Every raw table's rows of `members`, as in the clean folder (row order: by USCC); with `only`, the
        other tables hold the rows of `own` alone."""
        return {t.name: self.rows(t.name, members if only is None or t.name in only else [own]) for t in TABLES}


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
