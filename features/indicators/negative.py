"""D3 penalties and negative lists (处罚与负面名单)."""

from __future__ import annotations

from creditgrade.features.indicators import aggregate, column, table, within
from creditgrade.features.pit import SPECIAL_LISTS


@aggregate("penalties", rows=within("decision_date"))
def d3_penalties_12m(t, asof, entry):
    return asof.within(t.decision_date, entry.window_days).sum()


@aggregate("penalties", rows=within("decision_date"))
def d3_penalties_36m(t, asof, entry):
    return asof.within(t.decision_date, entry.window_days).sum()


@aggregate("penalties", rows=within("decision_date"))
def d3_penalty_amount_36m_log(t, asof, entry):
    return asof.log10(asof.money(t.amount, asof.within(t.decision_date, entry.window_days)).fill_null(0) + 1)


@aggregate("penalties", rows=within("decision_date"))
def d3_serious_penalties_36m(t, asof, entry):
    return (asof.within(t.decision_date, entry.window_days) & (t.severity == "serious")).sum()


@aggregate("penalties", rows=within("decision_date"))
def d3_days_since_penalty(t, asof, entry):
    """days since the latest unrepaired penalty within the window (none: the window, filled from no_records)"""
    return asof.days_since(t.decision_date.max(where=asof.within(t.decision_date, entry.window_days)))


@aggregate("credit_repairs", rows=within("repair_date"))
def d3_repairs_36m(t, asof, entry):
    return asof.within(t.repair_date, entry.window_days).sum()


def listed(t, asof, entry):
    """`rows` of an aggregate over a list: the entries the enterprise is on at the as-of date"""
    return asof.running(t.entry_date, t.exit_date)


def defaulter_listed(t, asof, entry):
    """... on the list of judgment defaulters"""
    return asof.running(t.listed_date, t.removed_date)


def event_running(t, asof, entry):
    """... a severe event (or a special list) running at the as-of date"""
    return asof.running(t.event_date, t.end_date)


@aggregate("abnormal_list", rows=listed)
def d3_abnormal_current(t, asof, entry):
    return listed(t, asof, entry).max().cast("int64")


@aggregate("abnormal_list", rows=listed)
def d3_unreachable_current(t, asof, entry):
    return (listed(t, asof, entry) & (t.entry_reason == "unreachable")).max().cast("int64")


@aggregate("abnormal_list", rows=within("entry_date"))
def d3_abnormal_entries_36m(t, asof, entry):
    return asof.within(t.entry_date, entry.window_days).sum()


@aggregate("abnormal_list", rows=listed)
def d3_abnormal_days_current(t, asof, entry):
    return asof.days_since(t.entry_date.min(where=listed(t, asof, entry)))


@aggregate("serious_violations", rows=listed)
def d3_serious_current(t, asof, entry):
    return listed(t, asof, entry).max().cast("int64")


@aggregate("serious_violations", rows=within("entry_date"))
def d3_serious_5y(t, asof, entry):
    return asof.within(t.entry_date, entry.window_days).sum()


@aggregate("judgment_defaulters", rows=defaulter_listed)
def d3_defaulter_current(t, asof, entry):
    return defaulter_listed(t, asof, entry).max().cast("int64")


@aggregate("severe_events", rows=within("event_date"))
def d3_severe_events_24m(t, asof, entry):
    return asof.within(t.event_date, entry.window_days).sum()


@aggregate("severe_events", rows=event_running)
def d3_special_list_current(t, asof, entry):
    return (event_running(t, asof, entry) & t.kind.isin(SPECIAL_LISTS)).max().cast("int64")


def negative(w):
    """On the abnormal, serious or judgment-defaulter list at the as-of date."""
    return ((w.d3_abnormal_current + w.d3_serious_current + w.d3_defaulter_current) > 0).cast("int64")


@column
def d3_related_negative_rep(w, asof, entry):
    """other enterprises on the register with the same legal representative on a negative list"""
    neg = negative(w)
    return neg.sum().over(group_by="legal_rep_id") - neg


@table
def d3_related_negative_holder(src, wide, asof, entry):
    """other enterprises on the register sharing a shareholder, and enterprise shareholders, on a negative list"""
    holdings = src["shareholdings"].select("uscc", "holder_id")
    flags = wide.select("uscc", neg=negative(wide))
    linked = holdings.join(flags, "uscc")
    per_holder = linked.group_by("holder_id").aggregate(neg_investees=linked.neg.sum())
    co = holdings.join(per_holder, "holder_id").join(flags, "uscc")
    co = co.group_by("uscc").aggregate(co_neg=(co.neg_investees - co.neg).sum())
    parents = holdings.join(flags.select(holder_id="uscc", parent_neg="neg"), "holder_id")
    parents = parents.group_by("uscc").aggregate(parent_neg=parents.parent_neg.sum())
    both = flags.select("uscc").left_join(co, "uscc").drop("uscc_right").left_join(parents, "uscc").drop("uscc_right")
    return both.select("uscc", d3_related_negative_holder=both.co_neg.fill_null(0) + both.parent_neg.fill_null(0))
