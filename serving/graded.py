"""The latest graded table, as the service reads it: loaded from the grading job's DuckDB database.

Lookups by USCC come from an in-memory Arrow copy of table `graded` (a binary search on the sorted
USCCs, microseconds); what-ifs start from an enterprise's indicator values, held in memory from table
`indicators` in the same order. The table served is the newest of the grading job's folders and the
published months (`served_folder`); enterprises regraded since by an upheld objection or repair are
answered from their correction (`Regraded`), seen by every worker within a second of the decision.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from creditgrade.features import catalog
from creditgrade.features.errors import CreditgradeError, NotFound
from creditgrade.features.overrides import OVERRIDE_COLUMNS
from creditgrade.features.store import no_progress_bar
from creditgrade.models.scoring import SCHEME_ORDER
from creditgrade.serving.batch import DATABASE

DIMENSIONS = [d for d in catalog.DIMENSIONS if d.id != "FR"]


def latest_folder(root: Path) -> Path:
    """The newest graded folder under `root` (folders are named by as-of date), or `root` itself."""
    root = Path(root)
    if (root / DATABASE).exists():
        return root
    found = sorted(p.parent for p in root.glob(f"*/{DATABASE}") if not p.parent.name.startswith("."))
    if not found:
        raise NotFound(
            f"no graded table under {root}: run `creditgrade grade` first",
            f"{root} 下没有分级结果：请先运行 `creditgrade grade`",
        )
    return found[-1]


def served_folder(graded: Path, monthly: Path) -> Path:
    """The graded folder to serve: the newest of the grading job's latest (under `graded`) and the latest
    published month (`monthly/months/<as-of>/graded`); a published month wins a tie."""
    months = sorted(p.parent for p in Path(monthly).glob(f"months/*/graded/{DATABASE}") if _day(p.parent.parent.name))
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
        rows: dict[str, dict] = {}
        files = sorted(self.folder.glob("*.parquet")) if self.folder.exists() else []
        found = [r for p in files for r in pq.read_table(p).to_pylist() if str(r["as_of"]) == self.as_of]
        for r in sorted(found, key=lambda r: (r["corrected_on"], r["correction"])):  # the newest wins
            rows[r["uscc"]] = {**present(r), "correction": {"id": r["correction"], "on": str(r["corrected_on"])}}
        return rows


class GradedStore:
    def __init__(self, folder: Path):
        self.folder = Path(folder)
        path = self.folder / DATABASE
        if not path.exists():
            raise NotFound(
                f"graded database {path} does not exist: run `creditgrade grade` first",
                f"分级数据库 {path} 不存在：请先运行 `creditgrade grade`",
            )
        self.con = duckdb.connect(str(path), read_only=True)
        no_progress_bar(self.con.execute)
        self.table = (
            self.con.sql("SELECT * FROM graded ORDER BY uscc").to_arrow_table(batch_size=1 << 20).combine_chunks()
        )
        missing = [c for c in OVERRIDE_COLUMNS if c not in self.table.column_names]
        if missing:
            raise CreditgradeError(
                f"{path} was graded by an earlier release (it lacks {', '.join(missing)}): grade the month again",
                f"{path} 由旧版本生成（缺少 {', '.join(missing)}）：请重新分级",
                code="graded_table",
            )
        self.keys = np.array(self.table.column("uscc").to_pylist(), dtype="S32")
        self.as_of = str(self.table.column("as_of")[0]) if self.table.num_rows else None
        self.model_version = self.table.column("model_version")[0].as_py() if self.table.num_rows else None
        ind = self.con.sql("SELECT * FROM indicators ORDER BY uscc").to_arrow_table(batch_size=1 << 20)
        if ind.num_rows != self.table.num_rows or not ind.column("uscc").equals(self.table.column("uscc")):
            raise CreditgradeError(
                f"{path}: tables graded and indicators do not hold the same enterprises",
                f"{path}：graded 表与 indicators 表的企业不一致",
                code="graded_table",
            )
        self.indicator_names = tuple(c for c in ind.column_names if c != "uscc")
        self.indicator_values = (
            np.column_stack([ind.column(c).to_numpy().astype(np.float64) for c in self.indicator_names])
            if ind.num_rows
            else np.empty((0, len(self.indicator_names)))
        )
        self.con.close()

    def __len__(self) -> int:
        return self.table.num_rows

    def find(self, usccs: list[str]) -> tuple[np.ndarray, list[str]]:
        """Row numbers of the USCCs found (in the order given) and the USCCs not found."""
        wanted = np.array([u.encode() for u in usccs], dtype="S32")
        pos = np.searchsorted(self.keys, wanted)
        pos = np.minimum(pos, max(len(self.keys) - 1, 0))
        hit = (self.keys[pos] == wanted) if len(self.keys) else np.zeros(len(wanted), bool)
        return pos[hit], [u for u, h in zip(usccs, hit) if not h]

    def known(self, uscc: str) -> bool:
        return len(self.find([uscc])[0]) == 1

    def rows(self, positions: np.ndarray) -> list[dict]:
        return [present(r) for r in self.table.take(pa.array(positions, type=pa.int64())).to_pylist()]

    def indicators(self, position: int) -> dict[str, float]:
        """The indicator values behind the grade of the enterprise at `position` (see `find`); NaN: missing."""
        return dict(zip(self.indicator_names, self.indicator_values[position].tolist()))

    def column(self, name: str, position: int):
        return self.table.column(name)[position].as_py()


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
