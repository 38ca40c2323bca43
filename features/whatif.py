"""What-if by record: an enterprise's indicators and override rules at a date had one of its records been
removed (withdrawn or annulled) or repaired (信用修复), computed from the records by the same pipeline.

Changing a record rather than a model input moves everything the record feeds at once: a removed
penalty lowers the 12- and 36-month counts, the fine amount and the days since the latest penalty; a
repaired serious-list entry stops counting in every indicator that reads the list; an annulled bank
mortgage enforcement lifts the two-grade override it caused. Indicators that count other enterprises
(the address, the legal representative's other enterprises) are computed over the whole city as usual,
so the answer is the row the grading job would have produced.

The record changes themselves live in `features.corrections`.

Many what-ifs of one enterprise at once (the recourse tries every action and their combinations) need not
compute the city: `scenario_rows` reads the records of the enterprise's neighbourhood only — the
enterprises an indicator of it reads (`neighbourhood`: itself, those at its address or with its legal
representative, those sharing a shareholder with it, its enterprise shareholders) — and computes every
scenario in one run of the same pipeline, each a copy of the neighbourhood whose ids carry the scenario's
number (so the copies never meet in a join). Its rows equal the full city's (tested on every enterprise
of a town).
"""

from __future__ import annotations

import datetime as dt
import functools
import threading
from collections.abc import Sequence
from pathlib import Path

import duckdb
import ibis
import pyarrow as pa
import pyarrow.compute as pc

from creditgrade.features import catalog
from creditgrade.features.by_enterprise import records
from creditgrade.features.contract import TABLES, TABLES_BY_NAME
from creditgrade.features.corrections import (
    ACTIONS,
    Correction,
    RecordChange,
    WhatIfError,
    check_owner,
    corrected,
    not_owner,
)
from creditgrade.features.errors import NotFound
from creditgrade.features.overrides import OVERRIDE_COLUMNS, override_hits, override_summary
from creditgrade.features.pipeline import feature_table, indicator_table
from creditgrade.features.pit import AsOf

__all__ = [
    "ACTIONS",
    "RecordChange",
    "WhatIfError",
    "changed_records",
    "feature_row",
    "neighbourhood",
    "scenario_rows",
    "what_if",
]

# Columns that name an enterprise, a record or something enterprises share: a scenario's copy of the
# neighbourhood carries its number in each, so copies never join one another.
LINKS = ("uscc", "holder_id", "legal_rep_id", "address_id", "phone_id", "agent_id", "repaired_record_id")
# The indicators of an enterprise that other enterprises' records feed, and that its own records cannot move:
# how many enterprises share its address (and the cluster flag on that count); how many *other* enterprises
# with its legal representative, sharing a shareholder, or holding it, are on a negative list (its own flag
# is subtracted in their definitions). Tested: every scenario equals the full-city what-if.
NEIGHBOURS = (
    "d2_enterprises_at_address",
    "d2_cluster_address",
    "d3_related_negative_rep",
    "d3_related_negative_holder",
)
# What of the neighbours those indicators read: the register (address, legal representative, on the
# register or not), holdings, the three negative lists and the repairs that lift entries from them. Of the
# other tables only the enterprise's own rows are read.
NEIGHBOUR_TABLES = (
    "enterprises", "shareholdings", "abnormal_list", "serious_violations", "judgment_defaulters", "credit_repairs",
)  # fmt: skip
KEYS = {t.name: (*LINKS, *(k for k in t.key if k.endswith("_id"))) for t in TABLES}


def changed_records(
    raw: dict[str, ibis.Table], uscc: str, day: dt.date, changes: list[RecordChange]
) -> dict[str, ibis.Table]:
    """The raw tables with `changes` made; each record must exist and belong to the enterprise."""
    for c in changes:
        check_owner(raw, uscc, c)
    return corrected(raw, [Correction(c, uscc, day, f"WHATIF-{n + 1}") for n, c in enumerate(changes)])


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


