"""`creditgrade grade`: the monthly regrading of the whole city with the champion model.

Reads the month's rows of the feature table (indicators and the override rules each enterprise meets,
both found point in time by the feature pipeline), scores and explains them
(`creditgrade.models.scoring`: grades in every scheme, five dimension sub-scores, top-5 reasons by exact
TreeSHAP), applies the overrides and writes the graded table to Parquet and to the DuckDB database the
service reads. The output folder is built beside the target and renamed into place only when complete,
so a killed run leaves the previous result as it was, and a rerun writes the same table. The database
also holds each enterprise's indicator values (table `indicators`), so that the service can answer
what-ifs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb
import numba
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute  # noqa: F401  (pa.compute)
import pyarrow.parquet as pq

from creditgrade.features import catalog
from creditgrade.features import contract as C
from creditgrade.features.errors import CreditgradeError, NotFound
from creditgrade.features.overrides import OVERRIDE_COLUMNS
from creditgrade.features.pipeline import META_AS_OF, connect, read_features
from creditgrade.features.store import atomic_folder, no_progress_bar
from creditgrade.models import grades as G
from creditgrade.models.explain import REASON_DICTIONARY, plain
from creditgrade.models.scoring import SCHEME_ORDER, Reuse, ScoringModel
from creditgrade.serving import comparisons
from creditgrade.serving.names import NAMES, identity, write_names

Progress = Callable[[str, int, int], None]
GRADED = "graded.parquet"
DATABASE = "creditgrade.duckdb"
LOOKUP = "lookup.arrow"  # the graded rows and their indicator values, as the service reads them (`write_lookup`)
LOOKUP_BATCH = 1 << 16
ROW_GROUP = 1 << 20  # rows per row group of the graded table
LOOKUP_INDICATORS = b"creditgrade.indicators"  # and the indicator columns, after the graded ones
SUMMARY = "summary.json"
OPERATING = "active"  # register_status of an enterprise still operating (存续); every other status is closed
ID_COLUMNS = ["uscc", "name", "region_code", "industry_section", "legal_form", "register_status"]


class GradingError(CreditgradeError):
    """Input the grading job cannot use; the message names the problem."""

    code = "grading"


@dataclass(frozen=True)
class GradingSummary:
    """A month graded: when, with which model, how many enterprises, and who is in the published shares.

    Every enterprise on the register at the date has a row in the graded table (a lookup of a revoked one
    answers "E, revoked"), but the grade shares (`grades`, per scheme) count **operating** enterprises only:
    enterprises no longer operating (revoked, struck off, ordered to stop business or closed) hold the worst
    grade by the closed-state rule whatever their record, so they are counted apart (`not_operating`, by
    status) instead of swelling E. `overrides` counts the operating enterprises an override rule moved;
    given last month's table, `migration` compares the two."""

    as_of: str
    model_version: str
    catalog_version: str
    enterprises: int
    operating: int
    not_operating: dict[str, int]
    overrides: int
    grades: dict[str, dict[str, int]]
    migration: dict | None = None
    explanations_reused: int = 0  # enterprises the model saw unchanged since `previous`: last month's kept

    def to_dict(self) -> dict:
        out = asdict(self)
        if self.migration is None:
            del out["migration"]
        return out


def feature_dates(path: Path) -> list[dt.date]:
    dates = pq.read_table(path, columns=["as_of"]).column("as_of").unique().to_pylist()
    return sorted(dates)


