"""`creditgrade train-table`: the same model, calibration, grades and evaluation on any indicator table.

A regulator (or a researcher) brings a CSV or Parquet table: one row per enterprise (or
enterprise-period), numeric indicator columns, a 0/1 label, optionally an id, a weight and a time
column. Validation is k-fold (stratified, default 10) or out of time (the last period of `--time`
validates). An optional catalog YAML names the indicator columns and their risk directions:

    columns:
      Attr1: {direction: -1, en: net profit / total assets}
      Attr2: {direction: 1}

Without one, every numeric column other than id/label/weight/time is an indicator, unconstrained.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from sklearn.model_selection import StratifiedKFold

from creditgrade.features.errors import CreditgradeError, NotFound
from creditgrade.models import grades as G
from creditgrade.models.cutpoints import fit_cutpoints
from creditgrade.models.evaluation import evaluate
from creditgrade.models.risk import RiskModel, RiskModelConfig
from creditgrade.models.scaling import probability_to_score
from creditgrade.training.dataset import unusable_columns

# Fixed a priori (no early stopping inside folds): chosen among three candidate settings by
# 10-fold CV on the Polish 5year file, as recorded in docs/risk-model.md.
TABLE_CONFIG = RiskModelConfig(
    learning_rate=0.01,
    num_leaves=15,
    max_depth=-1,
    min_child_samples=20,
    n_estimators=1500,
    colsample_bytree=0.5,
    subsample=0.8,
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
    evaluation: dict
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


def indicator_columns(frame: pd.DataFrame, spec: TableSpec) -> tuple[list[str], list[int]]:
    """The indicator columns and their monotone directions, checked against the table."""
    reserved = {c for c in (spec.label, spec.id, spec.weight, spec.time) if c}
    for c in reserved:
        if c not in frame.columns:
            has = ", ".join(map(str, frame.columns[:8]))
            raise TableError(
                f"column {c!r} is not in the table; it has {has}…", f"表中没有字段 {c!r}；现有字段：{has}…"
            )
    if spec.catalog is not None:
        declared = (yaml.safe_load(Path(spec.catalog).read_text()) or {}).get("columns") or {}
        if not declared:
            raise TableError(
                f"catalog {spec.catalog} declares no columns (expected a 'columns:' mapping)",
                f"指标目录 {spec.catalog} 未声明任何字段（应有 columns: 映射）",
            )
        absent = [c for c in declared if c not in frame.columns]
        if absent:
            raise TableError(
                f"catalog {spec.catalog} names column(s) absent from the table: {', '.join(absent)}",
                f"指标目录 {spec.catalog} 列出的字段在表中不存在：{', '.join(absent)}",
            )
        cols = list(declared)
        directions = [int((declared[c] or {}).get("direction", 0)) for c in cols]
    else:
        cols = [c for c in frame.columns if c not in reserved]
        directions = [0] * len(cols)
    problem = unusable_columns(frame, cols)
    if problem:
        raise TableError(*problem)
    return cols, directions


def _labels(frame: pd.DataFrame, spec: TableSpec) -> np.ndarray:
    y = frame[spec.label]
    values = set(pd.unique(y.dropna()))
    if y.isna().any() or not values <= {0, 1}:
        held = sorted(values)[:5]
        raise TableError(
            f"label {spec.label!r} must be 0/1 with no missing values; it holds {held}",
            f"标签 {spec.label!r} 须为 0/1 且不能缺失；现有取值 {held}",
        )
    if len(values) < 2:
        only = values.pop()
        raise TableError(
            f"label {spec.label!r} has one class only ({only}): nothing to discriminate",
            f"标签 {spec.label!r} 只有一类（{only}），无法区分",
        )
    return y.astype(int).to_numpy()


def train_table(
    path: Path, spec: TableSpec, *, folds: int = 10, config: RiskModelConfig = TABLE_CONFIG, seed: int = 0
) -> TableTraining:
    frame = read_table(path)
    cols, directions = indicator_columns(frame, spec)
    y = _labels(frame, spec)
    w = frame[spec.weight].astype(float).to_numpy() if spec.weight else np.ones(len(frame))
    if (w <= 0).any() or np.isnan(w).any():
        raise TableError(f"weights in {spec.weight!r} must be positive numbers", f"权重字段 {spec.weight!r} 须为正数")
    x = frame[cols].astype("float64")
    version = hashlib.sha256(json.dumps([cols, directions]).encode()).hexdigest()[:12]
    cfg = replace(config, seed=seed)
    margin = np.full(len(frame), np.nan)
    fold_auc = []
    if spec.time:
        last = frame[spec.time].max()
        splits = [(np.flatnonzero(frame[spec.time] < last), np.flatnonzero(frame[spec.time] == last))]
        if len(splits[0][0]) == 0:
            raise TableError(
                f"out-of-time validation needs more than one value of {spec.time!r}",
                f"跨期验证要求时间字段 {spec.time!r} 至少有两个取值",
            )
    else:
        splits = list(StratifiedKFold(folds, shuffle=True, random_state=seed).split(x, y))
    for train_idx, test_idx in splits:
        model = RiskModel(cfg, tuple(cols), tuple(directions), version).fit(
            x.iloc[train_idx], y[train_idx], w[train_idx]
        )
        margin[test_idx] = model.predict_raw(x.iloc[test_idx])
        fold_auc.append(_auc(y[test_idx], margin[test_idx], w[test_idx]))
    held = ~np.isnan(margin)
    final = RiskModel(cfg, tuple(cols), tuple(directions), version).fit(x, y, w)
    final.calibrate(margin[held], y[held], w[held])
    p = final.calibrator_.predict(margin[held])
    scores = probability_to_score(p)
    scheme = fit_cutpoints(G.scheme("national"), scores, y[held], w[held])
    return TableTraining(
        rows=len(frame),
        indicators=len(cols),
        positives=int(y.sum()),
        validation="out-of-time" if spec.time else f"{folds}-fold",
        fold_auc=fold_auc,
        auc_mean=float(np.mean(fold_auc)),
        auc_std=float(np.std(fold_auc)),
        evaluation=evaluate(y[held], p, w[held], scores, scheme),
        model=final,
    )


def _auc(y, margin, w) -> float:
    from creditgrade.models.evaluation import weighted_auc

    return weighted_auc(y, margin, w)
