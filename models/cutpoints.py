"""Fitting a scheme's cut-points on the validation period.

Cut-points start at the weighted score quantiles that give each grade its target share (shares like
a real city's: most enterprises in the middle grade, thin extremes — DOMAIN.md, Pingshan 2024).
Then, while the weighted observed problem rate does not rise strictly from one grade to the next
worse one, the thinner grade of the offending pair is widened; every grade keeps a minimum share.
"""

from __future__ import annotations

import numpy as np

from creditgrade.features.errors import CreditgradeError
from creditgrade.models.grades import GradeScheme, score_to_grade

# Target shares of the scored grades, best first.
TARGET_SHARES: dict[str, tuple[float, ...]] = {
    "shenzhen": (0.006, 0.064, 0.696, 0.230, 0.004),  # Pingshan's 2024 five-grade run (A+, A, B, C, D)
    "pingshan": (0.03, 0.10, 0.20, 0.32, 0.20, 0.10, 0.04, 0.01),
    "national": (0.15, 0.60, 0.20, 0.05),
}
MIN_SHARE = 0.003


class CutpointError(CreditgradeError):
    """Cut-points that cannot satisfy the constraints on these data; `table` is the last grade table tried."""

    code = "cutpoints"

    def __init__(self, en: str, zh: str, *, table: list[dict] | None = None):
        super().__init__(en, zh)
        self.table = table or []


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: np.ndarray) -> np.ndarray:
    order = np.argsort(values, kind="stable")
    v, w = values[order], weights[order]
    cum = (np.cumsum(w) - 0.5 * w) / w.sum()
    return np.interp(q, cum, v)


def grade_table(scores, labels, weights, scheme: GradeScheme) -> list[dict]:
    """Per scored grade: weighted share and weighted observed problem rate (None where empty)."""
    grades = score_to_grade(scores, scheme)
    total = weights.sum()
    rows = []
    for g in scheme.scored_grades:
        m = grades == g
        w = weights[m].sum()
        rows.append(
            {
                "grade": g,
                "share": float(w / total),
                "problem_rate": float(np.average(labels[m], weights=weights[m])) if w > 0 else None,
            }
        )
    return rows


def _violations(table: list[dict], min_share: float) -> list[int]:
    """Indexes i where grade i+1 (worse) fails to have a strictly higher rate, or a grade is too thin."""
    bad = []
    for i, row in enumerate(table):
        if row["share"] < min_share:
            bad.append(i)
    for i in range(len(table) - 1):
        a, b = table[i]["problem_rate"], table[i + 1]["problem_rate"]
        if a is None or b is None or not b > a:
            bad.append(i)
    return sorted(set(bad))


def fit_cutpoints(
    scheme: GradeScheme,
    scores,
    labels,
    weights,
    shares: tuple[float, ...] | None = None,
    min_share: float = MIN_SHARE,
    max_rounds: int = 200,
) -> GradeScheme:
    """The scheme with cut-points fitted to these validation scores, labels and weights."""
    scores, labels, weights = (np.asarray(a, dtype=float) for a in (scores, labels, weights))
    target = np.asarray(shares or TARGET_SHARES[scheme.name], dtype=float)
    k = len(scheme.scored_grades)
    if len(target) != k or not np.isclose(target.sum(), 1.0):
        raise ValueError(f"shares must be {k} numbers summing to 1; got {target.tolist()}")
    for _ in range(max_rounds):
        # Best grade = highest scores: cut i sits at the (1 − cumulative share) quantile.
        cuts = weighted_quantile(scores, weights, 1 - np.cumsum(target)[:-1])
        if np.any(np.diff(cuts) >= 0):
            cuts = _spread(cuts)
        fitted = scheme.with_cuts(cuts)
        bad = _violations(grade_table(scores, labels, weights, fitted), min_share)
        if not bad:
            return fitted
        for i in bad:
            j = i + 1 if i + 1 < k and target[i + 1] < target[i] else i
            grow = min(target[j] * 0.5 + 0.002, 0.05)
            donor = int(np.argmax(target))
            if donor == j:
                break
            target[j] += grow
            target[donor] -= grow
    raise CutpointError(
        f"no cut-points for {scheme.name} give strictly rising problem rates with every grade "
        f"holding ≥ {min_share:.1%} on these data",
        f"{scheme.zh}：在这些数据上找不到使各等级问题发现率严格递增、且每级占比不低于 {min_share:.1%} 的分段",
        table=grade_table(scores, labels, weights, scheme.with_cuts(_spread(cuts))),
    )


def _spread(cuts: np.ndarray) -> np.ndarray:
    """Make cut-points strictly decreasing (ties from lumpy scores) by the smallest nudge."""
    out = cuts.copy()
    for i in range(1, len(out)):
        if out[i] >= out[i - 1]:
            out[i] = out[i - 1] - 1e-6
    return out