def graded_table(
    frame: pd.DataFrame,
    x: np.ndarray,
    scoring: ScoringModel,
    day: dt.date,
    progress: Progress | None = None,
    plots: Path | None = None,
    previous: pa.Table | None = None,
) -> pa.Table:
    """The graded table for enterprises (`frame`: the id and override columns) and their indicator values
    (`x`, columns in the model's order); with `plots`, the city's SHAP summary (beeswarm, a fixed sample of
    10,000) and dimension importance as PNG there. With `previous` (last month's graded table), enterprises
    the same model sees unchanged keep last month's explanation (`ScoringModel.score`): the same table."""
    model = scoring.model
    view = scoring.explainer().model_view(x)
    reuse = _reuse(frame.uscc, view, previous, scoring) if previous is not None else None
    r = scoring.score(x, progress, reuse=reuse, few_rows=0)  # every row as in a whole city
    points = r.points.round(2)
    if plots is not None:
        sample = plot_sample(len(x))
        explained = (r.phi[sample], r.expected) if r.phi is not None else None
        city_plots(plots, scoring, x[sample], points.abs().mean().to_dict(), explained)
    final = scoring.overridden(r.grades, frame["override_effect"])
    n = len(frame)
    columns: dict[str, pa.Array | pa.ChunkedArray | np.ndarray] = {
        "uscc": frame.uscc,
        "name": frame["name"],
        "region_code": frame.region_code,
        "district_zh": _names(frame.region_code, C.DISTRICTS, "zh"),
        "district_en": _names(frame.region_code, C.DISTRICTS, "en"),
        "industry_section": frame.industry_section,
        "industry_zh": _names(frame.industry_section, C.INDUSTRY_SECTIONS, "zh"),
        "industry_en": _names(frame.industry_section, C.INDUSTRY_SECTIONS, "en"),
        "register_status": frame.register_status,
        "probability": r.probability,
        "score": r.score,
    }
    for name in SCHEME_ORDER:
        columns[f"grade_{name}"] = _grade_column(final[name], scoring.schemes[name])
    for name in SCHEME_ORDER:  # the grade before any override rule moved it, kept in plain sight
        columns[f"grade_{name}_by_score"] = _grade_column(r.grades[name], scoring.schemes[name])
    for c in OVERRIDE_COLUMNS:
        columns[c] = frame[c]
    for d in points.columns:
        columns[f"points_{d.lower()}"] = points[d].to_numpy()
    columns["base_points"] = np.full(n, round(r.base_points, 2))
    columns["reasons"] = plain(r.reasons)
    columns[MODEL_VIEW] = pa.FixedSizeBinaryArray.from_buffers(pa.binary(16), n, [None, pa.py_buffer(view.tobytes())])
    columns["model_version"] = pa.repeat(scoring.label, n)
    columns["catalog_version"] = pa.repeat(model.catalog_version_, n)
    columns["as_of"] = pa.repeat(pa.scalar(day, pa.date32()), n)
    del r
    table = pa.table({k: _arrow(v) for k, v in columns.items()})
    return table.replace_schema_metadata({REUSED_META: str(0 if reuse is None else int(reuse.same.sum())).encode()})


def plot_sample(n: int) -> np.ndarray:
    """The rows (of a city of n, in USCC order) the SHAP summary plot shows: a fixed sample of 10,000."""
    return np.sort(np.random.default_rng(0).choice(n, min(n, 10_000), replace=False))


def city_plots(
    plots: Path, scoring: ScoringModel, x: np.ndarray, importance: dict, explained: tuple | None = None
) -> None:
    """The city's SHAP summary (beeswarm of the sampled rows `x`; `explained`: their contributions and the
    expected value when at hand, else explained here, the way a whole city is) and the dimension importance
    (mean absolute points per dimension) as PNG under `plots`."""
    from creditgrade.models.plots import beeswarm_plot, dimension_importance_plot  # matplotlib: 0.5 s to import

    plots.mkdir(parents=True, exist_ok=True)
    phi, expected = explained if explained is not None else scoring.explainer().contributions(x, few_rows=0)
    beeswarm_plot(phi, x, expected, scoring.model.features, plots / "shap_beeswarm.png")
    dimension_importance_plot(importance, plots / "dimension_importance.png")


REUSED_META = b"creditgrade.explanations_reused"
MODEL_VIEW = "model_view"  # the row as the model sees it (`models.explain.model_view`): 16 bytes
REUSED = ["uscc", "model_version", MODEL_VIEW, "probability", "reasons"]  # and the points_* columns
# the month's explanations as next month's run reuses them: the REUSED and points_* columns, their strings as
# codes (uncompressed Arrow IPC, mapped: no decoding, no 11 M texts read as strings)
EXPLAINED = "explained.arrow"
EXPLAINED_CODES = {"model_version": (), "reasons": ("indicator", "zh", "en")}


def _reuse(usccs: pd.Series, view: np.ndarray, previous: pa.Table, scoring: ScoringModel) -> Reuse | None:
    """Last month's answers for the enterprises whose row the same model sees unchanged."""
    if MODEL_VIEW not in previous.column_names:
        return None  # graded by an earlier release
    at = _rows_in(pa.array(usccs), previous["uscc"].combine_chunks())
    found = at >= 0
    before = previous[MODEL_VIEW].combine_chunks()
    views = np.frombuffer(before.buffers()[1], dtype=np.uint64, count=2 * len(before), offset=16 * before.offset)
    views = views.reshape(-1, 2)[np.where(found, at, 0)]
    current = _equal(previous["model_version"], scoring.label)
    same = found & current[np.where(found, at, 0)] & (views == view).all(axis=1)
    rows = at[same]
    point_columns = [c for c in previous.column_names if c.startswith("points_")]
    return Reuse(
        same=same,
        source=at,
        probability=previous["probability"].to_numpy()[rows],
        points=pd.DataFrame({c.removeprefix("points_").upper(): previous[c].to_numpy()[rows] for c in point_columns}),
        reasons=previous["reasons"].combine_chunks(),
    )


def _equal(column: pa.ChunkedArray, value: str) -> np.ndarray:
    """Which rows of a string column hold `value`: by its dictionary where it is encoded (as read)."""
    column = column.combine_chunks()
    if pa.types.is_dictionary(column.type):
        hit = np.array([v == value for v in column.dictionary.to_pylist()] + [False])  # the last: no value
        return hit[column.indices.fill_null(len(column.dictionary)).to_numpy()]
    return pa.compute.equal(column, value).fill_null(False).to_numpy(zero_copy_only=False)


