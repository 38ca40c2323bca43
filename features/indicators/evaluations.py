"""D5 evaluations and commendations (评价与表彰记录)."""

from __future__ import annotations

import ibis

from creditgrade.features.indicators import aggregate

AWARD_LEVEL = {"district": 1, "municipal": 2, "provincial": 3, "national": 4}
TAX_GRADE = {"A": 1, "B": 2, "M": 3, "C": 4, "D": 5}


def _code(col, mapping: dict[str, int]):
    return ibis.cases(*[(col == k, v) for k, v in mapping.items()], else_=ibis.null("int64"))


@aggregate("awards")
def d5_awards_36m(t, asof, entry):
    return asof.within(t.award_date, entry.window_days).sum()


@aggregate("awards")
def d5_best_award_level(t, asof, entry):
    return _code(t.level, AWARD_LEVEL).max(where=asof.within(t.award_date, entry.window_days))


@aggregate("awards")
def d5_contract_abiding(t, asof, entry):
    return (asof.within(t.award_date, entry.window_days) & (t.kind == "contract_abiding")).max().cast("int64")


@aggregate("tax_credit")
def d5_tax_grade(t, asof, entry):
    return _code(t.grade.argmax(t.tax_year), TAX_GRADE)


@aggregate("tax_credit")
def d5_tax_grade_worst_3y(t, asof, entry):
    return _code(t.grade, TAX_GRADE).max(where=asof.within(t.published_date, entry.window_days))


@aggregate("credit_commitments")
def d5_commitments_kept_36m(t, asof, entry):
    return (asof.within(t.verified_date, entry.window_days) & t.kept).sum()


@aggregate("credit_commitments")
def d5_commitments_broken_36m(t, asof, entry):
    return (asof.within(t.verified_date, entry.window_days) & ~t.kept).sum()
