"""The latest graded table, as the service reads it: mapped in place from the grading job's lookup file.

Lookups by USCC and the indicator values behind a grade (for what-ifs) come from the graded folder's
`lookup.arrow` (`GradedStore`): mapped into memory, searched on the sorted USCCs, only the rows asked for
copied, so a worker's memory does not grow with the city. The table served is the newest of the grading
job's folders and the published months (`served_folder`); enterprises regraded since by an upheld objection
or repair are answered from their correction (`Regraded`), seen by every worker within a second of the
decision.
"""

from __future__ import annotations

import bisect
import datetime as dt
import mmap
import threading
import time
from pathlib import Path

import duckdb
import numpy as np
import psutil
import pyarrow as pa
import pyarrow.parquet as pq

from creditgrade.features import catalog
from creditgrade.features.errors import CreditgradeError, NotFound
from creditgrade.features.overrides import OVERRIDE_COLUMNS
from creditgrade.features.store import atomic_file, no_progress_bar
from creditgrade.models.scoring import SCHEME_ORDER
from creditgrade.serving.batch import DATABASE, LOOKUP, LOOKUP_INDICATORS, take_rows, write_lookup
from creditgrade.serving.history import SortedStrings

DIMENSIONS = [d for d in catalog.DIMENSIONS if d.id != "FR"]


def latest_folder(root: Path) -> Path:
    """The newest graded folder under `root` (folders are named by as-of date), or `root` itself."""
    root = Path(root)
    if _graded(root):
        return root
    found = sorted(p for p in root.glob("*") if not p.name.startswith(".") and _graded(p))
    if not found:
        raise NotFound(
            f"no graded table under {root}: run `creditgrade grade` first",
            f"{root} 下没有分级结果：请先运行 `creditgrade grade`",
        )
    return found[-1]


def _graded(folder: Path) -> bool:
    """A graded folder: its lookup file, or (graded by an earlier release) its database, is there."""
    return (folder / LOOKUP).exists() or (folder / DATABASE).exists()


def served_folder(graded: Path, monthly: Path) -> Path:
    """The graded folder to serve: the newest of the grading job's latest (under `graded`) and the latest
    published month (`monthly/months/<as-of>/graded`); a published month wins a tie."""
    months = sorted(p for p in Path(monthly).glob("months/*/graded") if _day(p.parent.name) and _graded(p))
    try:
        job = latest_folder(graded)
    except NotFound:
        if months:
            return months[-1]
        raise
    if months and (_day(job.name) is None or _day(months[-1].parent.name) >= _day(job.name)):
        return months[-1]
    return job


