"""Equal treatment on the simulated city: a miscalibration planted in one group is found, by the model report's
calibration per group and by the month's inspection index, and nowhere else."""

from __future__ import annotations

import copy
import datetime as dt

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from creditgrade.models import equity
from creditgrade.serving.batch import GRADED
from creditgrade.serving.equity import month_treatment
from creditgrade.training.train import load_checks, train

KEEP = 0.25  # in the planted group, a quarter of the problems found in the test year are kept


@pytest.fixture(scope="module")
def runs(graded_city):
    """The model trained twice on the same city, once with the test year's findings planted: in the industry
    with the most test inspections, three problems in four found that year recorded as none. Fitting and
    tuning rows are the same, so the same model; only the test figures can tell the difference."""
    test_day = graded_city.days[1]
    checks = load_checks(graded_city.clean)
    register = pq.read_table(graded_city.clean / "enterprises.parquet", columns=["uscc", "industry_section"])
    register = register.to_pandas()
    dates = pd.to_datetime(checks["check_date"])
    window = (dates > pd.Timestamp(test_day)) & (dates <= pd.Timestamp(test_day) + pd.Timedelta(days=365))
    industry = checks.merge(register, on="uscc", how="left")["industry_section"].to_numpy()
    group = pd.Series(industry[window.to_numpy()]).value_counts().index[0]
    hit = np.flatnonzero(window.to_numpy() & (industry == group) & checks["problem_found"].to_numpy(bool))
    rng = np.random.default_rng(17)
    erased = rng.choice(hit, size=int(round(len(hit) * (1 - KEEP))), replace=False)
    planted = checks.copy()
    planted.loc[planted.index[erased], "problem_found"] = False
    clean = train(graded_city.features, graded_city.clean, test_day, register=False, checks=checks)
    dirty = train(graded_city.features, graded_city.clean, test_day, register=False, checks=planted)
    return group, clean, dirty


def _rows(result) -> dict:
    return {(r["grouping"], r["group"]): r for r in result.equal_treatment["groups"]}


def test_the_planted_group_is_found_and_nothing_else_moves(runs):
    group, clean, dirty = runs
    before, after = _rows(clean), _rows(dirty)
    found = after[("industry", group)]
    assert found["inspections"] >= equity.MIN_INSPECTIONS
    assert found["flag"] == "overstated", found  # the model, unaware, predicts four times the problems found
    assert before[("industry", group)]["flag"] is None, before[("industry", group)]
    assert found["observed"] < before[("industry", group)]["observed"]
    assert found["predicted"] == pytest.approx(before[("industry", group)]["predicted"])  # the same model
    untouched = [k for k in before if "industry" not in k[0]] + [
        k for k in before if k[0] == "industry" and k[1] != group
    ]
    moved = [k for k in untouched if k[0] == "industry" and before[k] != after[k]]
    assert not moved  # other industries: not a figure changed
    flagged_elsewhere = [k for k in untouched if k[0] == "industry" and after[k]["flag"]]
    assert not flagged_elsewhere
    assert equity.worse_groups(dirty.equal_treatment["groups"], clean.equal_treatment["groups"])  # promotion warns


def test_the_month_inspects_the_planted_group_more_than_its_measured_risk_justifies(runs, graded_city):
    group, clean, dirty = runs
    scoring = copy.copy(graded_city.loaded)
    graded = graded_city.latest / GRADED
    reports = {}
    for name, result in (("clean", clean), ("planted", dirty)):
        scoring.evaluation = {"equal_treatment": result.equal_treatment, "periods": {"test": result.as_of}}
        reports[name] = month_treatment(graded, graded_city.clean, scoring)
    rows = {n: {(r["grouping"], r["group"]): r for r in rep["treatment"]} for n, rep in reports.items()}
    assert rows["clean"][("industry", group)]["index"] == pytest.approx(1.0, abs=0.05)
    found = rows["planted"][("industry", group)]
    assert found["flag"] == "over" and found["index"] > 1 + equity.TOLERANCE, found
    assert found["expected_problems"] < rows["clean"][("industry", group)]["expected_problems"]
    assert found["planned_inspections"] == rows["clean"][("industry", group)]["planned_inspections"]  # same plan
    assert reports["planted"]["test_period"] == str(dt.date(2024, 12, 31))
