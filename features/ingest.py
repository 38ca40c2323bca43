"""`creditgrade ingest`: validate a folder of raw tables against the contract.

Every row read is either accepted (written unchanged, typed, to the output
folder) or quarantined with its table, row number, column and reason — per
table, rows read = rows accepted + rows quarantined. Bad rows never stop the
run; an unreadable file or a missing table does, with one message naming it.

Checks, in order:
1. per value: required present, type, allowed code, range, date not after the
   extraction date, USCC format and checksum (python-stdnum, with an allow-list
   for legal codes that fail it);
2. per row: the table's consistency rules (e.g. closed after established);
3. duplicates of the key (the first occurrence is kept);
4. references: every event points at an enterprise accepted in step 1–3.
Values are read as text and cast exactly; nothing accepted is altered.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
from duckdb import sqltypes
from stdnum import exceptions as stdnum_errors
from stdnum.cn import uscc as stdnum_uscc

from creditgrade.features.contract import TABLES, Column, Table
from creditgrade.features.errors import CreditgradeError, NotFound
from creditgrade.features.store import DUCKDB_TYPES, atomic_folder, no_progress_bar

QUARANTINE_FILE = "quarantine.parquet"
REPORT_FILE = "ingest_report.json"
Progress = Callable[[str, int, int], None]


class IngestError(CreditgradeError):
    """A problem that stops the whole ingest (a missing or unreadable table)."""

    code = "ingest"


@dataclass
class TableResult:
    table: str
    read: int
    accepted: int
    quarantined: int
    reasons: dict[str, int] = field(default_factory=dict)

    @property
    def reconciles(self) -> bool:
        return self.read == self.accepted + self.quarantined


@dataclass
class IngestReport:
    source: str
    extraction_date: str
    tables: list[TableResult]

    @property
    def reconciles(self) -> bool:
        return all(t.reconciles for t in self.tables)

    def to_dict(self) -> dict:
        return {
            "source": self.source,
            "extraction_date": self.extraction_date,
            "tables": [t.__dict__ for t in self.tables],
        }


# -- reasons, in both languages ---------------------------------------------


def _reason(en: str, zh: str) -> str:
    """A reason in both languages, as stored in the quarantine ('english | 中文')."""
    return f"{en} | {zh}"


TYPE_NAMES_ZH = {
    "int": "整数",
    "float": "数值",
    "date": "日期（YYYY-MM-DD）",
    "bool": "布尔值（true/false）",
    "string": "文本",
}


def uscc_problem(code: str | None, allow: frozenset[str] = frozenset()) -> str | None:
    """Why a USCC is not acceptable, or None. Uses python-stdnum's checks.

    >>> uscc_problem("91440300MA5AY4CLX2") is None
    True
    >>> uscc_problem("91440300MA5AY4CLX3")
    'USCC check character is wrong | 统一社会信用代码校验位错误'
    """
    if code is None:
        return None
    if code in allow:
        return None
    if stdnum_uscc.compact(code) != code:
        return _reason("USCC has spaces, separators or lower case", "统一社会信用代码含空格、分隔符或小写字母")
    try:
        stdnum_uscc.validate(code)
    except stdnum_errors.InvalidLength:
        return _reason(f"USCC must have 18 characters; has {len(code)}", f"统一社会信用代码应为18位，实为{len(code)}位")
    except stdnum_errors.InvalidFormat:
        return _reason("USCC has characters outside GB 32100 (no I, O, S, V, Z)", "统一社会信用代码含非法字符")
    except stdnum_errors.InvalidChecksum:
        return _reason("USCC check character is wrong", "统一社会信用代码校验位错误")
    return None


# -- reading -------------------------------------------------------------------


def _source_file(src: Path, table: Table) -> Path:
    for candidate in (src / f"{table.name}.parquet", src / table.name, src / f"{table.name}.csv"):
        if candidate.exists():
            return candidate
    raise IngestError(
        f"required table '{table.name}' ({table.zh}) not found in {src}: "
        f"expected {table.name}.parquet, a folder {table.name}/ of Parquet files, or {table.name}.csv",
        f"{src} 中缺少必需的数据表 {table.zh}（{table.name}）：应为 {table.name}.parquet、"
        f"Parquet 文件目录 {table.name}/ 或 {table.name}.csv",
    )


def _register_raw(con: duckdb.DuckDBPyConnection, table: Table, path: Path) -> None:
    """Expose the source as view raw_<table>: every contract column as text, plus its 1-based row number."""
    view = f"raw_{table.name}"
    try:
        if path.suffix == ".csv":
            arrow = pacsv.read_csv(
                path,
                convert_options=pacsv.ConvertOptions(
                    column_types={c: pa.string() for c in table.column_names}, strings_can_be_null=True
                ),
            )
            arrow = arrow.append_column("_row", pa.array(range(1, arrow.num_rows + 1), pa.int64()))
            con.register(f"{view}_arrow", arrow)
            source = f"{view}_arrow"
            row = "_row"
        else:
            pattern = str(path / "*.parquet") if path.is_dir() else str(path)
            source = f"read_parquet('{pattern}', filename = true, file_row_number = true)"
            row = "row_number() OVER (ORDER BY filename, file_row_number)"
        columns = [d[0] for d in con.execute(f"SELECT * FROM {source} LIMIT 0").description]
    except (duckdb.Error, pa.ArrowInvalid, OSError) as exc:
        raise IngestError(
            f"cannot read table '{table.name}' from {path}: {exc}", f"无法读取数据表 {table.zh}（{path}）：{exc}"
        ) from exc
    missing = [c for c in table.column_names if c not in columns]
    if missing:
        raise IngestError(
            f"table '{table.name}' in {path} lacks required column(s) {', '.join(missing)}",
            f"数据表 {table.zh}（{path}）缺少必需字段 {', '.join(missing)}",
        )
    casts = ", ".join(f'CAST("{c}" AS VARCHAR) AS "{c}"' for c in table.column_names)
    con.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS SELECT {row} AS _row, {casts} FROM {source}")


# -- checks ----------------------------------------------------------------------


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _typed(c: Column) -> str:
    """SQL giving the column's typed value (NULL where it is not a valid value of the type)."""
    v = f'"{c.name}"'
    if c.type == "int":
        return f"CASE WHEN regexp_full_match({v}, '-?[0-9]+') THEN TRY_CAST({v} AS BIGINT) END"
    if c.type == "float":
        return f"CASE WHEN isfinite(TRY_CAST({v} AS DOUBLE)) THEN TRY_CAST({v} AS DOUBLE) END"
    if c.type == "bool":
        return (
            f"CASE lower({v}) WHEN 'true' THEN TRUE WHEN 'false' THEN FALSE WHEN '1' THEN TRUE WHEN '0' THEN FALSE END"
        )
    if c.type == "date":
        return f"CASE WHEN regexp_full_match({v}, '[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}') THEN TRY_CAST({v} AS DATE) END"
    return v


