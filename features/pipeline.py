"""`creditgrade features`: every indicator of the catalog, for every enterprise alive at each as-of date.

Loading (Parquet → Ibis tables on a backend) is kept apart from computing
(`indicator_table`, pure Ibis), so the same definitions run on DuckDB (the
embedded default) and on PySpark, and tests can feed hand-made tables.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Callable, Iterable

import ibis
import pyarrow as pa
import pyarrow.parquet as pq

from features import catalog
from features.contract import TABLES
from features.indicators import definitions
from features.pit import AsOf, sources

ID_COLUMNS = ("uscc", "name", "region_code", "industry_section", "legal_form")
FEATURE_IDS: tuple[str, ...] = tuple(i.id for i in catalog.ALL)
META_VERSION = b"creditgrade.catalog_version"
META_AS_OF = b"creditgrade.as_of"
Progress = Callable[[str, int, int], None]


class FeatureError(Exception):
    """Input the pipeline cannot work from (a missing table, a bad date)."""


def connect(backend: str = "duckdb", spark=None) -> ibis.BaseBackend:
    """An Ibis backend: 'duckdb' (in-process, threads pinned to the cores) or 'pyspark' (a SparkSession)."""
    if backend == "duckdb":
        con = ibis.duckdb.connect(threads=os.cpu_count() or 1)
        con.raw_sql("SET enable_progress_bar = false")
        return con
    if backend == "pyspark":
        if spark is None:
            from pyspark.sql import SparkSession
            spark = SparkSession.builder.master(f"local[{os.cpu_count() or 1}]").getOrCreate()
        return ibis.pyspark.connect(spark)
    raise ValueError(f"backend must be 'duckdb' or 'pyspark'; got {backend!r}")


def load_raw(con: ibis.BaseBackend, data: Path) -> dict[str, ibis.Table]:
    """Every contract table of an ingested city folder, read in place."""
    data = Path(data)
    raw = {}
    for t in TABLES:
        path = data / f"{t.name}.parquet"
        if not path.exists():
            raise FeatureError(f"raw table '{t.name}' ({t.zh}) not found: expected {path}")
        raw[t.name] = con.read_parquet(str(path), table_name=f"raw_{t.name}")
    return raw


def _attach(wide: ibis.Table, extra: ibis.Table) -> ibis.Table:
    return wide.left_join(extra, "uscc").drop("uscc_right")


def indicator_table(raw: dict[str, ibis.Table], day: dt.date) -> ibis.Table:
    """All catalog indicators as of `day`: one row per enterprise alive then, columns in catalog order."""
    asof = AsOf(day)
    src = sources(raw, asof)
    defs = definitions()
    wide = src["alive"]
    by_source: dict[str, dict] = {}
    for d in defs.values():
        if d.kind == "aggregate":
            by_source.setdefault(d.source, {})[d.id] = d
    for source, group in by_source.items():
        t = src[source]
        wide = _attach(wide, t.group_by("uscc").aggregate(**{k: d.fn(t, asof) for k, d in group.items()}))
    wide = _fill(wide)
    for d in defs.values():
        if d.kind == "column":
            wide = wide.mutate(**{d.id: d.fn(wide, asof)})
    for d in defs.values():
        if d.kind == "table":
            wide = _attach(wide, d.fn(src, wide, asof))
    wide = _fill(wide)
    return wide.select(
        *ID_COLUMNS,
        as_of=ibis.literal(day),
        catalog_version=ibis.literal(catalog.version()),
        **{i: wide[i].cast("float64") for i in FEATURE_IDS},
    )


def _fill(wide: ibis.Table) -> ibis.Table:
    """Give 'no records' its catalog value (0 for counts and flags); missing-by-definition stays missing."""
    fills = {i.id: wide[i.id].fill_null(i.no_records) for i in catalog.ALL
             if i.no_records is not None and i.id in wide.columns}
    return wide.mutate(**fills) if fills else wide


def parse_dates(values: Iterable[str]) -> list[dt.date]:
    days = []
    for v in values:
        try:
            days.append(dt.date.fromisoformat(v))
        except ValueError:
            raise FeatureError(f"as-of date must be YYYY-MM-DD; got {v!r}") from None
    if not days:
        raise FeatureError("give at least one as-of date")
    return sorted(set(days))


def build_features(data: Path, as_of: list[dt.date], out: Path, *, backend: str = "duckdb",
                   progress: Progress | None = None) -> dict:
    """Compute the indicator table for each as-of date and write one Parquet file (a panel when several).

    The file is written to a temporary name and renamed when complete.
    """
    progress = progress or (lambda step, done, total: None)
    con = connect(backend)
    raw = load_raw(con, data)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.partial")
    writer = None
    rows = {}
    try:
        for n, day in enumerate(as_of):
            progress(f"as of {day}", n, len(as_of))
            # Ibis 12's batch reader needs a DuckDB call removed in DuckDB 2; one table per date is small enough.
            for batch in indicator_table(raw, day).to_pyarrow().to_batches(max_chunksize=250_000):
                if writer is None:
                    schema = batch.schema.with_metadata({META_VERSION: catalog.version().encode(),
                                                         META_AS_OF: ",".join(map(str, as_of)).encode()})
                    writer = pq.ParquetWriter(tmp, schema, compression="zstd")
                writer.write_batch(batch)
                rows[str(day)] = rows.get(str(day), 0) + batch.num_rows
        if writer is None:
            raise FeatureError("no rows were produced")
        writer.close()
        os.replace(tmp, out)
    except BaseException:
        if writer is not None:
            writer.close()
        tmp.unlink(missing_ok=True)
        raise
    progress("done", len(as_of), len(as_of))
    return {"out": str(out), "rows": rows, "catalog_version": catalog.version(), "backend": backend}


def read_features(path: Path, expect_version: str | None = None) -> pa.Table:
    """Read a feature table, refusing one built from another catalog version."""
    table = pq.read_table(path)
    version = (table.schema.metadata or {}).get(META_VERSION, b"").decode()
    expected = expect_version or catalog.version()
    if version != expected:
        raise FeatureError(f"{path} was built with catalog version {version or 'unknown'}; this code has "
                           f"{expected}: rebuild it with `creditgrade features`")
    return table
