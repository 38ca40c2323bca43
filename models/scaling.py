"""Probability of a problem → a 0–1000 credit score, higher = lower risk (Shenzhen's convention).

Odds scaling, as scorecards do it: the score moves by `pdo` points each time the odds of *no*
problem double, and `ref_score` points stand for `ref_odds` (no problem : problem).
"""

from __future__ import annotations

import numpy as np

SCORE_MIN, SCORE_MAX = 0.0, 1000.0
EPS = 1e-12


def _check(pdo: float, ref_score: float, ref_odds: float) -> None:
    if not (isinstance(pdo, (int, float)) and np.isfinite(pdo) and pdo > 0):
        raise ValueError(f"pdo must be a positive number; got {pdo!r}.")
    if not (isinstance(ref_odds, (int, float)) and np.isfinite(ref_odds) and ref_odds > 0):
        raise ValueError(f"ref_odds must be a positive number; got {ref_odds!r}.")
    if not (isinstance(ref_score, (int, float)) and SCORE_MIN <= ref_score <= SCORE_MAX):
        raise ValueError(f"ref_score must lie in [{SCORE_MIN:g}, {SCORE_MAX:g}]; got {ref_score!r}.")


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