def _value_checks(c: Column, extraction: dt.date) -> list[tuple[str, str, str]]:
    """(SQL condition that flags a bad value, rule, reason) for one column."""
    v = f'"{c.name}"'
    present = f"({v} IS NOT NULL AND {v} <> '')"
    typed = _typed(c)
    checks: list[tuple[str, str, str]] = []
    if c.required:
        checks.append((f"NOT {present}", "missing_required", _reason("missing required value", "必填项缺失")))
    if c.type != "string":
        checks.append(
            (
                f"{present} AND ({typed}) IS NULL",
                "bad_type",
                _reason(f"not a valid {c.type}", f"不是有效的{TYPE_NAMES_ZH[c.type]}"),
            )
        )
    if c.codes:
        allowed = ", ".join(_sql_str(k) for k in c.codes)
        checks.append(
            (f"{present} AND {v} NOT IN ({allowed})", "bad_code", _reason("not an allowed code", "不在允许的代码表中"))
        )
    if c.minimum is not None:
        checks.append(
            (
                f"({typed}) < {c.minimum}",
                "below_minimum",
                _reason(f"below the minimum {c.minimum:g}", f"小于最小值{c.minimum:g}"),
            )
        )
    if c.maximum is not None:
        checks.append(
            (
                f"({typed}) > {c.maximum}",
                "above_maximum",
                _reason(f"above the maximum {c.maximum:g}", f"大于最大值{c.maximum:g}"),
            )
        )
    if c.type == "date" and not c.future_allowed:
        checks.append(
            (
                f"({typed}) > DATE '{extraction.isoformat()}'",
                "future_date",
                _reason(f"date after the extraction date {extraction}", f"日期晚于数据提取日期{extraction}"),
            )
        )
    if c.name == "uscc" and c.references is None:
        checks.append((f"{present} AND uscc_problem({v}) IS NOT NULL", "bad_uscc", f"uscc_problem({v})"))
    return checks


