"""The plan (PLAN.yaml, the service's request body): every setting checked up front, with a message naming
the problem in both languages, and a hash that does not depend on how the plan is written."""

from __future__ import annotations

import pytest
import yaml

from creditgrade.models.planning import plan as plan_module
from creditgrade.models.planning.plan import Plan, PlanError, parse_plan
from creditgrade.serving.planner.plan import load_plan


def test_the_documented_example_parses_and_its_hash_ignores_layout(tmp_path):
    doc = plan_module.__doc__
    example = "\n".join(line[4:].split(" #")[0] for line in doc.splitlines() if line.startswith("    ") and ":" in line)
    path = tmp_path / "plan.yaml"
    path.write_text(example, encoding="utf-8")
    c = load_plan(path)
    assert (c.plan_id, c.budget, c.floor, c.strata, c.checked_within_months, c.load_cap) == (
        "2026-03-public-info",
        0.03,
        0.005,
        ["district"],
        12,
        40,
    )
    assert c.canonical()["grades"] == {"C": {"min": 0.10}, "D": {"min": 0.5}}
    assert c.bounds("C") == (0.10, 1.0) and c.bounds("A") == (0.0, 1.0)
    reordered = dict(reversed(list(yaml.safe_load(example).items())))
    assert parse_plan(reordered).digest() == c.digest()
    assert parse_plan({**reordered, "floor": 0.01}).digest() != c.digest()


BASE = {"plan_id": "p1", "budget": 0.03}


@pytest.mark.parametrize(
    "change, words",
    [
        ({"budget": 1.5}, "budget: input should be less than or equal to 1"),
        ({"floor": -0.1}, "floor: input should be greater than or equal to 0"),
        ({"budget": "3%"}, "budget: input should be a valid number"),
        ({"budget": True}, "budget: input should be a valid number"),
        ({"budget": 0.02}, "below the legal minimum of 3%"),
        ({"grades": {"Z": {"max": 0.1}}}, "unknown grade name(s) Z"),
        ({"grades": {"B": {"min": 0.3, "max": 0.1}}}, "min ratio above max ratio"),
        ({"grades": {"B": {"most": 0.3}}}, "unknown plan setting grades.B.most; known: min, max"),
        ({"ratios": {"A+": 0.1}}, "exactly one of budget"),
        ({"strata": ["street"]}, "strata.0: input should be 'district' or 'industry'; got 'street'"),
        ({"scheme": "moody"}, "unknown grade scheme 'moody'; known: shenzhen"),
        ({"plan_id": ""}, "needs a plan_id"),
        ({"budget_count": 0, "budget": None}, "budget_count: input should be greater than 0"),
        ({"budget_count": 2.5, "budget": None}, "budget_count: input should be a valid integer"),
        ({"colour": "red"}, "unknown plan setting colour; known: plan_id"),
        ({"purpose": "fun"}, "purpose: input should be 'public_information' or 'other'"),
        ({"inspectors": {"load_cap": 0}}, "inspectors.load_cap: input should be greater than or equal to 1"),
        ({"exclude": {"months": 3}}, "unknown plan setting exclude.months; known: checked_within_months"),
    ],
)
def test_bad_plans_are_refused_naming_the_problem(change, words):
    with pytest.raises(PlanError) as err:
        parse_plan({**BASE, **change})
    assert words in str(err.value) and err.value.en == str(err.value)
    assert err.value.zh and err.value.zh != err.value.en and err.value.code.startswith("plan")


def test_a_budget_below_the_legal_minimum_needs_an_explicit_override():
    assert parse_plan({**BASE, "budget": 0.02, "allow_below_legal_minimum": True}).budget == 0.02
    assert parse_plan({**BASE, "budget": 0.02, "purpose": "other"}).budget == 0.02


def test_ratios_must_name_every_grade_of_the_scheme():
    with pytest.raises(PlanError, match="missing A, B, C, D"):
        parse_plan({"plan_id": "p", "scheme": "shenzhen", "ratios": {"A+": 0.01, "E": 0.9}})
    c = parse_plan({"plan_id": "p", "scheme": "national", "ratios": {"A": 0.01, "B": 0.05, "C": 0.3, "D": 0.8}})
    assert c.ratios["D"] == 0.8


def test_a_missing_or_broken_file_is_named(tmp_path):
    with pytest.raises(PlanError, match="does not exist"):
        load_plan(tmp_path / "none.yaml")
    (tmp_path / "bad.yaml").write_text("plan_id: [unclosed", encoding="utf-8")
    with pytest.raises(PlanError, match="not valid YAML"):
        load_plan(tmp_path / "bad.yaml")


def test_the_hash_of_a_plan_is_the_one_published_by_earlier_releases():
    """Commitments published before the plan became a pydantic model must still verify: the canonical form
    is unchanged (the hashes were computed by the release before, commit a7815f3)."""
    demo = {
        "plan_id": "demo-public-info",
        "purpose": "public_information",
        "scheme": "shenzhen",
        "budget": 0.03,
        "floor": 0.005,
        "strata": ["district"],
        "inspectors": {"load_cap": 40},
    }
    assert parse_plan(demo).digest() == "ce49a45c332d246db78868f7338854b58091655db14c969a837d2929561e31c7"
    fixed = {
        "plan_id": "p",
        "scheme": "national",
        "ratios": {"A": 0.01, "B": 0.05, "C": 0.3, "D": 0.8},
        "grades": {"C": {"min": 0.1}},
        "exclude": {"checked_within_months": 12},
        "best_grade": "complaints_only",
    }
    assert parse_plan(fixed).digest() == "9b0e778980d9890bc84a2d679a29a496dbd4339a78182517bd234f623306e60a"


def test_the_plan_round_trips_through_its_own_dump_and_documents_itself():
    plan = parse_plan({"plan_id": "p", "budget": 0.05, "grades": {"D": {"min": 0.5}}, "strata": "district"})
    assert parse_plan(plan.to_dict()) == plan
    schema = Plan.model_json_schema()
    assert schema["additionalProperties"] is False and "budget" in schema["properties"]
    assert "不免抽" in schema["properties"]["floor"]["description"]
