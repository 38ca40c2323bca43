"""PLAN.yaml: every setting checked up front, with a message naming the problem in both languages."""

from __future__ import annotations

import pytest
import yaml

from serving.planner import config as plan_config
from serving.planner.config import PlanError, load_plan, parse_plan


def test_the_documented_example_parses_and_its_hash_ignores_layout(tmp_path):
    doc = plan_config.__doc__
    example = "\n".join(line[4:].split(" #")[0] for line in doc.splitlines() if line.startswith("    ") and ":" in line)
    path = tmp_path / "plan.yaml"
    path.write_text(example, encoding="utf-8")
    c = load_plan(path)
    assert (c.plan_id, c.budget, c.floor, c.strata, c.checked_within_months, c.load_cap) == \
        ("2026-03-public-info", 0.03, 0.005, ("district",), 12, 40)
    assert c.grades == {"C": {"min": 0.10}, "D": {"min": 0.5}}
    reordered = dict(reversed(list(yaml.safe_load(example).items())))
    assert parse_plan(reordered).digest() == c.digest()
    assert parse_plan({**reordered, "floor": 0.01}).digest() != c.digest()


BASE = {"plan_id": "p1", "budget": 0.03}


@pytest.mark.parametrize("change, words", [
    ({"budget": 1.5}, "budget must be a number in [0, 1]"),
    ({"floor": -0.1}, "floor must be a number in [0, 1]"),
    ({"budget": 0.02}, "below the legal minimum of 3%"),
    ({"grades": {"Z": {"max": 0.1}}}, "unknown grade name(s) Z"),
    ({"grades": {"B": {"min": 0.3, "max": 0.1}}}, "min ratio above max ratio"),
    ({"grades": {"B": {"most": 0.3}}}, "takes min and max only"),
    ({"ratios": {"A+": 0.1}}, "exactly one of budget"),
    ({"strata": ["street"]}, "unknown stratum 'street'"),
    ({"scheme": "moody"}, "unknown grade scheme"),
    ({"plan_id": ""}, "needs a plan_id"),
    ({"budget_count": 0, "budget": None}, "budget_count must be a positive whole number"),
    ({"colour": "red"}, "unknown plan setting(s) colour"),
    ({"purpose": "fun"}, "purpose must be one of"),
    ({"inspectors": {"load_cap": 0}}, "inspectors.load_cap must be a whole number ≥ 1"),
])
def test_bad_plans_are_refused_naming_the_problem(change, words):
    with pytest.raises(PlanError) as err:
        parse_plan({**BASE, **change})
    assert words in str(err.value)
    assert " / " in str(err.value)  # and in Chinese


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
