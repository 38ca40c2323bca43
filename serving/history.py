"""The grade history: every published month of every enterprise, appended month by month.

History is large and analytical (2.23 M enterprises × 24 months is 54 M rows) and written by one job a
month, so it is kept as Parquet, one file per published month (`<root>/YYYY-MM-DD.parquet`, sorted by
USCC) for whoever analyses months. An enterprise's lookup is served from a second layout of the same rows
(`LOOKUP`): every month's rows in one uncompressed Arrow IPC file sorted by USCC then month, the USCC as
18 fixed bytes and the few-valued texts (grades, versions, rules) as 16-bit codes. Each service worker
maps it into memory: a lookup is a binary search of the USCCs in place and a slice of each column, about
0.2 ms, against 1.3 ms to decode a compressed Parquet row group (the layout before; measured on the
benchmark's 2.23 M × 24 months). About 67 bytes a row on disk, shared by the workers through the page
cache. The lookup file is rewritten whole when a month is published; until it holds every published
month (or without it) a lookup reads the month files through DuckDB. Corrections (upheld objections and
repairs) are one small file each beside the months.

Every file is written under a temporary name and renamed into place, so a reader sees it whole or not at
all, and a rerun of a month replaces it with the same bytes.
"""

from __future__ import annotations

import bisect
import contextlib
import datetime as dt
import re
import threading
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from creditgrade.features.errors import CreditgradeError, NotFound
from creditgrade.features.store import atomic_file
from creditgrade.models.scoring import SCHEME_ORDER
from creditgrade.serving.batch import Encoder

ROW_GROUP = 8192
LOOKUP = "by_enterprise.arrow"  # every month, sorted by enterprise then month: the lookups' layout
EARLIER_LOOKUP = "by_enterprise.parquet"  # the layout of earlier releases: removed when the lookup is rewritten
LOOKUP_MONTHS = b"creditgrade.months"  # the lookup file's metadata: the months it holds
USCC_BYTES = 18
UNCODED = ("uscc", "override_source")  # texts kept as they are: the key, and a rule's source record (many)
MONTH_FILE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.parquet$")
COLUMNS = [
    "uscc",
    "month",
    "register_status",
    "probability",
    "score",
    *[f"grade_{s}" for s in SCHEME_ORDER],
    "grade_shenzhen_by_score",
    "override_rule",
    "override_source",
    "model_version",
    "catalog_version",
    "correction",  # the objection or repair that regraded the enterprise mid-month (null for the month-end run)
    "corrected_on",  # the date of that decision
]
CORRECTIONS = "corrections"  # sub-folder: one file per upheld objection or repair
REGRADED = "regraded"  # sub-folder: the whole graded row of each correction, as the service answers it


