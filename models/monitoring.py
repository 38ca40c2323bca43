"""Month-over-month monitoring: stability of the score (PSI) and of every indicator (CSI), and early warnings.

Stability is measured the way credit-risk teams do (and optbinning's `ScorecardMonitoring` lays it out):
the reference distribution is cut into bins — deciles of a continuous indicator, one bin per value of an
indicator with few values, and one bin for missing values — and the index sums (a − e)·ln(a / e) over
the bins' shares. Below 0.10 the population is stable, 0.10–0.25 is worth watching, above 0.25 calls for
action (the usual thresholds; configurable).

An early warning (预警) marks an enterprise whose risk rose sharply since last month: its grade worsened
by two steps or more, its probability at least doubled, or it entered the worst grade. Each warning
carries what changed in its record: the indicators whose values moved towards more risk, in the words of
the catalog's reasons, both languages. The rules run as a query on the engine that graded the month
(`serving.comparisons.warned`); what changed is read for the warned enterprises only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from creditgrade.features import catalog

WATCH, ACT = 0.10, 0.25
FEW_VALUES = 12  # an indicator with at most this many distinct values gets a bin per value
FLOOR = 1e-4  # an empty bin counts as this share, so the index stays finite
WARNING_RULES = {
    "down2": ("grade worsened by two steps or more", "等级下降两级及以上"),
    "doubled": ("probability of a problem at least doubled", "问题概率翻倍及以上"),
    "worst": ("entered the worst grade", "进入最差等级"),
}


@dataclass(frozen=True)
class Distribution:
    """A column's values as an engine counts them (`GROUP BY value`): the distinct present values ascending,
    how many rows hold each, and how many are missing (null or NaN). Quantiles and bin shares computed from it
    equal those of the values themselves to the bit, so the month's comparisons need the counts only, not the
    city's rows."""

    values: np.ndarray  # float64, distinct, ascending
    counts: np.ndarray  # int64, each ≥ 1
    missing: int

    @classmethod
    def of(cls, values) -> Distribution:
        """The distribution of raw values."""
        v = np.asarray(values, dtype=float)
        present, counts = np.unique(v[~np.isnan(v)], return_counts=True)
        return cls(present, counts.astype(np.int64), int(np.isnan(v).sum()))

    @classmethod
    def counted(cls, values, counts) -> Distribution:
        """From an engine's (value, count) rows, in any order; null and NaN values are the missing ones."""
        v = np.asarray(values, dtype=float)  # None becomes NaN
        n = np.asarray(counts, dtype=np.int64)
        gone = np.isnan(v)
        present, where = np.unique(v[~gone], return_inverse=True)
        return cls(
            present, np.bincount(where, weights=n[~gone], minlength=len(present)).astype(np.int64), int(n[gone].sum())
        )

    @property
    def present(self) -> int:
        return int(self.counts.sum())

    @property
    def rows(self) -> int:
        return self.present + self.missing

    def quantile(self, q) -> np.ndarray:
        """`np.quantile` of the present values (its default, linear method), from the counts: the same
        virtual index, neighbours and interpolation, so the same bits."""
        q = np.asarray(q, dtype=float)
        n = self.present
        virtual = (n - 1) * q  # numpy's virtual index for its linear method
        lower = np.floor(virtual)
        upper = lower + 1
        top = virtual >= n - 1
        lower[top], upper[top] = n - 1, n - 1
        bottom = virtual < 0
        lower[bottom], upper[bottom] = 0, 0
        ends = np.cumsum(self.counts)  # the sorted position after each distinct value's last row
        a = self.values[np.searchsorted(ends, lower, side="right")]
        b = self.values[np.searchsorted(ends, upper, side="right")]
        t = virtual - np.floor(virtual)
        diff = b - a
        return np.where(t >= 0.5, b - diff * (1 - t), a + diff * t)  # numpy's _lerp

    def shares(self, cuts) -> np.ndarray:
        """Shares of all rows in each interval between `cuts` (value ≥ cut goes right), missing last."""
        where = np.searchsorted(np.asarray(cuts, dtype=float), self.values, side="right")
        counts = np.bincount(where, weights=self.counts, minlength=len(cuts) + 1)
        return np.append(counts, self.missing) / max(self.rows, 1)


@dataclass(frozen=True)
class Bins:
    """Bin edges fixed on a reference population, and the reference's share in each bin (missing last)."""

    cuts: tuple[float, ...]
    shares: tuple[float, ...]

    @classmethod
    def of(cls, values, bins: int = 10) -> Bins:
        return cls.of_distribution(values if isinstance(values, Distribution) else Distribution.of(values), bins)

    @classmethod
    def of_distribution(cls, d: Distribution, bins: int = 10) -> Bins:
        """Deciles of a column with many distinct values, midpoints between the values of one with few."""
        if len(d.values) <= FEW_VALUES:
            cuts = (d.values[:-1] + d.values[1:]) / 2
        else:
            cuts = np.unique(d.quantile(np.linspace(0, 1, bins + 1)[1:-1]))
        edges = tuple(float(c) for c in cuts)
        return cls(edges, tuple(float(s) for s in d.shares(edges)))

    def shares_of(self, values) -> np.ndarray:
        d = values if isinstance(values, Distribution) else Distribution.of(values)
        return d.shares(self.cuts)

    def stability(self, values) -> float:
        """The stability index of `values` (or their `Distribution`) against the population these bins were
        fixed on."""
        return stability_index(self.shares, self.shares_of(values))

    def to_dict(self) -> dict:
        return {"cuts": list(self.cuts), "shares": list(self.shares)}

    @classmethod
    def from_dict(cls, d: dict) -> Bins:
        return cls(tuple(d["cuts"]), tuple(d["shares"]))


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


def reference_bins(frame, columns) -> dict[str, Bins]:
    """Bins fixed on each column of `frame` (a frame, or each column's `Distribution`)."""
    return {c: Bins.of(frame[c]) for c in columns}


def drift(reference: dict[str, Bins], current, watch: float = WATCH, act: float = ACT) -> pd.DataFrame:
    """The stability index of every column of `reference` in `current` (a frame, or each column's
    `Distribution`), largest first, with its level and the missing share before and after (a feed that
    stopped often shows as missing values)."""
    rows = []
    for column, bins in reference.items():
        shares = bins.shares_of(current[column])
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


def changes(x_before: pd.DataFrame, x_after: pd.DataFrame, uscc: str, k: int = 5) -> list[dict]:
    """What changed for a warned enterprise: the indicators of `uscc` that moved towards more risk between
    `x_before` and `x_after` (indicator values indexed by USCC), in the catalog's words (at most k)."""
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
