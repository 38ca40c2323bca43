"""Stability indices and early warnings: a broken feed shows as drift, a sharp rise in risk as a warning."""

from __future__ import annotations

import numpy as np
import pandas as pd

from creditgrade.models import monitoring as M


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


def test_quantiles_and_shares_from_counts_equal_those_of_the_values_to_the_bit():
    """The engine sends (value, count) rows, not the city: the deciles, shares and bins computed from them must
    be exactly numpy's on the values themselves, ties, missing values and few-valued columns included."""
    rng = np.random.default_rng(7)
    qs = np.linspace(0, 1, 11)[1:-1]
    for trial in range(400):
        n = int(rng.integers(1, 400))
        v = [rng.normal(size=n), rng.integers(0, 30, n).astype(float), np.round(rng.gamma(1, 2, n), 1)][trial % 3]
        v[rng.random(n) < 0.1] = np.nan
        d = M.Distribution.of(v)
        present = v[~np.isnan(v)]
        if len(present):
            assert np.array_equal(d.quantile(qs), np.quantile(present, qs))
        shuffled = rng.permutation(len(d.values))  # an engine's rows come in any order, missing as null or NaN
        counted = M.Distribution.counted(
            [*d.values[shuffled], None, np.nan], [*d.counts[shuffled], d.missing - d.missing // 2, d.missing // 2]
        )
        assert np.array_equal(counted.values, d.values) and np.array_equal(counted.counts, d.counts)
        assert counted.missing == d.missing == int(np.isnan(v).sum())
        bins = M.Bins.of(counted)
        cuts = np.asarray(bins.cuts)
        counts = np.bincount(np.searchsorted(cuts, present, side="right"), minlength=len(cuts) + 1)
        assert bins.shares == tuple(np.append(counts, np.isnan(v).sum()) / n)
