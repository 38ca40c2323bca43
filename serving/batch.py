"""`creditgrade grade`: the monthly regrading of the whole city with the champion model.

Scores every enterprise in a feature table, grades it in every scheme, applies the override rules
with their source records, explains it (five dimension sub-scores and the top-5 reasons, exact
TreeSHAP) and writes the graded table to Parquet and to the DuckDB database the service reads. The
output folder is built beside the target and renamed into place only when complete, so a killed run
leaves the previous result as it was, and a rerun writes the same table. The database also holds
each enterprise's indicator values (table `indicators`), so that the service can answer what-ifs.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Callable

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from features import catalog
from features import contract as C
from features.overrides import RULES, override_hits
from features.pipeline import META_AS_OF, connect, load_raw, read_features
from features.pit import AsOf
from features.store import atomic_folder, no_progress_bar
from models import explain as X
from models import grades as G
from models.evaluation import psi
from models.plots import beeswarm_plot, dimension_importance_plot, waterfall_plot
from models.scaling import probability_to_score
from training.tracking import LoadedModel

Progress = Callable[[str, int, int], None]
GRADED = "graded.parquet"
DATABASE = "creditgrade.duckdb"
SUMMARY = "summary.json"
SCHEME_ORDER = ("shenzhen", "shenzhen_fixed", "pingshan", "national")
ID_COLUMNS = ["uscc", "name", "region_code", "industry_section", "legal_form", "register_status"]


class GradingError(ValueError):
    """Input the grading job cannot use; the message names the problem."""


def feature_dates(path: Path) -> list[dt.date]:
    dates = pq.read_table(path, columns=["as_of"]).column("as_of").unique().to_pylist()
    return sorted(dates)


def overrides_at(data: Path, day: dt.date) -> pd.DataFrame:
    """Per enterprise hit by an override rule: its effects and the rules with their source records."""
    hits = override_hits(load_raw(connect(), data), AsOf(day)).to_pandas()
    if hits.empty:
        return pd.DataFrame(columns=["uscc", "effects", "override_rule", "override_zh", "override_en",
                                     "override_source"]).set_index("uscc")
    hits["effect"] = hits.rule.map(lambda r: RULES[r].effect)
    hits = hits.sort_values(["uscc", "effect", "rule", "source_date", "source_record"],
                            key=lambda c: c.map({"worst": 0, "down2": 1}) if c.name == "effect" else c)
    hits["source"] = (hits.source_table + ":" + hits.source_record.astype(str) + "@"
                      + pd.to_datetime(hits.source_date).dt.strftime("%Y-%m-%d"))
    g = hits.groupby("uscc", sort=True)
    return pd.DataFrame({
        "effects": g.effect.agg(lambda e: tuple(sorted(set(e)))),
        "override_rule": g.rule.agg(lambda r: "; ".join(dict.fromkeys(r))),
        "override_zh": g.rule.agg(lambda r: "；".join(RULES[x].zh for x in dict.fromkeys(r))),
        "override_en": g.rule.agg(lambda r: "; ".join(RULES[x].en for x in dict.fromkeys(r))),
        "override_source": g.source.agg(lambda s: "; ".join(s)),
    })


def score_and_explain(loaded: LoadedModel, x: np.ndarray, progress: Progress | None = None, k: int = 5) -> dict:
    """Probability, score, grade by score in every scheme, dimension points and top-k reasons for rows
    of indicator values (columns in the model's order). The score is rounded to the 0.1 point it is
    published with before it is graded, so a published score and its grade always agree."""
    model = loaded.model
    phi, expected = loaded.explainer().contributions(x, progress=progress)
    p = model.calibrator_.predict(expected + phi.sum(axis=1))
    score = np.round(probability_to_score(p), 1)
    cal = model.calibrator_
    a, b = (cal.a, cal.b) if cal.method == "sigmoid" else (1.0, 0.0)
    per = X.points_per_logodds(a)
    return {"probability": p, "score": score,
            "grades": {name: G.score_to_grade(score, loaded.schemes[name]) for name in SCHEME_ORDER},
            "points": X.dimension_points(phi, model.features, per), "base_points": X.base_score(expected, a, b),
            "reasons": X.top_reasons(phi, x, model.features, per, k=k), "phi": phi, "expected": expected}


def graded_table(frame: pd.DataFrame, x: np.ndarray, loaded: LoadedModel, overrides: pd.DataFrame, day: dt.date,
                 progress: Progress | None = None, plots: Path | None = None) -> pa.Table:
    """The graded table for enterprises (`frame`: the id columns) and their indicator values (`x`, columns
    in the model's order); with `plots`, the city's SHAP summary (beeswarm, a fixed sample of 10,000)
    and dimension importance as PNG there."""
    model = loaded.model
    r = score_and_explain(loaded, x, progress)
    if plots is not None:
        plots.mkdir(parents=True, exist_ok=True)
        sample = np.sort(np.random.default_rng(0).choice(len(x), min(len(x), 10_000), replace=False))
        beeswarm_plot(r["phi"][sample], x[sample], r["expected"], model.features, plots / "shap_beeswarm.png")
        dimension_importance_plot(r["points"].abs().mean().to_dict(), plots / "dimension_importance.png")
    hit = overrides.reindex(frame.uscc)
    effects = [e if isinstance(e, tuple) else () for e in hit["effects"]]
    n = len(frame)
    columns: dict[str, pa.Array | np.ndarray] = {
        "uscc": frame.uscc.to_numpy(), "name": frame["name"].to_numpy(),
        "region_code": frame.region_code.to_numpy(),
        "district_zh": _names(frame.region_code, C.DISTRICTS, "zh"),
        "district_en": _names(frame.region_code, C.DISTRICTS, "en"),
        "industry_section": frame.industry_section.to_numpy(),
        "industry_zh": _names(frame.industry_section, C.INDUSTRY_SECTIONS, "zh"),
        "industry_en": _names(frame.industry_section, C.INDUSTRY_SECTIONS, "en"),
        "register_status": frame.register_status.to_numpy(),
        "probability": r["probability"], "score": r["score"],
    }
    for name in SCHEME_ORDER:
        columns[f"grade_{name}"] = G.apply_overrides(r["grades"][name], effects, loaded.schemes[name])
    for c in ("override_rule", "override_zh", "override_en", "override_source"):
        columns[c] = hit[c].to_numpy()
    for d in r["points"].columns:
        columns[f"points_{d.lower()}"] = np.round(r["points"][d].to_numpy(), 2)
    columns["base_points"] = np.full(n, round(r["base_points"], 2))
    columns["reasons"] = r["reasons"]
    columns["model_version"] = pa.repeat(loaded.label, n)
    columns["catalog_version"] = pa.repeat(model.catalog_version_, n)
    columns["as_of"] = pa.repeat(pa.scalar(day, pa.date32()), n)
    del r
    return pa.table({k: (v if isinstance(v, (pa.Array, pa.ChunkedArray)) else pa.array(v, from_pandas=True))
                     for k, v in columns.items()})


def _names(codes: pd.Series, names: dict, lang: str) -> pa.Array:
    """The zh or en name of every code, dictionary-encoded (no string per row); unknown codes are null."""
    categories = pd.Categorical(codes)
    labels = pa.array([getattr(names[c], lang) if c in names else None for c in categories.categories],
                      type=pa.string())
    return pa.DictionaryArray.from_arrays(pa.array(categories.codes, type=pa.int32(),
                                                   mask=categories.codes < 0), labels).cast(pa.string())


def migration(previous: pa.Table, current: pa.Table, column: str = "grade_shenzhen") -> dict:
    """Grade-migration matrix (counts, rows: last month's grade, columns: this month's; 'new'/'gone' for
    enterprises entering or leaving the register) and the PSI of this month's scores against last month's."""
    prev = previous.select(["uscc", column, "score"]).to_pandas()
    cur = current.select(["uscc", column, "score"]).to_pandas()
    both = prev.merge(cur, on="uscc", how="outer", suffixes=("_before", "_after"), indicator=True)
    before = both[f"{column}_before"].fillna("new")
    after = both[f"{column}_after"].fillna("gone")
    matrix = pd.crosstab(before, after)
    return {"column": column, "matrix": {r: {c: int(v) for c, v in row.items() if v} for r, row in
                                         matrix.iterrows()},
            "moved": int(((before != after) & (before != "new") & (after != "gone")).sum()),
            "entered": int((before == "new").sum()), "left": int((after == "gone").sum()),
            "psi_score": psi(prev.score.to_numpy(), cur.score.to_numpy())}


def grade_city(features: Path, data: Path, out: Path, loaded: LoadedModel, *, as_of: dt.date | None = None,
               previous: Path | None = None, overwrite: bool = False, progress: Progress | None = None) -> dict:
    """Grade every enterprise of `features` at `as_of` (default: its latest date); write `out` whole."""
    features, data = Path(features), Path(data)
    dates = feature_dates(features)
    day = as_of or (dates[-1] if dates else None)
    if day is None or day not in dates:
        raise GradingError(f"{features} holds no rows as of {day}; its dates: {', '.join(map(str, dates)) or 'none'}")
    if loaded.model.catalog_version_ != catalog.version():
        raise GradingError(f"model {loaded.label} was built for catalog {loaded.model.catalog_version_}; this code "
                           f"has {catalog.version()}: retrain it")
    previous_table = _read_previous(previous) if previous is not None else None
    frame = read_features(features, as_of=[day], columns=ID_COLUMNS + list(loaded.model.features)).to_pandas()
    frame = frame.sort_values("uscc", kind="stable").reset_index(drop=True)
    dupes = frame.uscc[frame.uscc.duplicated()]
    if len(dupes):
        raise GradingError(f"{features} has {len(dupes)} duplicate USCC(s) as of {day}, e.g. {dupes.iloc[0]}")
    overrides = overrides_at(data, day)
    indicators = pa.Table.from_pandas(frame[["uscc", *loaded.model.features]], preserve_index=False)
    x = frame[list(loaded.model.features)].to_numpy(dtype=np.float64)
    frame = frame[ID_COLUMNS]  # the indicator values live on in x and in the indicators table
    with atomic_folder(out, overwrite=overwrite) as tmp:
        table = graded_table(frame, x, loaded, overrides, day, progress, plots=tmp / "plots")
        del x
        table = table.replace_schema_metadata({META_AS_OF: str(day).encode(),
                                               b"creditgrade.model_version": loaded.label.encode()})
        summary = {"as_of": str(day), "model_version": loaded.label, "catalog_version": catalog.version(),
                   "enterprises": table.num_rows, "overrides": int(table["override_rule"].is_valid().to_numpy(
                       zero_copy_only=False).sum()),
                   "grades": {name: _counts(table[f"grade_{name}"], loaded.schemes[name]) for name in SCHEME_ORDER}}
        if previous_table is not None:
            summary["migration"] = migration(previous_table, table)
        pq.write_table(table, tmp / GRADED, compression="zstd")
        del table  # DuckDB reads it back from the file
        pa.default_memory_pool().release_unused()
        with duckdb.connect(str(tmp / DATABASE), config={"memory_limit": "2GB", "threads": 2}) as con:
            no_progress_bar(con.execute)
            con.execute(f"CREATE TABLE graded AS SELECT * FROM read_parquet('{tmp / GRADED}') ORDER BY uscc")
            con.execute("CREATE UNIQUE INDEX graded_uscc ON graded (uscc)")
            con.register("indicator_rows", indicators)  # the indicator values behind each grade, for what-ifs
            con.execute("CREATE TABLE indicators AS SELECT * FROM indicator_rows ORDER BY uscc")
            con.execute("CREATE UNIQUE INDEX indicators_uscc ON indicators (uscc)")
        (tmp / SUMMARY).write_text(json.dumps(summary, ensure_ascii=False, indent=2, default=int))
    return summary


def explain_one(folder: Path, uscc: str, loaded: LoadedModel, png: Path) -> dict:
    """One graded enterprise explained again with `loaded`: its reasons and a waterfall PNG for a report."""
    with duckdb.connect(str(Path(folder) / DATABASE), read_only=True) as con:
        row = con.execute("SELECT * FROM indicators WHERE uscc = ?", [uscc]).fetchone()
        names = [d[0] for d in con.description]
        graded = con.execute("SELECT name, grade_shenzhen, score FROM graded WHERE uscc = ?", [uscc]).fetchone()
    if row is None:
        raise GradingError(f"no graded enterprise has USCC {uscc} in {folder}")
    values = dict(zip(names, row))
    x = np.array([[np.nan if values[f] is None else values[f] for f in loaded.model.features]], dtype=np.float64)
    r = score_and_explain(loaded, x)
    Path(png).parent.mkdir(parents=True, exist_ok=True)
    waterfall_plot(r["phi"][0], x[0], r["expected"], loaded.model.features, png,
                   f"{uscc}: grade {graded[1]}, score {graded[2]:.0f} ({loaded.label})")
    return {"uscc": uscc, "name": graded[0], "grade": graded[1], "score": graded[2],
            "reasons": r["reasons"].to_pylist()[0], "png": str(png)}


def _counts(column: pa.ChunkedArray, scheme: G.GradeScheme) -> dict[str, int]:
    """Enterprises per grade, best grade first."""
    counts = pd.Series(column.to_numpy(zero_copy_only=False)).value_counts()
    return {g: int(counts.get(g, 0)) for g in scheme.grades}


def _read_previous(path: Path) -> pa.Table:
    path = Path(path)
    if path.is_dir():
        path = path / GRADED
    if not path.exists():
        raise GradingError(f"previous graded table {path} does not exist")
    schema = pq.read_schema(path)
    missing = {"uscc", "grade_shenzhen", "score"} - set(schema.names)
    if missing:
        raise GradingError(f"{path} is not a graded table: it lacks {', '.join(sorted(missing))}")
    return pq.read_table(path, columns=["uscc", "grade_shenzhen", "score"])
