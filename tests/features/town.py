"""A hand-built town of six enterprises, row by row, for golden-value tests of the indicators.

As of 2024-12-31:
- E1: the busy one — every family of records, some of them after the as-of date or repaired;
- E2: a young shell next to E1 (same legal representative, address, phone and agent), soon unreachable;
- E3: E1's parent company, on the serious violation list and a special dishonesty list;
- E4: registered at E1's address and deregistered before the as-of date (not graded);
- E5: files a report with no financials and no insured staff;
- E6: never filed a report that was due;
- E7: its business licence revoked before the as-of date — still on the register, graded by override.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from creditgrade.features import contract as C
from creditgrade.features.store import arrow_schema

E1, E2, E3 = "914403001922038216", "91440300708461136T", "91440300MA5AY4CLX2"
E4, E5, E6 = "91440306MA5F000AA7", "91440307MA5G111BB1", "91440309MA5H222CC9"
E7 = "91440310MA5J333DD2"
AS_OF = "2024-12-31"


def _ent(uscc, est, rep, addr, phone, agent=None, capital=100.0, paid=None, closed=None, scope="F", status="active"):
    return dict(
        uscc=uscc,
        name=f"深圳市{uscc[-4:]}有限公司",
        region_code="440306",
        industry_section="F",
        legal_form="llc",
        business_scope=scope,
        established_date=est,
        closed_date=closed,
        status=status,
        registered_capital=capital,
        paid_in_capital=paid,
        legal_rep_id=rep,
        address_id=addr,
        phone_id=phone,
        agent_id=agent,
    )


def _report(uscc, year, filed_date, on_time, emp=None, ins=None, rev=None, profit=None, assets=None, liab=None):
    return dict(
        uscc=uscc,
        report_year=year,
        filed=filed_date is not None,
        filed_date=filed_date,
        filed_on_time=on_time,
        employees=emp,
        insured_headcount=ins,
        revenue=rev,
        profit=profit,
        total_assets=assets,
        total_liabilities=liab,
    )


TOWN: dict[str, list[dict]] = {
    "enterprises": [
        _ent(E1, "2015-03-01", "P1", "A1", "T1", "AG1", capital=100.0, paid=50.0, scope="F;L;M"),
        _ent(E2, "2024-10-01", "P1", "A1", "T1", "AG1", capital=10.0, paid=0.0),
        _ent(E3, "2010-01-01", "P2", "A2", "T2", None, capital=1000.0, paid=None),
        _ent(E4, "2024-09-20", "P3", "A1", "T3", "AG1", closed="2024-12-01", status="deregistered"),
        _ent(E5, "2020-01-01", "P5", "A5", "T5"),
        _ent(E6, "2020-06-01", "P6", "A6", "T6", paid=0.0),
        _ent(E7, "2018-01-01", "P7", "A7", "T7", closed="2024-06-01", status="revoked"),
    ],
    "registration_changes": [
        dict(change_id="C1", uscc=E1, change_date="2024-01-10", change_type="legal_rep"),
        dict(change_id="C2", uscc=E1, change_date="2023-06-01", change_type="address"),
        dict(change_id="C3", uscc=E1, change_date="2022-01-01", change_type="scope"),
        dict(change_id="C4", uscc=E1, change_date="2024-12-01", change_type="shareholder"),
        dict(change_id="C5", uscc=E1, change_date="2025-02-01", change_type="legal_rep"),
        dict(change_id="C6", uscc=E2, change_date="2024-11-01", change_type="address"),
    ],
    "shareholdings": [
        dict(uscc=E1, holder_kind="person", holder_id="P1", share_ratio=0.4, start_date="2015-03-01", end_date=None),
        dict(uscc=E1, holder_kind="enterprise", holder_id=E3, share_ratio=0.6, start_date="2015-03-01", end_date=None),
        dict(uscc=E2, holder_kind="person", holder_id="P1", share_ratio=1.0, start_date="2024-10-01", end_date=None),
        dict(uscc=E3, holder_kind="person", holder_id="P2", share_ratio=1.0, start_date="2010-01-01", end_date=None),
    ],
    "annual_reports": [
        _report(E1, 2021, "2022-05-01", True, 8, 8, 49.0, 1.0, 100.0, 50.0),
        _report(E1, 2022, None, False),
        _report(E1, 2023, "2024-08-01", False, 10, 5, 99.0, 9.9, 200.0, 150.0),
        _report(E3, 2023, "2024-03-01", True, 10, 5, 99.0, 9.9, 200.0, 150.0),
        _report(E5, 2023, "2024-04-01", True, 3, 0),
        _report(E6, 2022, None, False),
        _report(E6, 2023, None, False),
    ],
    "licences": [
        dict(
            licence_id="L1",
            uscc=E1,
            licence_type="food_business",
            issue_date="2019-01-01",
            expiry_date="2024-01-01",
            revoked_date=None,
        ),
        dict(
            licence_id="L2",
            uscc=E1,
            licence_type="medical_device",
            issue_date="2020-01-01",
            expiry_date="2025-01-01",
            revoked_date=None,
        ),
        dict(
            licence_id="L3",
            uscc=E1,
            licence_type="other",
            issue_date="2022-01-01",
            expiry_date="2027-01-01",
            revoked_date="2023-05-01",
        ),
    ],
    "abnormal_list": [
        dict(
            record_id="AB1",
            uscc=E1,
            entry_date="2023-07-05",
            entry_reason="no_annual_report",
            exit_date=None,
            exit_reason=None,
        ),
        dict(
            record_id="AB2",
            uscc=E2,
            entry_date="2024-11-15",
            entry_reason="unreachable",
            exit_date=None,
            exit_reason=None,
        ),
    ],
    "serious_violations": [
        dict(record_id="SV1", uscc=E3, entry_date="2023-01-01", reason="major_violation", exit_date=None),
    ],
    "penalties": [
        dict(
            penalty_id="PN1",
            uscc=E1,
            decision_date="2024-06-01",
            penalty_type="fine",
            severity="general",
            amount=1000.0,
        ),
        dict(
            penalty_id="PN2",
            uscc=E1,
            decision_date="2022-03-01",
            penalty_type="fine",
            severity="serious",
            amount=99999.0,
        ),
        dict(
            penalty_id="PN3", uscc=E1, decision_date="2023-01-01", penalty_type="warning", severity="minor", amount=None
        ),
        dict(
            penalty_id="PN4", uscc=E1, decision_date="2025-01-15", penalty_type="fine", severity="general", amount=5.0
        ),
    ],
    "spot_checks": [
        dict(
            check_id="S1",
            uscc=E1,
            check_date="2024-04-01",
            kind="random",
            plan_id="R2024",
            inclusion_prob=0.035,
            problem_found=True,
            finding="other_violation",
        ),
        dict(
            check_id="S2",
            uscc=E1,
            check_date="2022-01-15",
            kind="random",
            plan_id="R2022",
            inclusion_prob=0.035,
            problem_found=False,
            finding="none",
        ),
    ],
    "complaints": [
        dict(
            complaint_id="Q1",
            uscc=E1,
            received_date="2024-05-01",
            channel="hotline_12315",
            category="quality",
            resolved_date="2024-06-01",
            substantiated=True,
        ),
        dict(
            complaint_id="Q2",
            uscc=E1,
            received_date="2023-02-01",
            channel="hotline_12345",
            category="price",
            resolved_date="2023-03-01",
            substantiated=False,
        ),
        dict(
            complaint_id="Q3",
            uscc=E1,
            received_date="2024-12-20",
            channel="online",
            category="quality",
            resolved_date=None,
            substantiated=None,
        ),
    ],
    "court_cases": [
        dict(
            case_id="K1",
            uscc=E1,
            filing_date="2024-02-01",
            role="defendant",
            case_type="contract",
            amount=50.0,
            judgment_date="2024-10-01",
            lost=True,
        ),
        dict(
            case_id="K2",
            uscc=E1,
            filing_date="2024-11-01",
            role="defendant",
            case_type="loan",
            amount=20.0,
            judgment_date="2025-03-01",
            lost=True,
        ),
        dict(
            case_id="K3",
            uscc=E1,
            filing_date="2024-01-01",
            role="plaintiff",
            case_type="contract",
            amount=5.0,
            judgment_date=None,
            lost=None,
        ),
    ],
    "judgment_defaulters": [
        dict(record_id="JD1", uscc=E1, listed_date="2024-03-01", removed_date="2024-09-01", amount=10.0),
    ],
    "tax_credit": [
        dict(uscc=E1, tax_year=2022, grade="B", published_date="2023-04-15"),
        dict(uscc=E1, tax_year=2023, grade="C", published_date="2024-04-15"),
        dict(uscc=E1, tax_year=2024, grade="A", published_date="2025-04-15"),
    ],
    "equity_pledges": [
        dict(record_id="EP1", uscc=E1, kind="freeze", registered_date="2024-01-01", released_date=None, amount=5.0),
        dict(
            record_id="EP2",
            uscc=E1,
            kind="pledge",
            registered_date="2021-01-01",
            released_date="2023-01-01",
            amount=5.0,
        ),
    ],
    "chattel_mortgages": [
        dict(
            record_id="M1",
            uscc=E1,
            registered_date="2022-01-01",
            creditor_type="bank",
            secured_amount=30.0,
            released_date=None,
            enforced_date="2024-05-01",
        ),
    ],
    "awards": [
        dict(record_id="W1", uscc=E1, award_date="2023-01-01", level="municipal", kind="contract_abiding"),
        dict(record_id="W2", uscc=E1, award_date="2019-01-01", level="national", kind="quality"),
    ],
    "credit_commitments": [
        dict(
            commitment_id="CM1",
            uscc=E1,
            commitment_date="2023-06-01",
            matter="licence_application",
            due_date="2023-12-01",
            verified_date="2024-01-01",
            kept=True,
        ),
        dict(
            commitment_id="CM2",
            uscc=E1,
            commitment_date="2023-01-01",
            matter="credit_repair",
            due_date="2023-05-01",
            verified_date="2023-06-01",
            kept=False,
        ),
        dict(
            commitment_id="CM3",
            uscc=E1,
            commitment_date="2024-06-01",
            matter="licence_application",
            due_date="2025-01-01",
            verified_date="2025-02-01",
            kept=True,
        ),
    ],
    "credit_repairs": [
        dict(repair_id="R1", uscc=E1, repaired_table="penalties", repaired_record_id="PN3", repair_date="2023-06-01"),
    ],
    "severe_events": [
        dict(event_id="SE1", uscc=E3, event_date="2024-07-01", kind="quality_dishonesty_list", end_date=None),
    ],
}


def write_town(folder: Path, tables: dict[str, list[dict]] | None = None, skip: tuple[str, ...] = ()) -> Path:
    """Write the town (or other rows) as typed Parquet, one file per contract table."""
    import datetime as dt

    tables = TOWN if tables is None else tables
    folder.mkdir(parents=True, exist_ok=True)
    for t in C.TABLES:
        if t.name in skip:
            continue
        rows = tables.get(t.name, [])
        cols = {}
        for c in t.columns:
            values = [r.get(c.name) for r in rows]
            if c.type == "date":
                values = [dt.date.fromisoformat(v) if v else None for v in values]
            cols[c.name] = values
        pq.write_table(pa.table(cols, schema=arrow_schema(t)), folder / f"{t.name}.parquet")
    return folder