def neighbourhood(data: Path, uscc: str) -> list[str]:
    """The enterprises whose records an indicator or override of `uscc` reads: itself, the enterprises at
    its address or with its legal representative (d2_enterprises_at_address, d3_related_negative_rep),
    those sharing a shareholder with it and its enterprise shareholders (d3_related_negative_holder)."""
    return records(data).neighbourhood(uscc)


def local_records(data: Path, day: dt.date, uscc: str, corrections: Sequence[Correction] = ()) -> dict[str, pa.Table]:
    """The records of `uscc`'s neighbourhood in the ingested city folder `data` (of NEIGHBOUR_TABLES; the
    other tables: `uscc`'s own rows), read from the copy sorted by enterprise (`features.by_enterprise`), with
    the `corrections` in force at `day` made (as `corrected` makes them for the city)."""
    reader = records(data)
    members = reader.neighbourhood(uscc)
    local = reader.of(members, only=NEIGHBOUR_TABLES, own=uscc)
    return _changed(local, [c for c in corrections if c.day <= day and c.uscc in set(members)], "")


def scenario_rows(
    local: dict[str, pa.Table], day: dt.date, uscc: str, scenarios: list[list[RecordChange]]
) -> list[dict]:
    """`uscc`'s feature row as of `day` (the model's indicators and the override columns) under each scenario
    of record changes (an empty list: the records as they are), computed from its neighbourhood's records
    (`local_records`), all scenarios in one run. Each change must be to one of `uscc`'s records."""
    for changes in scenarios:
        for c in changes:
            _check_owner(local, uscc, c)
    # The first scenario is computed with the whole neighbourhood; the others with the enterprise's own
    # records only, their related-party indicators taken from the first (its own records do not move them:
    # NEIGHBOURS) — a mass-registration address's thousands of neighbours are not copied once per scenario.
    own = {name: t.filter(pc.equal(t["uscc"], uscc)) for name, t in local.items()}
    copies: dict[str, list[pa.Table]] = {name: [] for name in local}
    for n, changes in enumerate(scenarios):
        mark = f"~{n}"
        made = [Correction(c, uscc, day, f"WHATIF-{k + 1}") for k, c in enumerate(changes)]
        for name, table in _changed(local if n == 0 else own, made, mark).items():
            copies[name].append(table)
    tables = {name: pa.concat_tables(parts) for name, parts in copies.items()}
    wanted = [uscc + f"~{n}" for n in range(len(scenarios))]
    con = _connection(day, tables, pa.table({"uscc": wanted}))
    try:
        found = "WHERE uscc IN (SELECT uscc FROM wanted)"
        rows = con.sql(f"SELECT * FROM whatif_indicators {found}").to_arrow_table().to_pylist()
        hits = con.sql(f"SELECT * FROM whatif_hits {found}").to_arrow_table().to_pandas()
    finally:
        for name in [*tables, "wanted"]:  # the neighbourhood's records are not held past the call
            con.unregister(f"raw_{name}" if name != "wanted" else name)
    by_uscc = {r["uscc"]: r for r in rows}
    if uscc + "~0" not in by_uscc:
        raise NotFound(f"{uscc} is not on the register as of {day}", f"{uscc} 在基准日 {day} 不在登记册上")
    number = {w: n for n, w in enumerate(wanted)}
    # One override summary for every scenario: the marks taken off the source records first, so each
    # scenario's rules and records sort as the city's do.
    hits["source_record"] = [r.removesuffix(f"~{number[u]}") for r, u in zip(hits.source_record, hits.uscc)]
    summary = {r["uscc"]: r for r in override_summary(hits).to_pylist()}
    out = []
    for w in wanted:
        overrides = {c: summary[w][c] if w in summary else None for c in OVERRIDE_COLUMNS}
        related = {i: by_uscc[wanted[0]][i] for i in NEIGHBOURS}
        out.append({**by_uscc[w], "uscc": uscc, **overrides, **related})
    return out


_THREAD = threading.local()


