"""D2 registration and licences (登记与许可信息)."""

from __future__ import annotations

from creditgrade.features.indicators import aggregate, column, table


def _recent(t, entry):
    return t.years_back < entry.params["report_years"]


def reports_filed(t, asof, entry):
    """the last `report_years` annual reports due that were filed by the as-of date"""
    return _recent(t, entry) & t.filed_by


def reports_missed(t, asof, entry):
    """... that were not"""
    return _recent(t, entry) & ~t.filed_by


def reports_late(t, asof, entry):
    """... that were filed late"""
    return _recent(t, entry) & t.late


@aggregate("reports_due", rows=reports_filed)
def d2_reports_filed_3y(t, asof, entry):
    return reports_filed(t, asof, entry).sum()


@aggregate("reports_due", rows=reports_missed)
def d2_reports_missed_3y(t, asof, entry):
    return reports_missed(t, asof, entry).sum()


@aggregate("reports_due", rows=reports_late)
def d2_reports_late_3y(t, asof, entry):
    return reports_late(t, asof, entry).sum()


@aggregate("reports_due")
def d2_last_report_on_time(t, asof, entry):
    return ((t.years_back == 0) & t.filed_by & t.filed_on_time).max().cast("int64")


@aggregate("latest_report")
def d2_financials_undisclosed(t, asof, entry):
    return (t.revenue.isnull() & t.total_assets.isnull() & t.total_liabilities.isnull()).max().cast("int64")


def _valid(t, asof):
    revoked = asof.known(t.revoked_date)
    return (t.issue_date <= asof.date) & (t.expiry_date > asof.date) & ~revoked


@aggregate("licences")
def d2_licences_valid(t, asof, entry):
    return _valid(t, asof).sum()


@table
def d2_licences_expired_unrenewed(src, wide, asof, entry):
    """licence types with a licence lapsed in 24 months and none of that type valid at as_of"""
    t = src["licences"]
    per_type = t.group_by(["uscc", "licence_type"]).aggregate(
        lapsed=(asof.within(t.expiry_date, entry.window_days) & ~asof.known(t.revoked_date)).any(),
        valid=_valid(t, asof).any(),
    )
    return per_type.group_by("uscc").aggregate(d2_licences_expired_unrenewed=(per_type.lapsed & ~per_type.valid).sum())


@aggregate("licences")
def d2_licences_revoked_36m(t, asof, entry):
    return asof.within(t.revoked_date, entry.window_days).sum()


@column
def d2_enterprises_at_address(w, asof, entry):
    """count(enterprises on the register at the same address)"""
    return w.uscc.count().over(group_by="address_id")


@column
def d2_cluster_address(w, asof, entry):
    """1 if more enterprises than `params["more_than"]` on the register share the address"""
    return (w.d2_enterprises_at_address > entry.params["more_than"]).cast("int64")


@column
def d2_agent_registered(w, asof, entry):
    return w.agent_id.notnull().cast("int64")


@column
def d2_scope_breadth(w, asof, entry):
    """number of ';'-separated sections in business_scope"""
    return w.business_scope.split(";").length()
