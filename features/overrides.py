"""Override rules from Shenzhen's grading rules (深市监规〔2021〕3号), found point in time with their source records.

- `closed_state` — ordered to stop business, licence revoked, struck off or ordered closed: the worst
  grade directly (E in the six tiers);
- `major_accident` — a major safety accident within 2 years: two grades down, no worse than D;
- `bank_mortgage_enforced` — a bank enforced a chattel mortgage (unpaid loan) within 2 years: two down;
- `special_list` — on the serious quality-dishonesty, e-commerce dishonesty or prepaid-flight list: two down.
Being on the serious illegal-and-dishonest list (严重违法失信名单) is not a rule here: the Shenzhen rules
(DOMAIN §1) do not name it, so it counts through its indicators (`d3_serious_current`, `d3_serious_5y`)
like any other record. Each hit names the rule, the table and the id of the record behind it. The hits
are facts as of a date, like the indicators: the feature pipeline finds them once and carries them in
the feature table, one summary per enterprise (`OVERRIDE_COLUMNS`); grading applies the effect, it does not look again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import ibis
import numpy as np
import pyarrow as pa
import pyarrow.compute  # noqa: F401  (pa.compute)

from creditgrade.features.pit import CLOSED_STATES, SPECIAL_LISTS, AsOf, sources

if TYPE_CHECKING:  # pandas is imported where overrides are summed up, not by every process that computes features
    import pandas as pd


@dataclass(frozen=True)
class Rule:
    id: str
    effect: str  # "worst" or "down2"
    en: str
    zh: str


RULES: dict[str, Rule] = {
    r.id: r
    for r in (
        Rule(
            "closed_state",
            "worst",
            "Ordered to stop business, revoked, struck off or ordered closed",
            "责令停业、吊销营业执照、除名或责令关闭",
        ),
        Rule("major_accident", "down2", "Major safety accident within 2 years", "近2年发生重大安全事故"),
        Rule(
            "bank_mortgage_enforced",
            "down2",
            "Bank enforced a chattel mortgage within 2 years (unpaid loan)",
            "近2年银行贷款未还被实现动产抵押",
        ),
        Rule(
            "special_list",
            "down2",
            "On a serious quality, e-commerce or prepaid-flight dishonesty list",
            "列入严重质量失信、电子商务失信或预付式消费跑路名单",
        ),
    )
}


EFFECTS = ("worst", "down2")  # strongest first; effects do not add up, the strongest decides
OVERRIDE_COLUMNS = ("override_effect", "override_rule", "override_zh", "override_en", "override_source")
OVERRIDE_SCHEMA = pa.schema([("uscc", pa.string())] + [(c, pa.string()) for c in OVERRIDE_COLUMNS])


def _hits(table: ibis.Table, where, rule: str, source: str, record: str, date: str) -> ibis.Table:
    """The rows of one source table that meet one rule, as (uscc, rule, source_table, source_record, source_date)."""
    return table.filter(where).select(
        "uscc",
        rule=ibis.literal(rule),
        source_table=ibis.literal(source),
        source_record=table[record],
        source_date=table[date],
    )


def override_hits(raw: dict[str, ibis.Table], asof: AsOf) -> ibis.Table:
    """(uscc, rule, source_table, source_record, source_date) for every rule an enterprise meets at the as-of date."""
    src = sources(raw, asof)
    ent, se, cm = src["graded"], src["severe_events"], src["chattel_mortgages"]
    hits = ibis.union(
        _hits(ent, ent.register_status.isin(CLOSED_STATES), "closed_state", "enterprises", "uscc", "closed_date"),
        _hits(
            se,
            (se.kind == "major_safety_accident") & asof.within(se.event_date, 730),
            "major_accident",
            "severe_events",
            "event_id",
            "event_date",
        ),
        _hits(
            se,
            se.kind.isin(SPECIAL_LISTS) & asof.running(se.event_date, se.end_date),
            "special_list",
            "severe_events",
            "event_id",
            "event_date",
        ),
        _hits(
            cm,
            (cm.creditor_type == "bank") & asof.within(cm.enforced_date, 730),
            "bank_mortgage_enforced",
            "chattel_mortgages",
            "record_id",
            "enforced_date",
        ),
    )
    return hits.join(ent.select("uscc"), "uscc").order_by(["uscc", "rule", "source_record"])


def override_summary(hits: pd.DataFrame) -> pa.Table:
    """One row per enterprise hit by a rule: the strongest effect (worst or down2), the rules (worst first),
    their names in Chinese and English, and every source record as table:record@date, in the same order."""
    import pandas as pd

    if hits.empty:
        return OVERRIDE_SCHEMA.empty_table()
    hits = hits.assign(effect=hits.rule.map(lambda r: RULES[r].effect))
    hits = hits.sort_values(
        ["uscc", "effect", "rule", "source_date", "source_record"],
        key=lambda c: c.map({e: i for i, e in enumerate(EFFECTS)}) if c.name == "effect" else c,
    )
    hits["source"] = (
        hits.source_table
        + ":"
        + hits.source_record.astype(str)
        + "@"
        + pd.to_datetime(hits.source_date).dt.strftime("%Y-%m-%d")
    )
    # per enterprise, in the order sorted: the strongest effect comes first; rules once each, as first met
    strongest = hits.drop_duplicates("uscc")
    rules = hits.drop_duplicates(["uscc", "rule"])
    frame = pd.DataFrame(
        {
            "uscc": strongest.uscc.to_numpy(),
            "override_effect": strongest.effect.to_numpy(),
            "override_rule": _joined(rules.uscc, rules.rule, "; "),
            "override_zh": _joined(rules.uscc, rules.rule.map(lambda r: RULES[r].zh), "；"),
            "override_en": _joined(rules.uscc, rules.rule.map(lambda r: RULES[r].en), "; "),
            "override_source": _joined(hits.uscc, hits.source, "; "),
        }
    )
    return pa.Table.from_pandas(frame, schema=OVERRIDE_SCHEMA, preserve_index=False)


def _joined(keys: pd.Series, values: pd.Series, sep: str) -> pa.Array:
    """Each key's values joined by `sep`, in the order given, for rows sorted by key (each key's rows together):
    the rows cut where the key changes and joined by Arrow, not by a Python call per enterprise."""
    keys = keys.to_numpy(dtype=object)
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]) if len(keys) else np.empty(0, np.int64)
    offsets = pa.array(np.append(starts, len(keys)).astype(np.int32))
    lists = pa.ListArray.from_arrays(offsets, pa.array(values.to_numpy(dtype=object), pa.string()))
    return pa.compute.binary_join(lists, sep)


def with_overrides(table: ibis.Table, raw: dict[str, ibis.Table], asof: AsOf) -> ibis.Table:
    """`table` (one row per enterprise, column uscc) with the override summary of each enterprise as of the
    date; enterprises no rule hits have nulls."""
    summary = ibis.memtable(override_summary(override_hits(raw, asof).to_pyarrow().to_pandas()))
    summary = summary.rename(_override_uscc="uscc")
    joined = table.left_join(summary, table.uscc == summary._override_uscc)
    return joined.select(*table.columns, *OVERRIDE_COLUMNS)
