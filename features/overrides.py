"""Override rules from Shenzhen's grading rules (深市监规〔2021〕3号), found point in time with their source records.

- `closed_state` — ordered to stop business, licence revoked, struck off or ordered closed: the worst
  grade directly (E in the six tiers);
- `serious_list` — on the serious illegal-and-dishonest list: the worst grade;
- `major_accident` — a major safety accident within 2 years: two grades down, no worse than D;
- `bank_mortgage_enforced` — a bank enforced a chattel mortgage (unpaid loan) within 2 years: two down;
- `special_list` — on the serious quality-dishonesty, e-commerce dishonesty or prepaid-flight list: two down.
Each hit names the rule, the table and the id of the record behind it.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis

from features.pit import CLOSED_STATES, AsOf, sources

SPECIAL_LISTS = ("quality_dishonesty_list", "ecommerce_dishonesty_list", "prepaid_flight_list")


@dataclass(frozen=True)
class Rule:
    id: str
    effect: str  # "worst" or "down2"
    en: str
    zh: str


RULES: dict[str, Rule] = {r.id: r for r in (
    Rule("closed_state", "worst", "Ordered to stop business, revoked, struck off or ordered closed",
         "责令停业、吊销营业执照、除名或责令关闭"),
    Rule("serious_list", "worst", "On the serious illegal-and-dishonest list", "列入严重违法失信名单"),
    Rule("major_accident", "down2", "Major safety accident within 2 years", "近2年发生重大安全事故"),
    Rule("bank_mortgage_enforced", "down2", "Bank enforced a chattel mortgage within 2 years (unpaid loan)",
         "近2年银行贷款未还被实现动产抵押"),
    Rule("special_list", "down2", "On a serious quality, e-commerce or prepaid-flight dishonesty list",
         "列入严重质量失信、电子商务失信或预付式消费跑路名单"),
)}


def override_hits(raw: dict[str, ibis.Table], asof: AsOf) -> ibis.Table:
    """(uscc, rule, source_table, source_record, source_date) for every rule an enterprise meets at the as-of date."""
    src = sources(raw, asof)
    ent = src["graded"]
    closed = ent.filter(ent.register_status.isin(CLOSED_STATES)).select(
        "uscc", rule=ibis.literal("closed_state"), source_table=ibis.literal("enterprises"),
        source_record=ent.uscc, source_date=ent.closed_date)
    sv = src["serious_violations"]
    serious = sv.filter(asof.running(sv.entry_date, sv.exit_date)).select(
        "uscc", rule=ibis.literal("serious_list"), source_table=ibis.literal("serious_violations"),
        source_record=sv.record_id, source_date=sv.entry_date)
    se = src["severe_events"]
    accident = se.filter((se.kind == "major_safety_accident") & asof.within(se.event_date, 730)).select(
        "uscc", rule=ibis.literal("major_accident"), source_table=ibis.literal("severe_events"),
        source_record=se.event_id, source_date=se.event_date)
    special = se.filter(se.kind.isin(SPECIAL_LISTS) & asof.running(se.event_date, se.end_date)).select(
        "uscc", rule=ibis.literal("special_list"), source_table=ibis.literal("severe_events"),
        source_record=se.event_id, source_date=se.event_date)
    cm = src["chattel_mortgages"]
    mortgage = cm.filter((cm.creditor_type == "bank") & asof.within(cm.enforced_date, 730)).select(
        "uscc", rule=ibis.literal("bank_mortgage_enforced"), source_table=ibis.literal("chattel_mortgages"),
        source_record=cm.record_id, source_date=cm.enforced_date)
    hits = ibis.union(closed, serious, accident, special, mortgage)
    return hits.join(ent.select("uscc"), "uscc").order_by(["uscc", "rule", "source_record"])