def _collect_value_faults(con: duckdb.DuckDBPyConnection, table: Table, extraction: dt.date) -> None:
    """One scan of the raw table, writing every bad value to faults_<table>."""
    items = []
    for c in table.columns:
        shown = "NULL" if c.person_identifier else f'"{c.name}"'
        for cond, rule, reason in _value_checks(c, extraction):
            reason_sql = reason if rule == "bad_uscc" else _sql_str(reason)
            items.append(
                f"CASE WHEN {cond} THEN struct_pack(col := {_sql_str(c.name)}, rule := '{rule}', "
                f"reason := {reason_sql}, val := {shown}::VARCHAR) END"
            )
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE faults_{table.name} AS
        SELECT _row, f.col AS "column", f.rule, f.reason, f.val AS value FROM (
            SELECT _row, unnest(list_filter([{", ".join(items)}], lambda x: x IS NOT NULL)) AS f FROM raw_{table.name})
    """)


def _typed_rows(con: duckdb.DuckDBPyConnection, table: Table) -> None:
    """typed_<table>: rows with no bad value, cast to the contract types."""
    casts = ", ".join(f'({_typed(c)})::{DUCKDB_TYPES[c.type]} AS "{c.name}"' for c in table.columns)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE typed_{table.name} AS
        SELECT _row, {casts} FROM raw_{table.name}
        WHERE _row NOT IN (SELECT _row FROM faults_{table.name})
    """)


def _row_faults(con: duckdb.DuckDBPyConnection, table: Table, known_enterprises: str | None) -> None:
    """Consistency rules, duplicate keys and references, on rows whose values are all valid."""
    t = f"typed_{table.name}"
    for cond, en, zh in table.row_checks:
        con.execute(f"""INSERT INTO faults_{table.name}
                        SELECT _row, NULL, 'inconsistent_row', {_sql_str(_reason(en, zh))}, NULL
                        FROM {t} WHERE NOT COALESCE({cond}, TRUE)""")
        con.execute(f"DELETE FROM {t} WHERE _row IN (SELECT _row FROM faults_{table.name})")
    keys = ", ".join(f'"{k}"' for k in table.key)
    con.execute(f"""
        INSERT INTO faults_{table.name}
        SELECT _row, {_sql_str(",".join(table.key))}, 'duplicate_key',
               'duplicate key, first seen at row ' || first_row
               || ' | 主键重复，首次出现在第' || first_row || '行', NULL
        FROM (SELECT _row, min(_row) OVER (PARTITION BY {keys}) AS first_row FROM {t})
        WHERE _row <> first_row
    """)
    if known_enterprises is not None and "uscc" in table.column_names:
        con.execute(f"""
            INSERT INTO faults_{table.name}
            SELECT _row, 'uscc', 'unknown_enterprise',
                   COALESCE(uscc_problem(uscc),
                            'points at no enterprise in the accepted register | 关联的企业不在已接收的登记信息中'),
                   uscc
            FROM {t} WHERE uscc NOT IN (SELECT uscc FROM {known_enterprises})
        """)
    con.execute(f"DELETE FROM {t} WHERE _row IN (SELECT _row FROM faults_{table.name})")


