"""The action table: checked against the contract when it loads; which records each action applies to, and when."""

from __future__ import annotations

import datetime as dt

import pytest

from creditgrade.features.actions import ActionTableError, add_months, candidates, load_actions
from creditgrade.features.contract import TABLES_BY_NAME
from creditgrade.features.pit import REPAIRABLE
from creditgrade.features.whatif import local_records
from tests.features.town import E1, E3, write_town

DAY = dt.date(2024, 12, 31)

GOOD = """
- id: repair_penalty
  table: penalties
  change: repair
  when: {severity: [general]}
  after: decision_date
  wait_months: 6
  en: Apply for repair
  zh: 申请修复
  basis_en: a rule
  basis_zh: 规则
"""


def test_the_shipped_table_names_only_what_the_contract_has_and_says_why_in_both_languages():
    actions = load_actions()
    assert len({a.id for a in actions}) == len(actions) >= 5
    for a in actions:
        assert a.table in TABLES_BY_NAME and (a.change == "remove" or a.table in REPAIRABLE)
        assert a.en and a.zh and a.basis_en and a.basis_zh and a.wait_months >= 0


@pytest.mark.parametrize(
    "change, message",
    [
        (("table: penalties", "table: fines"), "the data contract has no table 'fines'"),
        (("severity: [general]", "grade: [general]"), "table penalties has no column 'grade'"),
        (("severity: [general]", "severity: [huge]"), "penalties.severity has no code"),
        (("table: penalties", "table: complaints"), "cannot be repaired"),
        (("after: decision_date", "after: amount"), "column 'amount' is not a date"),
        (("wait_months: 6", "wait_months: -1"), "wait_months must be a whole number"),
        (("  zh: 申请修复\n", ""), "the zh wording is missing"),
        (("  en: Apply for repair\n", "  en: Apply\n  colour: red\n"), "unknown fields ['colour']"),
    ],
)
def test_an_action_the_contract_or_workflow_cannot_do_is_refused_when_the_table_loads(tmp_path, change, message):
    path = tmp_path / "actions.yaml"
    path.write_text(GOOD.replace(*change), encoding="utf-8")
    with pytest.raises(ActionTableError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_actions(path)
    path.write_text(GOOD + GOOD, encoding="utf-8")
    with pytest.raises(ActionTableError, match="declared twice"):
        load_actions(path)


def test_candidates_follow_the_rules_waiting_periods_and_skip_what_is_repaired_or_over(tmp_path):
    folder = write_town(tmp_path / "town")
    found = candidates(local_records(folder, DAY, E1), DAY, E1)
    # PN3 (minor) was repaired in 2023; PN4 is after the date; the judgment listing JD1 ended in September.
    assert [(c.action.id, c.record, str(c.possible_from)) for c in found] == [
        ("repair_penalty", "penalties:PN2", "2022-09-01"),  # six months after the decision
        ("repair_penalty", "penalties:PN1", "2024-12-01"),
        ("leave_abnormal_no_report", "abnormal_list:AB1", "2023-07-05"),  # as soon as the report is filed
    ]
    early = dt.date(2023, 6, 30)
    (sv,) = candidates(local_records(folder, early, E3), early, E3)
    assert sv.record == "serious_violations:SV1" and sv.possible_from == dt.date(2024, 1, 1) > early  # one year on


def test_months_are_added_as_calendar_months():
    assert add_months(dt.date(2024, 8, 31), 6) == dt.date(2025, 2, 28)
    assert add_months(dt.date(2023, 11, 15), 3) == dt.date(2024, 2, 15)
    assert add_months(dt.date(2024, 1, 1), 0) == dt.date(2024, 1, 1)
