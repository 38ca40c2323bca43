"""What-if by record: an enterprise's indicators and override rules at a date had one of its records been
removed (withdrawn or annulled) or repaired (信用修复), computed from the records by the same pipeline.

Changing a record rather than a model input moves everything the record feeds at once: a removed
penalty lowers the 12- and 36-month counts, the fine amount and the days since the latest penalty; a
repaired serious-list entry stops counting in every indicator that reads the list; an annulled bank
mortgage enforcement lifts the two-grade override it caused. Indicators that count other enterprises
(the address, the legal representative's other enterprises) are computed over the whole city as usual,
so the answer is the row the grading job would have produced.

>>> RecordChange.parse("remove", "penalties:PEN-1")
RecordChange(action='remove', table='penalties', record_id='PEN-1')
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import ibis
import pyarrow as pa

from creditgrade.features.contract import TABLES_BY_NAME as BY_NAME
from creditgrade.features.errors import CreditgradeError, NotFound
from creditgrade.features.pipeline import feature_table
from creditgrade.features.pit import REPAIRABLE

ACTIONS = ("remove", "repair")
NOT_RECORDS = ("enterprises", "credit_repairs")  # the register itself, and repairs (repair the record instead)


class WhatIfError(CreditgradeError):
    """A record change that cannot be made; the message names the problem."""

    code = "whatif"


@dataclass(frozen=True)
class RecordChange:
    """One record removed or repaired: the action, the raw table and the record's id there."""

    action: str
    table: str
    record_id: str

    @classmethod
    def parse(cls, action: str, text: str) -> RecordChange:
        """A change from `table:record_id`, e.g. ("repair", "abnormal_list:ABN2023000017")."""
        table, sep, record = text.partition(":")
        if not sep or not table or not record:
            raise WhatIfError(
                f"record {text!r}: write it as TABLE:RECORD_ID, e.g. penalties:PEN2024000123",
                f"记录 {text!r}：格式应为 表名:记录编号，如 penalties:PEN2024000123",
            )
        change = cls(action, table.strip(), record.strip())
        change.check()
        return change

    @property
    def key(self) -> str:
        return BY_NAME[self.table].key[0]

    def check(self) -> None:
        if self.action not in ACTIONS:
            raise WhatIfError(
                f"action {self.action!r}: use remove or repair", f"操作 {self.action!r}：应为 remove 或 repair"
            )
        t = BY_NAME.get(self.table)
        if t is None or self.table in NOT_RECORDS or len(t.key) != 1:
            names = ", ".join(sorted(n for n, x in BY_NAME.items() if len(x.key) == 1 and n not in NOT_RECORDS))
            raise WhatIfError(
                f"table {self.table!r} has no records one can remove by id; tables: {names}",
                f"表 {self.table!r} 不能按编号删除记录；可选：{names}",
            )
        if self.action == "repair" and self.table not in REPAIRABLE:
            raise WhatIfError(
                f"records of {self.table!r} cannot be repaired; repairable: {', '.join(REPAIRABLE)}",
                f"{self.table!r} 的记录不能信用修复；可修复：{', '.join(REPAIRABLE)}",
            )

    def describe(self, lang: str = "en") -> str:
        if lang == "zh":
            return f"{'删除' if self.action == 'remove' else '信用修复'} {self.table}:{self.record_id}"
        return f"{self.action} {self.table}:{self.record_id}"


def changed_records(
    raw: dict[str, ibis.Table], uscc: str, day: dt.date, changes: list[RecordChange]
) -> dict[str, ibis.Table]:
    """The raw tables with `changes` made; each record must exist and belong to the enterprise."""
    out = dict(raw)
    repairs = []
    for c in changes:
        c.check()
        t = out[c.table]
        owners = t.filter(t[c.key] == c.record_id).select("uscc").distinct().to_pyarrow().column("uscc").to_pylist()
        if not owners:
            raise NotFound(f"no record {c.record_id} in {c.table}", f"{c.table} 中没有记录 {c.record_id}")
        if uscc not in owners:
            raise WhatIfError(
                f"record {c.table}:{c.record_id} is not one of {uscc}'s records",
                f"记录 {c.table}:{c.record_id} 不属于 {uscc}",
            )
        if c.action == "remove":
            out[c.table] = t.filter(t[c.key] != c.record_id)
        else:
            repairs.append(
                {
                    "repair_id": f"WHATIF-{len(repairs) + 1}",
                    "uscc": uscc,
                    "repaired_table": c.table,
                    "repaired_record_id": c.record_id,
                    "repair_date": day,
                }
            )
    if repairs:
        existing = out["credit_repairs"]
        added = ibis.memtable(pa.Table.from_pylist(repairs)).select(*existing.columns).cast(existing.schema())
        out["credit_repairs"] = existing.union(added)
    return out


def feature_row(raw: dict[str, ibis.Table], day: dt.date, uscc: str) -> dict:
    """One enterprise's row of the feature table as of `day`: identification, indicators, override rules."""
    rows = feature_table(raw, day).filter(ibis._.uscc == uscc).to_pyarrow().to_pylist()
    if not rows:
        raise NotFound(
            f"{uscc} is not on the register as of {day}",
            f"{uscc} 在基准日 {day} 不在登记册上",
        )
    return rows[0]


def what_if(raw: dict[str, ibis.Table], day: dt.date, uscc: str, changes: list[RecordChange]) -> tuple[dict, dict]:
    """(before, after): the enterprise's feature rows as of `day` from its records as they are and with
    `changes` made."""
    if not changes:
        raise WhatIfError("no record to remove or repair given", "未指定要删除或修复的记录")
    return feature_row(raw, day, uscc), feature_row(changed_records(raw, uscc, day, changes), day, uscc)
