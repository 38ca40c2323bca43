"""Golden values worked out by hand on the town (tests/features/town.py), point-in-time and no-leak checks."""

from __future__ import annotations

import ast
import copy
import datetime as dt
import math
import re
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from creditgrade.features import catalog
from creditgrade.features.indicators import definitions
from creditgrade.features.pipeline import FEATURE_IDS, FeatureError, connect, indicator_table, load_raw
from tests.features.town import AS_OF, E1, E2, E3, E4, E5, E6, E7, TOWN, write_town

DAY = dt.date.fromisoformat(AS_OF)


def days(iso: str) -> int:
    return (DAY - dt.date.fromisoformat(iso)).days


def features_of(folder) -> pd.DataFrame:
    return indicator_table(load_raw(connect(), folder), DAY).to_pandas().set_index("uscc").sort_index()


@pytest.fixture(scope="module")
def town(tmp_path_factory) -> pd.DataFrame:
    return features_of(write_town(tmp_path_factory.mktemp("town")))


E1_EXPECTED = {
    # D1
    "d1_age_years": days("2015-03-01") / 365.25,
    "d1_registered_capital_log": math.log10(101),
    "d1_paid_in_ratio": 0.5,
    "d1_legal_rep_changes_24m": 1,
    "d1_address_changes_24m": 1,
    "d1_scope_changes_24m": 0,
    "d1_shareholder_changes_24m": 1,
    "d1_changes_12m": 2,
    "d1_employees": 10,
    "d1_insured_ratio": 0.5,
    "d1_revenue_log": 2.0,
    "d1_profit_margin": 0.1,
    "d1_debt_ratio": 0.75,
    "d1_revenue_growth": 99 / 49 - 1,
    # D2
    "d2_reports_filed_3y": 2,
    "d2_reports_missed_3y": 1,
    "d2_reports_late_3y": 1,
    "d2_last_report_on_time": 0,
    "d2_financials_undisclosed": 0,
    "d2_licences_valid": 1,
    "d2_licences_expired_unrenewed": 1,
    "d2_licences_revoked_36m": 1,
    "d2_enterprises_at_address": 2,
    "d2_cluster_address": 0,
    "d2_agent_registered": 1,
    "d2_scope_breadth": 3,
    # D3 (PN3 is repaired, PN4 is after the as-of date)
    "d3_penalties_12m": 1,
    "d3_penalties_36m": 2,
    "d3_penalty_amount_36m_log": math.log10(1 + 1000 + 99999),
    "d3_serious_penalties_36m": 1,
    "d3_days_since_penalty": days("2024-06-01"),
    "d3_repairs_36m": 1,
    "d3_abnormal_current": 1,
    "d3_unreachable_current": 0,
    "d3_abnormal_entries_36m": 1,
    "d3_abnormal_days_current": days("2023-07-05"),
    "d3_serious_current": 0,
    "d3_serious_5y": 0,
    "d3_defaulter_current": 0,
    "d3_severe_events_24m": 0,
    "d3_special_list_current": 0,
    "d3_related_negative_rep": 1,  # E2, same legal representative, is on the abnormal list
    "d3_related_negative_holder": 2,  # E2 shares shareholder P1; the parent E3 is on the serious list
    # D4 (K2 is judged after the as-of date; Q3 is still open)
    "d4_complaints_12m": 2,
    "d4_complaints_36m": 3,
    "d4_substantiated_12m": 1,
    "d4_substantiated_share_36m": 0.5,
    "d4_defendant_cases_24m": 2,
    "d4_cases_lost_24m": 1,
    "d4_case_amount_24m_log": math.log10(71),
    "d4_checks_36m": 2,
    "d4_check_problems_36m": 1,
    "d4_days_since_problem_check": days("2024-04-01"),
    "d4_equity_frozen": 1,
    "d4_equity_pledged": 0,
    "d4_mortgage_enforced_24m": 1,
    # D5 (the 2024 tax grade and CM3's verification come after the as-of date)
    "d5_awards_36m": 1,
    "d5_best_award_level": 2,
    "d5_contract_abiding": 1,
    "d5_tax_grade": 4,
    "d5_tax_grade_worst_3y": 4,
    "d5_commitments_kept_36m": 1,
    "d5_commitments_broken_36m": 1,
    # FR
    "fr_address_registered_30d": 1,
    "fr_address_registered_90d": 1,
    "fr_enterprises_per_rep": 2,
    "fr_rep_registered_90d": 1,
    "fr_enterprises_per_phone": 2,
    "fr_phone_registered_30d": 1,
    "fr_enterprises_per_agent": 3,
    "fr_agent_registered_30d": 1,
    "fr_agent_registered_90d": 1,
    "fr_cluster_size": 3,
    "fr_zero_insured": 0,
    "fr_zero_paid_in": 0,
    "fr_no_report_ever": 0,
    "fr_duplicate_report": 1,
    "fr_early_change": 0,
    "fr_days_to_unreachable": None,
}

