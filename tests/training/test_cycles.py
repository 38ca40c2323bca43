"""The feedback loop on a small simulated city: every cycle plans, draws, decides outcomes, retrains."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from creditgrade.features.errors import CreditgradeError
from creditgrade.models.planning.plan import parse_plan
from creditgrade.training.cycles import CycleDates, calibration_error, simulate_cycles


def test_cycle_dates_are_the_month_ends_after_t0():
    d = CycleDates(2025, 3)
    assert [str(x) for x in d.grading] == ["2024-12-31", "2025-01-31", "2025-02-28"]
    assert [str(x) for x in d.panel] == [
        "2021-12-31",
        "2022-12-31",
        "2023-12-31",
        "2024-12-31",
        "2025-01-31",
        "2025-02-28",
    ]


def test_calibration_error_is_zero_only_for_calibrated_predictions():
    true = np.random.default_rng(0).random(10_000)
    assert calibration_error(true, true) == 0
    assert calibration_error(true * 0.5, true) == pytest.approx(true.mean() * 0.5, rel=1e-9)


@pytest.mark.slow
def test_two_cycles_run_weighted_and_unweighted_side_by_side(graded_city, tmp_path):
    plan = parse_plan({"plan_id": "cycle", "scheme": "shenzhen_fixed", "budget": 0.05, "floor": 0.01})
    report = simulate_cycles(graded_city.clean, graded_city.raw, tmp_path, months=2, plan=plan, seed="7")
    rows = report.cycles
    assert [(r["cycle"], r["run"]) for r in rows] == [
        (1, "weighted"),
        (1, "unweighted"),
        (2, "weighted"),
        (2, "unweighted"),
    ]
    for r in rows:
        assert r["per_1000"] == pytest.approx(1000 * r["problems_found"] / r["drawn"])
        assert 0 < r["calibration_error"] < 0.5 and 0 < r["mean_predicted"] < 1
        assert abs(r["drawn"] - 0.05 * report.enterprises_at_t0) < 0.2 * 0.05 * report.enterprises_at_t0
    by_cycle = {}
    for r in rows:  # the runs share the city, so the uniform draw's expectation and the truth agree
        by_cycle.setdefault(r["cycle"], set()).add((round(r["uniform_per_1000"], 9), round(r["mean_true"], 9)))
    assert all(len(v) == 1 for v in by_cycle.values())
    assert rows[-1]["inspections_so_far"] == rows[1]["drawn"] + rows[3]["drawn"]
    assert json.loads((tmp_path / "cycles.json").read_text())["cycles"] == rows
    assert (tmp_path / "cycles.png").stat().st_size > 10_000
    with pytest.raises(CreditgradeError, match="months must be between 1 and 12"):
        simulate_cycles(graded_city.clean, graded_city.raw, tmp_path, months=13)


def test_refits_fold_by_enterprise_and_start_from_the_last_cycles_fold_models():
    """A warm refit's fold-k model is the last cycle's fold-k model plus trees: that model learned only from rows
    outside fold k, because folds are by enterprise and a row keeps its fold as the rows grow."""
    from creditgrade.features import catalog
    from creditgrade.training.cycles import enterprise_folds, refit

    rng = np.random.default_rng(3)
    codes = np.array([f"91440300{k:09d}X" for k in range(900)])
    uscc = codes[rng.integers(0, len(codes), 3000)]  # enterprises inspected more than once, as in the loop
    x = pd.DataFrame(rng.normal(size=(3000, len(catalog.RISK_IDS))), columns=list(catalog.RISK_IDS))
    risk = 1 / (1 + np.exp(-(x["d3_penalties_12m"] - 1.5)))
    rows = x.assign(uscc=uscc, label=(rng.random(3000) < risk).astype(int), weight=rng.uniform(1, 50, 3000))
    folds = enterprise_folds(rows["uscc"], 5)
    assert (pd.Series(folds).groupby(uscc).nunique() == 1).all()  # an enterprise on one side of every fold
    assert (enterprise_folds(rows["uscc"][:1800], 5) == folds[:1800]).all()  # a row keeps its fold as rows grow
    first = refit(rows[:1800].reset_index(drop=True), weighted=True)
    second = refit(rows, weighted=True, previous=first)
    for before, after in zip(first.models, second.models):
        old = before.booster_.dump_model(num_iteration=before.booster_.best_iteration)["tree_info"]
        new = after.booster_.dump_model(num_iteration=after.booster_.best_iteration)["tree_info"]
        assert len(new) >= len(old) and new[: len(old)] == old  # the same trees first, then the cycle's
    assert 0 < second.predict_proba(x).mean() < 1
