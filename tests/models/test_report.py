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
