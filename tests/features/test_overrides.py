"""Override rules on the town: which rule, from which record, and what they do to a grade."""

from __future__ import annotations

import datetime as dt

import pytest

from creditgrade.features.overrides import OVERRIDE_COLUMNS, RULES, override_hits
from creditgrade.features.pipeline import build_features, connect, load_raw, read_features
from creditgrade.features.pit import AsOf
from creditgrade.models.grades import NATIONAL, PINGSHAN, SHENZHEN, apply_overrides
from tests.features.town import E1, E3, E7, write_town


def test_each_rule_is_found_with_its_source_record(tmp_path):
    raw = load_raw(connect(), write_town(tmp_path / "town"))
    hits = override_hits(raw, AsOf(dt.date(2024, 12, 31))).to_pandas()
    got = sorted(zip(hits.uscc, hits.rule, hits.source_table, hits.source_record))
    assert got == sorted(
        [
            (E1, "bank_mortgage_enforced", "chattel_mortgages", "M1"),
            (E3, "special_list", "severe_events", "SE1"),
            (E7, "closed_state", "enterprises", E7),
        ]
    )
    assert set(hits.rule) <= set(RULES)
    # Before the mortgage was enforced and before E7 was revoked, neither rule applies.
    earlier = override_hits(raw, AsOf(dt.date(2024, 1, 31))).to_pandas()
    assert "bank_mortgage_enforced" not in set(earlier.rule) and "closed_state" not in set(earlier.rule)


def test_the_feature_table_carries_each_enterprise_s_overrides_as_of_its_date(tmp_path):
    town = write_town(tmp_path / "town")
    build_features(town, [dt.date(2024, 1, 31), dt.date(2024, 12, 31)], tmp_path / "f.parquet")
    frame = read_features(tmp_path / "f.parquet", columns=["uscc", "as_of", *OVERRIDE_COLUMNS]).to_pandas()
    late = frame[frame.as_of == dt.date(2024, 12, 31)].set_index("uscc")
    assert late.loc[E1, "override_effect"] == "down2" and late.loc[E1, "override_rule"] == "bank_mortgage_enforced"
    assert late.loc[E1, "override_source"].startswith("chattel_mortgages:M1@")
    # E3 is on the serious list and on a special list: only the special list is a rule (two grades down).
    assert late.loc[E3, "override_effect"] == "down2"
    assert late.loc[E3, "override_rule"] == "special_list"
    assert late.loc[E3, "override_zh"] == RULES["special_list"].zh
    assert late.loc[E7, "override_rule"] == "closed_state" and late.loc[E7, "override_effect"] == "worst"
    assert late.override_effect.notna().sum() == 3
    early = frame[frame.as_of == dt.date(2024, 1, 31)].set_index("uscc")
    assert early.override_rule.fillna("").str.contains("bank_mortgage_enforced|closed_state").sum() == 0


def test_only_the_rules_domain_cites_override_a_grade():
    """DOMAIN §1: E for closed states; two grades down for a major accident, an enforced bank mortgage and
    the three special lists. The serious illegal-and-dishonest list is not among them: it is an indicator."""
    assert {r: RULES[r].effect for r in RULES} == {
        "closed_state": "worst",
        "major_accident": "down2",
        "bank_mortgage_enforced": "down2",
        "special_list": "down2",
    }


@pytest.mark.parametrize(
    "scheme, grades, effects, expected",
    [
        (SHENZHEN, ["A+", "A", "B", "C", "D"], [("down2",)] * 5, ["B", "C", "D", "D", "D"]),
        (SHENZHEN, ["A+", "B"], [("worst",), ("worst", "down2")], ["E", "E"]),
        (PINGSHAN, ["A", "CC"], [("down2",), ("down2",)], ["BB", "D"]),
        (NATIONAL, ["A", "B"], [(), ("worst",)], ["A", "D"]),
    ],
)
def test_overrides_move_grades_as_the_rules_say(scheme, grades, effects, expected):
    assert apply_overrides(grades, effects, scheme).tolist() == expected


def test_unknown_effects_are_refused():
    with pytest.raises(ValueError, match="unknown override effect"):
        apply_overrides(["A"], [("up1",)], NATIONAL)
