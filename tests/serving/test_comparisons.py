"""The month's comparisons as queries on the engine: the counts they return give the figures the rows
themselves give, and the early-warning rules hit whom they should."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pytest

from creditgrade.models import monitoring as M
from creditgrade.models.evaluation import psi
from creditgrade.models.grades import SHENZHEN
from creditgrade.serving import comparisons


def _month(graded: pd.DataFrame, x: pd.DataFrame | None = None) -> comparisons.Month:
    return comparisons.Month(ibis.memtable(graded), None if x is None else ibis.memtable(x.reset_index()))


def _graded(rows):
    return pd.DataFrame(rows, columns=["uscc", "register_status", "probability", "grade_shenzhen"])


def _city(rng, n: int, prefix: str = "") -> tuple[pd.DataFrame, pd.DataFrame]:
    uscc = [f"{prefix}{i:06d}" for i in range(n)]
    score = np.round(rng.normal(650, 90, n), 1)
    graded = pd.DataFrame(
        {
            "uscc": uscc,
            "register_status": np.where(rng.random(n) < 0.85, "active", "revoked"),
            "probability": rng.random(n) / 2,
            "score": score,
            "grade_shenzhen": rng.choice(list(SHENZHEN.grades), n),
        }
    )
    x = pd.DataFrame(
        {
            "d3_penalties_12m": rng.poisson(0.4, n).astype(float),
            "d1_employees": np.where(rng.random(n) < 0.2, np.nan, rng.lognormal(2, 1, n)),
        },
        index=pd.Index(uscc, name="uscc"),
    )
    return graded, x


def test_distributions_counted_on_the_engine_give_the_drift_and_psi_of_the_rows():
    rng = np.random.default_rng(3)
    graded, x = _city(rng, 5_000)
    month = _month(graded, x)
    live = graded.register_status == "active"
    columns = list(x.columns)
    counted = comparisons.distributions(month, columns)
    x_live = x.loc[graded.uscc[live]]
    assert M.reference_bins(counted, columns) == M.reference_bins(x_live, columns)
    later = x_live.assign(d3_penalties_12m=x_live.d3_penalties_12m + 1)
    pd.testing.assert_frame_equal(
        M.drift(M.reference_bins(counted, columns), later), M.drift(M.reference_bins(x_live, columns), later)
    )
    scores = comparisons.scores(month)
    assert scores["all"].rows == len(graded) and scores["operating"].rows == int(live.sum())
    assert M.Bins.of(scores["operating"]) == M.Bins.of(graded.score[live])
    other = graded.score + rng.normal(0, 30, len(graded))
    assert M.Bins.of(scores["all"]).stability(other) == M.Bins.of(graded.score).stability(other)
    assert comparisons.grade_counts(month, "grade_shenzhen") == graded.grade_shenzhen[live].value_counts().to_dict()


def test_migration_counted_on_the_engine_is_the_crosstab_of_the_two_months():
    rng = np.random.default_rng(4)
    before, _ = _city(rng, 3_000)
    after, _ = _city(rng, 3_000)
    after = after.iloc[200:].assign(uscc=lambda f: f.uscc.where(f.index < 2_800, "N" + f.uscc))  # left and new
    moved = comparisons.migration(_month(before), _month(after))
    both = before.merge(after, on="uscc", how="outer", suffixes=("_b", "_a"))
    was, now = both.grade_shenzhen_b.fillna("new"), both.grade_shenzhen_a.fillna("gone")
    expected = pd.crosstab(was, now)
    assert moved["matrix"] == {r: {c: int(v) for c, v in row.items() if v} for r, row in expected.iterrows()}
    assert list(moved["matrix"]) == list(expected.index)
    assert moved["entered"] == 200 and moved["left"] == 400
    assert moved["moved"] == int(((was != now) & (was != "new") & (now != "gone")).sum())
    assert moved["psi_score"] == psi(before.score, after.score)


def _warnings(before, after, x_before, x_after) -> pd.DataFrame:
    """The month's early warnings as `serving.month` builds them: the rules on the engine, what changed read for
    the warned enterprises only."""
    warned = comparisons.warned(_month(before, x_before), _month(after, x_after), SHENZHEN)
    columns = list(x_after.columns)
    was = comparisons.rows_of(ibis.memtable(x_before.reset_index()), warned.uscc, columns)
    now = comparisons.rows_of(ibis.memtable(x_after.reset_index()), warned.uscc, columns)
    return warned.assign(changes=[M.changes(was, now, u) for u in warned.uscc])


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
    x_before.index = pd.Index(list("abcdef"), name="uscc")
    x_after.index = pd.Index(list("abcdefg"), name="uscc")
    warned = _warnings(before, after, x_before.astype(float), x_after.astype(float)).set_index("uscc")
    assert list(warned.index) == ["a", "c", "b"]  # ordered by the rise in probability
    assert warned.loc["a", "rules"] == ["down2", "doubled", "worst"]
    assert warned.loc["b", "rules"] == ["doubled"]
    assert warned.loc["c", "rules"] == ["worst"]
    assert warned.loc["a", "grade_shenzhen_before"] == "B" and warned.loc["a", "probability_after"] == 0.70
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
    assert comparisons.warned(_month(before), _month(after), SHENZHEN).empty