# -- the run ---------------------------------------------------------------------


def _default_extraction_date(src: Path) -> dt.date:
    manifest = src / "manifest.json"
    if manifest.exists():
        try:
            return dt.date.fromisoformat(json.loads(manifest.read_text())["extraction_date"])
        except (KeyError, ValueError, json.JSONDecodeError) as exc:
            raise IngestError(
                f"{manifest} has no valid extraction_date: {exc}",
                f"{manifest} 中没有有效的数据提取日期 extraction_date：{exc}",
            ) from exc
    return dt.date.today()


def ingest(
    src: Path,
    out: Path,
    *,
    extraction_date: dt.date | None = None,
    allow_uscc: Iterable[str] = (),
    overwrite: bool = False,
    progress: Progress | None = None,
    memory_limit: str = "8GB",
) -> IngestReport:
    """Validate every contract table in `src` and write accepted rows and the quarantine to `out`."""
    src, out = Path(src), Path(out)
    if not src.is_dir():
        raise NotFound(f"source folder {src} does not exist", f"源数据目录 {src} 不存在")
    progress = progress or (lambda step, done, total: None)
    extraction = extraction_date or _default_extraction_date(src)
    allow = frozenset(allow_uscc)
    paths = {t.name: _source_file(src, t) for t in TABLES}  # fail fast on a missing table

    results: list[TableResult] = []
    with atomic_folder(out, overwrite=overwrite) as tmp:
        con = duckdb.connect(config={"memory_limit": memory_limit, "temp_directory": str(tmp / ".spill")})
        no_progress_bar(con.execute)
        con.create_function(
            "uscc_problem",
            lambda code: uscc_problem(code, allow),
            [sqltypes.VARCHAR],
            sqltypes.VARCHAR,
            null_handling="special",
            side_effects=False,
        )
        for i, table in enumerate(TABLES):
            progress(table.name, i, len(TABLES))
            _register_raw(con, table, paths[table.name])
            _collect_value_faults(con, table, extraction)
            _typed_rows(con, table)
            _row_faults(con, table, None if table.name == "enterprises" else "typed_enterprises")
            results.append(_write_table(con, table, tmp))
        progress("quarantine", len(TABLES), len(TABLES))
        union = " UNION ALL ".join(
            f'SELECT \'{t.name}\' AS "table", _row AS row_number, "column", rule, reason, value FROM faults_{t.name}'
            for t in TABLES
        )
        con.execute(
            f'COPY (SELECT * FROM ({union}) ORDER BY "table", row_number, "column") '
            f"TO '{tmp / QUARANTINE_FILE}' (FORMAT PARQUET, COMPRESSION ZSTD)"
        )
        con.close()
        report = IngestReport(str(src), extraction.isoformat(), results)
        (tmp / REPORT_FILE).write_text(json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n")
        shutil.rmtree(tmp / ".spill", ignore_errors=True)
    return report


def _write_table(con: duckdb.DuckDBPyConnection, table: Table, folder: Path) -> TableResult:
    cols = ", ".join(f'"{c}"' for c in table.column_names)
    con.execute(
        f"COPY (SELECT {cols} FROM typed_{table.name} ORDER BY _row) "
        f"TO '{folder / (table.name + '.parquet')}' (FORMAT PARQUET, COMPRESSION ZSTD)"
    )
    read = con.execute(f"SELECT count(*) FROM raw_{table.name}").fetchone()[0]
    accepted = con.execute(f"SELECT count(*) FROM typed_{table.name}").fetchone()[0]
    quarantined = con.execute(f"SELECT count(DISTINCT _row) FROM faults_{table.name}").fetchone()[0]
    reasons = dict(
        con.execute(f"""SELECT rule, count(*) FROM faults_{table.name}
                                   GROUP BY rule ORDER BY count(*) DESC, rule""").fetchall()
    )
    return TableResult(table.name, read, accepted, quarantined, reasons)
