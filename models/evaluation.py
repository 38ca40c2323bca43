"""How good a risk model and its grades are, weighted so the figures refer to the whole city."""

from __future__ import annotations

import numpy as np

from creditgrade.models.cutpoints import table_of_grades
from creditgrade.models.grades import GradeScheme, score_to_grade
from creditgrade.models.monitoring import Distribution


def weighted_auc(y, p, w) -> float:
    from sklearn.metrics import roc_auc_score  # here: the service imports this module, never for this

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


def calibration_table(y, p, w, grades, order) -> list[dict]:
    """Per grade (in `order`, best first): inspections, share of the weight, the mean predicted and the observed
    problem rate (both weighted), and a 95% Wilson interval for the observed rate on the effective sample size
    (Kish: (Σw)² / Σw², so rows weighted 1/π count as the information they carry).

    >>> t = calibration_table([0, 1, 1, 0], [0.2, 0.6, 0.7, 0.1], [1, 1, 1, 1], ["A", "B", "B", "A"], ["A", "B"])
    >>> [(r["grade"], r["observed"], round(r["predicted"], 2)) for r in t]
    [('A', 0.0, 0.15), ('B', 1.0, 0.65)]
    """
    y, p, w = (np.asarray(a, dtype=float) for a in (y, p, w))
    grades = np.asarray(grades).astype(str)
    out = []
    for g in order:
        m = grades == g
        if not m.any():
            out.append(
                {"grade": g, "rows": 0, "share": 0.0, "predicted": None, "observed": None, "low": None, "high": None}
            )
            continue
        wm = w[m]
        observed = float(np.average(y[m], weights=wm))
        n_eff = float(wm.sum() ** 2 / (wm**2).sum())
        low, high = wilson(observed, n_eff)
        out.append(
            {
                "grade": g,
                "rows": int(m.sum()),
                "share": float(wm.sum() / w.sum()),
                "predicted": float(np.average(p[m], weights=wm)),
                "observed": observed,
                "low": low,
                "high": high,
            }
        )
    return out


def wilson(rate: float, n: float, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of a proportion observed over n (possibly fractional, effective) trials."""
    if n <= 0:
        return 0.0, 1.0
    centre = (rate + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * np.sqrt(rate * (1 - rate) / n + z * z / (4 * n * n))
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))


def psi(expected, actual, bins: int = 10) -> float:
    """Population stability index of `actual` against `expected`, on the deciles of `expected`."""
    return psi_of(Distribution.of(expected), Distribution.of(actual), bins)


def psi_of(expected: Distribution, actual: Distribution, bins: int = 10) -> float:
    """`psi` from two distributions as an engine counts them (`models.monitoring.Distribution`)."""
    cuts = np.unique(expected.quantile(np.linspace(0, 1, bins + 1)[1:-1]))
    e, a = expected.shares(cuts)[:-1], actual.shares(cuts)[:-1]
    e, a = np.clip(e, 1e-6, None), np.clip(a, 1e-6, None)
    return float(np.sum((a - e) * np.log(a / e)))


def evaluate(y, p, w, scores, scheme: GradeScheme) -> dict:
    """Headline metrics and the per-grade table of one scheme."""
    return evaluate_grades(y, p, w, score_to_grade(np.asarray(scores), scheme), scheme)


def evaluate_grades(y, p, w, grades, scheme: GradeScheme) -> dict:
    """`evaluate` for rows already graded (e.g. each by its own fold's cut-points)."""
    auc = weighted_auc(y, p, w)
    table = table_of_grades(
        np.asarray(grades).astype(str), np.asarray(y, dtype=float), np.asarray(w, dtype=float), scheme
    )
    city_rate = float(np.average(y, weights=w))
    worst = table[-1]["problem_rate"]
    rates = [r["problem_rate"] for r in table]
    present = [r for r in rates if r is not None]
    return {
        "auc": auc,
        "gini": 2 * auc - 1,
        "ks": ks_statistic(y, p, w),
        "brier": brier(y, p, w),
        "city_problem_rate": city_rate,
        "mean_predicted": float(np.average(p, weights=w)),
        "worst_grade_lift": (worst / city_rate) if worst is not None and city_rate > 0 else None,
        # over the grades that hold rows: a grade with none (a thin extreme on few test rows) is named, not guessed
        "rates_strictly_rise": all(b > a for a, b in zip(present, present[1:])),
        "empty_grades": [r["grade"] for r in table if r["problem_rate"] is None],
        "grades": table,
    }
