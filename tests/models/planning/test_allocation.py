"""Inclusion probabilities of a spot-check plan: bounds, budget, optimality, refusals."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from creditgrade.models.planning.allocation import AllocationError, allocate


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(5, 60),
    groups=st.integers(1, 4),
    seed=st.integers(0, 10_000),
    floor=st.floats(0.0, 0.1),
    share=st.floats(0.15, 0.6),
)
def test_probabilities_lie_in_floor_to_one_and_sum_to_the_budget(n, groups, seed, floor, share):
    rng = np.random.default_rng(seed)
    p, g = rng.random(n), rng.integers(0, groups, n)
    g[:groups] = np.arange(groups)
    budget = max(share * n, floor * n)
    a = allocate(p, g, budget, floor=floor)
    assert (a.probability >= floor - 1e-12).all() and (a.probability <= 1 + 1e-12).all()
    assert a.probability.sum() == pytest.approx(budget, rel=1e-9)
    assert a.expected_problems >= a.uniform_problems - 1e-9


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_the_fill_is_the_linear_programme_optimum(seed):
    rng = np.random.default_rng(seed)
    n, groups = 30, 3
    p, g = rng.random(n), np.arange(n) % groups
    low, high = np.array([0.05, 0.2, 0.0]), np.array([0.3, 0.9, 0.5])
    floor, budget = 0.05, 10.0
    a = allocate(p, g, budget, floor=floor, low=low, high=high)
    size = np.bincount(g, minlength=groups)
    rows = np.array([(g == k).astype(float) for k in range(groups)])
    lp = linprog(
        -p,
        A_ub=np.vstack([rows, -rows]),
        b_ub=np.concatenate([high * size, -np.maximum(low, floor) * size]),
        A_eq=np.ones((1, n)),
        b_eq=[budget],
        bounds=[(floor, 1.0)] * n,
        method="highs",
    )
    assert lp.success and a.expected_problems == pytest.approx(-lp.fun, rel=1e-9)
    ratio = np.bincount(g, weights=a.probability, minlength=groups) / size
    assert (ratio >= np.maximum(low, floor) - 1e-9).all() and (ratio <= high + 1e-9).all()


def test_ineligible_enterprises_are_never_drawn_and_risk_pays():
    rng = np.random.default_rng(0)
    p = rng.beta(1, 4, 10_000)
    eligible = rng.random(10_000) > 0.1
    a = allocate(p, np.zeros(10_000, int), 300, floor=0.005, eligible=eligible)
    assert (a.probability[~eligible] == 0).all() and a.ratio > 2


@pytest.mark.parametrize(
    "kwargs, says",
    [
        ({"budget": 1.0, "floor": 0.5}, "below what the floor"),
        ({"budget": 9.0, "high": [0.5, 0.5]}, "exceeds what the grades' maximum"),
        ({"budget": 2.0, "floor": 1.5}, "floor must lie in [0, 1]"),
        ({"budget": 2.0, "low": [0.6, 0.0], "high": [0.5, 1.0]}, "lower ratio 0.6 above upper ratio 0.5"),
    ],
)
def test_impossible_plans_are_refused(kwargs, says):
    budget = kwargs.pop("budget")
    with pytest.raises(AllocationError, match=says.replace("[", r"\[").replace("]", r"\]")):
        allocate([0.1, 0.2, 0.3, 0.4], [0, 0, 1, 1], budget, **kwargs)
