"""The records behind a reason: an enterprise's rows in the raw tables an indicator reads (its catalog `sources`),
as of the graded month, newest first, without person identifiers; each named `TABLE:ID` as objections name it."""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass
from pathlib import Path

import duckdb

from creditgrade.features import catalog
from creditgrade.features.contract import TABLES_BY_NAME
from creditgrade.features.corrections import NOT_RECORDS

SHOWN = 5  # records per table on a page


@dataclass(frozen=True)
class Record:
    table: str
    table_zh: str
    table_en: str
    id: str  # TABLE:ID (TABLE:KEY1/KEY2 for a table keyed by more; the USCC and person identifiers left out)
    fileable: bool  # an objection or repair can name it (its table has one key column)
    day: str | None
    fields: tuple[tuple[str, str, str, str], ...]  # (column's zh, column's en, value in zh, value in en)

    def text(self, lang: str) -> str:
        zh = lang == "zh"
        return "；".join(f"{c_zh if zh else c_en}: {v_zh if zh else v_en}" for c_zh, c_en, v_zh, v_en in self.fields)


def record_tables(indicator: str) -> tuple[str, ...]:
    """The raw tables behind an indicator whose rows are records of the enterprise (not the register itself)."""
    try:
        found = catalog.indicator(indicator)
    except KeyError:
        return ()
    return tuple(t for t in found.sources if t not in NOT_RECORDS)


def records(
    folder: Path, uscc: str, tables: tuple[str, ...], as_of: str | None, yes_no: dict[bool, tuple[str, str]]
) -> list[Record]:
    """`uscc`'s records in `tables` known by `as_of` (event date on or before it), newest first, SHOWN a table;
    `yes_no`: how a true or false value reads, (zh, en)."""
    out: list[Record] = []
    con = _connection()  # kept for the thread: opening one costs more than the lookup
    for name in tables:
        path = Path(folder) / f"{name}.parquet"
        if not path.exists():
            continue
        t = TABLES_BY_NAME[name]
        shown = [c for c in t.columns if not c.person_identifier and c.name != "uscc"]
        when = f"AND {t.event_date} <= ?::DATE" if t.event_date and as_of else ""
        order = f"ORDER BY {t.event_date} DESC NULLS LAST" if t.event_date else ""
        sql = (
            f"SELECT {', '.join(c.name for c in shown)} FROM read_parquet(?) WHERE uscc = ? {when} {order} "
            f"LIMIT {SHOWN}"
        )
        params = [str(path), uscc] + ([as_of] if when else [])
        for row in con.execute(sql, params).fetchall():
            values = dict(zip([c.name for c in shown], row))
            fields = tuple(
                (c.zh, c.en, *_shown(values[c.name], c, yes_no))
                for c in shown
                if c.name not in t.key and values[c.name] is not None
            )
            day = values.get(t.event_date) if t.event_date else None
            key = "/".join(str(values[k]) for k in t.key if k in values)  # never a person identifier
            out.append(
                Record(name, t.zh, t.en, f"{name}:{key}", len(t.key) == 1, None if day is None else str(day), fields)
            )
    return out


_LOCAL = threading.local()


def _connection() -> duckdb.DuckDBPyConnection:
    """This thread's DuckDB connection (one thread each: a connection is not shared between threads)."""
    con = getattr(_LOCAL, "con", None)
    if con is None:
        con = _LOCAL.con = duckdb.connect(config={"threads": 1})
    return con


def _shown(value, column, yes_no: dict[bool, tuple[str, str]]) -> tuple[str, str]:
    """(zh, en) of one value: a code's own names, yes or no, a number or date as written."""
    if column.codes and str(value) in column.codes:
        code = column.codes[str(value)]
        return code.zh, code.en
    if isinstance(value, bool):
        return yes_no[value]
    text = (
        f"{value:,.2f}" if isinstance(value, float) else value.isoformat() if isinstance(value, dt.date) else str(value)
    )
    return text, text
