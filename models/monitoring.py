"""Month-over-month monitoring: stability of the score (PSI) and of every indicator (CSI), and early warnings.

Stability is measured the way credit-risk teams do (and optbinning's `ScorecardMonitoring` lays it out):
the reference distribution is cut into bins — deciles of a continuous indicator, one bin per value of an
indicator with few values, and one bin for missing values — and the index sums (a − e)·ln(a / e) over
the bins' shares. Below 0.10 the population is stable, 0.10–0.25 is worth watching, above 0.25 calls for
action (the usual thresholds; configurable).

An early warning (预警) marks an enterprise whose risk rose sharply since last month: its grade worsened
by two steps or more, its probability at least doubled, or it entered the worst grade. Each warning
carries what changed in its record: the indicators whose values moved towards more risk, in the words of
the catalog's reasons, both languages.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from creditgrade.features import catalog
from creditgrade.models.grades import GradeScheme

WATCH, ACT = 0.10, 0.25
FEW_VALUES = 12  # an indicator with at most this many distinct values gets a bin per value
FLOOR = 1e-4  # an empty bin counts as this share, so the index stays finite
WARNING_RULES = {
    "down2": ("grade worsened by two steps or more", "等级下降两级及以上"),
    "doubled": ("probability of a problem at least doubled", "问题概率翻倍及以上"),
    "worst": ("entered the worst grade", "进入最差等级"),
}


@dataclass(frozen=True)
class Bins:
    """Bin edges fixed on a reference population, and the reference's share in each bin (missing last)."""

    cuts: tuple[float, ...]
    shares: tuple[float, ...]

    @classmethod
    def of(cls, values, bins: int = 10) -> Bins:
        v = np.asarray(values, dtype=float)
        present = v[~np.isnan(v)]
        distinct = np.unique(present)
        if len(distinct) <= FEW_VALUES:
            cuts = (distinct[:-1] + distinct[1:]) / 2
        else:
            cuts = np.unique(np.quantile(present, np.linspace(0, 1, bins + 1)[1:-1]))
        edges = tuple(float(c) for c in cuts)
        return cls(edges, tuple(float(s) for s in _shares(v, edges)))

    def shares_of(self, values) -> np.ndarray:
        return _shares(np.asarray(values, dtype=float), self.cuts)

    def stability(self, values) -> float:
        """The stability index of `values` against the population these bins were fixed on."""
        return stability_index(self.shares, self.shares_of(values))

    def to_dict(self) -> dict:
        return {"cuts": list(self.cuts), "shares": list(self.shares)}

    @classmethod
    def from_dict(cls, d: dict) -> Bins:
        return cls(tuple(d["cuts"]), tuple(d["shares"]))


def _shares(v: np.ndarray, cuts) -> np.ndarray:
    missing = np.isnan(v)
    counts = np.bincount(np.searchsorted(np.asarray(cuts), v[~missing], side="right"), minlength=len(cuts) + 1)
    counts = np.append(counts, missing.sum())
    return counts / max(len(v), 1)


def stability_index(expected, actual) -> float:
    """Σ (a − e)·ln(a / e) over bins, empty bins floored.

    >>> round(stability_index([0.5, 0.5], [0.5, 0.5]), 6), round(stability_index([0.5, 0.5], [0.25, 0.75]), 4)
    (0.0, 0.2747)
    """
    e = np.clip(np.asarray(expected, dtype=float), FLOOR, None)
    a = np.clip(np.asarray(actual, dtype=float), FLOOR, None)
    return float(np.sum((a - e) * np.log(a / e)))


def level(value: float | None, watch: float = WATCH, act: float = ACT) -> str:
    """'stable', 'watch' or 'act' (None: not measured)."""
    if value is None or np.isnan(value):
        return "n/a"
    return "act" if value >= act else "watch" if value >= watch else "stable"