def _day(name: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(name)
    except ValueError:
        return None


class Regraded:
    """Enterprises regraded after their month was published (upheld objections and repairs): the whole graded
    row of each correction (`History.write_regraded`), for the month being served. The folder is looked at
    again at most once every `every` seconds and read again only when a file was added, so a decision taken
    by any worker is answered by every worker within about a second."""

    def __init__(self, folder: Path, as_of: str | None, every: float = 1.0):
        self.folder, self.as_of, self.every = Path(folder), as_of, every
        self._lock = threading.Lock()
        self._looked, self._stamp, self._rows = 0.0, None, {}

    def row(self, uscc: str) -> dict | None:
        """The enterprise's newest correction of the served month, as the API answers it; None if none."""
        self._refresh()
        return self._rows.get(uscc)

    def _refresh(self) -> None:
        now = time.monotonic()
        if now - self._looked < self.every:
            return
        with self._lock:
            if now - self._looked < self.every:
                return
            try:
                stamp = self.folder.stat().st_mtime_ns
            except FileNotFoundError:
                stamp = None
            if stamp != self._stamp:
                self._rows, self._stamp = self._read(), stamp
            self._looked = time.monotonic()

    def _read(self) -> dict[str, dict]:
        files = sorted(self.folder.glob("*.parquet")) if self.folder.exists() else []
        return regraded_answers(r for p in files for r in pq.read_table(p).to_pylist() if str(r["as_of"]) == self.as_of)


def regraded_answers(rows) -> dict[str, dict]:
    """The corrections' whole graded rows (`History.write_regraded`) as the API answers them, by USCC: an
    enterprise corrected more than once answered by its newest correction."""
    answers: dict[str, dict] = {}
    for r in sorted(rows, key=lambda r: (str(r["corrected_on"]), r["correction"])):
        answers[r["uscc"]] = {**present(r), "correction": {"id": r["correction"], "on": str(r["corrected_on"])}}
    return answers


MANY = 8  # USCCs asked of one record batch at once from which a vectorised search pays for reading its keys


class GradedStore:
    """The served month's graded rows and indicator values, read in place from the folder's lookup file
    (`serving.batch.write_lookup`: uncompressed Arrow IPC in USCC order, mapped into memory). A lookup finds
    the row by binary search on the sorted USCCs — the first USCC of each record batch held, then a search
    inside the batch, on the mapped bytes — and copies only the rows asked for. Workers share the file
    through the page cache, so a worker's own memory stays the same whatever the size of the city. A folder
    graded by an earlier release (without the file) gets it written once from its DuckDB database."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        path = self.folder / LOOKUP
        if not path.exists():
            _write_lookup_from_database(self.folder)
        with open(path, "rb") as f:
            self._map = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if path.stat().st_size else b""
        if isinstance(self._map, mmap.mmap):
            _advise(self._map, len(self._map))
        self.table = pa.ipc.open_file(pa.BufferReader(pa.py_buffer(self._map))).read_all()  # zero-copy: the map
        names = self.table.column_names
        missing = [c for c in ("uscc", *OVERRIDE_COLUMNS) if c not in names]
        if missing:
            raise CreditgradeError(
                f"{path} was graded by an earlier release (it lacks {', '.join(missing)}): grade the month again",
                f"{path} 由旧版本生成（缺少 {', '.join(missing)}）：请重新分级",
                code="graded_table",
            )
        meta = self.table.schema.metadata or {}
        listed = meta.get(LOOKUP_INDICATORS, b"").decode()
        self.indicator_names = tuple(c for c in listed.split(",") if c)
        self._graded = self.table.drop_columns(list(self.indicator_names)).to_batches()  # zero-copy, split once
        self._values = self.table.select(list(self.indicator_names)).to_batches()
        self._chunks = self.table.column("uscc").chunks
        self._first = np.array([c[0].as_py() for c in self._chunks], dtype=object)
        self._starts = np.cumsum([0] + [len(c) for c in self._chunks])
        self._keys: list = [False] * len(self._chunks)  # per batch: fixed-width keys, None (mixed), False (not yet)
        self.as_of = str(self.table.column("as_of")[0]) if self.table.num_rows else None
        self.model_version = self.table.column("model_version")[0].as_py() if self.table.num_rows else None

    def __len__(self) -> int:
        return self.table.num_rows

    def find(self, usccs: list[str]) -> tuple[np.ndarray, list[str]]:
        """Row numbers of the USCCs found (in the order given) and the USCCs not found."""
        if not self._chunks:
            return np.empty(0, dtype=np.int64), list(usccs)
        chunk = np.maximum(np.searchsorted(self._first, np.array(usccs, dtype=object), "right") - 1, 0)
        at = np.full(len(usccs), -1, dtype=np.int64)
        for c in np.unique(chunk):
            asked = np.flatnonzero(chunk == c)
            keys = self._fixed_keys(c) if len(asked) >= MANY or self._keys[c] is not False else None
            if keys is not None:  # every key of the batch the same width: one vectorised search
                wanted = [usccs[i].encode("utf-8", "surrogatepass") for i in asked]
                fits = np.array([len(w) == keys.dtype.itemsize for w in wanted], dtype=bool)
                if fits.any():  # a code of another width equals no key of this batch
                    codes = np.array([w for w, f in zip(wanted, fits) if f], dtype=keys.dtype)
                    pos = np.searchsorted(keys, codes)
                    hit = pos < len(keys)
                    hit[hit] = keys[pos[hit]] == codes[hit]
                    at[asked[fits][hit]] = self._starts[c] + pos[hit]
                continue
            strings = SortedStrings(self._chunks[c])  # few asked, or mixed widths: bisect on the mapped strings
            for i in asked:
                pos = bisect.bisect_left(strings, usccs[i])
                if pos < len(strings) and strings[pos] == usccs[i]:
                    at[i] = self._starts[c] + pos
        found = at >= 0
        return at[found], [u for u, f in zip(usccs, found) if not f]

    def _fixed_keys(self, c: int) -> np.ndarray | None:
        """Batch c's USCCs as fixed-width bytes read in place (`fixed_width`), worked out on first use: that reads
        every key of the batch (1.5 MB), so a batch is first searched this way only for MANY USCCs at once —
        a single lookup on a file not yet in memory bisects, touching a few pages."""
        if self._keys[c] is False:
            self._keys[c] = fixed_width(self._chunks[c])
        return self._keys[c]

    def known(self, uscc: str) -> bool:
        return len(self.find([uscc])[0]) == 1

    def rows(self, positions: np.ndarray) -> list[dict]:
        return [present(r) for r in take_rows(self._graded, positions).to_pylist()]

    def indicators(self, position: int) -> dict[str, float]:
        """The indicator values behind the grade of the enterprise at `position` (see `find`); NaN: missing."""
        row = take_rows(self._values, np.array([position])).to_pylist()[0]
        return {k: float("nan") if v is None else float(v) for k, v in row.items()}

    def column(self, name: str, position: int):
        return self.table.column(name)[position].as_py()

    def identity(self) -> dict:
        """The served table's identity (`serving.names.identity`), which its name index is stamped with."""
        from creditgrade.serving.names import identity

        return identity(self.table)

    def names(self) -> pa.ChunkedArray:
        """Every enterprise's name in USCC order (the name index's rows)."""
        return self.table.column("name")


def fixed_width(strings: pa.Array) -> np.ndarray | None:
    """A string array as numpy fixed-width bytes over the same memory (no copy) when every value has the same
    length in bytes, none missing, and none ends in a NUL byte (numpy's fixed-width bytes drop trailing NULs);
    None otherwise. For values of one width numpy's order is the byte order Arrow and DuckDB sort strings in."""
    if (
        len(strings) == 0
        or strings.null_count
        or not (pa.types.is_string(strings.type) or pa.types.is_large_string(strings.type))
    ):
        return None
    kind = np.int64 if pa.types.is_large_string(strings.type) else np.int32
    _, offsets_buffer, data = strings.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=kind)[strings.offset : strings.offset + len(strings) + 1]
    width = int(offsets[1] - offsets[0])
    if width == 0 or not (np.diff(offsets) == width).all():
        return None
    keys = np.frombuffer(data, dtype=f"S{width}", count=len(strings), offset=int(offsets[0]))
    if (
        np.frombuffer(data, dtype=np.uint8, count=len(strings) * width, offset=int(offsets[0]))[width - 1 :: width] == 0
    ).any():
        return None
    return keys


