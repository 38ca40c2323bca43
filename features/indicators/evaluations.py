"""D5 evaluations and commendations (评价与表彰记录)."""

from __future__ import annotations

import ibis

from creditgrade.features.indicators import aggregate, within

AWARD_LEVEL = {"district": 1, "municipal": 2, "provincial": 3, "national": 4}
TAX_GRADE = {"A": 1, "B": 2, "M": 3, "C": 4, "D": 5}


def _code(col, mapping: dict[str, int]):
    return ibis.cases(*[(col == k, v) for k, v in mapping.items()], else_=ibis.null("int64"))


@aggregate("awards", rows=within("award_date"))
def d5_awards_36m(t, asof, entry):
    return asof.within(t.award_date, entry.window_days).sum()


@aggregate("awards", rows=within("award_date"))
def d5_best_award_level(t, asof, entry):
    return _code(t.level, AWARD_LEVEL).max(where=asof.within(t.award_date, entry.window_days))


@aggregate("awards", rows=within("award_date"))
def d5_contract_abiding(t, asof, entry):
    return (asof.within(t.award_date, entry.window_days) & (t.kind == "contract_abiding")).max().cast("int64")


GRADES = max(TAX_GRADE.values()) + 1  # a tax year and its grade packed in one integer: year · GRADES + code


@aggregate("tax_credit")
def d5_tax_grade(t, asof, entry):
    """the grade of the latest tax year published: an integer maximum of year · GRADES + code, not an arg-max over
    strings (several times quicker). The same value as the arg-max because the contract holds every row to a
    year in 1990-2100, a known grade and one row per enterprise and year (features/contract.py); a year's
    missing grade stays missing (code 0)."""
    latest = (t.tax_year.cast("int64") * GRADES + _code(t.grade, TAX_GRADE).fill_null(0)).max() % GRADES
    return ibis.ifelse(latest == 0, ibis.null("int64"), latest)


@aggregate("tax_credit")
def d5_tax_grade_worst_3y(t, asof, entry):
    return _code(t.grade, TAX_GRADE).max(where=asof.within(t.published_date, entry.window_days))


@aggregate("credit_commitments", rows=within("verified_date"))
def d5_commitments_kept_36m(t, asof, entry):
    return (asof.within(t.verified_date, entry.window_days) & t.kept).sum()


@aggregate("credit_commitments", rows=within("verified_date"))
def d5_commitments_broken_36m(t, asof, entry):
    return (asof.within(t.verified_date, entry.window_days) & ~t.kept).sum()
