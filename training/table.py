"""`creditgrade train-table`: the same model, calibration, grades and evaluation on any indicator table.

A regulator (or a researcher) brings a CSV or Parquet table: one row per enterprise (or
enterprise-period), numeric indicator columns, a 0/1 label, optionally an id, a group (e.g. the company of
an enterprise-period row), a weight and a time column. An optional catalog YAML names the indicator
columns and their risk directions:

    columns:
      Attr1: {direction: -1, en: net profit / total assets}
      Attr2: {direction: 1}

Without one, every numeric column other than id/label/group/weight/time is an indicator, unconstrained.

Every figure comes from rows no step has seen. With k folds (stratified; grouped with `--group`, so one
company never sits in both), each training fold is split again: a fifth of it tunes (early stopping,
Platt calibration, the odds scale, the cut-points), the rest fits the trees, and the held-out fold tests.
With `--time`, the periods are parsed as dates (ISO, a `--time-format` such as `%d/%m/%Y`, years, or
quarters like 2024Q1) and ordered: the last period tests, the one before tunes, the earlier ones fit.
The model returned is refit the same way on every row (its last fifth by time, or a random fifth, tunes).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from sklearn.model_selection import GroupShuffleSplit, StratifiedGroupKFold, StratifiedKFold, StratifiedShuffleSplit

from creditgrade.features.errors import CreditgradeError, NotFound
from creditgrade.features.settings import settings
from creditgrade.models import grades as G
from creditgrade.models.cutpoints import TARGET_SHARES, fit_cuts
from creditgrade.models.evaluation import calibration_table, evaluate_grades, weighted_auc
from creditgrade.models.risk import RiskModel, RiskModelConfig
from creditgrade.models.scaling import Scale
from creditgrade.training.dataset import unusable_columns

Progress = Callable[[str, int, int], None]
TUNE_SHARE = 0.2  # of each training fold, for early stopping, calibration, the scale and the cut-points
SCHEME = "national"
ROLES_ZH = {"fitting": "拟合", "tuning": "调参", "test": "测试"}
# Early stopping on the tuning split (watching AUC, the figure reported) decides the number of trees; the rest
# is LightGBM's own defaults, chosen among seven candidates on the Polish 1year and 5year files
# (docs/risk-model.md records them all, and that none reaches an untuned model trained on every row).
TABLE_CONFIG = RiskModelConfig(
    learning_rate=0.1,
    num_leaves=31,
    max_depth=-1,
    min_child_samples=20,
    n_estimators=2000,
    early_stopping_rounds=50,
    stopping_metric="auc",
    colsample_bytree=1.0,
    subsample=1.0,
    reg_lambda=0.0,
)


class TableError(CreditgradeError):
    """A table that cannot be trained on, with the reason."""

    code = "table"


@dataclass(frozen=True)
class TableSpec:
    label: str
    id: str | None = None
    weight: str | None = None
    time: str | None = None
    catalog: Path | None = None
    group: str | None = None
    time_format: str | None = None


@dataclass(frozen=True)
class TableTraining:
    """What `train_table` measured on held-out rows, and the model refit on every row."""

    rows: int
    indicators: int
    positives: int
    validation: str
    fold_auc: list[float]
    auc_mean: float
    auc_std: float
    brier: float
    evaluation: dict
    calibration_table: list[dict]
    periods: dict[str, list[str]] | None
    seconds: float
    model: RiskModel = field(repr=False)

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "model"}


def read_table(path: Path) -> pd.DataFrame:
    path = Path(path)
    if not path.exists():
        raise NotFound(f"{path} does not exist", f"{path} 不存在")
    try:
        if path.suffix.lower() == ".parquet":
            return pd.read_parquet(path)
        if path.suffix.lower() == ".csv":
            return pd.read_csv(path, na_values=["", "?", "NA"])
    except Exception as exc:  # noqa: BLE001 - any reader failure is reported with the file's name
        raise TableError(f"cannot read {path}: {exc}", f"无法读取 {path}：{exc}") from exc
    raise TableError(f"{path}: only .csv and .parquet tables are read", f"{path}：仅支持 .csv 与 .parquet 表")


def read_catalog(path: Path) -> dict[str, dict]:
    """The `columns:` mapping of a catalog YAML, every entry checked."""
    path = Path(path)
    if not path.exists():
        raise NotFound(f"catalog {path} does not exist", f"指标目录 {path} 不存在")
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise TableError(f"catalog {path} is not valid YAML: {exc}", f"指标目录 {path} 不是有效的 YAML：{exc}") from exc
    declared = doc.get("columns") if isinstance(doc, dict) else None
    if not isinstance(declared, dict) or not declared:
        raise TableError(
            f"catalog {path} declares no columns (expected a 'columns:' mapping of column: {{direction: 1|-1|0}})",
            f"指标目录 {path} 未声明任何字段（应有 columns: 映射，形如 字段: {{direction: 1|-1|0}}）",
        )
    for name, entry in declared.items():
        entry = entry or {}
        if not isinstance(entry, dict) or entry.get("direction", 0) not in (1, -1, 0):
            raise TableError(
                f"catalog {path}: column {name!r} needs a mapping with direction 1, -1 or 0; got {entry!r}",
                f"指标目录 {path}：字段 {name!r} 的 direction 须为 1、-1 或 0，当前为 {entry!r}",
            )
    return {str(k): (v or {}) for k, v in declared.items()}


def indicator_columns(frame: pd.DataFrame, spec: TableSpec) -> tuple[list[str], list[int]]:
    """The indicator columns and their monotone directions, checked against the table."""
    reserved = {c for c in (spec.label, spec.id, spec.weight, spec.time, spec.group) if c}
    for c in reserved:
        if c not in frame.columns:
            has = ", ".join(map(str, frame.columns[:8]))
            raise TableError(
                f"column {c!r} is not in the table; it has {has}…", f"表中没有字段 {c!r}；现有字段：{has}…"
            )
    if spec.catalog is not None:
        declared = read_catalog(spec.catalog)
        absent = [c for c in declared if c not in frame.columns]
        if absent:
            raise TableError(
                f"catalog {spec.catalog} names column(s) absent from the table: {', '.join(absent)}",
                f"指标目录 {spec.catalog} 列出的字段在表中不存在：{', '.join(absent)}",
            )
        cols = list(declared)
        directions = [int(declared[c].get("direction", 0)) for c in cols]
    else:
        cols = [c for c in frame.columns if c not in reserved]
        directions = [0] * len(cols)
    problem = unusable_columns(frame, cols)
    if problem:
        raise TableError(*problem)
    return cols, directions


def _labels(frame: pd.DataFrame, spec: TableSpec) -> np.ndarray:
    y = frame[spec.label]
    numeric = pd.to_numeric(y, errors="coerce")
    values = sorted({v.item() if hasattr(v, "item") else v for v in pd.unique(y.dropna())}, key=str)[:5]
    if y.isna().any() or numeric.isna().any() or not set(numeric.unique()) <= {0, 1}:
        shown = ", ".join(str(v) if isinstance(v, (int, float)) else repr(v) for v in values)
        raise TableError(
            f"label {spec.label!r} must be 0/1 with no missing values; it holds {shown}",
            f"标签 {spec.label!r} 须为 0/1 且不能缺失；现有取值 {shown}",
        )
    if numeric.nunique() < 2:
        raise TableError(
            f"label {spec.label!r} has one class only ({values[0]!r}): nothing to discriminate",
            f"标签 {spec.label!r} 只有一类（{values[0]!r}），无法区分",
        )
    return numeric.astype(int).to_numpy()


def _weights(frame: pd.DataFrame, spec: TableSpec) -> np.ndarray:
    if not spec.weight:
        return np.ones(len(frame))
    w = pd.to_numeric(frame[spec.weight], errors="coerce").to_numpy(dtype=float)
    if np.isnan(w).any() or (w <= 0).any():
        bad = frame[spec.weight][np.isnan(w) | (w <= 0)].iloc[0]
        raise TableError(
            f"weights in {spec.weight!r} must be positive numbers; found {bad!r}",
            f"权重字段 {spec.weight!r} 须为正数；发现 {bad!r}",
        )
    return w


def parse_periods(values: pd.Series, column: str, fmt: str | None = None) -> pd.Series:
    """Periods as sortable timestamps: ISO dates, a strptime `fmt` (e.g. %d/%m/%Y), years, or quarters
    (2024Q1). Text is never compared as text.

    >>> parse_periods(pd.Series(["31/12/2024", "01/02/2025"]), "t", "%d/%m/%Y").dt.year.tolist()
    [2024, 2025]
    >>> parse_periods(pd.Series(["2024Q4", "2025Q1"]), "t").astype(str).tolist()
    ['2024-10-01', '2025-01-01']
    """
    if pd.api.types.is_integer_dtype(values) and values.between(1000, 9999).all():
        return pd.to_datetime(values.astype(str), format="%Y")
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.astype(float)  # numbered periods (1, 2, 3 …): already in order
    text = values.astype(str).str.strip()
    try:
        if fmt:
            return pd.to_datetime(text, format=fmt)
        if text.str.fullmatch(r"\d{4}[Qq][1-4]").all():
            return pd.PeriodIndex(text.str.upper(), freq="Q").to_timestamp().to_series(index=values.index)
        if text.str.fullmatch(r"\d{4}").all():
            return pd.to_datetime(text, format="%Y")
        return pd.to_datetime(text, format="ISO8601")
    except (ValueError, TypeError) as exc:
        example = text.iloc[0] if len(text) else ""
        raise TableError(
            f"time column {column!r} is not dates: {example!r} ({exc}); give --time-format, e.g. %d/%m/%Y",
            f"时间字段 {column!r} 不是日期：{example!r}；请用 --time-format 指明格式，如 %d/%m/%Y",
        ) from None


def _period(value) -> str:
    return str(value.date()) if isinstance(value, pd.Timestamp) else f"{value:g}"


def splits_of(frame: pd.DataFrame, y: np.ndarray, spec: TableSpec, folds: int, seed: int):
    """[(fit, tune, test) row indexes] and, with --time, the periods of each role."""
    n = len(frame)
    if spec.time:
        when = parse_periods(frame[spec.time], spec.time, spec.time_format)
        periods = sorted(when.unique())
        if len(periods) < 3:
            raise TableError(
                f"out-of-time validation needs at least 3 periods in {spec.time!r} (fit < tune < test); "
                f"it holds {len(periods)}",
                f"跨期验证要求时间字段 {spec.time!r} 至少有3个时期（拟合 < 调参 < 测试）；现有 {len(periods)} 个",
            )
        test, tune = periods[-1], periods[-2]
        index = np.arange(n)
        roles = {
            "fit": index[(when < tune).to_numpy()],
            "tune": index[(when == tune).to_numpy()],
            "test": index[(when == test).to_numpy()],
        }
        shown = {"fit": [_period(p) for p in periods[:-2]], "tune": [_period(tune)], "test": [_period(test)]}
        return [(roles["fit"], roles["tune"], roles["test"])], shown
    if isinstance(folds, bool) or not isinstance(folds, int) or folds < 2:
        raise TableError(
            f"folds must be a whole number of at least 2; got {folds!r}", f"折数须为不小于2的整数，当前为 {folds!r}"
        )
    smallest = int(min(np.bincount(y, minlength=2)))
    if smallest < 2 * folds:
        raise TableError(
            f"{folds} folds need at least {2 * folds} rows of each class (every fold tests and tunes on both); "
            f"the rarer class has {smallest}: use fewer folds",
            f"{folds} 折交叉验证每类至少需要 {2 * folds} 行（每折的测试和调参都需两类）；"
            f"较少的一类只有 {smallest} 行：请减少折数",
        )
    groups = frame[spec.group].astype(str).to_numpy() if spec.group else None
    if groups is not None:
        outer = StratifiedGroupKFold(folds, shuffle=True, random_state=seed).split(np.zeros(n), y, groups)
    else:
        outer = StratifiedKFold(folds, shuffle=True, random_state=seed).split(np.zeros(n), y)
    out = []
    for train, test in outer:
        fit, tune = _tune_split(train, y, groups, seed)
        out.append((fit, tune, test))
    return out, None


def _tune_split(rows: np.ndarray, y: np.ndarray, groups: np.ndarray | None, seed: int):
    """A fifth of `rows` to tune on (stratified; whole groups when grouped), the rest to fit on."""
    if groups is not None:
        fit, tune = next(GroupShuffleSplit(1, test_size=TUNE_SHARE, random_state=seed).split(rows, groups=groups[rows]))
    else:
        fit, tune = next(StratifiedShuffleSplit(1, test_size=TUNE_SHARE, random_state=seed).split(rows, y[rows]))
    return rows[fit], rows[tune]


def _fit(x, y, w, fit, tune, cfg, cols, directions, version) -> tuple[RiskModel, G.GradeScheme]:
    """Trees on `fit`; early stopping, calibration, the odds scale and the cut-points on `tune`."""
    model = RiskModel(cfg, tuple(cols), tuple(directions), version).fit(
        x.iloc[fit], y[fit], w[fit], x.iloc[tune], y[tune], w[tune]
    )
    p_tune = model.predict_proba(x.iloc[tune])
    scheme = G.scheme(SCHEME)
    scale = Scale.fit(p_tune, w[tune], scheme.cuts, TARGET_SHARES[SCHEME])
    model.scale(scale)
    return model, fit_cuts(scheme, scale.raw(p_tune), y[tune], w[tune]).scheme


def train_table(
    path: Path,
    spec: TableSpec,
    *,
    folds: int = 10,
    config: RiskModelConfig = TABLE_CONFIG,
    seed: int = 0,
    progress: Progress | None = None,
) -> TableTraining:
    start = time.perf_counter()
    progress = progress or (lambda step, done, total: None)
    frame = read_table(path)
    cols, directions = indicator_columns(frame, spec)
    y = _labels(frame, spec)
    w = _weights(frame, spec)
    x = frame[cols].astype("float64")
    version = hashlib.sha256(json.dumps([cols, directions]).encode()).hexdigest()[:12]
    cfg = replace(config, seed=seed, num_threads=settings().threads)
    splits, periods = splits_of(frame, y, spec, folds, seed)
    p = np.full(len(frame), np.nan)
    grade = np.full(len(frame), "", dtype=object)
    scores = np.full(len(frame), np.nan)
    fold_auc = []
    for k, (fit, tune, test) in enumerate(splits):
        progress(f"fold {k + 1} of {len(splits)}", k, len(splits) + 1)
        for role, rows in (("fitting", fit), ("tuning", tune), ("test", test)):
            if len(np.unique(y[rows])) < 2:
                raise TableError(
                    f"the {role} rows of fold {k + 1} have one class only; use fewer folds or other periods",
                    f"第 {k + 1} 折的{ROLES_ZH[role]}样本只有一类；请减少折数或调整时期",
                )
        model, scheme = _fit(x, y, w, fit, tune, cfg, cols, directions, version)
        p[test] = model.predict_proba(x.iloc[test])
        scores[test] = model.scale_.score(p[test])
        grade[test] = G.score_to_grade(scores[test], scheme)
        fold_auc.append(weighted_auc(y[test], p[test], w[test]))
    held = ~np.isnan(p)
    progress("refit on every row", len(splits), len(splits) + 1)
    everyone = np.arange(len(frame))
    if periods is not None:
        last_fifth = everyone[
            np.argsort(parse_periods(frame[spec.time], spec.time, spec.time_format).to_numpy(), kind="stable")
        ]
        cut = int(len(everyone) * (1 - TUNE_SHARE))
        fit_all, tune_all = np.sort(last_fifth[:cut]), np.sort(last_fifth[cut:])
    else:
        fit_all, tune_all = _tune_split(
            everyone, y, frame[spec.group].astype(str).to_numpy() if spec.group else None, seed
        )
    final, _ = _fit(x, y, w, fit_all, tune_all, cfg, cols, directions, version)
    progress("done", len(splits) + 1, len(splits) + 1)
    scheme = G.scheme(SCHEME)
    evaluation = evaluate_grades(y[held], p[held], w[held], grade[held].astype(str), scheme)
    return TableTraining(
        rows=len(frame),
        indicators=len(cols),
        positives=int(y.sum()),
        validation="out-of-time" if spec.time else f"{folds}-fold{' grouped' if spec.group else ''}",
        fold_auc=fold_auc,
        auc_mean=float(np.mean(fold_auc)),
        auc_std=float(np.std(fold_auc)),
        brier=evaluation["brier"],
        evaluation=evaluation,
        calibration_table=calibration_table(y[held], p[held], w[held], grade[held].astype(str), scheme.grades),
        periods=periods,
        seconds=time.perf_counter() - start,
        model=final,
    )