def _advise(mapped: mmap.mmap, size: int) -> None:
    """Tell the kernel how the lookup file will be read: when it fits in three quarters of the memory available,
    read it all in now, in the background (lookups then seldom wait for the disk); when it does not, page by
    page as asked (a lookup reads a few rows: read-ahead of whole columns would only push other pages out)."""
    try:
        fits = size <= psutil.virtual_memory().available * 3 // 4
        mapped.madvise(mmap.MADV_WILLNEED if fits else mmap.MADV_RANDOM)
    except (AttributeError, OSError):  # a platform without madvise: the kernel's defaults
        pass


def _write_lookup_from_database(folder: Path) -> None:
    """The lookup file of a folder graded before it existed, from the folder's DuckDB database (once)."""
    path = folder / DATABASE
    if not path.exists():
        raise NotFound(
            f"graded database {path} does not exist: run `creditgrade grade` first",
            f"分级数据库 {path} 不存在：请先运行 `creditgrade grade`",
        )
    with duckdb.connect(str(path), read_only=True) as con:
        no_progress_bar(con.execute)
        graded = con.sql("SELECT * FROM graded ORDER BY uscc").to_arrow_table()
        indicators = con.sql("SELECT * FROM indicators ORDER BY uscc").to_arrow_table()
    with atomic_file(folder / LOOKUP) as tmp:
        write_lookup(graded, indicators, tmp)


def present(row: dict) -> dict:
    """One graded row as the API returns it."""
    override = None
    if row.get("override_rule"):
        override = {
            "effect": row["override_effect"],
            "rule": row["override_rule"],
            "zh": row["override_zh"],
            "en": row["override_en"],
            "source": row["override_source"],
        }
    return {
        "uscc": row["uscc"],
        "name": row["name"],
        "district": {"code": row["region_code"], "zh": row["district_zh"], "en": row["district_en"]},
        "industry": {"code": row["industry_section"], "zh": row["industry_zh"], "en": row["industry_en"]},
        "register_status": row["register_status"],
        "probability": row["probability"],
        "score": row["score"],
        "grades": {name: row[f"grade_{name}"] for name in SCHEME_ORDER},
        "grades_by_score": {name: row[f"grade_{name}_by_score"] for name in SCHEME_ORDER},
        "override": override,
        "dimensions": [
            {"id": d.id, "zh": d.zh, "en": d.en, "points": row[f"points_{d.id.lower()}"]} for d in DIMENSIONS
        ],
        "base_points": row["base_points"],
        "reasons": row["reasons"],
        "model_version": row["model_version"],
        "catalog_version": row["catalog_version"],
        "as_of": str(row["as_of"]),
        "correction": None,
        "disputed": [],
    }
