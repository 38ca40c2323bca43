"""The month's equal-treatment report, read from the graded table and the register by DuckDB: the same inclusion
probabilities as the planner's, enterprises the register lacks counted as 'unknown', a wrong table refused."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from creditgrade.features.errors import NotFound
from creditgrade.models import equity
from creditgrade.models.planning.plan import Plan, PlanError
from creditgrade.models.scoring import ScoringModel
from creditgrade.serving.equity import DEFAULT_PLAN, calibration_of, month_treatment
from creditgrade.serving.planner.plan import graded_file, preview


def _without_calibration(scoring: ScoringModel) -> ScoringModel:
    """The same model without its test-period calibration table: the report then shows every group of the city."""
    bare = ScoringModel(scoring.name, scoring.version, scoring.run_id, scoring.model, scoring.schemes)
    bare.evaluation = {k: v for k, v in (scoring.evaluation or {}).items() if k != "equal_treatment"}
    return bare


def _by_group(report: dict, grouping: str) -> dict[str, dict]:
    return {r["group"]: r for r in report["treatment"] if r["grouping"] == grouping}


def _through_the_planner(graded, data, scoring, plan) -> dict:
    """The report as the planner's preview and a pandas merge with the register give it (the way it was made
    before it was read by DuckDB): every figure the same, to the byte."""
    drawn = preview(graded, plan)
    by_score = pq.read_table(graded_file(graded), columns=["uscc", f"grade_{plan.scheme}_by_score"]).to_pandas()
    city = drawn.frame[["uscc", "register_status", "probability", "grade", "stratum"]].assign(pi=drawn.probabilities.pi)
    city = city.merge(by_score.rename(columns={f"grade_{plan.scheme}_by_score": "grade_by_score"}), on="uscc")
    city = city[city["register_status"] == "active"]
    register = pq.read_table(data / "enterprises.parquet", columns=["uscc", *equity.ATTRIBUTES]).to_pandas()
    city = equity.with_groups(city, register)
    grades = list(scoring.schemes[plan.scheme].grades)
    return equity.treatment_by_group(city, grades, calibration_of(scoring))


@pytest.mark.parametrize(
    "plan",
    [DEFAULT_PLAN, Plan(plan_id="by-district", budget=0.05, strata=["district", "industry"])],
    ids=["default", "strata"],
)
def test_the_report_equals_the_planners_figures_to_the_byte(graded_city, plan):
    for scoring in (graded_city.loaded, _without_calibration(graded_city.loaded)):
        report = month_treatment(graded_city.latest, graded_city.clean, scoring, plan)
        expected = _through_the_planner(graded_city.latest, graded_city.clean, scoring, plan)
        assert json.dumps(report["treatment"]) == json.dumps(expected)


def test_each_district_is_planned_the_inspections_the_planner_gives_its_enterprises(graded_city):
    report = month_treatment(graded_city.latest, graded_city.clean, graded_city.loaded)
    drawn = preview(graded_city.latest, DEFAULT_PLAN)
    frame = drawn.frame.assign(pi=drawn.probabilities.pi)
    operating = frame[frame["register_status"] == "active"]
    register = pq.read_table(graded_city.clean / "enterprises.parquet", columns=["uscc", "region_code"]).to_pandas()
    operating = operating.drop(columns=["region_code"]).merge(register, on="uscc", how="left")
    planned = operating.groupby("region_code")["pi"].sum()
    rows = _by_group(report, "district")
    assert rows and set(rows) <= set(planned.index)
    for district, row in rows.items():
        assert row["planned_inspections"] == pytest.approx(planned[district], rel=1e-12)
        assert row["enterprises"] == int((operating["region_code"] == district).sum())


def test_an_enterprise_the_register_lacks_is_in_the_unknown_groups(graded_city, tmp_path):
    graded = pq.read_table(graded_city.latest / "graded.parquet", columns=["uscc", "register_status"])
    operating = graded.filter(pc.equal(graded["register_status"], "active"))["uscc"].to_pylist()
    gone = set(operating[::50])
    register = pq.read_table(graded_city.clean / "enterprises.parquet")
    keep = pc.invert(pc.is_in(register["uscc"], value_set=pa.array(sorted(gone))))
    (tmp_path / "city").mkdir()
    pq.write_table(register.filter(keep), tmp_path / "city" / "enterprises.parquet")
    report = month_treatment(graded_city.latest, tmp_path / "city", _without_calibration(graded_city.loaded))
    for grouping in ("district", "industry", "legal_form", "size"):
        rows = _by_group(report, grouping)
        assert rows["unknown"]["enterprises"] == len(gone), grouping
        assert sum(r["enterprises"] for r in rows.values()) == len(operating), grouping
    shares = np.array(list(rows["unknown"]["shares"].values()))
    assert shares.sum() == pytest.approx(1.0)


def test_a_plan_needing_the_spot_checks_or_a_register_with_repeats_is_refused(graded_city, tmp_path):
    needs_checks = Plan(plan_id="recent", budget=0.03, exclude={"checked_within_months": 12})
    with pytest.raises(PlanError, match="checked within 12 months"):
        month_treatment(graded_city.latest, graded_city.clean, graded_city.loaded, needs_checks)
    register = pq.read_table(graded_city.clean / "enterprises.parquet")
    (tmp_path / "city").mkdir()
    pq.write_table(pa.concat_tables([register, register.slice(0, 10)]), tmp_path / "city" / "enterprises.parquet")
    with pytest.raises(PlanError, match="more than once") as caught:
        month_treatment(graded_city.latest, tmp_path / "city", graded_city.loaded)
    assert "重复" in caught.value.zh
    with pytest.raises(NotFound, match="does not exist"):
        month_treatment(graded_city.latest, tmp_path / "nowhere", graded_city.loaded)


def test_a_table_that_is_not_graded_is_refused_naming_it(graded_city, tmp_path):
    bad = tmp_path / "graded.parquet"
    pq.write_table(pq.read_table(graded_city.latest / "graded.parquet", columns=["uscc", "probability"]), bad)
    with pytest.raises(PlanError, match="not a graded table with grade_shenzhen") as caught:
        month_treatment(bad, graded_city.clean, graded_city.loaded)
    assert "分级结果表" in caught.value.zh