OTHERS_EXPECTED = {
    E2: {
        "d1_age_years": days("2024-10-01") / 365.25,
        "d1_paid_in_ratio": 0.0,
        "fr_zero_paid_in": 1,
        "d3_abnormal_current": 1,
        "d3_unreachable_current": 1,
        "d3_abnormal_days_current": days("2024-11-15"),
        "fr_days_to_unreachable": 45,
        "fr_early_change": 1,
        "d1_address_changes_24m": 1,
        "d1_changes_12m": 1,
        "fr_address_registered_30d": 2,
        "fr_agent_registered_30d": 2,
        "fr_cluster_size": 3,
        "fr_enterprises_per_agent": 3,
        "d2_reports_filed_3y": 0,
        "d2_reports_missed_3y": 0,
        "d2_last_report_on_time": None,
        "fr_no_report_ever": 0,
        "d3_related_negative_rep": 1,
        "d3_related_negative_holder": 1,
        "d1_employees": None,
        "d5_tax_grade": None,
        "fr_zero_insured": None,
    },
    E3: {
        "d3_serious_current": 1,
        "d3_serious_5y": 1,
        "d3_special_list_current": 1,
        "d3_severe_events_24m": 1,
        "fr_duplicate_report": 1,
        "d1_paid_in_ratio": None,
        "fr_zero_paid_in": None,
        "d3_related_negative_holder": 0,
        "d3_related_negative_rep": 0,
        "fr_cluster_size": 1,
        "d2_agent_registered": 0,
        "fr_enterprises_per_agent": 0,
        "d2_last_report_on_time": 1,
        "d2_reports_filed_3y": 1,
        "d2_reports_missed_3y": 0,
        "d1_revenue_growth": None,
    },
    E5: {
        "d2_financials_undisclosed": 1,
        "fr_zero_insured": 1,
        "d1_insured_ratio": 0.0,
        "d1_revenue_log": None,
        "d1_profit_margin": None,
        "d1_debt_ratio": None,
        "fr_duplicate_report": 0,
    },
    E6: {
        "fr_no_report_ever": 1,
        "d2_reports_missed_3y": 2,
        "d2_last_report_on_time": 0,
        "d1_employees": None,
        "fr_zero_insured": None,
        "fr_zero_paid_in": 1,
    },
}


def assert_value(frame: pd.DataFrame, uscc: str, name: str, expected) -> None:
    got = frame.loc[uscc, name]
    if expected is None:
        assert pd.isna(got), f"{uscc} {name}: expected missing, got {got}"
    else:
        assert not pd.isna(got) and got == pytest.approx(expected, rel=1e-9, abs=1e-12), (
            f"{uscc} {name}: expected {expected}, got {got}"
        )


def test_catalog_and_code_match_one_to_one():
    code = {k for k in definitions() if not k.startswith("_")}
    assert code == set(catalog.BY_ID)
    assert len(catalog.INDICATORS) == 63
    assert {i.dimension for i in catalog.INDICATORS} == {"D1", "D2", "D3", "D4", "D5"}
    assert set(catalog.FALSE_REGISTRATION_SHARED) <= set(catalog.RISK_IDS)


