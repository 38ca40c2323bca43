"""The latest graded table, as the service reads it: loaded from the grading job's DuckDB database.

Lookups by USCC come from an in-memory Arrow copy of table `graded` (a binary search on the sorted
USCCs, microseconds), what-ifs read an enterprise's indicator values from table `indicators`.
"""

from __future__ import annotations

import threading
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from features import catalog
from serving.batch import DATABASE, SCHEME_ORDER

DIMENSIONS = [d for d in catalog.DIMENSIONS if d.id != "FR"]


def latest_folder(root: Path) -> Path:
    """The newest graded folder under `root` (folders are named by as-of date), or `root` itself."""
    root = Path(root)
    if (root / DATABASE).exists():
        return root
    found = sorted(p.parent for p in root.glob(f"*/{DATABASE}"))
    if not found:
        raise FileNotFoundError(f"no graded table under {root}: run `creditgrade grade` first")
    return found[-1]


class GradedStore:
    def __init__(self, folder: Path):
        self.folder = Path(folder)
        path = self.folder / DATABASE
        if not path.exists():
            raise FileNotFoundError(f"graded database {path} does not exist: run `creditgrade grade` first")
        self.con = duckdb.connect(str(path), read_only=True)
        self.con.execute("SET enable_progress_bar = false")
        self.table = self.con.sql("SELECT * FROM graded ORDER BY uscc").to_arrow_table(
            batch_size=1 << 20).combine_chunks()
        self.keys = np.array(self.table.column("uscc").to_pylist(), dtype="S32")
        self.as_of = str(self.table.column("as_of")[0]) if self.table.num_rows else None
        self.model_version = self.table.column("model_version")[0].as_py() if self.table.num_rows else None
        self._local = threading.local()

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

    def indicators(self, uscc: str) -> dict[str, float | None] | None:
        cur = getattr(self._local, "cur", None)
        if cur is None:
            cur = self._local.cur = self.con.cursor()
        row = cur.execute("SELECT * FROM indicators WHERE uscc = ?", [uscc]).fetchone()
        if row is None:
            return None
        names = [d[0] for d in cur.description]
        return {k: v for k, v in zip(names, row) if k != "uscc"}


def present(row: dict) -> dict:
    """One graded row as the API returns it."""
    override = None
    if row.get("override_rule"):
        override = {"rule": row["override_rule"], "zh": row["override_zh"], "en": row["override_en"],
                    "source": row["override_source"]}
    return {
        "uscc": row["uscc"], "name": row["name"],
        "district": {"code": row["region_code"], "zh": row["district_zh"], "en": row["district_en"]},
        "industry": {"code": row["industry_section"], "zh": row["industry_zh"], "en": row["industry_en"]},
        "register_status": row["register_status"],
        "probability": row["probability"], "score": row["score"],
        "grades": {name: row[f"grade_{name}"] for name in SCHEME_ORDER},
        "override": override,
        "dimensions": [{"id": d.id, "zh": d.zh, "en": d.en, "points": row[f"points_{d.id.lower()}"]}
                       for d in DIMENSIONS],
        "base_points": row["base_points"],
        "reasons": row["reasons"],
        "model_version": row["model_version"], "catalog_version": row["catalog_version"],
        "as_of": str(row["as_of"]),
    }