def reference_bins(frame: pd.DataFrame, columns) -> dict[str, Bins]:
    return {c: Bins.of(frame[c].to_numpy(dtype=float)) for c in columns}


def drift(reference: dict[str, Bins], current: pd.DataFrame, watch: float = WATCH, act: float = ACT) -> pd.DataFrame:
    """The stability index of every column of `reference` in `current`, largest first, with its level and
    the missing share before and after (a feed that stopped often shows as missing values)."""
    rows = []
    for column, bins in reference.items():
        shares = bins.shares_of(current[column].to_numpy(dtype=float))
        value = stability_index(bins.shares, shares)
        rows.append(
            {
                "column": column,
                "index": round(value, 6),
                "level": level(value, watch, act),
                "missing_before": round(bins.shares[-1], 6),
                "missing_after": round(float(shares[-1]), 6),
            }
        )
    out = pd.DataFrame(rows, columns=["column", "index", "level", "missing_before", "missing_after"])
    return out.sort_values(["index", "column"], ascending=[False, True], kind="stable").reset_index(drop=True)


def early_warnings(
    before: pd.DataFrame,
    after: pd.DataFrame,
    x_before: pd.DataFrame,
    x_after: pd.DataFrame,
    scheme: GradeScheme,
    column: str = "grade_shenzhen",
) -> pd.DataFrame:
    """Enterprises on both months' registers, operating now, whose risk rose sharply.

    `before` / `after`: graded rows (uscc, register_status, probability, `column`); `x_before` / `x_after`:
    their indicator values indexed by uscc. The result: one row per warning, ordered by the rise in
    probability, with the rules it met and what changed (up to five indicators that moved towards risk)."""
    both = before[["uscc", "probability", column]].merge(
        after[["uscc", "register_status", "probability", column]], on="uscc", suffixes=("_before", "_after")
    )
    both = both[both.register_status == "active"]
    order = {g: i for i, g in enumerate(scheme.grades)}
    steps = both[f"{column}_after"].map(order) - both[f"{column}_before"].map(order)
    worst = {scheme.grades[-1], scheme.scored_grades[-1]}
    rules = pd.DataFrame(
        {
            "down2": steps >= 2,
            "doubled": both.probability_after >= 2 * both.probability_before,
            "worst": both[f"{column}_after"].isin(worst) & ~both[f"{column}_before"].isin(worst),
        }
    )
    hit = rules.any(axis=1).to_numpy()
    warned = both[hit].copy()
    warned["rules"] = [[r for r in WARNING_RULES if row[r]] for row in rules[hit].to_dict("records")]
    warned["changes"] = [_changes(x_before, x_after, u) for u in warned.uscc]
    warned["rise"] = warned.probability_after - warned.probability_before
    warned = warned.sort_values(["rise", "uscc"], ascending=[False, True], kind="stable")
    return warned.drop(columns=["rise", "register_status"]).reset_index(drop=True)


def _changes(x_before: pd.DataFrame, x_after: pd.DataFrame, uscc: str, k: int = 5) -> list[dict]:
    """The indicators of `uscc` that moved towards more risk, in the catalog's words (at most k)."""
    if uscc not in x_before.index or uscc not in x_after.index:
        return []
    was, now = x_before.loc[uscc], x_after.loc[uscc]
    out = []
    for ind in catalog.INDICATORS:
        if ind.id not in now.index or ind.direction == 0:
            continue
        a, b = was.get(ind.id), now[ind.id]
        if pd.isna(b) or (not pd.isna(a) and ind.direction * (b - a) <= 0):
            continue
        if pd.isna(a) and ind.direction < 0:
            continue
        if ind.unit == "days" and not pd.isna(a) and a > 0:
            continue  # the same condition, one month longer: not a new record
        out.append(
            {
                "indicator": ind.id,
                "before": None if pd.isna(a) else float(a),
                "after": float(b),
                "zh": ind.reason(float(b), "zh"),
                "en": ind.reason(float(b), "en"),
            }
        )
    return out[:k]
