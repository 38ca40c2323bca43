"""Record corrections: a record removed (withdrawn or annulled) or repaired (信用修复), and the raw tables
with such changes made.

The what-if by record (`features.whatif`) makes them for one enterprise to show what would change; the
objection and repair workflow (`serving.objections`) decides them, and from the decision's date on the
feature pipeline makes them for the whole city (`build_features(..., corrections=...)`).

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


@dataclass(frozen=True)
class Correction:
    """A record change decided in the objection and repair workflow, in force from `day` on (point in time:
    indicators as of an earlier date still see the record as it was)."""

    change: RecordChange
    uscc: str
    day: dt.date
    reference: str  # the objection's or repair's id


def corrected(raw: dict[str, ibis.Table], corrections: list[Correction]) -> dict[str, ibis.Table]:
    """The raw tables with `corrections` made: removed records dropped, repairs added to credit_repairs."""
    out = dict(raw)
    removed: dict[str, list[str]] = {}
    repairs = []
    for c in corrections:
        if c.change.action == "remove":
            removed.setdefault(c.change.table, []).append(c.change.record_id)
        else:
            repairs.append(
                {
                    "repair_id": f"REPAIR-{c.reference}",
                    "uscc": c.uscc,
                    "repaired_table": c.change.table,
                    "repaired_record_id": c.change.record_id,
                    "repair_date": c.day,
                }
            )
    for table, ids in removed.items():
        t = out[table]
        out[table] = t.filter(~t[BY_NAME[table].key[0]].isin(ids))
    if repairs:
        existing = out["credit_repairs"]
        added = ibis.memtable(pa.Table.from_pylist(repairs)).select(*existing.columns).cast(existing.schema())
        out["credit_repairs"] = existing.union(added)
    return out


def check_owner(raw: dict[str, ibis.Table], uscc: str, change: RecordChange) -> None:
    """Refuse a change to a record that does not exist or is not one of `uscc`'s records."""
    change.check()
    t = raw[change.table]
    owners = t.filter(t[change.key] == change.record_id).select("uscc").distinct().to_pyarrow().column("uscc")
    if not len(owners):
        raise NotFound(
            f"no record {change.record_id} in {change.table}", f"{change.table} 中没有记录 {change.record_id}"
        )
    if uscc not in owners.to_pylist():
        raise not_owner(change, uscc)


def not_owner(change: RecordChange, uscc: str) -> WhatIfError:
    return WhatIfError(
        f"record {change.table}:{change.record_id} is not one of {uscc}'s records",
        f"记录 {change.table}:{change.record_id} 不属于 {uscc}",
    )
