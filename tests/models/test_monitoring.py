"""Stability indices and early warnings: a broken feed shows as drift, a sharp rise in risk as a warning."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from creditgrade.models import monitoring as M
from creditgrade.models.grades import SHENZHEN


def test_the_same_population_is_stable_and_a_shifted_one_calls_for_action():
    rng = np.random.default_rng(0)
    before = rng.gamma(2.0, 3.0, 20_000)
    bins = M.Bins.of(before)
    assert len(bins.shares) == len(bins.cuts) + 2  # the intervals and one for missing values
    assert M.stability_index(bins.shares, bins.shares_of(rng.gamma(2.0, 3.0, 20_000))) < 0.01
    assert M.stability_index(bins.shares, bins.shares_of(before * 1.6)) > M.ACT
    assert M.level(0.05) == "stable" and M.level(0.12) == "watch" and M.level(0.3) == "act"
    assert M.level(0.12, watch=0.2) == "stable"
    assert M.Bins.from_dict(bins.to_dict()) == bins


def test_a_feed_that_stops_shows_as_drift_in_its_indicators_only():
    rng = np.random.default_rng(1)
    n = 10_000
    before = pd.DataFrame(
        {
            "d3_penalties_12m": rng.poisson(0.3, n).astype(float),
            "d3_abnormal_current": (rng.random(n) < 0.1).astype(float),
            "d1_employees": np.where(rng.random(n) < 0.2, np.nan, rng.lognormal(2, 1, n)),
        }
    )
    after = before.copy()
    after["d3_penalties_12m"] = 0.0  # the enforcement departments stopped sending penalties
    after.loc[: n // 2, "d1_employees"] = np.nan  # half the annual reports did not arrive
    drift = M.drift(M.reference_bins(before, before.columns), after).set_index("column")
    assert drift.loc["d3_penalties_12m", "level"] == "act"
    assert drift.loc["d1_employees", "level"] == "act"
    assert drift.loc["d1_employees", "missing_after"] > drift.loc["d1_employees", "missing_before"] + 0.3
    assert drift.loc["d3_abnormal_current", "level"] == "stable"
    # The same population against itself: nothing moves.
    assert (M.drift(M.reference_bins(before, before.columns), before)["index"] == 0).all()


def _graded(rows):
    return pd.DataFrame(rows, columns=["uscc", "register_status", "probability", "grade_shenzhen"])


def test_early_warnings_follow_the_three_rules_and_say_what_changed():
    before = _graded(
        [
            ("a", "active", 0.10, "B"),  # → D: two steps down and into the worst scored grade
            ("b", "active", 0.05, "A"),  # probability doubles, grade stays
            ("c", "active", 0.30, "C"),  # → D: into the worst scored grade
            ("d", "active", 0.20, "B"),  # unchanged
            ("e", "active", 0.20, "B"),  # closed since: not operating, no warning
            ("f", "active", 0.40, "C"),  # better now
        ]
    )
    after = _graded(
        [
            ("a", "active", 0.70, "D"),
            ("b", "active", 0.11, "A"),
            ("c", "active", 0.45, "D"),
            ("d", "active", 0.21, "B"),
            ("e", "revoked", 0.90, "E"),
            ("f", "active", 0.10, "B"),
            ("g", "active", 0.90, "D"),  # new this month: nothing to compare with
        ]
    )
    cols = ["d3_penalties_12m", "d3_abnormal_days_current", "d5_awards_36m"]
    x_before = pd.DataFrame([[0, 0, 1], [0, 0, 0], [1, 40, 0], [0, 0, 0], [0, 0, 0], [2, 0, 0]], columns=cols)
    x_after = pd.DataFrame([[2, 0, 0], [0, 0, 0], [1, 70, 0], [0, 0, 0], [0, 0, 0], [0, 0, 0], [3, 0, 0]], columns=cols)
    x_before.index = list("abcdef")
    x_after.index = list("abcdefg")
    warned = M.early_warnings(before, after, x_before, x_after, SHENZHEN).set_index("uscc")
    assert list(warned.index) == ["a", "c", "b"]  # ordered by the rise in probability
    assert warned.loc["a", "rules"] == ["down2", "doubled", "worst"]
    assert warned.loc["b", "rules"] == ["doubled"]
    assert warned.loc["c", "rules"] == ["worst"]
    changed = {c["indicator"]: c for c in warned.loc["a", "changes"]}
    assert set(changed) == {"d3_penalties_12m", "d5_awards_36m"}  # more penalties, an award no longer counted
    assert changed["d3_penalties_12m"]["en"] == "2 administrative penalties in the last 12 months"
    assert changed["d3_penalties_12m"]["zh"] and changed["d3_penalties_12m"]["before"] == 0
    # Thirty more days on the same abnormal-list entry is not a new record.
    assert warned.loc["c", "changes"] == []


@pytest.mark.parametrize("grade", ["D", "E"])
def test_entering_the_worst_grade_counts_once(grade):
    before = _graded([("a", "active", 0.5, grade)])
    after = _graded([("a", "active", 0.6, grade)])
    empty = pd.DataFrame()
    assert M.early_warnings(before, after, empty, empty, SHENZHEN).empty
