"""Inclusion probabilities from a plan, and the public draw: bounds, budget, refusals, reproducibility."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from creditgrade.models.planning.draw import commitment, inclusion_probabilities, systematic, uniforms
from creditgrade.models.planning.plan import PlanError, parse_plan

GRADES = np.array(["A+", "A", "B", "C", "D", "E"])


def city(n: int, seed: int, strata: int = 1, closed: float = 0.1):
    rng = np.random.default_rng(seed)
    p = rng.beta(1, 3, n)
    grade = GRADES[np.clip((p * 6).astype(int), 0, 5)]
    stratum = np.array([f"s{k}" for k in rng.integers(0, strata, n)])
    reason = np.where(rng.random(n) < closed, "not operating", None).astype(object)
    return grade, p, stratum, reason


@settings(max_examples=50, deadline=None)
@given(
    n=st.integers(200, 2000),
    seed=st.integers(0, 10_000),
    strata=st.integers(1, 4),
    floor=st.sampled_from([0.0, 0.005, 0.02]),
    budget=st.floats(0.03, 0.3),
)
def test_probabilities_lie_in_floor_to_one_and_sum_to_the_budget(n, seed, strata, floor, budget):
    grade, p, stratum, reason = city(n, seed, strata)
    active = int(np.sum([r is None for r in reason]))
    pr = inclusion_probabilities(
        parse_plan({"plan_id": "t", "budget": budget, "floor": floor}), grade, p, stratum, reason
    )
    eligible = np.array([r is None for r in reason])
    assert (pr.pi[eligible] >= floor - 1e-12).all() and (pr.pi <= 1 + 1e-12).all()
    assert (pr.pi[~eligible] == 0).all()
    planned = int(np.ceil(budget * active - 1e-9))
    assert planned - 1e-6 <= pr.pi.sum() <= planned + strata + 1e-6  # rounded up; a stratum's floor may add one
    assert pr.expected_problems >= pr.uniform_problems - 1e-9
    for s in np.unique(stratum[eligible]):  # each stratum: its share of the budget, a whole number
        members = stratum == s
        whole = pr.pi[members].sum()
        assert abs(whole - round(whole)) < 1e-6 and abs(whole - budget * (members & eligible).sum()) <= 1 + 1e-9


def test_per_grade_bounds_and_the_best_grade_left_to_complaints():
    grade, p, stratum, reason = city(3000, 1)
    plan = parse_plan(
        {
            "plan_id": "t",
            "budget": 0.05,
            "floor": 0.01,
            "best_grade": "complaints_only",
            "grades": {"B": {"min": 0.04, "max": 0.06}},
        }
    )
    pr = inclusion_probabilities(plan, grade, p, stratum, reason)
    best = grade == "A+"
    assert (pr.pi[best] == 0).all()
    assert all("complaint" in r for r in reason[best & (reason != "not operating")])
    b = next(g for g in pr.per_grade if g["grade"] == "B")
    assert 0.04 - 1e-9 <= b["sampling_ratio"] <= 0.06 + 1e-9
    assert pr.pi[~best & (reason == None)].min() >= 0.01 - 1e-12  # noqa: E711


def test_fixed_ratios_give_each_grade_its_ratio():
    grade, p, stratum, reason = city(2000, 2)
    ratios = {"A+": 0.01, "A": 0.02, "B": 0.05, "C": 0.2, "D": 0.6, "E": 1.0}
    pr = inclusion_probabilities(
        parse_plan({"plan_id": "t", "ratios": ratios, "floor": 0.01}), grade, p, stratum, reason
    )
    eligible = np.array([r is None for r in reason])
    stated = np.array([ratios[g] for g in grade[eligible]])
    assert (pr.pi[eligible] >= stated - 1e-12).all()  # ratios are a floor: raised by less than one inspection
    assert pr.pi.sum() - stated.sum() < 1 and abs(pr.pi.sum() - round(pr.pi.sum())) < 1e-6
    with pytest.raises(PlanError, match="below the floor"):
        inclusion_probabilities(
            parse_plan({"plan_id": "t", "ratios": {**ratios, "A+": 0.001}, "floor": 0.005}),
            grade,
            p,
            stratum,
            reason.copy(),
        )


@pytest.mark.parametrize(
    "plan, words",
    [
        ({"budget": 0.03, "floor": 0.05}, "below what the floor"),
        ({"budget_count": 10, "floor": 0.0}, "below the legal minimum"),
        ({"budget": 0.03, "grades": {"C": {"min": 0.9}}}, "below what the floor and the grades' minimum"),
    ],
)
def test_impossible_budgets_are_refused(plan, words):
    grade, p, stratum, reason = city(2000, 3)
    with pytest.raises(PlanError, match=words):
        inclusion_probabilities(parse_plan({"plan_id": "t", **plan}), grade, p, stratum, reason)


def test_a_stratum_with_nobody_to_draw_is_refused():
    grade, p, stratum, reason = city(500, 4, strata=2, closed=0.0)
    reason[stratum == "s1"] = "inspected within 12 months"  # on the register, but every one excluded
    with pytest.raises(PlanError, match="stratum 's1' has no eligible enterprise"):
        inclusion_probabilities(
            parse_plan({"plan_id": "t", "budget": 0.03}), grade, p, stratum, reason, active=np.ones(500, bool)
        )


def test_unknown_grades_in_the_table_are_refused():
    grade, p, stratum, reason = city(100, 5)
    grade = grade.astype(object)
    grade[0] = "AAA"
    with pytest.raises(PlanError, match="AAA"):
        inclusion_probabilities(parse_plan({"plan_id": "t", "budget": 0.05}), grade, p, stratum, reason)


def test_the_draw_values_are_fixed_by_seed_and_inputs_and_uniform():
    codes = [f"91440300{i:010d}" for i in range(20_000)]
    u = uniforms(codes, "2026-03-01 lottery 4 17 23", "inputs")
    assert np.array_equal(u, uniforms(codes, "2026-03-01 lottery 4 17 23", "inputs"))
    assert not np.array_equal(u, uniforms(codes, "2026-03-01 lottery 4 17 24", "inputs"))
    assert not np.array_equal(u, uniforms(codes, "2026-03-01 lottery 4 17 23", "other inputs"))
    assert (u >= 0).all() and (u < 1).all()
    counts = np.histogram(u, bins=10, range=(0, 1))[0]
    assert np.abs(counts - 2000).max() < 5 * np.sqrt(2000)  # ≈ 5 standard deviations
    assert commitment("a", "b") != commitment("a", "c") != commitment("b", "b")


def test_every_draw_has_exactly_the_planned_size_and_meets_the_legal_floor():
    grade, p, stratum, reason = city(4000, 3, strata=3)
    active = int(np.sum([r is None for r in reason]))
    for plan in (
        {"plan_id": "t", "budget": 0.03},
        {"plan_id": "t", "budget": 0.031, "strata": "district"},
        {
            "plan_id": "t",
            "scheme": "shenzhen",
            "floor": 0.0,
            "ratios": {"A+": 0.02, "A": 0.03, "B": 0.05, "C": 0.1, "D": 0.3, "E": 0.6},
        },
    ):
        pr = inclusion_probabilities(parse_plan(plan), grade, p, stratum, reason.copy())
        size = round(pr.pi.sum())
        assert size >= np.ceil(0.03 * active) and pr.size_sd == 0
        for seed in ("a", "b", "c"):
            rows, points = systematic([f"E{k:05d}" for k in range(len(p))], pr.pi, stratum, seed, "inputs")
            assert len(rows) == size and len(set(rows.tolist())) == size and (pr.pi[rows] > 0).all()


def test_realised_inclusion_frequencies_match_the_stated_probabilities():
    """Monte Carlo over 3,000 public seeds: each enterprise is drawn as often as its π says (binomial bounds),
    in two strata with unequal π, and the size never varies."""
    rng = np.random.default_rng(7)
    n = 240
    pi = rng.choice([0.02, 0.1, 0.35, 0.8, 1.0], n)
    stratum = np.where(np.arange(n) < 120, "s1", "s2")
    for s in ("s1", "s2"):  # make each stratum's sum whole, as the plan does
        m = stratum == s
        room = np.flatnonzero(m & (pi <= 0.5))[0]
        pi[room] += np.ceil(pi[m].sum()) - pi[m].sum()
    codes = [f"E{k:05d}" for k in range(n)]
    runs = 3000
    counts = np.zeros(n)
    for r in range(runs):
        rows, _ = systematic(codes, pi, stratum, f"seed {r}", "inputs")
        assert len(rows) == round(pi.sum())
        counts[rows] += 1
    freq = counts / runs
    se = np.sqrt(pi * (1 - pi) / runs)
    assert (np.abs(freq - pi) <= 4.5 * se + 1e-9).all(), np.abs(freq - pi).max()
    assert abs((np.abs(freq - pi) / np.maximum(se, 1e-9))[pi < 1].mean() - 0.8) < 0.3  # |z| averages √(2/π)
