"""Equal treatment on the simulated city: a miscalibration planted in one group is found, by the model report's
calibration per group and by the month's inspection index, and nowhere else."""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from creditgrade.models import equity
from creditgrade.serving.batch import GRADED
from creditgrade.serving.cli import app
from creditgrade.serving.equity import month_treatment
from creditgrade.training import tracking
from creditgrade.training.train import load_checks, train

KEEP = 0.25  # in the planted group, a quarter of the problems found in the test year are kept


@pytest.fixture(scope="module")
def runs(graded_city, tmp_path_factory):
    """The model trained twice on the same city, once with the test year's findings planted: in the industry
    with the most test inspections, three problems in four found that year recorded as none. Fitting and
    tuning rows are the same, so the same model; only the test figures can tell the difference. Both are
    registered in a registry of their own: the first the champion, the planted one the challenger."""
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
    mlruns = tmp_path_factory.mktemp("registry") / "mlruns"
    before = os.environ.get("CREDITGRADE_MLRUNS")
    os.environ["CREDITGRADE_MLRUNS"] = str(mlruns)
    try:
        clean = train(graded_city.features, graded_city.clean, test_day, checks=checks)
        dirty = train(graded_city.features, graded_city.clean, test_day, checks=planted)
    finally:
        if before is None:
            os.environ.pop("CREDITGRADE_MLRUNS", None)
        else:
            os.environ["CREDITGRADE_MLRUNS"] = before
    return SimpleNamespace(group=group, clean=clean, dirty=dirty, mlruns=mlruns)


def _rows(result) -> dict:
    return {(r["grouping"], r["group"]): r for r in result.equal_treatment["groups"]}


def test_the_planted_group_is_found_and_nothing_else_moves(runs):
    group, clean, dirty = runs.group, runs.clean, runs.dirty
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


def test_promoting_the_planted_model_warns_of_its_group_in_the_command_and_the_report(runs, monkeypatch):
    monkeypatch.setenv("CREDITGRADE_MLRUNS", str(runs.mlruns))
    assert tracking.alias_version(tracking.CHAMPION) == runs.clean.registered_version
    worse = tracking.worse_for_groups()  # the challenger: the planted model
    assert ("industry", runs.group) in {(g["grouping"], g["group"]) for g in worse}
    assert tracking.worse_for_groups(runs.clean.registered_version) == []  # the champion against itself
    report = tracking.artifact_bytes(tracking.MODEL_NAME, runs.dirty.registered_version, "report/evaluation.json")
    assert json.loads(report)["equal_treatment"] == runs.dirty.equal_treatment  # sealed with the model
    r = CliRunner().invoke(app, ["models", "promote"])
    assert r.exit_code == 0, r.output
    assert "calibrated worse than the champion" in r.output and "校准更差" in r.output
    name = next(g["en"] for g in worse if g["group"] == runs.group and g["grouping"] == "industry")
    assert name in r.output and f"champion → version {runs.dirty.registered_version}" in r.output
    r = CliRunner().invoke(app, ["models", "promote", str(runs.clean.registered_version)])
    assert r.exit_code == 0 and "calibrated worse" not in r.output  # back to the well-calibrated one: no warning


def test_the_month_inspects_the_planted_group_more_than_its_measured_risk_justifies(runs, graded_city):
    group, clean, dirty = runs.group, runs.clean, runs.dirty
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
