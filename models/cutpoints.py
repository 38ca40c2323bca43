"""Fitting a scheme's cut-points on the tuning period (never on the rows the figures are reported on).

Cut-points start at the weighted score quantiles that give each grade its target share (shares like
a real city's: most enterprises in the middle grade, thin extremes — DOMAIN.md, Pingshan 2024).
Then, while the weighted observed problem rate does not rise strictly from one grade to the next
worse one, the thinner grade of the offending pair is widened; every grade keeps a minimum share.

Fitting never fails on the data: scores that tie are nudged apart by the smallest step, cut-points are
kept inside the published 0–1000 range, and when no widening gives rising rates within the rounds
allowed, the last cut-points are kept and `FittedCuts.note` says so (in English and Chinese). Whether the
rates rise on the *test* rows is then measured separately, and may honestly be no.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from creditgrade.models.grades import GradeScheme, score_to_grade
from creditgrade.models.scaling import SCORE_MAX, SCORE_MIN

# Target shares of the scored grades, best first.
TARGET_SHARES: dict[str, tuple[float, ...]] = {
    "shenzhen": (0.006, 0.064, 0.696, 0.230, 0.004),  # Pingshan's 2024 five-grade run (A+, A, B, C, D)
    "pingshan": (0.03, 0.10, 0.20, 0.32, 0.20, 0.10, 0.04, 0.01),
    "national": (0.15, 0.60, 0.20, 0.05),
}
MIN_SHARE = 0.003
STEP = 0.1  # cut-points sit on the published score's grid (one decimal), at least one step apart


@dataclass(frozen=True)
class FittedCuts:
    """Cut-points fitted to tuning rows: the scheme, whether rates rose strictly there, and a note if not."""

    scheme: GradeScheme
    rising: bool
    note_en: str | None = None
    note_zh: str | None = None


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: np.ndarray) -> np.ndarray:
    order = np.argsort(values, kind="stable")
    v, w = values[order], weights[order]
    cum = (np.cumsum(w) - 0.5 * w) / w.sum()
    return np.interp(q, cum, v)


def grade_table(scores, labels, weights, scheme: GradeScheme) -> list[dict]:
    """Per scored grade: weighted share and weighted observed problem rate (None where empty)."""
    return table_of_grades(
        score_to_grade(scores, scheme), np.asarray(labels, dtype=float), np.asarray(weights, dtype=float), scheme
    )


def table_of_grades(grades: np.ndarray, labels: np.ndarray, weights: np.ndarray, scheme: GradeScheme) -> list[dict]:
    """`grade_table` for rows already graded (e.g. each by its own fold's cut-points)."""
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


def fit_cuts(
    scheme: GradeScheme,
    scores,
    labels,
    weights,
    shares: tuple[float, ...] | None = None,
    min_share: float = MIN_SHARE,
    max_rounds: int = 200,
) -> FittedCuts:
    """The scheme with cut-points fitted to these tuning scores (raw, unclipped: they never tie at an end),
    labels and weights; never raises on the data."""
    scores, labels, weights = (np.asarray(a, dtype=float) for a in (scores, labels, weights))
    target = np.asarray(shares or TARGET_SHARES[scheme.name], dtype=float)
    k = len(scheme.scored_grades)
    if len(target) != k or not np.isclose(target.sum(), 1.0):
        raise ValueError(f"shares must be {k} numbers summing to 1; got {target.tolist()}")
    fitted = scheme
    for _ in range(max_rounds):
        # Best grade = highest scores: cut i sits at the (1 − cumulative share) quantile.
        fitted = scheme.with_cuts(_inside(weighted_quantile(scores, weights, 1 - np.cumsum(target)[:-1])))
        bad = _violations(grade_table(scores, labels, weights, fitted), min_share)
        if not bad:
            return FittedCuts(fitted, True)
        for i in bad:
            j = i + 1 if i + 1 < k and target[i + 1] < target[i] else i
            grow = min(target[j] * 0.5 + 0.002, 0.05)
            donor = int(np.argmax(target))
            if donor == j:
                break
            target[j] += grow
            target[donor] -= grow
    table = grade_table(scores, labels, weights, fitted)
    rates = ", ".join(
        f"{r['grade']} {'—' if r['problem_rate'] is None else format(r['problem_rate'], '.1%')}" for r in table
    )
    return FittedCuts(
        fitted,
        False,
        f"{scheme.name}: no cut-points within {max_rounds} rounds gave strictly rising problem rates with every "
        f"grade holding ≥ {min_share:.1%} of the tuning rows; kept the last ones (rates there: {rates})",
        f"{scheme.zh}：在{max_rounds}轮调整内未找到使各等级问题发现率严格递增且每级占比不低于{min_share:.1%}的分段，"
        f"沿用最后一组（调参样本上的发现率：{rates}）",
    )


def _inside(cuts: np.ndarray) -> np.ndarray:
    """Cut-points inside the published range and strictly decreasing: scores that tie (or lie beyond an end)
    are parted by the smallest step, so every grade is reachable by a published score."""
    out = np.round(np.clip(cuts.astype(float), SCORE_MIN + STEP * len(cuts), SCORE_MAX - STEP), 1)
    for i in range(1, len(out)):
        if out[i] > out[i - 1] - STEP:
            out[i] = round(out[i - 1] - STEP, 1)
    return out
