from pathlib import Path

import pytest

from creditgrade.features import contract as C
from creditgrade.features.docs import render_data_contract, write_docs

ROOT = Path(__file__).resolve().parents[2]


def test_every_table_from_the_domain_brief_is_declared():
    expected = {
        "enterprises",
        "registration_changes",
        "shareholdings",
        "annual_reports",
        "licences",
        "abnormal_list",
        "serious_violations",
        "penalties",
        "spot_checks",
        "complaints",
        "court_cases",
        "judgment_defaulters",
        "tax_credit",
        "equity_pledges",
        "chattel_mortgages",
        "awards",
        "credit_commitments",
        "credit_repairs",
        "severe_events",
    }
    assert set(C.TABLES_BY_NAME) == expected


def test_every_event_table_points_at_the_register_and_has_a_dated_key():
    for t in C.TABLES:
        assert t.key, t.name
        assert t.event_date, t.name
        if t.name != "enterprises":
            assert t.column("uscc").references == "enterprises.uscc", t.name


def test_names_exist_in_both_languages():
    for t in C.TABLES:
        assert t.en and t.zh
        for c in t.columns:
            assert c.en and c.zh, f"{t.name}.{c.name}"
            for code, label in (c.codes or {}).items():
                assert label.en and label.zh, f"{t.name}.{c.name}={code}"
        for cond, en, zh in t.row_checks:
            assert cond and en and zh


def test_tax_grades_and_spot_check_columns_follow_the_brief():
    assert list(C.TAX_GRADES) == ["A", "B", "M", "C", "D"]
    checks = C.table("spot_checks")
    assert set(checks.column("kind").codes) == {"random", "targeted", "complaint"}
    assert checks.column("inclusion_prob").maximum == 1.0
    assert all(code.startswith("4403") for code in C.DISTRICTS)


def test_bad_declarations_are_refused_with_a_named_reason():
    with pytest.raises(ValueError, match="must say what its date means"):
        C.Column("d", "date", "a date", "日期")
    with pytest.raises(ValueError, match="type must be one of"):
        C.Column("x", "decimal", "x", "x")  # type: ignore[arg-type]
    with pytest.raises(KeyError, match="no raw table named 'nope'"):
        C.table("nope")


def test_generated_contract_doc_is_in_step_with_the_code():
    assert write_docs(ROOT / "docs", check=True) == [], "run `creditgrade docs` and commit docs/"


def test_contract_doc_lists_every_column():
    text = render_data_contract()
    for t in C.TABLES:
        assert f"`{t.name}`" in text
        for c in t.columns:
            assert f"| `{c.name}` |" in text