class History:
    """The history folder: published months, appended whole, read by enterprise or by month."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def months(self) -> list[dt.date]:
        if not self.root.exists():
            return []
        found = (MONTH_FILE.match(p.name) for p in self.root.iterdir())
        return sorted(dt.date.fromisoformat(m.group(1)) for m in found if m)

    def latest(self) -> dt.date | None:
        months = self.months()
        return months[-1] if months else None

    def path(self, month: dt.date) -> Path:
        return self.root / f"{month}.parquet"

    @staticmethod
    def rows(
        graded: pa.Table, month: dt.date, correction: str | None = None, corrected_on: dt.date | None = None
    ) -> pa.Table:
        """A month's history rows from its graded table (or a correction's rows, marked with its id)."""
        n = graded.num_rows
        columns = {c: graded[c] for c in COLUMNS if c in graded.column_names}
        columns["month"] = pa.repeat(pa.scalar(month, pa.date32()), n)
        columns["correction"] = pa.repeat(pa.scalar(correction, pa.string()), n)
        columns["corrected_on"] = pa.repeat(pa.scalar(corrected_on, pa.date32()), n)
        table = pa.table({c: columns[c] for c in COLUMNS})
        return table.sort_by("uscc")

    def write(self, rows: pa.Table, month: dt.date) -> Path:
        """Write one month's rows whole (temporary file, then renamed into place)."""
        self.root.mkdir(parents=True, exist_ok=True)
        target = self.path(month)
        with atomic_file(target) as tmp:
            pq.write_table(rows, tmp, compression="zstd", row_group_size=ROW_GROUP, write_statistics=True)
        return target

    def write_correction(self, rows: pa.Table, correction: str) -> Path:
        """Write a correction's rows whole, beside the months (a month file is never rewritten by it)."""
        folder = self.root / CORRECTIONS
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{correction}.parquet"
        with atomic_file(target) as tmp:
            pq.write_table(rows, tmp, compression="zstd")
        return target

    def write_regraded(self, graded: pa.Table, correction: str, corrected_on: dt.date) -> Path:
        """The correction's whole graded rows (grades, points, reasons), marked with its id and date, for the
        service to answer until the next month is published (`serving.graded.Regraded`)."""
        folder = self.root / REGRADED
        folder.mkdir(parents=True, exist_ok=True)
        n = graded.num_rows
        table = graded.append_column("correction", pa.repeat(pa.scalar(correction, pa.string()), n)).append_column(
            "corrected_on", pa.repeat(pa.scalar(corrected_on, pa.date32()), n)
        )
        target = folder / f"{correction}.parquet"
        with atomic_file(target) as tmp:
            pq.write_table(table, tmp, compression="zstd")
        return target

    def write_lookup(self, per_step: int = 1 << 18) -> Path:
        """Rewrite the lookup file whole from every published month: every month's rows sorted by USCC, then
        month, one record batch per range of about `per_step` USCCs (the month files' row-group statistics
        skip the rest), so memory stays small; an enterprise's rows are never split between batches."""
        months = self.months()
        target = self.root / LOOKUP
        if not months:
            return target
        files = [str(self.path(m)) for m in months]
        codes = pq.read_table(files[-1], columns=["uscc"]).column("uscc")
        bounds = [None, *(codes[i].as_py() for i in range(per_step, len(codes), per_step)), None]
        with atomic_file(target) as tmp, contextlib.closing(duckdb.connect()) as con:
            writer = encode = None
            try:
                for lo, hi in zip(bounds, bounds[1:]):
                    where = " AND ".join([*(["uscc >= $lo"] if lo else []), *(["uscc < $hi"] if hi else [])]) or "TRUE"
                    bound = {**({"lo": lo} if lo else {}), **({"hi": hi} if hi else {})}
                    part = con.sql(
                        f"SELECT {', '.join(COLUMNS)} FROM read_parquet($files, union_by_name = true) WHERE {where} "
                        "ORDER BY uscc, month",
                        params={"files": files, **bound},
                    ).to_arrow_table()
                    if encode is None:
                        texts = [f.name for f in part.schema if pa.types.is_string(f.type) and f.name not in UNCODED]
                        encode = Encoder({c: () for c in texts}, index=pa.int16())
                    if writer is None or part.num_rows:
                        part = _keyed(encode(part.combine_chunks()))
                    if writer is None:
                        schema = part.schema.with_metadata({LOOKUP_MONTHS: ",".join(map(str, months)).encode()})
                        options = pa.ipc.IpcWriteOptions(emit_dictionary_deltas=True)
                        writer = pa.ipc.new_file(str(tmp), schema, options=options)
                    if part.num_rows:
                        writer.write_batch(part.replace_schema_metadata(schema.metadata).to_batches()[0])
            finally:
                if writer is not None:
                    writer.close()
        (self.root / EARLIER_LOOKUP).unlink(missing_ok=True)
        return target

    def files(self) -> list[str]:
        """Every month file, then every correction file."""
        corrections = sorted((self.root / CORRECTIONS).glob("*.parquet")) if self.root.exists() else []
        return [str(self.path(m)) for m in self.months()] + [str(p) for p in corrections]

    def month(self, month: dt.date, columns: list[str] | None = None) -> pd.DataFrame:
        return pq.read_table(self.path(month), columns=columns).to_pandas()

    def of(self, uscc: str, con: duckdb.DuckDBPyConnection | None = None) -> pd.DataFrame:
        """Every published month of one enterprise, oldest first, each month's corrections after it."""
        files = self.files()
        if not files:
            return pd.DataFrame(columns=COLUMNS)
        own = con is None
        con = con or duckdb.connect()
        try:
            return con.execute(
                "SELECT * FROM read_parquet(?, union_by_name = true) WHERE uscc = ? "
                "ORDER BY month, corrected_on NULLS FIRST, correction",
                [files, uscc],
            ).df()
        finally:
            if own:
                con.close()