def _connection(day: dt.date, tables: dict[str, pa.Table], wanted: pa.Table) -> duckdb.DuckDBPyConnection:
    """This thread's DuckDB connection with `tables` registered as `raw_<name>` and `wanted`, and the pipeline
    as two views over them (`whatif_indicators`, `whatif_hits`), made once per thread, date and schemas: the
    pipeline's SQL (65 k characters) is parsed when the views are made, not on every call (~80 ms a call)."""
    key = (day, tuple((name, t.schema) for name, t in tables.items()))
    held = getattr(_THREAD, "held", None)
    if held is not None and held[0] == key:
        con = held[1]
    else:
        if held is not None:
            held[1].close()
        _THREAD.held = None
        con = duckdb.connect(config={"threads": 1})
    for name, t in tables.items():
        con.register(f"raw_{name}", t)
    con.register("wanted", wanted)
    if getattr(_THREAD, "held", None) is None:
        indicators_sql, hits_sql = _feature_sql(*key)
        con.execute(f"CREATE OR REPLACE TEMP VIEW whatif_indicators AS {indicators_sql}")
        con.execute(f"CREATE OR REPLACE TEMP VIEW whatif_hits AS {hits_sql}")
        _THREAD.held = (key, con)
    return con


@functools.lru_cache(maxsize=8)
def _feature_sql(day: dt.date, schemas: tuple[tuple[str, pa.Schema], ...]) -> tuple[str, str]:
    """The model's indicators and the override rules' hits as of `day`, as DuckDB SQL over tables
    `raw_<name>` of these schemas. Building and compiling the pipeline's expression takes seconds (it is
    hundreds of operations); running it on a neighbourhood's few rows, milliseconds — so it is compiled once
    per date and schema and kept. (The override summary is then made as the pipeline makes it.)"""
    tables = {name: ibis.table(ibis.Schema.from_pyarrow(schema), name=f"raw_{name}") for name, schema in schemas}
    indicators = indicator_table(tables, day, only=catalog.RISK_IDS, helpers=True)  # no false-registration ones
    hits = override_hits(tables, AsOf(day))
    return ibis.to_sql(indicators, dialect="duckdb"), ibis.to_sql(hits, dialect="duckdb")


def _key(table: str) -> str:
    return TABLES_BY_NAME[table].key[0]


def _changed(local: dict[str, pa.Table], made: list[Correction], mark: str) -> dict[str, pa.Table]:
    """`local` with `made` made — removed records dropped, repairs added to credit_repairs (as
    `features.corrections.corrected`) — and `mark` appended to every id (see LINKS)."""
    removed: dict[str, list[str]] = {}
    for c in made:
        if c.change.action == "remove":
            removed.setdefault(c.change.table, []).append(c.change.record_id)
    out = {}
    for name, table in local.items():
        if name in removed:
            table = table.filter(pc.invert(pc.is_in(table[_key(name)], pa.array(removed[name]))))
        out[name] = _marked(table, KEYS[name], mark)
    repairs = [
        {
            "repair_id": f"REPAIR-{c.reference}{mark}",
            "uscc": c.uscc + mark,
            "repaired_table": c.change.table,
            "repaired_record_id": c.change.record_id + mark,
            "repair_date": c.day,
        }
        for c in made
        if c.change.action == "repair"
    ]
    if repairs:
        added = pa.Table.from_pylist(repairs).cast(local["credit_repairs"].schema)
        out["credit_repairs"] = pa.concat_tables([out["credit_repairs"], added])
    return out


def _check_owner(local: dict[str, pa.Table], uscc: str, change: RecordChange) -> None:
    """As `corrections.check_owner`, on the neighbourhood's records (the enterprise's own are all there)."""
    change.check()
    t = local[change.table]
    owners = set(t.filter(pc.equal(t[change.key], change.record_id)).column("uscc").to_pylist())
    if uscc not in owners:  # the enterprise's own records are all in its neighbourhood's
        raise not_owner(change, uscc)


def _marked(table: pa.Table, columns: tuple[str, ...], mark: str) -> pa.Table:
    """`table` with `mark` appended to every value of `columns` it has (nulls stay null)."""
    if not mark:
        return table
    for name in dict.fromkeys(columns):
        i = table.schema.get_field_index(name)
        if i >= 0:
            table = table.set_column(i, name, pc.binary_join_element_wise(table[name], mark, ""))
    return table
