"""Bad input, on purpose: every kind of fault the ingest must catch.

With a dirty rate R, about R of each table's rows get one fault each, and the
tables are rewritten with every column as text (as agencies' extracts often
arrive), so that wrong types can be expressed at all. Every injected fault is
listed in `truth/injected_faults.parquet` (table, row_number, column, kind).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from stdnum.cn import uscc as stdnum_uscc

from creditgrade.features import contract as C
from creditgrade.features.city.sink import PARQUET_OPTIONS

FAULT_KINDS = (
    "missing_required",
    "bad_type",
    "bad_code",
    "future_date",
    "out_of_range",
    "bad_uscc",
    "unknown_enterprise",
    "duplicate",
    "inconsistent_row",
)
# One edit per table that breaks one of its row rules while every value stays valid on its own.
_EPOCH = "1970-01-01"
_BREAK_ROW_RULE = {
    "enterprises": "closed_date",
    "shareholdings": "end_date",
    "licences": "expiry_date",
    "abnormal_list": "exit_date",
    "serious_violations": "exit_date",
    "court_cases": "judgment_date",
    "judgment_defaulters": "removed_date",
    "equity_pledges": "released_date",
    "annual_reports": "filed",
    "spot_checks": "problem_found",
    "credit_commitments": "kept",
    "complaints": "resolved_date",
}
_GARBAGE = {"int": "n/a", "float": "12,5", "date": "2021-02-30", "bool": "maybe"}


def _as_text(tbl: pa.Table) -> dict[str, np.ndarray]:
    out = {}
    for name in tbl.column_names:
        col = tbl.column(name)
        if pa.types.is_boolean(col.type):
            col = pa.compute.if_else(col, "true", "false")
        out[name] = np.array(col.cast(pa.string()).to_pylist(), dtype=object)
    return out


def _applicable(table: C.Table, extraction: dt.date) -> list[tuple[str, str]]:
    """(kind, column) pairs that make sense for this table."""
    pairs: list[tuple[str, str]] = []
    for c in table.columns:
        if c.required and c.name != "uscc":
            pairs.append(("missing_required", c.name))
        if c.type != "string":
            pairs.append(("bad_type", c.name))
        if c.codes:
            pairs.append(("bad_code", c.name))
        if c.type == "date" and not c.future_allowed and c.required:
            pairs.append(("future_date", c.name))
        if c.type in ("int", "float") and c.minimum is not None and c.minimum >= 0 and c.required:
            pairs.append(("out_of_range", c.name))
    if table.name == "enterprises":
        pairs.append(("bad_uscc", "uscc"))
    elif "uscc" in table.column_names:
        pairs.append(("unknown_enterprise", "uscc"))
    pairs.append(("duplicate", ""))
    if table.name in _BREAK_ROW_RULE:
        pairs.append(("inconsistent_row", _BREAK_ROW_RULE[table.name]))
    return pairs


def _unknown_usccs(rng: np.random.Generator, k: int) -> list[str]:
    """Checksum-valid codes that no simulated enterprise has (region 440399 is never used)."""
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    out = []
    for _ in range(k):
        body = "91440399" + "".join(rng.choice(list(alphabet), 9))
        out.append(body + stdnum_uscc.calc_check_digit(body))
    return out


def _corrupt(kind: str, column: str, value, table: C.Table, extraction: dt.date, rng: np.random.Generator):
    col = table.column(column) if column else None
    if kind == "missing_required":
        return None
    if kind == "bad_type":
        return _GARBAGE[col.type]
    if kind == "bad_code":
        return "UNKNOWN_CODE"
    if kind == "future_date":
        return (extraction + dt.timedelta(days=int(rng.integers(1, 400)))).isoformat()
    if kind == "out_of_range":
        return "-1"
    if kind == "inconsistent_row":
        if col.type == "date":
            return _EPOCH  # before the record's start date
        if table.name == "credit_commitments":
            return None if value is not None else "true"
        return "false" if value == "true" else "true"
    if kind == "bad_uscc":
        alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
        wrong = [ch for ch in alphabet if ch != value[-1]]
        return value[:-1] + wrong[int(rng.integers(0, len(wrong)))]
    raise ValueError(f"unknown fault kind {kind!r}")


def inject_faults(folder: Path, rate: float, rng: np.random.Generator, extraction_date: str) -> int:
    """Rewrite every table as text with faults injected; returns the number of faults."""
    extraction = dt.date.fromisoformat(extraction_date)
    log: dict[str, list] = {"table": [], "row_number": [], "column": [], "kind": []}
    for table in C.TABLES:
        path = Path(folder) / f"{table.name}.parquet"
        cols = _as_text(pq.read_table(path))
        n = len(cols[table.column_names[0]])
        k = int(rng.binomial(n, rate)) if n else 0
        rows = np.sort(rng.choice(n, size=k, replace=False)) if k else np.empty(0, dtype=np.int64)
        pairs = _applicable(table, extraction)
        picks = rng.integers(0, len(pairs), k)
        unknown = iter(_unknown_usccs(rng, k))
        duplicates = []
        for row, pick in zip(rows, picks):
            kind, column = pairs[pick]
            if kind == "duplicate":
                duplicates.append(row)
                continue
            if kind == "unknown_enterprise":
                cols["uscc"][row] = next(unknown)
            else:
                cols[column][row] = _corrupt(kind, column, cols[column][row], table, extraction, rng)
            log["table"].append(table.name), log["row_number"].append(int(row) + 1)
            log["column"].append(column), log["kind"].append(kind)
        if duplicates:  # appended at the end, in one copy per column (not one per duplicate)
            for name in cols:
                cols[name] = np.concatenate([cols[name], cols[name][np.asarray(duplicates)]])
        for j, _ in enumerate(duplicates):
            log["table"].append(table.name), log["row_number"].append(n + j + 1)
            log["column"].append(""), log["kind"].append("duplicate")
        schema = pa.schema([(name, pa.string()) for name in table.column_names])
        pq.write_table(
            pa.table({name: pa.array(cols[name].tolist(), pa.string()) for name in table.column_names}, schema=schema),
            path,
            **PARQUET_OPTIONS,
        )
    pq.write_table(
        pa.table(
            {
                "table": pa.array(log["table"], pa.string()),
                "row_number": pa.array(log["row_number"], pa.int64()),
                "column": pa.array(log["column"], pa.string()),
                "kind": pa.array(log["kind"], pa.string()),
            }
        ),
        Path(folder) / "truth" / "injected_faults.parquet",
        **PARQUET_OPTIONS,
    )
    return len(log["table"])
