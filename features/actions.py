"""The actions the rules open to an enterprise (`actions.yaml`), and which of its records each applies to.

An action (apply for the repair of a penalty once its publicity period has run, file the overdue report and
leave the abnormal-operation list, perform a judgment) changes one record the way the objection and repair
workflow would (`features.corrections`): the recourse (`serving.recourse`) re-derives the indicators and
overrides from the changed records and scores them, never edits a model input. This module only says
which records of an enterprise an action applies to at a date and from when it is possible.

>>> [a.id for a in load_actions()][:2]
['repair_minor_penalty', 'repair_penalty']
>>> add_months(dt.date(2025, 8, 31), 6)
datetime.date(2026, 2, 28)
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import yaml

from creditgrade.features.contract import TABLES_BY_NAME
from creditgrade.features.corrections import RecordChange
from creditgrade.features.errors import CreditgradeError

FILE = Path(__file__).with_name("actions.yaml")
FIELDS = {
    "id",
    "table",
    "change",
    "when",
    "unless",
    "current",
    "after",
    "wait_months",
    "en",
    "zh",
    "basis_en",
    "basis_zh",
}


class ActionTableError(CreditgradeError):
    """The action table declares something the data contract or the workflow cannot do."""

    code = "actions"


@dataclass(frozen=True)
class Action:
    """One action the rules allow, declared in `actions.yaml`."""

    id: str
    table: str
    change: str  # repair | remove, as `features.corrections.RecordChange`
    when: dict[str, tuple[str, ...]]
    unless: dict[str, tuple[str, ...]]
    current: tuple[str, str] | None  # (start, end) columns: the record is in force at the date
    after: str  # the record's date the waiting period runs from
    wait_months: int
    en: str
    zh: str
    basis_en: str
    basis_zh: str

    def text(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


@dataclass(frozen=True)
class Candidate:
    """An action applied to one of the enterprise's records: what it changes and from when it is possible."""

    action: Action
    record_id: str
    record_date: dt.date
    possible_from: dt.date

    @property
    def change(self) -> RecordChange:
        return RecordChange(self.action.change, self.action.table, self.record_id)

    @property
    def record(self) -> str:
        return f"{self.action.table}:{self.record_id}"


def add_months(day: dt.date, months: int) -> dt.date:
    """`day` plus whole months, the day clamped to the month's last (31 Aug + 6 months = 28 Feb)."""
    years, month = divmod(day.month - 1 + months, 12)
    year = day.year + years
    return dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


@functools.cache
def load_actions(path: Path = FILE) -> tuple[Action, ...]:
    """The action table, checked against the data contract: every table, column and value it names exists."""
    entries = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or []
    if not isinstance(entries, list):
        raise ActionTableError(f"{path}: expected a list of actions", f"{path}：应为操作列表")
    actions, seen = [], set()
    for n, e in enumerate(entries):
        where = f"{path}, action {e.get('id', n + 1) if isinstance(e, dict) else n + 1}"
        if not isinstance(e, dict) or set(e) - FIELDS or not {"id", "table", "change", "after"} <= set(e):
            fields = sorted(set(e) - FIELDS) if isinstance(e, dict) else []
            raise ActionTableError(
                f"{where}: needs id, table, change and after" + (f"; unknown fields {fields}" if fields else ""),
                f"{where}：须有 id、table、change、after" + (f"；未知字段 {fields}" if fields else ""),
            )
        if e["id"] in seen:
            raise ActionTableError(f"{where}: id declared twice", f"{where}：编号重复")
        seen.add(e["id"])
        action = _action(e, where)
        actions.append(action)
    return tuple(actions)


def _action(e: dict, where: str) -> Action:
    table = TABLES_BY_NAME.get(e["table"])
    if table is None:
        raise ActionTableError(
            f"{where}: the data contract has no table {e['table']!r}", f"{where}：数据契约中没有表 {e['table']!r}"
        )
    columns = {c.name: c for c in table.columns}
    try:
        RecordChange(e["change"], e["table"], "any").check()
    except CreditgradeError as exc:
        raise ActionTableError(f"{where}: {exc}", f"{where}：{exc.zh}") from None

    def named(col: str, kind: str | None = None) -> str:
        if col not in columns:
            raise ActionTableError(
                f"{where}: table {e['table']} has no column {col!r}", f"{where}：表 {e['table']} 没有列 {col!r}"
            )
        if kind and str(columns[col].type) != kind:
            raise ActionTableError(f"{where}: column {col!r} is not a {kind}", f"{where}：列 {col!r} 不是 {kind} 类型")
        return col

    def values(spec: dict | None) -> dict[str, tuple[str, ...]]:
        out = {}
        for col, allowed in (spec or {}).items():
            codes = columns[named(col)].codes
            unknown = [v for v in allowed if codes is not None and v not in codes]
            if unknown:
                raise ActionTableError(
                    f"{where}: {e['table']}.{col} has no code {unknown}",
                    f"{where}：{e['table']}.{col} 没有代码 {unknown}",
                )
            out[col] = tuple(allowed)
        return out

    current = e.get("current")
    wait = e.get("wait_months", 0)
    if not isinstance(wait, int) or wait < 0:
        raise ActionTableError(f"{where}: wait_months must be a whole number ≥ 0", f"{where}：wait_months 须为非负整数")
    for lang in ("en", "zh", "basis_en", "basis_zh"):
        if not str(e.get(lang) or "").strip():
            raise ActionTableError(f"{where}: the {lang} wording is missing", f"{where}：缺少 {lang} 文字")
    return Action(
        id=str(e["id"]),
        table=e["table"],
        change=e["change"],
        when=values(e.get("when")),
        unless=values(e.get("unless")),
        current=None if current is None else (named(current["start"], "date"), named(current["end"], "date")),
        after=named(e["after"], "date"),
        wait_months=wait,
        en=e["en"],
        zh=e["zh"],
        basis_en=e["basis_en"],
        basis_zh=e["basis_zh"],
    )


def candidates(local: dict[str, pa.Table], day: dt.date, uscc: str, actions=None) -> list[Candidate]:
    """Every action the rules allow on `uscc`'s records known at `day` (among `local`, its neighbourhood's
    records: `features.whatif.local_records`) and not already repaired, with the date it becomes possible
    (maybe after `day`), in the order of the action table, then the record's date and id."""
    repairs = local["credit_repairs"].to_pandas()
    repairs = repairs[(repairs.uscc == uscc) & (repairs.repair_date <= day)]
    done = set(zip(repairs.repaired_table, repairs.repaired_record_id))
    out = []
    for a in actions or load_actions():
        t = local[a.table].to_pandas()
        rows = t[(t.uscc == uscc) & (t[a.after] <= day)]
        for col, allowed in a.when.items():
            rows = rows[rows[col].isin(allowed)]
        for col, excluded in a.unless.items():
            rows = rows[~rows[col].isin(excluded)]
        if a.current is not None:
            start, end = a.current
            rows = rows[(rows[start] <= day) & (rows[end].isna() | (rows[end] > day))]
        key = TABLES_BY_NAME[a.table].key[0]
        for record_id, date in sorted(zip(rows[key], rows[a.after]), key=lambda r: (r[1], r[0])):
            if (a.table, record_id) not in done:
                out.append(Candidate(a, record_id, date, add_months(date, a.wait_months)))
    return out
