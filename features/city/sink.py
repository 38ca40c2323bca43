"""Writes the simulator's numpy columns as contract tables, one row group a year.

Inside the simulator a missing date is NO_DAY, a missing number NaN, a missing
flag -1 and a missing string None; here they become real nulls.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from creditgrade.features.city.calendar import NO_DAY
from creditgrade.features.contract import Table
from creditgrade.features.store import ARROW_TYPES, arrow_schema, table_path

PARQUET_OPTIONS = dict(compression="zstd", write_statistics=True)


def to_arrow_column(values: np.ndarray, kind: str) -> pa.Array:
    values = np.asarray(values)
    if kind == "date":
        v = values.astype(np.int64)
        mask = v == NO_DAY
        return pa.array(np.where(mask, 0, v).astype(np.int32), mask=mask).cast(pa.date32())
    if kind == "float":
        v = values.astype(np.float64)
        return pa.array(v, mask=np.isnan(v), type=pa.float64())
    if kind == "int":
        if values.dtype.kind == "f":
            mask = np.isnan(values)
            return pa.array(np.where(mask, 0, values).astype(np.int64), mask=mask, type=pa.int64())
        return pa.array(values.astype(np.int64), type=pa.int64())
    if kind == "bool":
        v = values.astype(np.int8)
        return pa.array(v == 1, mask=v < 0, type=pa.bool_())
    if values.dtype.kind == "U":
        return pa.array(values, type=pa.string())
    return pa.array(values.tolist() if values.dtype == object else values, type=ARROW_TYPES[kind])


def to_arrow_table(table: Table, columns: dict[str, np.ndarray]) -> pa.Table:
    missing = set(table.column_names) - set(columns)
    if missing:
        raise ValueError(f"{table.name}: simulator produced no column(s) {sorted(missing)}")
    arrays = [to_arrow_column(columns[c.name], c.type) for c in table.columns]
    return pa.Table.from_arrays(arrays, schema=arrow_schema(table))


class TableSink:
    """Appends yearly chunks of one table to its Parquet file."""

    def __init__(self, table: Table, folder: Path):
        self.table = table
        self.path = table_path(folder, table.name)
        self._writer = pq.ParquetWriter(self.path, arrow_schema(table), **PARQUET_OPTIONS)
        self.rows = 0

    def write(self, columns: dict[str, np.ndarray]) -> None:
        t = to_arrow_table(self.table, columns)
        if t.num_rows:
            self._writer.write_table(t)
            self.rows += t.num_rows

    def close(self) -> None:
        self._writer.close()
