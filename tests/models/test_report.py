"""The model report names the override rules that act after the score, in both languages."""

from __future__ import annotations

from creditgrade.features.overrides import RULES
from creditgrade.models.report import to_html, to_markdown

SUMMARY = {
    "as_of": "2024-12-31",
    "metrics": {"test_auc": 0.8, "test_rows": 1200},
    "periods": {"fit": ["2021-12-31", "2022-12-31"], "tune": "2023-12-31", "test": "2024-12-31"},
    "report": {},
    "calibration_table": [],
}


def test_the_report_lists_every_override_rule_with_its_effect():
    md, page = to_markdown(SUMMARY, {}), to_html(SUMMARY, {})
    for rule in RULES.values():
        assert rule.en in md and rule.zh in md and rule.zh in page
    assert "two grades down" in md and "降两级" in md and "the worst grade" in md
    assert "serious illegal-and-dishonest list" not in md  # not a rule: it counts through its indicators


def test_the_report_carries_the_calibration_per_group_with_its_flags():
    group = {
        "grouping": "district",
        "group": "440305",
        "en": "Nanshan",
        "zh": "南山区",
        "inspections": 420,
        "effective": 300.0,
        "predicted": 0.24,
        "observed": 0.07,
        "low": 0.05,
        "high": 0.1,
        "ratio": 0.29,
        "flag": "overstated",
    }
    summary = {**SUMMARY, "equal_treatment": {"tolerance": 0.25, "groups": [group]}}
    md, page = to_markdown(summary, {}), to_html(summary, {})
    assert "Equal treatment: calibration per group on the test period" in md and "±25%" in md
    assert "| Nanshan | 南山区 | 420 | 24.0% | 7.0% | 5.0%–10.0% | risk overstated" in md
    assert "风险被高估" in page
    assert "Equal treatment" not in to_markdown(SUMMARY, {})  # a summary without the table: no empty section
