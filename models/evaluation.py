"""How good a risk model and its grades are, weighted so the figures refer to the whole city."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from creditgrade.models.cutpoints import grade_table
from creditgrade.models.grades import GradeScheme


def weighted_auc(y, p, w) -> float:
    return float(roc_auc_score(np.asarray(y), np.asarray(p), sample_weight=np.asarray(w)))


def ks_statistic(y, p, w) -> float:
    """Largest gap between the weighted score distributions of problem and no-problem rows."""
    y, p, w = (np.asarray(a, dtype=float) for a in (y, p, w))
    order = np.argsort(-p, kind="stable")
    y, w = y[order], w[order]
    bad = np.cumsum(w * y) / (w * y).sum()
    good = np.cumsum(w * (1 - y)) / (w * (1 - y)).sum()
    return float(np.max(np.abs(bad - good)))


def brier(y, p, w) -> float:
    return float(np.average((np.asarray(p) - np.asarray(y)) ** 2, weights=np.asarray(w)))


def calibration_curve(y, p, w, bins: int = 10) -> list[dict]:
    """Weighted mean prediction and observed rate in equal-weight bins of the prediction."""
    y, p, w = (np.asarray(a, dtype=float) for a in (y, p, w))
    order = np.argsort(p, kind="stable")
    edges = np.searchsorted(np.cumsum(w[order]) / w.sum(), np.linspace(0, 1, bins + 1)[1:-1])
    out = []
    for part in np.split(order, edges):
        if part.size:
            out.append(
                {
                    "predicted": float(np.average(p[part], weights=w[part])),
                    "observed": float(np.average(y[part], weights=w[part])),
                    "weight": float(w[part].sum()),
                }
            )
    return out


def psi(expected, actual, bins: int = 10) -> float:
    """Population stability index of `actual` against `expected`, on the deciles of `expected`."""
    expected, actual = np.asarray(expected, dtype=float), np.asarray(actual, dtype=float)
    cuts = np.unique(np.quantile(expected, np.linspace(0, 1, bins + 1)[1:-1]))
    e = np.bincount(np.searchsorted(cuts, expected, side="right"), minlength=len(cuts) + 1) / len(expected)
    a = np.bincount(np.searchsorted(cuts, actual, side="right"), minlength=len(cuts) + 1) / len(actual)
    e, a = np.clip(e, 1e-6, None), np.clip(a, 1e-6, None)
    return float(np.sum((a - e) * np.log(a / e)))


def migration(before: pd.DataFrame, after: pd.DataFrame, column: str = "grade_shenzhen") -> dict:
    """Grade migration between two gradings (frames with uscc, `column` and score): the matrix of counts (rows:
    the earlier grade, columns: the later; 'new'/'gone' for enterprises entering or leaving the register),
    how many moved, entered and left, and the PSI of the later scores against the earlier.

    >>> a = pd.DataFrame({"uscc": ["x", "y", "z"], "g": ["A", "B", "B"], "score": [700.0, 650.0, 640.0]})
    >>> b = pd.DataFrame({"uscc": ["x", "y", "w"], "g": ["A", "C", "B"], "score": [705.0, 560.0, 600.0]})
    >>> m = migration(a, b, "g")
    >>> m["matrix"]["B"], m["moved"], m["entered"], m["left"]
    ({'C': 1, 'gone': 1}, 1, 1, 1)
    """
    both = before[["uscc", column, "score"]].merge(
        after[["uscc", column, "score"]], on="uscc", how="outer", suffixes=("_before", "_after")
    )
    was = both[f"{column}_before"].fillna("new")
    now = both[f"{column}_after"].fillna("gone")
    matrix = pd.crosstab(was, now)
    return {
        "column": column,
        "matrix": {str(r): {str(c): int(v) for c, v in row.items() if v} for r, row in matrix.iterrows()},
        "moved": int(((was != now) & (was != "new") & (now != "gone")).sum()),
        "entered": int((was == "new").sum()),
        "left": int((now == "gone").sum()),
        "psi_score": psi(before["score"].to_numpy(), after["score"].to_numpy()),
    }


def evaluate(y, p, w, scores, scheme: GradeScheme) -> dict:
    """Headline metrics and the per-grade table of one scheme."""
    auc = weighted_auc(y, p, w)
    table = grade_table(np.asarray(scores), np.asarray(y, dtype=float), np.asarray(w, dtype=float), scheme)
    city_rate = float(np.average(y, weights=w))
    worst = table[-1]["problem_rate"]
    rates = [r["problem_rate"] for r in table]
    return {
        "auc": auc,
        "gini": 2 * auc - 1,
        "ks": ks_statistic(y, p, w),
        "brier": brier(y, p, w),
        "city_problem_rate": city_rate,
        "mean_predicted": float(np.average(p, weights=w)),
        "worst_grade_lift": (worst / city_rate) if worst is not None and city_rate > 0 else None,
        "rates_strictly_rise": all(a is not None and b is not None and b > a for a, b in zip(rates, rates[1:])),
        "grades": table,
    }
