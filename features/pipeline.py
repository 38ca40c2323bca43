"""`creditgrade features`: every indicator of the catalog, for every enterprise on the register at each as-of date.

Loading (Parquet → Ibis tables on a backend) is kept apart from computing
(`indicator_table`, pure Ibis), so the same definitions run on DuckDB (the
embedded default) and on PySpark, and tests can feed hand-made tables.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import ibis
import pyarrow as pa
import pyarrow.parquet as pq

from creditgrade.features import catalog
from creditgrade.features.contract import TABLES
from creditgrade.features.corrections import Correction, corrected
from creditgrade.features.errors import CreditgradeError
from creditgrade.features.indicators import definitions
from creditgrade.features.overrides import with_overrides
from creditgrade.features.pit import AsOf, sources
from creditgrade.features.store import no_progress_bar, partial_path, sweep_partials

ID_COLUMNS = ("uscc", "name", "region_code", "industry_section", "legal_form", "register_status")
FEATURE_IDS: tuple[str, ...] = tuple(i.id for i in catalog.ALL)
META_VERSION = b"creditgrade.catalog_version"
META_AS_OF = b"creditgrade.as_of"
Progress = Callable[[str, int, int], None]
DUCKDB_MEMORY = os.environ.get("CREDITGRADE_DUCKDB_MEMORY", "3GB")


@dataclass(frozen=True)
class FeatureBuild:
    """A feature file written: where, the enterprises per as-of date, the catalog version, the engine."""

    out: str
    rows: dict[str, int]
    catalog_version: str
    backend: str

    def to_dict(self) -> dict:
        return asdict(self)


class FeatureError(CreditgradeError):
    """Input the pipeline cannot work from (a missing table, a bad date)."""

    code = "features"


def connect(backend: str = "duckdb", spark=None, memory_limit: str = DUCKDB_MEMORY) -> ibis.BaseBackend:
    """An Ibis backend: 'duckdb' (in-process, threads pinned to the cores, memory capped: it spills to disk
    beyond the cap) or 'pyspark' (a SparkSession; local mode when none is given)."""
    if backend == "duckdb":
        con = ibis.duckdb.connect(
            threads=os.cpu_count() or 1,
            memory_limit=memory_limit,
            temp_directory=tempfile.gettempdir() + "/creditgrade-duckdb",
        )
        no_progress_bar(con.raw_sql)
        con.raw_sql("SET preserve_insertion_order = false")
        return con
    if backend == "pyspark":
        if spark is None:
            from pyspark.sql import SparkSession

            spark = SparkSession.builder.master(f"local[{os.cpu_count() or 1}]").getOrCreate()
        return ibis.pyspark.connect(spark)
    raise ValueError(f"backend must be 'duckdb' or 'pyspark'; got {backend!r}")


def gathered_steps(spark) -> list[str]:
    """The queries this Spark session ran whose physical plan moves every row into one partition (an exchange
    to `SinglePartition`, e.g. a window with no PARTITION BY): one line each, the query and the operator. At
    scale such a step runs on one executor whatever the cluster, so none may remain (tested)."""
    found = []
    runs = spark._jsparkSession.sharedState().statusStore().executionsList()
    it = runs.iterator()
    while it.hasNext():
        run = it.next()
        plan = run.physicalPlanDescription()
        if "SinglePartition" in plan:
            where = next(line.strip() for line in plan.splitlines() if "SinglePartition" in line)
            found.append(f"query {run.executionId()} ({run.description()[:80]}): {where}")
    return found


def load_raw(con: ibis.BaseBackend, data: Path, only: Collection[str] | None = None) -> dict[str, ibis.Table]:
    """Every contract table of an ingested city folder (or the `only` ones), read in place."""
    data = Path(data)
    raw = {}
    for t in TABLES if only is None else [t for t in TABLES if t.name in only]:
        path = data / f"{t.name}.parquet"
        if not path.exists():
            raise FeatureError(
                f"raw table '{t.name}' ({t.zh}) not found: expected {path}",
                f"未找到原始数据表 {t.zh}（{t.name}）：应为 {path}",
                code="not_found",
            )
        raw[t.name] = con.read_parquet(str(path), table_name=f"raw_{t.name}")
    return raw


def _attach_all(wide: ibis.Table, extras: list[ibis.Table]) -> ibis.Table:
    """Left-join every (uscc, ...) table onto `wide` as one flat join chain, keeping the columns once.

    Each right key is renamed first so no `_right` columns appear; a flat chain keeps the SQL shallow
    enough for every backend's compiler.
    """
    if not extras:
        return wide
    keyed = [e.rename({f"_key{n}": "uscc"}) for n, e in enumerate(extras)]
    joined = wide
    for n, e in enumerate(keyed):
        joined = joined.left_join(e, wide.uscc == e[f"_key{n}"])
    keep = list(wide.columns) + [c for e in extras for c in e.columns if c != "uscc"]
    return joined.select(*keep)


def _add_columns(wide: ibis.Table, defs: list, asof: AsOf) -> ibis.Table:
    """Add column indicators in as few projections as their dependencies allow."""
    pending = list(defs)
    while pending:
        ready, waiting = {}, []
        for d in pending:
            try:
                ready[d.id] = d.fn(wide, asof, catalog.BY_ID.get(d.id))
            except AttributeError:  # needs a column computed in this pass
                waiting.append(d)
        if not ready:
            raise FeatureError(
                f"indicators {[d.id for d in waiting]} depend on columns that are never computed",
                f"指标 {[d.id for d in waiting]} 依赖从未计算的字段",
            )
        wide = wide.mutate(**ready)
        pending = waiting
    return wide


def _narrowed(view: ibis.Table, group: dict, asof: AsOf, narrow: bool) -> ibis.Table:
    """The view's rows that some aggregate of `group` can count, where every one of them says which
    (`Definition.rows`); otherwise all of them."""
    if not narrow or any(d.rows is None for d in group.values()):
        return view
    return view.filter(ibis.or_(*(d.rows(view, asof, catalog.BY_ID.get(k)) for k, d in group.items())))


def indicator_table(
    raw: dict[str, ibis.Table],
    day: dt.date,
    only: Iterable[str] | None = None,
    ids: tuple[str, ...] = ID_COLUMNS,
    helpers: bool = False,
    narrow: bool = True,
) -> ibis.Table:
    """All catalog indicators as of `day`: one row per enterprise on the register then, in catalog order.

    `only` restricts the computation to some indicators, and `ids` the identification columns, for
    benchmarks; indicators in `only` must not depend on indicators left out, nor on helpers (`_` names)
    unless `helpers` is set. `narrow=False` groups every row of each view, ignoring the aggregates' `rows` (to
    check that narrowing changes nothing).
    """
    asof = AsOf(day, engine=_engine(raw))
    src = sources(raw, asof)
    wanted = FEATURE_IDS if only is None else tuple(i for i in FEATURE_IDS if i in set(only))
    with_helpers = only is None or helpers
    defs = {k: d for k, d in definitions().items() if k in wanted or (with_helpers and k.startswith("_"))}
    by_source: dict[str, dict] = {}
    for d in defs.values():
        if d.kind == "aggregate":
            by_source.setdefault(d.source, {})[d.id] = d
    aggregates = []
    for name, group in by_source.items():
        view = _narrowed(src[name], group, asof, narrow)
        aggregates.append(
            view.group_by("uscc").aggregate(**{k: d.fn(view, asof, catalog.BY_ID.get(k)) for k, d in group.items()})
        )
    wide = _fill(_attach_all(src["graded"], aggregates))
    wide = _add_columns(wide, [d for d in defs.values() if d.kind == "column"], asof)
    wide = _attach_all(
        wide, [d.fn(src, wide, asof, catalog.BY_ID.get(d.id)) for d in defs.values() if d.kind == "table"]
    )
    wide = _fill(wide)
    return wide.select(
        *ids,
        as_of=ibis.literal(day),
        catalog_version=ibis.literal(catalog.version()),
        **{i: wide[i].cast("float64") for i in wanted},
    )


def feature_table(raw: dict[str, ibis.Table], day: dt.date) -> ibis.Table:
    """What the feature file holds for one date: every indicator (`indicator_table`) and, per enterprise, the
    override rules it meets then with their source records (`creditgrade.features.overrides`)."""
    return with_overrides(indicator_table(raw, day), raw, AsOf(day, engine=_engine(raw)))


def _engine(raw: dict[str, ibis.Table]) -> str:
    """The name of the backend the raw tables are on ('duckdb', 'pyspark'); 'duckdb' for in-memory tables."""
    try:
        return next(iter(raw.values()))._find_backend().name
    except (StopIteration, AttributeError, ibis.common.exceptions.IbisError):
        return "duckdb"


def _fill(wide: ibis.Table) -> ibis.Table:
    """Give 'no records' its catalog value (0 for counts and flags); missing-by-definition stays missing."""
    fills = {
        i.id: wide[i.id].cast("float64").fill_null(i.no_records)
        for i in catalog.ALL
        if i.no_records is not None and i.id in wide.columns
    }
    return wide.mutate(**fills) if fills else wide


def parse_dates(values: Iterable[str]) -> list[dt.date]:
    days = []
    for v in values:
        try:
            days.append(dt.date.fromisoformat(v))
        except ValueError:
            raise FeatureError(
                f"as-of date must be YYYY-MM-DD; got {v!r}", f"评价基准日须为 YYYY-MM-DD 格式，当前为 {v!r}"
            ) from None
    if not days:
        raise FeatureError("give at least one as-of date", "须至少给出一个评价基准日")
    return sorted(set(days))


def build_features(
    data: Path,
    as_of: list[dt.date],
    out: Path,
    *,
    backend: str = "duckdb",
    progress: Progress | None = None,
    corrections: Sequence[Correction] = (),
) -> FeatureBuild:
    """Compute the indicator table for each as-of date and write one Parquet file (a panel when several).

    Rows are ordered by as-of date and USCC, so a rerun writes the same rows. The file is written
    under a temporary name and renamed when complete. `corrections` (upheld objections, completed
    repairs) change the records from their dates on: a date before a correction sees the record as it was.
    """
    progress = progress or (lambda step, done, total: None)
    con = connect(backend)
    records = load_raw(con, data)

    def feature_table_at(day: dt.date) -> ibis.Table:
        return feature_table(corrected(records, [c for c in corrections if c.day <= day]), day)

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    sweep_partials(out)
    tmp = partial_path(out)
    metadata = {META_VERSION.decode(): catalog.version(), META_AS_OF.decode(): ",".join(map(str, as_of))}
    parts = [partial_path(out, f".{day}") for day in as_of]
    try:
        if backend == "duckdb" and len(as_of) == 1:
            progress(f"as of {as_of[0]}", 0, 2)
            con.to_parquet(feature_table_at(as_of[0]).order_by("uscc"), tmp, compression="zstd", kv_metadata=metadata)
        elif backend == "duckdb":
            # One date at a time keeps memory to one city's worth; the parts are then streamed into one file.
            for n, (day, part) in enumerate(zip(as_of, parts)):
                progress(f"as of {day}", n, len(as_of) + 1)
                con.to_parquet(feature_table_at(day).order_by("uscc"), part, compression="zstd")
            progress("writing", len(as_of), len(as_of) + 1)
            files = ", ".join(f"'{p}'" for p in parts)
            con.raw_sql("SET preserve_insertion_order = true")
            meta = ", ".join(f"'{k}': '{v}'" for k, v in metadata.items())
            con.raw_sql(
                f"COPY (SELECT * FROM read_parquet([{files}])) TO '{tmp}' "
                f"(FORMAT parquet, COMPRESSION zstd, KV_METADATA {{{meta}}})"
            )
        else:
            tables = [feature_table_at(day) for day in as_of]
            panel = ibis.union(*tables).order_by(["as_of", "uscc"]) if len(tables) > 1 else tables[0].order_by("uscc")
            result = panel.to_pyarrow()
            pq.write_table(result.replace_schema_metadata(metadata), tmp, compression="zstd")
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        for part in parts:
            part.unlink(missing_ok=True)
    counts = pq.read_table(out, columns=["as_of"]).column("as_of").value_counts().to_pylist()
    rows = {str(c["values"]): c["counts"] for c in counts}
    if not rows:
        raise FeatureError(
            f"no enterprise is on the register at {', '.join(map(str, as_of))}",
            f"{', '.join(map(str, as_of))} 时登记在册的企业为零",
        )
    progress("done", len(as_of) + 1, len(as_of) + 1)
    return FeatureBuild(
        out=str(out), rows=dict(sorted(rows.items())), catalog_version=catalog.version(), backend=backend
    )


def read_features(
    path: Path,
    expect_version: str | None = None,
    *,
    as_of: Iterable[dt.date] | None = None,
    columns: Iterable[str] | None = None,
) -> pa.Table:
    """Read a feature table (optionally only some dates and columns), refusing another catalog version."""
    path = Path(path)
    if not path.exists():
        raise FeatureError(
            f"feature table {path} does not exist: build it with `creditgrade features`",
            f"指标表 {path} 不存在：请先运行 `creditgrade features`",
            code="not_found",
        )
    version = (pq.read_schema(path).metadata or {}).get(META_VERSION, b"").decode()
    expected = expect_version or catalog.version()
    if version != expected:
        raise FeatureError(
            f"{path} was built with catalog version {version or 'unknown'}; this code has "
            f"{expected}: rebuild it with `creditgrade features`",
            f"{path} 由指标目录版本 {version or '未知'} 生成，当前代码为 {expected}："
            "请用 `creditgrade features` 重新生成",
            code="catalog_version",
        )
    filters = [("as_of", "in", list(as_of))] if as_of is not None else None
    return pq.read_table(path, columns=list(columns) if columns is not None else None, filters=filters)
