"""D1 operation and changes (经营与变更情况)."""

from __future__ import annotations

import ibis

from creditgrade.features.indicators import aggregate, column, within

DAYS_PER_YEAR = 365.25


def _ratio(num, den):
    return ibis.ifelse(den > 0, num / den, ibis.null("float64"))


@column
def d1_age_years(w, asof, entry):
    """(as_of − established_date) / 365.25"""
    return asof.days_since(w.established_date).cast("float64") / DAYS_PER_YEAR


@column
def d1_registered_capital_log(w, asof, entry):
    """log10(1 + registered_capital)"""
    return asof.log10(w.registered_capital + 1)


@column
def d1_paid_in_ratio(w, asof, entry):
    """paid_in_capital / registered_capital; missing when not disclosed"""
    return _ratio(w.paid_in_capital, w.registered_capital)


def changed(kind: str):
    """`rows` of a count of registration changes of one kind within the indicator's window"""
    return lambda t, asof, entry: asof.within(t.change_date, entry.window_days) & (t.change_type == kind)


@aggregate("registration_changes", rows=changed("legal_rep"))
def d1_legal_rep_changes_24m(t, asof, entry):
    return changed("legal_rep")(t, asof, entry).sum()


@aggregate("registration_changes", rows=changed("address"))
def d1_address_changes_24m(t, asof, entry):
    return changed("address")(t, asof, entry).sum()


@aggregate("registration_changes", rows=changed("scope"))
def d1_scope_changes_24m(t, asof, entry):
    return changed("scope")(t, asof, entry).sum()


@aggregate("registration_changes", rows=changed("shareholder"))
def d1_shareholder_changes_24m(t, asof, entry):
    return changed("shareholder")(t, asof, entry).sum()


@aggregate("registration_changes", rows=within("change_date"))
def d1_changes_12m(t, asof, entry):
    return asof.within(t.change_date, entry.window_days).sum()


@aggregate("latest_report")
def d1_employees(t, asof, entry):
    return t.employees.max()


@aggregate("latest_report")
def d1_insured_ratio(t, asof, entry):
    return _ratio(t.insured_headcount, t.employees).max()


@aggregate("latest_report")
def d1_revenue_log(t, asof, entry):
    return asof.log10(t.revenue + 1).max()


@aggregate("latest_report")
def d1_profit_margin(t, asof, entry):
    return _ratio(t.profit, t.revenue).max()


@aggregate("latest_report")
def d1_debt_ratio(t, asof, entry):
    return _ratio(t.total_liabilities, t.total_assets).max()


@aggregate("latest_report")
def _revenue_latest(t, asof, entry):
    return t.revenue.max()


@aggregate("previous_report")
def _revenue_previous(t, asof, entry):
    return t.revenue.max()


@column
def d1_revenue_growth(w, asof, entry):
    """revenue_latest / revenue_previous − 1"""
    return _ratio(w._revenue_latest, w._revenue_previous) - 1
