"""Inspection results back into the spot-check table: matched to the plan that drew them, all or nothing."""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from creditgrade.features.inspections import InspectionError, ingest_results
from creditgrade.models.planning.plan import parse_plan
from creditgrade.serving.cli import app
from creditgrade.serving.planner.plan import preview, write_plan
from creditgrade.training.dataset import labelled_rows

TODAY = dt.date(2026, 6, 30)


@pytest.fixture()
def setting(graded_city, tmp_path):
    data = tmp_path / "city"
    data.mkdir()
    shutil.copy(graded_city.clean / "spot_checks.parquet", data / "spot_checks.parquet")
    write_plan(preview(graded_city.latest, parse_plan({"plan_id": "P1", "budget": 0.03})), "s1", tmp_path / "P1")
    listed = pd.read_parquet(tmp_path / "P1" / "list.parquet")
    rng = np.random.default_rng(0)
    found = rng.random(len(listed)) < 0.5
    results = pd.DataFrame(
        {
            "uscc": listed.uscc,
            "check_date": "2026-02-10",
            "problem_found": found.astype(int),
            "finding": np.where(found, "licence_breach", "none"),
        }
    )
    return data, tmp_path / "P1", listed, results


def test_results_are_appended_with_the_plans_inclusion_probability(setting, graded_city, tmp_path):
    data, plan, listed, results = setting
    before = pd.read_parquet(data / "spot_checks.parquet")
    results.to_csv(tmp_path / "results.csv", index=False)
    report = ingest_results(tmp_path / "results.csv", [plan], data, today=TODAY)
    after = pd.read_parquet(data / "spot_checks.parquet")
    assert report.ingested == len(results) == len(after) - len(before)
    new = after.iloc[len(before) :]
    assert (new.plan_id == "P1").all() and (new.kind == "random").all()
    assert np.allclose(new.inclusion_prob, listed.set_index("uscc").loc[new.uscc, "inclusion_probability"])
    assert new.problem_found.sum() == report.problems_found == results.problem_found.sum()
    # the next training weighs each of them by 1 / π
    features = pd.DataFrame({"uscc": listed.uscc, "as_of": pd.Timestamp("2025-12-31")})
    rows = labelled_rows(features, after, dt.date(2025, 12, 31))
    assert np.allclose(rows.weight, 1 / rows.inclusion_prob) and len(rows) == len(results)
    with pytest.raises(InspectionError, match="already ingested"):
        ingest_results(tmp_path / "results.csv", [plan], data, today=TODAY)


@pytest.mark.parametrize(
    "change, words",
    [
        (
            lambda r: r.assign(uscc=np.where(r.index == 0, "91440300MA5DC1YU4Q", r.uscc)),
            "was not drawn by any given plan",
        ),
        (lambda r: r.assign(check_date=np.where(r.index == 1, "2025-06-01", r.check_date)), "is not after the plan"),
        (lambda r: r.assign(check_date=np.where(r.index == 1, "someday", r.check_date)), "is not a date"),
        (lambda r: r.assign(finding=np.where(r.index == 2, "fraud", r.finding)), "unknown finding 'fraud'"),
        (
            lambda r: r.assign(
                problem_found=np.where(r.index == 3, 1, r.problem_found),
                finding=np.where(r.index == 3, "none", r.finding),
            ),
            "disagrees with problem_found",
        ),
        (lambda r: r.assign(problem_found=np.where(r.index == 4, "maybe", r.problem_found)), "is not 0/1"),
        (lambda r: pd.concat([r, r.iloc[[5]]]), "already ingested"),
    ],
)
def test_a_bad_row_is_named_and_nothing_is_written(setting, tmp_path, change, words):
    data, plan, _, results = setting
    before = hashlib.sha256((data / "spot_checks.parquet").read_bytes()).hexdigest()
    change(results).to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(InspectionError, match="nothing was written") as err:
        ingest_results(tmp_path / "bad.csv", [plan], data, today=TODAY)
    assert words in str(err.value) and "row " in str(err.value)
    assert hashlib.sha256((data / "spot_checks.parquet").read_bytes()).hexdigest() == before


def test_cli_ingest(setting, tmp_path):
    data, plan, _, results = setting
    results.to_csv(tmp_path / "results.csv", index=False)
    r = CliRunner().invoke(
        app, ["inspections", "ingest", str(tmp_path / "results.csv"), "--plan", str(plan), "--data", str(data)]
    )
    assert r.exit_code == 0 and f"ingested {len(results):,} inspections" in " ".join(r.output.split()), r.output
    r = CliRunner().invoke(
        app, ["inspections", "ingest", str(tmp_path / "results.csv"), "--plan", str(plan), "--data", str(data)]
    )
    assert r.exit_code == 2 and "already ingested" in " ".join(r.output.split())