ORDER = ["month", "corrected_on", "correction"]


class Lookup:
    """One enterprise's months, fast, for the service and the CLI: the lookup file mapped once (opened again
    when it is replaced; each batch's USCCs viewed in place as fixed bytes, its code tables held) and the
    corrections held (read again when one is added), both looked at again at most once every `every`
    seconds. Until the lookup file holds every published month, lookups read the month files
    (`History.of`)."""

    def __init__(self, history: History, every: float = 1.0):
        self.history, self.every = history, every
        self._lock = threading.Lock()
        self._looked = -1e9
        self._batches: list[pa.RecordBatch] | None = None  # None: no usable lookup file
        self._keys: list[np.ndarray] = []  # each batch's USCCs as fixed bytes (a view of the mapped file)
        self._first: list[bytes] = []
        self._texts: list[dict[str, list]] = []  # each batch's code tables
        self._stamps: tuple = ()
        self._corrections: dict[str, list[dict]] = {}

    def months(self, uscc: str, con: duckdb.DuckDBPyConnection | None = None) -> list[dict]:
        """Every published month of one enterprise, oldest first, each month's corrections after it, as the API
        answers them (dates as YYYY-MM-DD, missing values as None)."""
        self.refresh()
        batches = self._batches
        if batches is None:
            return [{k: v for k, v in m.items() if k != "uscc"} for m in _answered(self.history.of(uscc, con))]
        key = uscc.encode("utf-8", "replace")
        b = bisect.bisect_right(self._first, key) - 1
        months: list[dict] = []
        if len(key) == USCC_BYTES and b >= 0:  # (a longer key would be cut to 18 bytes by the search)
            keys = self._keys[b]
            lo, hi = int(np.searchsorted(keys, key, "left")), int(np.searchsorted(keys, key, "right"))
            if hi > lo:
                months = [answered(r) for r in self._rows(b, lo, hi)]
        fixed = self._corrections.get(uscc)
        if fixed:
            months = sorted(
                [*months, *fixed], key=lambda m: (m["month"], m["corrected_on"] or "", m["correction"] or "")
            )
        return months

    def _rows(self, b: int, lo: int, hi: int) -> list[dict]:
        """Rows lo..hi of batch b, column by column: a coded text by its table (a slice of the codes, no
        Arrow dictionary made per lookup)."""
        batch, texts, n = self._batches[b], self._texts[b], hi - lo
        columns = {}
        for name, column in zip(batch.schema.names, batch.columns):
            if name in texts:
                table = texts[name]
                columns[name] = [None if i is None else table[i] for i in column.indices.slice(lo, n).to_pylist()]
            else:
                columns[name] = column.slice(lo, n).to_pylist()
        return [dict(zip(columns, values)) for values in zip(*columns.values())]

    def of(self, uscc: str, con: duckdb.DuckDBPyConnection | None = None) -> pd.DataFrame:
        """`months` as a frame with the USCC, for the command line."""
        months = self.months(uscc, con)
        return pd.DataFrame([{"uscc": uscc, **m} for m in months], columns=COLUMNS)

    def refresh(self) -> None:
        """Open the lookup file again if it was replaced, read the corrections again if one was added (looked at
        most once every `every` seconds). The service calls it when a worker starts, so that no request pays
        for the opening."""
        now = time.monotonic()
        if now - self._looked < self.every:
            return
        with self._lock:
            if now - self._looked < self.every:
                return
            root = self.history.root
            months = [self.history.path(m) for m in self.history.months()]
            folder = root / CORRECTIONS
            stamps = (
                _stamp(root / LOOKUP),
                max((_stamp(p) or 0 for p in months), default=0),
                len(months),
                _stamp(folder),
            )
            if stamps != self._stamps:
                self._open(root / LOOKUP if stamps[0] is not None else None)
                files = sorted(folder.glob("*.parquet")) if folder.exists() else []
                fixed = (
                    pa.concat_tables([pq.read_table(p) for p in files], promote_options="default") if files else None
                )
                self._corrections = {}
                for row in _answered(fixed.to_pandas()) if fixed is not None else []:
                    self._corrections.setdefault(row.pop("uscc"), []).append(row)
                self._stamps = stamps
            self._looked = time.monotonic()

    def _open(self, path: Path | None) -> None:
        self._batches, self._keys, self._first, self._texts = None, [], [], []
        if path is None:
            return
        try:
            reader = pa.ipc.open_file(pa.memory_map(str(path)))
        except (FileNotFoundError, pa.ArrowInvalid):
            return  # replaced or cut between looking and opening: the month files answer until the next look
        if _months_of(reader.schema) != self.history.months():
            return
        batches = [reader.get_batch(i) for i in range(reader.num_record_batches)]
        for batch in batches:
            codes = batch.column("uscc")
            keys = np.frombuffer(
                codes.buffers()[1], dtype=f"S{USCC_BYTES}", count=len(codes), offset=codes.offset * USCC_BYTES
            )
            self._keys.append(keys)
            self._first.append(bytes(keys[0]))
            self._texts.append(
                {
                    f.name: batch.column(f.name).dictionary.to_pylist()
                    for f in batch.schema
                    if pa.types.is_dictionary(f.type)
                }
            )
        self._batches = batches


