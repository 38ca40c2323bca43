"""Training rows for the risk model: features as of T, the outcome of inspections after T.

Rows: one per inspection made in (T, T + horizon] by a random draw (uniform or risk-weighted 双随机
plans; targeted and complaint checks are not draws with a known probability and are left out by
default), with the enterprise's features as of T. Label: that inspection found a problem. Weight:
1 / π, the inclusion probability of the draw that selected it. Every draw is a probability sample
of the city, so each draw's weighted rows estimate the whole city, not the inspectors' selection,
and the draws stack: an enterprise drawn by two plans is two rows, each weighted by its own draw
(Horvitz–Thompson). What the model learns is then the probability that an inspection of the
enterprise finds a problem — the quantity a plan needs — however often plans drew it.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from creditgrade.features import catalog
from creditgrade.features.errors import CreditgradeError

RANDOM_KINDS = ("random",)


class DatasetError(CreditgradeError):
    """Training data that cannot be built (no checks after the date, one class only, ...)."""

    code = "training_data"


def labelled_rows(
    features: pd.DataFrame,
    checks: pd.DataFrame,
    as_of: dt.date,
    *,
    horizon_days: int = 365,
    kinds: tuple[str, ...] = RANDOM_KINDS,
) -> pd.DataFrame:
    """Rows of `features` at `as_of` with label, weight and inclusion probability, one per random inspection."""
    t0 = pd.Timestamp(as_of)
    t1 = t0 + pd.Timedelta(days=horizon_days)
    at = features[pd.to_datetime(features["as_of"]) == t0]
    if at.empty:
        held = ", ".join(sorted(pd.to_datetime(features["as_of"]).dt.date.astype(str).unique()))
        raise DatasetError(
            f"the feature table has no rows as of {as_of}; it holds {held}",
            f"指标表中没有基准日 {as_of} 的数据；现有基准日：{held}",
        )
    dates = pd.to_datetime(checks["check_date"])
    window = checks[(dates > t0) & (dates <= t1) & checks["kind"].isin(kinds)]
    if window.empty:
        raise DatasetError(
            f"no {'/'.join(kinds)} inspections in ({as_of}, {t1.date()}]: nothing to learn from",
            f"({as_of}, {t1.date()}] 期间没有随机抽查记录，无可学习的样本",
        )
    drawn = window[["uscc", "inclusion_prob", "problem_found"]].rename(columns={"problem_found": "label"})
    rows = at.merge(drawn, on="uscc")
    rows["label"] = rows["label"].astype(int)
    rows["weight"] = 1.0 / rows["inclusion_prob"].astype(float)
    return rows.reset_index(drop=True)


def out_of_time(
    features: pd.DataFrame, checks: pd.DataFrame, as_of: dt.date, **kw
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train, validation): train as of T − 12 months, validate as of T."""
    train_day = (pd.Timestamp(as_of) - pd.DateOffset(years=1)).date()
    train = labelled_rows(features, checks, train_day, **kw)
    valid = labelled_rows(features, checks, as_of, **kw)
    for name, part in (("training", train), ("validation", valid)):
        if part["label"].nunique() < 2:
            zh = {"training": "训练", "validation": "验证"}[name]
            raise DatasetError(
                f"the {name} rows have one class only (label {part['label'].iloc[0]}); "
                "a model needs inspections that found problems and inspections that did not",
                f"{zh}样本只有一类（标签 {part['label'].iloc[0]}）：模型需要既有发现问题、也有未发现问题的检查",
            )
    return train, valid


def design_matrix(rows: pd.DataFrame, ids: tuple[str, ...] = catalog.RISK_IDS) -> pd.DataFrame:
    """The model's input columns in catalog order, refusing absent or non-numeric ones."""
    missing = [c for c in ids if c not in rows.columns]
    if missing:
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        raise DatasetError(
            f"the feature table lacks indicator column(s) {', '.join(missing[:5])}{more}",
            f"指标表缺少指标字段 {', '.join(missing[:5])}" + (f" 等 {len(missing)} 个" if more else ""),
        )
    problem = unusable_columns(rows, list(ids))
    if problem:
        raise DatasetError(*problem)
    return rows[list(ids)].astype("float64")


def unusable_columns(frame: pd.DataFrame, cols: list) -> tuple[str, str] | None:
    """Why some indicator columns cannot be learned from (not numeric, or missing for every row), in English
    and Chinese, or None."""
    bad = ", ".join(map(str, [c for c in cols if not pd.api.types.is_numeric_dtype(frame[c])][:5]))
    if bad:
        return f"indicator column(s) {bad} are not numeric", f"指标字段 {bad} 不是数值"
    empty = ", ".join(map(str, [c for c in cols if frame[c].isna().all()][:5]))
    if empty:
        return f"indicator column(s) {empty} are missing for every row", f"指标字段 {empty} 全部缺失"
    return None
