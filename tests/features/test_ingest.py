"""Ingest on raw folders built row by row: every rule, reconciliation, whole-or-nothing output."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from creditgrade.features import contract as C
from creditgrade.features.ingest import IngestError, ingest, uscc_problem

X = dt.date(2025, 12, 31)
GOOD = "914403001922038216"  # checksum-valid examples from DOMAIN.md
GOOD2 = "91440300708461136T"
GOOD3 = "91440300MA5AY4CLX2"


def enterprise(uscc: str, **over) -> dict:
    row = {
        "uscc": uscc,
        "name": "深圳市测试有限公司",
        "region_code": "440306",
        "industry_section": "F",
        "legal_form": "llc",
        "business_scope": "F;L",
        "established_date": "2019-05-01",
        "closed_date": None,
        "status": "active",
        "registered_capital": "100",
        "paid_in_capital": "0",
        "legal_rep_id": "P1",
        "address_id": "ADR1",
        "phone_id": "TP1",
        "agent_id": None,
    }
    row.update(over)
    return row


def penalty(pid: str, uscc: str, **over) -> dict:
    row = {
        "penalty_id": pid,
        "uscc": uscc,
        "decision_date": "2024-03-01",
        "penalty_type": "fine",
        "severity": "general",
        "amount": "5000",
    }
    row.update(over)
    return row


def write_raw(folder: Path, skip: tuple[str, ...] = (), **tables: list[dict]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for t in C.TABLES:
        if t.name in skip:
            continue
        rows = tables.get(t.name, [])
        cols = {c: pa.array([r.get(c) for r in rows], pa.string()) for c in t.column_names}
        pq.write_table(pa.table(cols), folder / f"{t.name}.parquet")
    return folder


def quarantine(out: Path) -> list[tuple]:
    return duckdb.sql(
        f'SELECT "table", row_number, "column", rule FROM \'{out}/quarantine.parquet\' ORDER BY ALL'
    ).fetchall()


def test_clean_rows_are_accepted_unchanged_and_typed(tmp_path):
    src = write_raw(
        tmp_path / "raw",
        enterprises=[enterprise(GOOD), enterprise(GOOD2, paid_in_capital=None)],
        penalties=[penalty("P1", GOOD, amount="1234.56")],
    )
    report = ingest(src, tmp_path / "out", extraction_date=X)
    assert report.reconciles
    assert [(r.table, r.read, r.accepted, r.quarantined) for r in report.tables if r.read] == [
        ("enterprises", 2, 2, 0),
        ("penalties", 1, 1, 0),
    ]
    pen = pq.read_table(tmp_path / "out" / "penalties.parquet")
    assert pen.schema.field("decision_date").type == pa.date32()
    assert pen.column("amount").to_pylist() == [1234.56]
    ent = pq.read_table(tmp_path / "out" / "enterprises.parquet").to_pylist()
    assert ent[1]["paid_in_capital"] is None  # missing stays missing
    assert quarantine(tmp_path / "out") == []


@pytest.mark.parametrize(
    "over, column, rule",
    [
        ({"name": None}, "name", "missing_required"),
        ({"registered_capital": "12,5"}, "registered_capital", "bad_type"),
        ({"established_date": "2021-02-30"}, "established_date", "bad_type"),
        ({"established_date": "05/01/2019"}, "established_date", "bad_type"),
        ({"region_code": "110101"}, "region_code", "bad_code"),
        ({"registered_capital": "-1"}, "registered_capital", "below_minimum"),
        ({"established_date": "2026-01-01"}, "established_date", "future_date"),
        ({"uscc": GOOD[:-1] + "7"}, "uscc", "bad_uscc"),
        ({"uscc": GOOD.lower()[:-1] + "6 "}, "uscc", "bad_uscc"),
        ({"status": "deregistered"}, None, "inconsistent_row"),
        ({"paid_in_capital": "101"}, None, "inconsistent_row"),
    ],
)
def test_each_bad_value_is_quarantined_with_its_rule(tmp_path, over, column, rule):
    src = write_raw(tmp_path / "raw", enterprises=[enterprise(GOOD), {**enterprise(GOOD2), **over}])
    report = ingest(src, tmp_path / "out", extraction_date=X)
    ent = report.tables[0]
    assert (ent.read, ent.accepted, ent.quarantined) == (2, 1, 1)
    assert quarantine(tmp_path / "out") == [("enterprises", 2, column, rule)]


def test_usccs_check_with_stdnum_and_allow_list():
    assert uscc_problem(GOOD3) is None
    assert "18 characters" in uscc_problem("9144030019220382")
    assert "check character" in uscc_problem(GOOD[:-1] + "7")
    assert uscc_problem(GOOD[:-1] + "7", frozenset({GOOD[:-1] + "7"})) is None


def test_allow_listed_pilot_code_is_accepted(tmp_path):
    pilot = GOOD[:-1] + "7"
    src = write_raw(tmp_path / "raw", enterprises=[enterprise(pilot)])
    report = ingest(src, tmp_path / "out", extraction_date=X, allow_uscc=[pilot])
    assert report.tables[0].accepted == 1


def test_duplicates_keep_the_first_and_orphans_are_named(tmp_path):
    src = write_raw(
        tmp_path / "raw",
        enterprises=[enterprise(GOOD), enterprise(GOOD), enterprise(GOOD2, name=None)],
        penalties=[
            penalty("P1", GOOD),
            penalty("P1", GOOD),
            penalty("P2", GOOD2),
            penalty("P3", GOOD3),
            penalty("P4", GOOD[:-1] + "7"),
        ],
    )
    report = ingest(src, tmp_path / "out", extraction_date=X)
    assert report.reconciles
    q = duckdb.sql(
        f"SELECT \"table\", row_number, rule, reason FROM '{tmp_path}/out/quarantine.parquet' ORDER BY ALL"
    ).fetchall()
    assert [(t, r, rule) for t, r, rule, _ in q] == [
        ("enterprises", 2, "duplicate_key"),
        ("enterprises", 3, "missing_required"),
        ("penalties", 2, "duplicate_key"),
        ("penalties", 3, "unknown_enterprise"),
        ("penalties", 4, "unknown_enterprise"),
        ("penalties", 5, "unknown_enterprise"),
    ]
    reasons = {r: reason for t, r, _, reason in q if t == "penalties"}
    assert "first seen at row 1" in reasons[2]
    assert "no enterprise" in reasons[3]  # GOOD2 was quarantined, so its penalty is an orphan
    assert "check character" in reasons[5]
    assert all(" | " in reason for *_, reason in q), "reasons are bilingual"


def test_person_identifiers_are_never_copied_into_the_quarantine(tmp_path):
    src = write_raw(tmp_path / "raw", enterprises=[enterprise(GOOD, legal_rep_id="")])
    ingest(src, tmp_path / "out", extraction_date=X)
    rows = duckdb.sql(f"SELECT \"column\", value FROM '{tmp_path}/out/quarantine.parquet'").fetchall()
    assert rows == [("legal_rep_id", None)]


def test_csv_sources_are_read_as_text(tmp_path):
    src = write_raw(tmp_path / "raw", skip=("penalties",), enterprises=[enterprise(GOOD)])
    (src / "penalties.csv").write_text(
        "penalty_id,uscc,decision_date,penalty_type,severity,amount\n"
        f"P1,{GOOD},2024-01-02,fine,minor,00100\n"
        f"P2,{GOOD},2024-01-02,fine,minor,abc\n",
        encoding="utf-8",
    )
    report = ingest(src, tmp_path / "out", extraction_date=X)
    pen = [r for r in report.tables if r.table == "penalties"][0]
    assert (pen.read, pen.accepted, pen.quarantined) == (2, 1, 1)
    assert pq.read_table(tmp_path / "out" / "penalties.parquet").column("amount").to_pylist() == [100.0]


def test_a_missing_table_stops_with_its_name(tmp_path):
    src = write_raw(tmp_path / "raw", skip=("awards",), enterprises=[enterprise(GOOD)])
    with pytest.raises(IngestError, match="required table 'awards'"):
        ingest(src, tmp_path / "out", extraction_date=X)
    assert not (tmp_path / "out").exists()


def test_an_unreadable_file_stops_with_its_name(tmp_path):
    src = write_raw(tmp_path / "raw", enterprises=[enterprise(GOOD)])
    (src / "complaints.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(IngestError, match="cannot read table 'complaints'"):
        ingest(src, tmp_path / "out", extraction_date=X)


def test_a_missing_column_stops_with_its_name(tmp_path):
    src = write_raw(tmp_path / "raw", enterprises=[enterprise(GOOD)])
    pq.write_table(pa.table({"record_id": pa.array([], pa.string())}), src / "awards.parquet")
    with pytest.raises(IngestError, match="lacks required column"):
        ingest(src, tmp_path / "out", extraction_date=X)


def test_a_failed_run_leaves_the_previous_output_intact(tmp_path):
    src = write_raw(tmp_path / "raw", enterprises=[enterprise(GOOD)])
    out = tmp_path / "out"
    ingest(src, out, extraction_date=X)
    before = sorted(p.name for p in out.iterdir())
    (src / "awards.parquet").unlink()
    with pytest.raises(IngestError):
        ingest(src, out, extraction_date=X, overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == before
    with pytest.raises(FileExistsError, match="overwrite"):
        ingest(write_raw(tmp_path / "raw2", enterprises=[enterprise(GOOD)]), out, extraction_date=X)