def _keyed(table: pa.Table) -> pa.Table:
    """The USCC as 18 fixed bytes (the lookup's search key); a code of another length is refused by name."""
    codes = table.column("uscc")
    wrong = pc.not_equal(pc.binary_length(codes), USCC_BYTES)
    if pc.any(wrong).as_py():
        bad = codes.filter(wrong)[0].as_py()
        raise CreditgradeError(
            f"history holds USCC {bad!r}, which is not 18 characters: the lookup file cannot be written",
            f"历史记录含非18位的统一社会信用代码 {bad!r}：无法写入查询文件",
        )
    return table.set_column(table.schema.get_field_index("uscc"), "uscc", pc.cast(codes, pa.binary(USCC_BYTES)))


class SortedStrings:
    """A sorted Arrow string column or array as `bisect` sees it (no copy to Python of the whole of it)."""

    def __init__(self, column):
        self.column = column

    def __len__(self) -> int:
        return len(self.column)

    def __getitem__(self, i: int) -> str:
        return self.column[i].as_py()


def answered(row: dict) -> dict:
    """One history row as the API answers it (without the USCC)."""
    return {k: None if _missing(v) else str(v)[:10] if k in DATES else v for k, v in row.items() if k != "uscc"}


def _answered(frame: pd.DataFrame) -> list[dict]:
    """History rows as the API answers them: dates as YYYY-MM-DD, missing values as None."""
    out = []
    for r in frame.to_dict("records"):
        out.append({k: None if _missing(v) else str(v)[:10] if k in DATES else v for k, v in r.items()})
    return out


DATES = ("month", "corrected_on")


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and v != v) or v is pd.NaT


def _lookup_months(path: Path) -> list[dt.date] | None:
    """The months the lookup file holds (None: no file, or one of an earlier layout)."""
    try:
        return _months_of(pa.ipc.open_file(pa.memory_map(str(path))).schema)
    except (FileNotFoundError, pa.ArrowInvalid):
        return None


def _months_of(schema: pa.Schema) -> list[dt.date]:
    text = (schema.metadata or {}).get(LOOKUP_MONTHS, b"").decode()
    return [dt.date.fromisoformat(m) for m in text.split(",") if m]


def _stamp(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return None


def enterprise_history(history: History, uscc: str) -> pd.DataFrame:
    """One enterprise's months; NotFound when no published month holds it."""
    frame = Lookup(history).of(uscc)
    if frame.empty:
        months = history.months()
        where = f"{months[0]} to {months[-1]}" if months else "none published"
        raise NotFound(
            f"{uscc} is in no published month ({where}) under {history.root}",
            f"{history.root} 下已发布的月份（{where}）中没有 {uscc}",
        )
    return frame
