"""Probability of a problem → a 0–1000 credit score, higher = lower risk (Shenzhen's convention).

Odds scaling, as scorecards do it: the score moves by `pdo` points each time the odds of *no*
problem double, and `ref_score` points stand for `ref_odds` (no problem : problem).

A `Scale` is fitted to a city (`Scale.fit`): its two free numbers are chosen so that the city's scores fall
into a published scheme's fixed bands with the published shares (Shenzhen's bands 751/671/601/555 with the
shares of Pingshan's 2024 run), so the whole city sits inside 0–1000 instead of piling up at an end. The
scale keeps the unclipped score (`raw`) for ordering and for fitting cut-points — distinct probabilities
always give distinct raw scores, so nothing ties at 1000 — and publishes `score`: rounded to 0.1 and held
within 0–1000. Grades come from the published score; cut-points always lie inside 0–1000, so an enterprise
whose raw score is beyond an end is in the best (or worst scored) grade either way.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

SCORE_MIN, SCORE_MAX = 0.0, 1000.0
EPS = 1e-12
TINY = 1e-300  # probabilities below this are treated as this (log-odds about 690)


def _check(pdo: float, ref_score: float, ref_odds: float) -> None:
    if not (isinstance(pdo, (int, float)) and np.isfinite(pdo) and pdo > 0):
        raise ValueError(f"pdo must be a positive number; got {pdo!r}.")
    if not (isinstance(ref_odds, (int, float)) and np.isfinite(ref_odds) and ref_odds > 0):
        raise ValueError(f"ref_odds must be a positive number; got {ref_odds!r}.")
    if not (isinstance(ref_score, (int, float)) and np.isfinite(ref_score)):
        raise ValueError(f"ref_score must be a number; got {ref_score!r}.")


def probability_to_score(p, *, pdo: float = 60.0, ref_score: float = 650.0, ref_odds: float = 4.0) -> np.ndarray:
    """Score for a probability of a problem, clipped to [0, 1000].

    Worked example: with 650 points at odds 4:1 (p = 0.2) and 60 points to double the odds,
    odds 8:1 (p = 1/9) score 710 and odds 2:1 (p = 1/3) score 590.

    >>> float(probability_to_score(0.2, pdo=60, ref_score=650, ref_odds=4))
    650.0
    >>> round(float(probability_to_score(1 / 9, pdo=60, ref_score=650, ref_odds=4)), 6)
    710.0
    """
    _check(pdo, ref_score, ref_odds)
    p = np.clip(np.asarray(p, dtype=float), EPS, 1 - EPS)
    if np.isnan(p).any():
        raise ValueError("probabilities must not be missing")
    odds = (1 - p) / p
    return np.clip(ref_score + pdo * np.log2(odds / ref_odds), SCORE_MIN, SCORE_MAX)


def score_to_probability(score, *, pdo: float = 60.0, ref_score: float = 650.0, ref_odds: float = 4.0) -> np.ndarray:
    """The inverse of `probability_to_score` (inside the clipping range)."""
    _check(pdo, ref_score, ref_odds)
    odds = ref_odds * np.exp2((np.asarray(score, dtype=float) - ref_score) / pdo)
    return 1 / (1 + odds)


@dataclass(frozen=True)
class Scale:
    """The odds scaling of a fitted model: data that round-trips through `to_dict`/`from_dict`.

    >>> s = Scale(pdo=60, ref_score=650, ref_odds=4)
    >>> float(s.score(0.2)), float(s.score(1 / 9)), float(s.raw(1e-6)) > 1000, float(s.score(1e-6))
    (650.0, 710.0, True, 1000.0)
    """

    pdo: float = 60.0
    ref_score: float = 650.0
    ref_odds: float = 4.0

    def __post_init__(self) -> None:
        _check(self.pdo, self.ref_score, self.ref_odds)

    def raw(self, p) -> np.ndarray:
        """The unclipped score: for ordering and for fitting cut-points (never ties distinct probabilities)."""
        p = np.asarray(p, dtype=float)
        if np.isnan(p).any():
            raise ValueError("probabilities must not be missing")
        p = np.clip(p, TINY, 1 - EPS)
        return self.ref_score + self.pdo * ((np.log1p(-p) - np.log(p)) / math.log(2) - math.log2(self.ref_odds))

    def score(self, p) -> np.ndarray:
        """The published score: rounded to 0.1, within 0–1000."""
        return np.clip(np.round(self.raw(p), 1), SCORE_MIN, SCORE_MAX)

    def points_per_logodds(self, calibration_a: float) -> float:
        """Score points per unit of the trees' log-odds: −pdo/ln 2 · a (negative: more risk, fewer points)."""
        return -self.pdo / math.log(2) * calibration_a

    def base(self, expected: float, calibration_a: float, calibration_b: float) -> float:
        """The score of an enterprise whose contributions are all zero: base + Σ points = the raw score."""
        return self.ref_score - self.pdo / math.log(2) * (
            calibration_a * expected + calibration_b + math.log(self.ref_odds)
        )

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict | None) -> Scale:
        return cls(**d) if d else cls()

    @classmethod
    def fit(cls, p, weights, cuts, shares, *, ref_odds: float = 4.0) -> Scale:
        """The scale under which these enterprises' scores fall into the bands `cuts` (descending score
        cut-points) with shares as near the `shares` (best grade first) as a straight line in log-odds allows:
        it starts from the least-squares line through the points (the weighted quantile of log-odds that leaves
        the share above cut k, cut k) and then minimises Σ (share − target)² / target (Nelder–Mead). A straight
        line keeps every explanation exact (points add up to the score); the bands' shares come out of the
        shape of the city, so they are reported beside the targets, not assumed.

        >>> p = 1 / (1 + np.exp(np.random.default_rng(0).normal(1.5, 1.0, 20_000)))
        >>> s = Scale.fit(p, np.ones_like(p), (751, 671, 601, 555), (0.006, 0.064, 0.696, 0.23, 0.004))
        >>> shares = band_shares(s.score(p), np.ones_like(p), (751, 671, 601, 555))
        >>> int(np.argmax(shares)), bool(shares[0] < 0.05 and shares[-1] < 0.05)
        (2, True)
        """
        p = np.clip(np.asarray(p, dtype=float), EPS, 1 - EPS)
        w = np.asarray(weights, dtype=float)
        cuts, shares = np.asarray(cuts, dtype=float), np.asarray(shares, dtype=float)
        if len(shares) != len(cuts) + 1 or not np.isclose(shares.sum(), 1.0) or (shares <= 0).any():
            raise ValueError(f"{len(cuts)} cut-points need {len(cuts) + 1} positive shares summing to 1")
        logodds = np.log((1 - p) / p)  # of no problem: higher is safer, as the score is
        order = np.argsort(logodds, kind="stable")
        cum = np.cumsum(w[order]) / w.sum()
        at = logodds[order][np.minimum(np.searchsorted(cum, 1 - np.cumsum(shares)[:-1]), len(p) - 1)]
        lo, mid, hi = logodds[order][np.minimum(np.searchsorted(cum, [0.005, 0.5, 0.995]), len(p) - 1)]
        slope = 0.0
        if np.ptp(at) > 0:
            slope = float(np.sum((at - at.mean()) * (cuts - cuts.mean())) / np.sum((at - at.mean()) ** 2))
            intercept = float(cuts.mean() - slope * at.mean())
        if slope > 0:
            from scipy.optimize import minimize

            def loss(theta: np.ndarray) -> float:
                got = band_shares(theta[0] + np.exp(theta[1]) * logodds, w, cuts)
                return float(np.sum((got - shares) ** 2 / shares))

            best = minimize(
                loss,
                np.array([intercept, math.log(slope)]),
                method="Nelder-Mead",
                options={"xatol": 1e-3, "fatol": 1e-9, "maxiter": 400},
            )
            intercept, slope = float(best.x[0]), float(np.exp(best.x[1]))
        else:
            # Most enterprises share one probability (the quantiles coincide) or the order runs backwards:
            # the default points per log-odds, the typical enterprise in the middle of the commonest band.
            slope = Scale(ref_odds=ref_odds).pdo / math.log(2)
            edges = np.concatenate([[SCORE_MAX], cuts, [SCORE_MIN]])
            k = int(np.argmax(shares))
            intercept = float((edges[k] + edges[k + 1]) / 2 - slope * mid)
        # Keep the city inside the published range: the 0.5th to 99.5th percentile of log-odds (the extremes
        # when as many as that share one value) maps within 5–995, pivoting about the median, so no more than
        # a sliver can sit at an end.
        hi = hi if hi > mid else logodds.max()
        lo = lo if lo < mid else logodds.min()
        centre = float(np.clip(intercept + slope * mid, SCORE_MIN + 50, SCORE_MAX - 50))
        if hi > mid:
            slope = min(slope, (SCORE_MAX - 5 - centre) / (hi - mid))
        if mid > lo:
            slope = min(slope, (centre - SCORE_MIN - 5) / (mid - lo))
        intercept = centre - slope * mid
        return cls(pdo=slope * math.log(2), ref_score=intercept + slope * math.log(ref_odds), ref_odds=ref_odds)


def band_shares(scores, weights, cuts) -> np.ndarray:
    """The weighted share of scores in each band of descending `cuts` (best band first)."""
    scores, w = np.asarray(scores, dtype=float), np.asarray(weights, dtype=float)
    band = np.searchsorted(-np.asarray(cuts, dtype=float), -scores, side="left")  # as score_to_grade
    return np.bincount(band, weights=w, minlength=len(cuts) + 1) / w.sum()
