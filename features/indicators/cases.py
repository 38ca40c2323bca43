"""D4 cases, complaints and reports (案件与投诉举报)."""

from __future__ import annotations

import ibis

from creditgrade.features.indicators import aggregate, within


@aggregate("complaints", rows=within("received_date"))
def d4_complaints_12m(t, asof, entry):
    return asof.within(t.received_date, entry.window_days).sum()


@aggregate("complaints", rows=within("received_date"))
def d4_complaints_36m(t, asof, entry):
    return asof.within(t.received_date, entry.window_days).sum()


@aggregate("complaints", rows=within("received_date"))
def d4_substantiated_12m(t, asof, entry):
    return (asof.within(t.received_date, entry.window_days) & t.resolved_by & t.substantiated.fill_null(False)).sum()


@aggregate("complaints", rows=within("received_date"))
def d4_substantiated_share_36m(t, asof, entry):
    recent = asof.within(t.received_date, entry.window_days) & t.resolved_by
    resolved = recent.sum()
    return ibis.ifelse(resolved > 0, (recent & t.substantiated.fill_null(False)).sum() / resolved, ibis.null("float64"))


def _defendant(t, asof, col, days: int):
    return asof.within(col, days) & (t.role == "defendant")


@aggregate("court_cases", rows=within("filing_date"))
def d4_defendant_cases_24m(t, asof, entry):
    return _defendant(t, asof, t.filing_date, entry.window_days).sum()


def cases_lost(t, asof, entry):
    """`rows` of cases the enterprise lost as defendant, judged within the indicator's window"""
    return _defendant(t, asof, t.judgment_date, entry.window_days) & t.lost_by


@aggregate("court_cases", rows=cases_lost)
def d4_cases_lost_24m(t, asof, entry):
    return cases_lost(t, asof, entry).sum()


@aggregate("court_cases", rows=within("filing_date"))
def d4_case_amount_24m_log(t, asof, entry):
    return asof.log10(asof.money(t.amount, _defendant(t, asof, t.filing_date, entry.window_days)).fill_null(0) + 1)


@aggregate("spot_checks", rows=within("check_date"))
def d4_checks_36m(t, asof, entry):
    return asof.within(t.check_date, entry.window_days).sum()


@aggregate("spot_checks", rows=within("check_date"))
def d4_check_problems_36m(t, asof, entry):
    return (asof.within(t.check_date, entry.window_days) & t.problem_found).sum()


@aggregate("spot_checks", rows=within("check_date"))
def d4_days_since_problem_check(t, asof, entry):
    """days since an inspection within the window found a problem (none: the window, filled from no_records)"""
    return asof.days_since(t.check_date.max(where=t.problem_found & asof.within(t.check_date, entry.window_days)))


def registered_now(t, asof, entry):
    """`rows` of pledges and freezes of the enterprise's equity in force at the as-of date"""
    return asof.running(t.registered_date, t.released_date)


@aggregate("equity_pledges", rows=registered_now)
def d4_equity_frozen(t, asof, entry):
    return (registered_now(t, asof, entry) & (t.kind == "freeze")).max().cast("int64")


@aggregate("equity_pledges", rows=registered_now)
def d4_equity_pledged(t, asof, entry):
    return (registered_now(t, asof, entry) & (t.kind == "pledge")).max().cast("int64")


@aggregate("chattel_mortgages", rows=within("enforced_date"))
def d4_mortgage_enforced_24m(t, asof, entry):
    return asof.within(t.enforced_date, entry.window_days).sum()