def test_only_enterprises_on_the_register_at_the_as_of_date_are_graded(town):
    assert list(town.index) == sorted([E1, E2, E3, E5, E6, E7])
    assert E4 not in town.index  # deregistered 2024-12-01
    assert town.loc[E7, "register_status"] == "revoked" and town.loc[E1, "register_status"] == "active"
    assert list(town.columns[:7]) == [
        "name",
        "region_code",
        "industry_section",
        "legal_form",
        "register_status",
        "as_of",
        "catalog_version",
    ]
    assert list(town.columns[7:]) == list(FEATURE_IDS)
    assert (town.catalog_version == catalog.version()).all()


def test_golden_values_for_every_indicator(town):
    assert set(E1_EXPECTED) == set(FEATURE_IDS), "E1's golden vector covers every indicator"
    for name, expected in E1_EXPECTED.items():
        assert_value(town, E1, name, expected)


@pytest.mark.parametrize("uscc", [E2, E3, E5, E6])
def test_golden_values_of_the_other_enterprises(town, uscc):
    for name, expected in OTHERS_EXPECTED[uscc].items():
        assert_value(town, uscc, name, expected)


def _future_copy(tables: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """The town plus a copy of every record dated after the as-of date, and a new enterprise at E1's address."""
    from creditgrade.features import contract as C

    out = copy.deepcopy(tables)
    for t in C.TABLES:
        for i, row in enumerate(tables.get(t.name, [])):
            new = dict(row)
            for c in t.columns:
                if c.type == "date" and new[c.name] is not None:
                    new[c.name] = "2025-03-01" if c.name == t.event_date else "2025-06-01"
                if c.name in t.key and c.type == "string" and c.name != "uscc":
                    new[c.name] = f"{new[c.name]}_F{i}"
            if t.name == "annual_reports":
                new["report_year"] = 2024
            if t.name == "tax_credit":
                new["tax_year"] = 2024
            if t.name == "enterprises":
                continue
            out[t.name].append(new)
    late = dict(tables["enterprises"][0], uscc="91440311MA5K444EEU", established_date="2025-02-01")
    out["enterprises"].append(late)
    return out


def test_records_after_the_as_of_date_change_no_indicator(tmp_path, town):
    leaked = features_of(write_town(tmp_path / "future", _future_copy(TOWN)))
    pd.testing.assert_frame_equal(leaked, town)


def test_empty_tables_give_the_catalog_no_records_values(tmp_path):
    only_register = {"enterprises": [r for r in TOWN["enterprises"] if r["uscc"] == E1]}
    frame = features_of(write_town(tmp_path / "empty", only_register))
    for ind in catalog.ALL:
        if "enterprises" in ind.sources:
            continue
        expected = ind.no_records
        if ind.id == "d3_related_negative_holder":
            expected = 0
        assert_value(frame, E1, ind.id, expected)


def test_a_missing_table_stops_with_its_name(tmp_path):
    folder = write_town(tmp_path / "partial", skip=("penalties",))
    with pytest.raises(FeatureError, match="raw table 'penalties'"):
        load_raw(connect(), folder)


def test_reason_templates_render_in_both_languages():
    ind = catalog.indicator("d3_penalties_12m")
    assert ind.reason(3) == "3 administrative penalties in the last 12 months"
    assert ind.reason(3, "zh") == "近12个月行政处罚3次"
    assert ind.reason(1) == "1 administrative penalty in the last 12 months"
    assert ind.reason(0) == "No administrative penalty in the last 12 months"


def _examples(i: catalog.Indicator) -> dict[str, float | None]:
    """The values a reason is rendered for: none of it, one, many, a fraction (where the unit has fractions), and
    missing (where the indicator can be missing)."""
    low = i.none_value if i.none_value is not None else (i.minimum or 0.0)
    out: dict[str, float | None] = {"none": low, "one": 1.0, "many": 3.0}
    if i.unit in ("ratio", "change", "years", "log10_wan", "log10_cny"):
        out["fraction"] = 0.4
    if i.no_records is None:
        out["missing"] = None
    return out


@pytest.mark.parametrize("ind", catalog.ALL, ids=lambda i: i.id)
def test_every_reason_reads_as_a_person_would_write_it(ind):
    """Rendered for none, one, many and missing, in both languages: no template syntax left, the English singular
    for one and plural for many, no '0 days'-style non-reason for a condition the enterprise does not have, flags
    as words, amounts in 万元/CNY (never a logarithm), tax grades as letters."""
    for name, value in _examples(ind).items():
        for lang in ("en", "zh"):
            text = ind.reason(value, lang)
            assert text and not any(c in text for c in "{}[]|"), (name, lang, text)
            assert "10^" not in text and "log" not in text.lower(), text
            assert not re.search(r"(?<![\d.,])0 (?!of )|：0$|: ?[01]$|(?<![\d.,])0(天|次|项|户|件|人|份)", text), (
                name,
                text,
            )
            if ind.unit == "grade" and value is not None:
                assert re.search(r"[ABMCD]", text) and f"grade {round(value)}" not in text, text
        if ind.unit in ("count", "people", "days") and "[" in ind.reason_en:
            singular, plural = zip(*re.findall(r"\[([^|\]]*)\|([^\]]*)\]", ind.reason_en))
            one, many = ind.reason(1.0), ind.reason(3.0)
            assert all(s in one for s in singular) and all(p in many for p in plural), (one, many)
    if ind.unit in ("count", "flag") and ind.none_value == 0.0 and ind.none_en is None:
        assert ind.minimum is not None and ind.minimum > 0, f"{ind.id}: a zero needs its own words (none_en)"


INDICATOR_MODULES = sorted((Path(definitions.__code__.co_filename).parent).glob("*.py"))


@pytest.mark.parametrize("path", INDICATOR_MODULES, ids=lambda p: p.stem)
def test_no_window_or_threshold_is_written_in_the_code(path):
    """Windows and thresholds come from each indicator's catalog entry (`entry.window_days`, `entry.params`): a
    number other than 0 or 1 inside a definition means the code could disagree with the catalog."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = [
        (f.name, n.lineno, n.value)
        for f in ast.walk(tree)
        if isinstance(f, ast.FunctionDef)
        for n in ast.walk(f)
        if isinstance(n, ast.Constant) and type(n.value) in (int, float) and n.value not in (0, 1)
    ]
    assert not found, f"numbers written in {path.name}'s definitions: {found}; put them in the catalog entry"


def test_every_definition_takes_its_catalog_entry_and_every_threshold_is_stated_in_its_formula():
    import inspect

    for d in definitions().values():
        assert list(inspect.signature(d.fn).parameters)[-1] == "entry", d.id
    for i in catalog.ALL:
        for name, value in i.params.items():
            assert f"{value:g}" in i.formula, f"{i.id}: its formula does not state {name} = {value:g}"


def test_the_code_reads_windows_and_thresholds_from_the_catalog(tmp_path, monkeypatch):
    """Change an entry and the indicator follows: a 1-day window counts nothing, a cluster cut of 0 makes every
    enterprise's address a cluster."""
    raw = load_raw(connect(), write_town(tmp_path / "town"))
    before = indicator_table(raw, DAY, only=["d3_penalties_36m", "d2_enterprises_at_address", "d2_cluster_address"])
    before = before.to_pandas().set_index("uscc")
    assert before.d3_penalties_36m.sum() > 0 and before.d2_cluster_address.sum() == 0
    by_id = dict(catalog.BY_ID)
    by_id["d3_penalties_36m"] = replace(catalog.BY_ID["d3_penalties_36m"], window_days=1)
    by_id["d2_cluster_address"] = replace(catalog.BY_ID["d2_cluster_address"], params={"more_than": 0})
    monkeypatch.setattr(catalog, "BY_ID", by_id)
    after = indicator_table(raw, DAY, only=["d3_penalties_36m", "d2_enterprises_at_address", "d2_cluster_address"])
    after = after.to_pandas().set_index("uscc")
    assert after.d3_penalties_36m.sum() == 0 and (after.d2_cluster_address == 1).all()