def _rows_in(keys: pa.Array | pa.ChunkedArray, among: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Each key's row in `among` (-1 where absent): a merge of the two when both are sorted and unique, as
    graded tables are (by USCC); a hash lookup otherwise."""
    keys, among = (
        (a.combine_chunks() if isinstance(a, pa.ChunkedArray) else a).cast(pa.string()) for a in (keys, among)
    )
    if keys.null_count == 0 and among.null_count == 0:
        buffers = [
            (
                np.frombuffer(a.buffers()[1], np.int32, len(a) + 1, 4 * a.offset),
                np.frombuffer(a.buffers()[2] or b"", np.uint8),
            )
            for a in (keys, among)
        ]
        at = np.empty(len(keys), dtype=np.int64)
        if _merged(*buffers[0], *buffers[1], at):
            return at
    return pa.compute.index_in(keys, value_set=among).fill_null(-1).to_numpy().astype(np.int64)


@numba.njit(cache=True)
def _before(a_off, a, i, b_off, b, j) -> int:  # pragma: no cover - compiled
    """-1, 0 or 1 as string i of a sorts before, with or after string j of b (bytewise: UTF-8 sorts as text)."""
    s, t, u, v = a_off[i], a_off[i + 1], b_off[j], b_off[j + 1]
    for k in range(min(t - s, v - u)):
        if a[s + k] != b[u + k]:
            return -1 if a[s + k] < b[u + k] else 1
    return -1 if t - s < v - u else (1 if t - s > v - u else 0)


@numba.njit(cache=True)
def _merged(a_off, a, b_off, b, at) -> bool:  # pragma: no cover - compiled
    """at[i] = row of a's string i in b, -1 where absent, by one merge; False where either is not strictly
    ascending (at is then not filled)."""
    n, m = a_off.shape[0] - 1, b_off.shape[0] - 1
    for i in range(1, n):
        if _before(a_off, a, i - 1, a_off, a, i) >= 0:
            return False
    for j in range(1, m):
        if _before(b_off, b, j - 1, b_off, b, j) >= 0:
            return False
    j = 0
    for i in range(n):
        while j < m and _before(b_off, b, j, a_off, a, i) < 0:
            j += 1
        at[i] = j if j < m and _before(a_off, a, i, b_off, b, j) == 0 else -1
    return True


def _arrow(values: pa.Array | pa.ChunkedArray | pd.Series | np.ndarray) -> pa.Array | pa.ChunkedArray:
    """A graded column as Arrow, without a Python object per row: NaN is null, text is `string` (a frame's text
    columns are held as Arrow's large strings)."""
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return values
    array = pa.array(values, from_pandas=True)
    return array.cast(pa.string()) if pa.types.is_large_string(array.type) else array


def _grade_column(grades: np.ndarray, scheme: G.GradeScheme) -> pa.Array:
    """A column of grades as Arrow text, by the scheme's few grade names (not a string per row converted)."""
    codes = np.full(len(grades), -1, dtype=np.int32)
    for i, grade in enumerate(scheme.grades):
        codes[grades == grade] = i
    if (codes < 0).any():
        raise GradingError(f"not a grade of scheme {scheme.name}: {grades[codes < 0][0]}", f"不是 {scheme.name} 的等级")
    return pa.DictionaryArray.from_arrays(pa.array(codes), pa.array(scheme.grades, pa.string())).cast(pa.string())


def _names(codes: pd.Series, names: dict, lang: str) -> pa.Array:
    """The zh or en name of every code, dictionary-encoded (no string per row); unknown codes are null."""
    categories = pd.Categorical(codes)
    labels = pa.array(
        [getattr(names[c], lang) if c in names else None for c in categories.categories], type=pa.string()
    )
    return pa.DictionaryArray.from_arrays(
        pa.array(categories.codes, type=pa.int32(), mask=categories.codes < 0), labels
    ).cast(pa.string())


def grade_city(
    features: Path,
    out: Path,
    scoring: ScoringModel,
    *,
    as_of: dt.date | None = None,
    previous: Path | None = None,
    overwrite: bool = False,
    progress: Progress | None = None,
) -> GradingSummary:
    """Grade every enterprise of `features` at `as_of` (default: its latest date); write `out` whole."""
    features = Path(features)
    day = graded_day(features, as_of)
    check_catalog(scoring)
    previous_table = previous_graded(previous) if previous is not None else None
    explained = read_explained(previous) if previous is not None else None
    rows = read_features(features, as_of=[day], columns=feature_columns(scoring))
    with atomic_folder(out, overwrite=overwrite) as tmp:
        graded, indicators = grade_rows(rows, scoring, day, progress, previous=explained, where=str(features))
        del rows
        summary = write_graded_folder(tmp, [(graded, indicators)], scoring, day, previous_table)
    return summary


def graded_day(features: Path, as_of: dt.date | None) -> dt.date:
    """The as-of date to grade: `as_of`, which the feature file must hold, or its latest date."""
    dates = feature_dates(features) if Path(features).exists() else []
    day = as_of or (dates[-1] if dates else None)
    if day is None or day not in dates:
        held = ", ".join(map(str, dates)) or "none"
        raise GradingError(
            f"{features} holds no rows as of {day}; its dates: {held}",
            f"{features} 中没有基准日 {day} 的数据；现有基准日：{held}",
        )
    return day


def check_catalog(scoring: ScoringModel) -> None:
    if scoring.model.catalog_version_ != catalog.version():
        raise GradingError(
            f"model {scoring.label} was built for catalog {scoring.model.catalog_version_}; this code "
            f"has {catalog.version()}: retrain it",
            f"模型 {scoring.label} 基于指标目录 {scoring.model.catalog_version_} 训练，当前代码为 "
            f"{catalog.version()}：请重新训练",
            code="catalog_version",
        )


def feature_columns(scoring: ScoringModel) -> list[str]:
    """The feature table's columns grading reads: who, the override rules met, the model's indicators."""
    return ID_COLUMNS + list(OVERRIDE_COLUMNS) + list(scoring.model.features)


def grade_rows(
    rows: pa.Table,
    scoring: ScoringModel,
    day: dt.date,
    progress: Progress | None = None,
    previous: pa.Table | None = None,
    where: str = "the feature table",
) -> tuple[pa.Table, pa.Table]:
    """Graded rows (`graded_table`) and the indicator values behind them, both in USCC order, for feature rows
    of one date (`feature_columns`): the whole city, or one partition of it (`serving.spark`). Each row is
    graded from its own values only, so a city graded in partitions is the city graded whole."""
    frame = rows.to_pandas().sort_values("uscc", kind="stable").reset_index(drop=True)
    dupes = frame.uscc[frame.uscc.duplicated()]
    if len(dupes):
        raise GradingError(
            f"{where} has {len(dupes)} duplicate USCC(s) as of {day}, e.g. {dupes.iloc[0]}",
            f"{where} 在基准日 {day} 有 {len(dupes)} 个重复的统一社会信用代码，如 {dupes.iloc[0]}",
        )
    indicators = pa.Table.from_pandas(frame[["uscc", *scoring.model.features]], preserve_index=False)
    x = frame[list(scoring.model.features)].to_numpy(dtype=np.float64)
    frame = frame[ID_COLUMNS + list(OVERRIDE_COLUMNS)]  # the indicator values live on in x and in `indicators`
    return graded_table(frame, x, scoring, day, progress, previous=previous), indicators


def write_graded_folder(
    tmp: Path,
    parts: Iterable[tuple[pa.Table, pa.Table]],
    scoring: ScoringModel,
    day: dt.date,
    previous: Path | None = None,
) -> GradingSummary:
    """Everything a graded folder holds, from its graded rows and indicator values (`grade_rows`), given as
    parts in USCC order — one part for a city graded whole, one per partition on Spark: the graded table
    (Parquet), the lookup file the service maps (`write_lookup`) and its name index (`serving.names`), the
    DuckDB database, the SHAP and dimension plots, the summary. Each file is written in fixed groups of rows
    from the rows alone, so the parts' sizes never show: a city graded in partitions gives the same bytes as
    the city graded whole (tested)."""
    metadata = {META_AS_OF: str(day).encode(), b"creditgrade.model_version": scoring.label.encode()}
    reused = 0
    with (
        RowGroups(tmp / GRADED, "parquet", ROW_GROUP) as table_out,
        RowGroups(tmp / LOOKUP, "arrow", LOOKUP_BATCH) as out,
        explained_file(tmp / EXPLAINED) as explained,
    ):
        for graded, indicators in parts:
            reused += int((graded.schema.metadata or {}).get(REUSED_META, b"0"))
            graded = graded.replace_schema_metadata(metadata)
            table_out.add(graded)
            out.add(lookup_rows(graded, indicators))
            explained.add(graded)
    if table_out.rows == 0:
        raise GradingError("no enterprise to grade", "没有可分级的企业")
    pa.default_memory_pool().release_unused()
    lookup = pa.ipc.open_file(pa.memory_map(str(tmp / LOOKUP))).read_all()  # mapped, not read into memory
    write_names(lookup.column("name"), tmp / NAMES, identity(lookup))  # the console's name search, mapped
    with duckdb.connect(str(tmp / DATABASE), config={"memory_limit": "2GB", "threads": 2}) as con:
        no_progress_bar(con.execute)
        con.execute(f"CREATE TABLE graded AS SELECT * FROM read_parquet('{tmp / GRADED}') ORDER BY uscc")
        con.execute("CREATE UNIQUE INDEX graded_uscc ON graded (uscc)")
        con.register("indicator_rows", lookup.select(["uscc", *scoring.model.features]))
        con.execute("CREATE TABLE indicators AS SELECT * FROM indicator_rows ORDER BY uscc")  # for what-ifs
        con.execute("CREATE UNIQUE INDEX indicators_uscc ON indicators (uscc)")
    sample = plot_sample(lookup.num_rows)
    x = take_rows(lookup.select(list(scoring.model.features)), sample)
    x = np.column_stack([c.to_numpy() for c in x.columns]).astype(np.float64)
    dims = [c for c in pq.read_schema(tmp / GRADED).names if c.startswith("points_")]
    points = pq.read_table(tmp / GRADED, columns=dims).to_pandas()
    points.columns = [c.removeprefix("points_").upper() for c in dims]
    city_plots(tmp / "plots", scoring, x, points.abs().mean().to_dict())
    summary = _summary(tmp / GRADED, scoring, day, previous, reused)
    (tmp / SUMMARY).write_text(json.dumps(summary.to_dict(), ensure_ascii=False, indent=2, default=int))
    return summary


def _summary(graded: Path, scoring: ScoringModel, day: dt.date, previous: Path | None, reused: int):
    grades = [f"grade_{name}" for name in SCHEME_ORDER]
    table = pq.read_table(graded, columns=["uscc", "register_status", "override_rule", "score", *grades])
    status = table["register_status"].to_numpy(zero_copy_only=False)
    operating = status == OPERATING
    overridden = table["override_rule"].is_valid().to_numpy(zero_copy_only=False)
    return GradingSummary(
        as_of=str(day),
        model_version=scoring.label,
        catalog_version=catalog.version(),
        enterprises=table.num_rows,
        operating=int(operating.sum()),
        not_operating={str(k): int(v) for k, v in pd.Series(status[~operating]).value_counts().sort_index().items()},
        overrides=int((overridden & operating).sum()),
        grades={
            name: _counts(table[f"grade_{name}"].filter(pa.array(operating)), scoring.schemes[name])
            for name in SCHEME_ORDER
        },
        migration=_migration(previous, graded) if previous is not None else None,
        explanations_reused=reused,
    )


class RowGroups:
    """A Parquet or Arrow IPC file written from tables given in order, in groups of exactly `size` rows (the
    last one shorter), each column of a group one contiguous chunk: the file's bytes depend on the rows
    alone, not on how they were split when they arrived. `encode` (optional) turns each group into what is
    written (an IPC file may then grow its dictionaries from group to group: written as deltas)."""

    def __init__(self, path: Path, kind: str, size: int, encode: Callable[[pa.Table], pa.Table] | None = None):
        self.path, self.kind, self.size, self.encode = path, kind, size, encode
        self.pending: list[pa.Table] = []
        self.held = self.rows = 0
        self._sink = self._writer = None

    def __enter__(self) -> RowGroups:
        return self

    def add(self, table: pa.Table) -> None:
        self.pending.append(table)
        self.held += table.num_rows
        self.rows += table.num_rows
        while self.held >= self.size:
            self._flush(self.size)

    def _open(self, schema: pa.Schema) -> None:
        if self.kind == "parquet":
            self._writer = pq.ParquetWriter(self.path, schema, compression="zstd")
        else:
            self._sink = pa.OSFile(str(self.path), "wb")
            options = pa.ipc.IpcWriteOptions(emit_dictionary_deltas=True)
            self._writer = pa.ipc.new_file(self._sink, schema, options=options)

    def _flush(self, n: int) -> None:
        rows = pa.concat_tables(self.pending)
        group = rows.slice(0, n).combine_chunks()
        if self.encode is not None:
            group = self.encode(group)
        if self._writer is None:
            self._open(group.schema)
        if n:
            if self.kind == "parquet":
                self._writer.write_table(group, row_group_size=n)
            else:
                self._writer.write_table(group, max_chunksize=n)
        self.pending, self.held = [rows.slice(n)], rows.num_rows - n

    def __exit__(self, kind, value, tb) -> None:
        try:
            if kind is None and (self.held or (self._writer is None and self.pending)):
                self._flush(self.held)  # the last group; or only the schema, when no row came
        finally:
            if self._writer is not None:
                self._writer.close()
            if self._sink is not None:
                self._sink.close()


class Encoder:
    """Strings as codes into dictionaries that grow as groups of rows arrive (first seen, first numbered), the
    same whatever the groups: for the explanations file, whose 11 M reason texts are a few tens of thousands
    of distinct ones. Top-level string columns and string fields of a list of structs (`fields`) are encoded."""

    def __init__(self, fields: dict[str, tuple[str, ...]], index: pa.DataType | None = None):
        self.fields = fields
        self.index = index or pa.int32()  # the codes' type: a narrower one where few texts are distinct
        self.codes: dict[tuple[str, str], dict[str, int]] = {}

    def _encoded(self, key: tuple[str, str], strings: pa.Array) -> pa.DictionaryArray:
        local = pa.compute.dictionary_encode(strings)  # codes in this group; nulls stay null
        known = self.codes.setdefault(key, {})
        remap = pa.array([known.setdefault(v, len(known)) for v in local.dictionary.to_pylist()], self.index)
        return pa.DictionaryArray.from_arrays(remap.take(local.indices), pa.array(list(known), pa.string()))

    def __call__(self, table: pa.Table) -> pa.Table:
        for name, inner in self.fields.items():
            column = table.column(name).combine_chunks()
            if not inner:
                encoded = self._encoded((name, ""), column)
            else:
                values = column.flatten()
                children = [
                    self._encoded((name, f.name), values.field(f.name)) if f.name in inner else values.field(f.name)
                    for f in values.type
                ]
                struct = pa.StructArray.from_arrays(children, names=[f.name for f in values.type])
                offsets = pa.array(np.asarray(column.offsets) - column.offsets[0].as_py())
                encoded = pa.ListArray.from_arrays(offsets, struct)
            table = table.set_column(table.schema.get_field_index(name), name, encoded)
        return table


FEW_TAKEN = 16  # up to this many rows, `take_rows` slices instead of taking


def take_rows(table: pa.Table | list[pa.RecordBatch], positions: np.ndarray) -> pa.Table:
    """The rows at `positions` of a table of many record batches (a mapped file; or its batches, split once
    by a caller that takes often), in the order given, reading only those rows: a few are slices of their
    batches, more are taken batch by batch (a copy of those rows) — Arrow's `take` on such a table would
    first join its batches into one (a copy of it all)."""
    positions = np.asarray(positions, dtype=np.int64)
    batches = table.to_batches() if isinstance(table, pa.Table) else table
    starts = np.cumsum([0] + [b.num_rows for b in batches])
    chunk = np.searchsorted(starts, positions, "right") - 1
    if 0 < len(positions) <= FEW_TAKEN:  # a row or a few: slices of the batches (a take costs 3× as much)
        rows = [batches[c].slice(int(p - starts[c]), 1) for p, c in zip(positions, chunk)]
        return pa.Table.from_batches(rows)
    order = np.argsort(chunk, kind="stable")
    parts = [batches[c].take(pa.array(positions[order][chunk[order] == c] - starts[c])) for c in np.unique(chunk)]
    if not parts:
        return pa.Table.from_batches([], schema=batches[0].schema if batches else table.schema)
    taken = pa.Table.from_batches(parts)
    return taken.take(pa.array(np.argsort(order, kind="stable"))) if len(parts) > 1 else taken


def write_lookup(graded: pa.Table, indicators: pa.Table, path: Path) -> None:
    """The file the service answers lookups from (`lookup_rows`), as uncompressed Arrow IPC in batches of
    LOOKUP_BATCH rows. Each service worker maps it into memory (`serving.graded.GradedStore`): the rows are
    read in place, shared by the workers through the page cache, so a worker's own memory does not grow with
    the city. About 1.5 KB per enterprise on disk."""
    with RowGroups(path, "arrow", LOOKUP_BATCH) as out:
        out.add(lookup_rows(graded, indicators))


def lookup_rows(graded: pa.Table, indicators: pa.Table) -> pa.Table:
    """Graded rows with their indicator values beside them (the lookup file's rows): every graded column, then
    the indicators, named in the schema's metadata (LOOKUP_INDICATORS)."""
    if not graded.column("uscc").cast(pa.string()).equals(indicators.column("uscc").cast(pa.string())):
        raise GradingError(
            "the graded rows and the indicator rows are not the same enterprises in the same order",
            "分级结果与指标值的企业或顺序不一致",
        )
    values = indicators.drop_columns(["uscc"])
    clash = set(values.column_names) & set(graded.column_names)
    if clash:
        raise GradingError(
            f"indicator names clash with graded columns: {sorted(clash)}", f"指标名与分级列重名：{sorted(clash)}"
        )
    metadata = {**(graded.schema.metadata or {}), LOOKUP_INDICATORS: ",".join(values.column_names).encode()}
    schema = pa.schema([*graded.schema, *values.schema], metadata=metadata)
    return pa.Table.from_arrays([*graded.columns, *values.columns], schema=schema)


def database_checksum(folder: Path) -> str:
    """SHA-256 of what a graded folder's DuckDB file holds: each table's name, its columns and types, and each
    row's text (DuckDB's canonical rendering of every value, MD5 per row) in USCC order. Two runs that graded
    the same month give equal checksums. The file's own bytes differ from run to run (DuckDB's block layout
    and headers are not reproducible), so this stands in for comparing them; the Parquet table, summary and
    plots beside it are byte-identical."""
    digest = hashlib.sha256()
    with duckdb.connect(str(Path(folder) / DATABASE), read_only=True) as con:
        tables = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() ORDER BY table_name").fetchall()]
        for name in tables:
            columns = con.execute(
                "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = ? ORDER BY column_index",
                [name],
            ).fetchall()
            digest.update(json.dumps([name, columns]).encode())
            rows = con.sql(f'SELECT md5(CAST(t AS VARCHAR)) AS h FROM "{name}" t ORDER BY uscc').to_arrow_reader()
            for batch in rows:
                digest.update("".join(batch.column(0).to_pylist()).encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class Explained:
    """One graded enterprise explained again: its grade (and the grade its score alone gives), score, the
    override that moved it if any, reasons and the waterfall PNG."""

    uscc: str
    name: str
    grade: str
    grade_by_score: str
    score: float
    override: dict | None
    reasons: list[dict]
    png: str


def explain_one(folder: Path, uscc: str, scoring: ScoringModel, png: Path, lang: str = "en") -> Explained:
    """One graded enterprise explained again with `scoring`: its reasons and, for a report, a waterfall PNG in
    score points and in `lang` ("en" or "zh"), titled with the grade and any override that moved it."""
    from creditgrade.models.plots import WATERFALL_TEXT, waterfall_plot  # not at import: the service never draws

    if lang not in WATERFALL_TEXT:
        raise GradingError(f"language {lang!r}: use en or zh", f"语言 {lang!r}：请用 en 或 zh", code="language")
    with duckdb.connect(str(Path(folder) / DATABASE), read_only=True) as con:
        row = con.execute("SELECT * FROM indicators WHERE uscc = ?", [uscc]).fetchone()
        names = [d[0] for d in con.description]
        graded = con.execute(
            "SELECT name, grade_shenzhen, grade_shenzhen_by_score, score, override_rule, override_zh, override_en, "
            "override_source FROM graded WHERE uscc = ?",
            [uscc],
        ).fetchone()
    if row is None or graded is None:
        raise _not_graded(uscc, folder)
    values = dict(zip(names, row))
    features = scoring.model.features
    x = np.array([[np.nan if values[f] is None else values[f] for f in features]], dtype=np.float64)
    r = scoring.score(x)
    Path(png).parent.mkdir(parents=True, exist_ok=True)
    override = None
    if graded[4]:
        override = {"rule": graded[4], "zh": graded[5], "en": graded[6], "source": graded[7]}
    labels = [catalog.BY_ID[f].reason(None if np.isnan(v) else float(v), lang) for f, v in zip(features, x[0])]
    waterfall_plot(r.phi[0] * r.per_logodds, r.base_points, labels, png, _title(uscc, graded, scoring, lang), lang)
    return Explained(uscc, graded[0], graded[1], graded[2], graded[3], override, r.reasons.to_pylist()[0], str(png))


def graded_as_of(folder: Path, uscc: str) -> dt.date:
    """The as-of date `uscc` was graded at in a graded folder (NotFound when it is not graded there)."""
    with duckdb.connect(str(Path(folder) / DATABASE), read_only=True) as con:
        found = con.execute("SELECT as_of FROM graded WHERE uscc = ?", [uscc]).fetchone()
    if found is None:
        raise _not_graded(uscc, folder)
    return found[0]


def _not_graded(uscc: str, folder: Path) -> NotFound:
    return NotFound(
        f"no graded enterprise has USCC {uscc} in {folder}",
        f"{folder} 中没有统一社会信用代码为 {uscc} 的已分级企业",
    )


def _title(uscc: str, graded: tuple, scoring: ScoringModel, lang: str) -> str:
    """The waterfall's title: grade, displayed score and model; with an override, the grade by score and the rule."""
    name, grade, by_score, score, rule, zh, en, source = graded
    if lang == "zh":
        title = f"{uscc} {name}：等级 {grade}，得分 {score:.0f}（{scoring.label}）"
        if rule:
            title += f"\n按得分为 {by_score}，因规则调整：{zh}（来源 {source}）"
        return title
    title = f"{uscc}: grade {grade}, score {score:.0f} ({scoring.label})"
    if rule:
        title += f"\nby score {by_score}; moved by a rule: {en} (source {source})"
    return title


def _counts(column: pa.ChunkedArray, scheme: G.GradeScheme) -> dict[str, int]:
    """Enterprises per grade, best grade first."""
    counts = pd.Series(column.to_numpy(zero_copy_only=False)).value_counts()
    return {g: int(counts.get(g, 0)) for g in scheme.grades}


def read_explained(path: Path, between: tuple[str, str] | None = None) -> pa.Table | None:
    """Last month's explanations, for the enterprises the model sees unchanged (None: graded by an earlier
    release, without the model's view of each row); `between`: only the USCCs in that range (a partition's).
    From the folder's explanations file (mapped, its texts already codes) where it has one, else from the
    graded table."""
    path = Path(path)
    if path.is_dir() and between is None and (path / EXPLAINED).exists():
        return pa.ipc.open_file(pa.memory_map(str(path / EXPLAINED))).read_all()  # mapped: read in place
    path = path / GRADED if path.is_dir() else path
    names = pq.read_schema(path).names
    if MODEL_VIEW not in names:
        return None
    filters = [("uscc", ">=", between[0]), ("uscc", "<=", between[1])] if between is not None else None
    return pq.read_table(
        path, columns=explained_columns(names), read_dictionary=[*REASON_DICTIONARY, "model_version"], filters=filters
    )


def explained_file(path: Path) -> RowGroups:
    """A writer of a month's explanations file (`EXPLAINED`): graded tables added in USCC order."""
    encoder = Encoder(EXPLAINED_CODES)
    return RowGroups(path, "arrow", LOOKUP_BATCH, lambda t: encoder(t.select(explained_columns(t.column_names))))


def explained_columns(names: list[str]) -> list[str]:
    """The graded columns a month's reuse of last month's explanations reads (`_reuse`)."""
    return [*REUSED, *(c for c in names if c.startswith("points_"))]


def _migration(previous: Path, graded: Path) -> dict:
    """The headline grade's migration from the graded table `previous` to `graded`, counted by DuckDB."""
    con = connect("duckdb")
    try:
        return comparisons.migration(comparisons.Month.read(con, previous), comparisons.Month.read(con, graded))
    finally:
        con.disconnect()


def previous_graded(path: Path) -> Path:
    """Last month's graded table (`path`: the file or its folder), checked to be one."""
    path = Path(path)
    if path.is_dir():
        path = path / GRADED
    if not path.exists():
        raise NotFound(f"previous graded table {path} does not exist", f"上月分级结果 {path} 不存在")
    schema = pq.read_schema(path)
    missing = {"uscc", "grade_shenzhen", "score"} - set(schema.names)
    if missing:
        raise GradingError(
            f"{path} is not a graded table: it lacks {', '.join(sorted(missing))}",
            f"{path} 不是分级结果表：缺少 {', '.join(sorted(missing))}",
        )
    return path


def riskiest_without_override(folder: Path) -> dict | None:
    """The graded row with the lowest score among enterprises no override rule moved (the demo's example)."""
    with duckdb.connect(str(Path(folder) / DATABASE), read_only=True) as con:
        cursor = con.execute(
            "SELECT uscc, name, score, grade_shenzhen, points_d1, points_d2, points_d3, points_d4, "
            "points_d5, reasons FROM graded WHERE override_rule IS NULL ORDER BY score, uscc LIMIT 1"
        )
        row = cursor.fetchone()
        names = [d[0] for d in cursor.description]
    return dict(zip(names, row)) if row is not None else None


@dataclass(frozen=True)
class RecordWhatIf:
    """An enterprise regraded with records removed or repaired: the grade, score and override rules before and
    after, every indicator the change moved, and the reasons after."""

    uscc: str
    as_of: str
    changes: list[str]
    before: dict
    after: dict
    indicators: list[dict]  # id, zh, en, before, after and both reasons in both languages
    reasons: list[dict]


def whatif_by_record(data: Path, folder: Path, uscc: str, changes: list, scoring: ScoringModel) -> RecordWhatIf:
    """`uscc` as graded in `folder`, regraded from the ingested records in `data` with `changes`
    (`creditgrade.features.whatif.RecordChange`) made: indicators and override rules recomputed by the
    feature pipeline, then scored, graded and explained with `scoring`."""
    from creditgrade.features.pipeline import connect, load_raw
    from creditgrade.features.whatif import what_if

    day = graded_as_of(folder, uscc)
    before, after = what_if(load_raw(connect(), data), day, uscc, changes)
    features = scoring.model.features
    x = np.array([[np.nan if row[f] is None else row[f] for f in features] for row in (before, after)])
    r = scoring.score(x)
    final = scoring.overridden(r.grades, [before["override_effect"], after["override_effect"]])

    def state(i: int, row: dict) -> dict:
        return {
            "score": float(r.score[i]),
            "probability": float(r.probability[i]),
            "grades_by_score": {s: str(r.grades[s][i]) for s in SCHEME_ORDER},
            "grades": {s: str(final[s][i]) for s in SCHEME_ORDER},
            **{c: row[c] for c in OVERRIDE_COLUMNS},
        }

    moved = []
    for f in catalog.RISK_IDS:
        a, b = before.get(f), after.get(f)
        if a != b and not (a is None and b is None):
            ind = catalog.BY_ID[f]
            moved.append(
                {
                    "id": f,
                    "zh": ind.zh,
                    "en": ind.en,
                    "before": a,
                    "after": b,
                    **{f"before_{lang}": ind.reason(a, lang) for lang in ("zh", "en")},
                    **{f"after_{lang}": ind.reason(b, lang) for lang in ("zh", "en")},
                }
            )
    return RecordWhatIf(
        uscc=uscc,
        as_of=str(day),
        changes=[c.describe() for c in changes],
        before=state(0, before),
        after=state(1, after),
        indicators=moved,
        reasons=r.reasons.to_pylist()[1],
    )
