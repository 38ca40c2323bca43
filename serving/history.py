"""The grade history: every published month of every enterprise, appended month by month.

History is large and analytical (2.23 M enterprises × 24 months is 54 M rows) and written by one job a
month, so it is kept as Parquet, one file per published month (`<root>/YYYY-MM-DD.parquet`), sorted by
USCC in small row groups: a lookup of one enterprise reads one row group of each month (DuckDB prunes the
rest by the row groups' min/max statistics), and nothing is held in memory between lookups. A month is
written under a temporary name and renamed into place, so a reader sees it whole or not at all, and a
rerun of the month replaces it with the same bytes.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from creditgrade.features.errors import NotFound
from creditgrade.models.scoring import SCHEME_ORDER

ROW_GROUP = 8192
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
        tmp = target.with_name(f".{target.name}.partial")
        pq.write_table(rows, tmp, compression="zstd", row_group_size=ROW_GROUP, write_statistics=True)
        os.replace(tmp, target)
        return target

    def write_correction(self, rows: pa.Table, correction: str) -> Path:
        """Write a correction's rows whole, beside the months (a month file is never rewritten by it)."""
        folder = self.root / CORRECTIONS
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{correction}.parquet"
        tmp = target.with_name(f".{target.name}.partial")
        pq.write_table(rows, tmp, compression="zstd")
        os.replace(tmp, target)
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
        tmp = target.with_name(f".{target.name}.partial")
        pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, target)
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


def enterprise_history(history: History, uscc: str) -> pd.DataFrame:
    """One enterprise's months; NotFound when no published month holds it."""
    frame = history.of(uscc)
    if frame.empty:
        months = history.months()
        where = f"{months[0]} to {months[-1]}" if months else "none published"
        raise NotFound(
            f"{uscc} is in no published month ({where}) under {history.root}",
            f"{history.root} 下已发布的月份（{where}）中没有 {uscc}",
        )
    return frame
