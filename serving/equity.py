"""The equal-treatment report of a graded month: the champion's calibration per group on its test period
beside this month's grade shares, the inspection rates a plan implies and inspections per expected problem
per group (`creditgrade.models.equity` says what each figure is and when it is flagged).

Part of the month report (`serving.month`), also `creditgrade equal-treatment` for any graded folder and plan.
Without a plan, the default: the legal minimum of 3% of operating enterprises, risk-weighted with the
default floor (`DEFAULT_PLAN`).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.parquet as pq

from creditgrade.features.errors import NotFound
from creditgrade.features.pipeline import DUCKDB_MEMORY
from creditgrade.features.store import atomic_folder, no_progress_bar
from creditgrade.models import equity
from creditgrade.models.planning.plan import LEGAL_MINIMUM, Plan, PlanError
from creditgrade.models.report import html_page, markdown_page
from creditgrade.models.scoring import ScoringModel
from creditgrade.serving.planner.plan import graded_file, needs_no_checks, not_operating, probabilities_of

DEFAULT_PLAN = Plan(plan_id="equal-treatment-default", budget=LEGAL_MINIMUM)


def calibration_of(scoring: ScoringModel) -> list[dict]:
    """The model's calibration per group on its test period; [] for a model trained before it was measured."""
    return list(((scoring.evaluation or {}).get("equal_treatment") or {}).get("groups") or [])


def month_treatment(
    graded: Path,
    data: Path,
    scoring: ScoringModel,
    plan: Plan | None = None,
    tolerance: float = equity.TOLERANCE,
) -> dict:
    """The equal-treatment report of the graded table `graded` (its operating enterprises), the groups from the
    register in the ingested city `data`, the inspection rates from `plan`'s inclusion probabilities."""
    plan = plan or DEFAULT_PLAN
    needs_no_checks(plan)  # the month's plan is drawn without the spot-check table
    frame = _city(graded_file(graded), Path(data) / "enterprises.parquet", plan.scheme)
    pi = probabilities_of(frame, plan).pi
    active = (frame["register_status"] == "active").to_numpy()
    registered = {f"register_{a}": a for a in equity.ATTRIBUTES}
    city = frame.loc[active, ["probability", "grade", "grade_by_score", "registered", *registered]]
    city = equity.grouped(city.rename(columns=registered).assign(pi=pi[active]))
    del frame
    grades = list(scoring.schemes[plan.scheme].grades)
    calibration = calibration_of(scoring)
    return {
        "plan": plan.plan_id,
        "scheme": plan.scheme,
        "tolerance": tolerance,
        "model_version": scoring.label,
        "test_period": (scoring.evaluation or {}).get("periods", {}).get("test"),
        "grades": grades,
        "calibration": calibration,
        "treatment": equity.treatment_by_group(city, grades, calibration, tolerance=tolerance),
    }


def _city(graded: Path, register: Path, scheme: str) -> pd.DataFrame:
    """The graded city in the planner's order (by USCC): its strata columns as graded (as the planner draws them)
    and the register's group attributes (`register_*`; registered: whether the register has the enterprise),
    joined by DuckDB. The driver holds numbers and short codes, never the city's identifiers."""
    column = f"grade_{scheme}"
    if not register.exists():
        raise NotFound(
            f"{register} does not exist: give the ingested city (--data)",
            f"{register} 不存在：请提供清洗后的数据目录（--data）",
        )
    texts = [a for a in equity.ATTRIBUTES if a != "registered_capital"]  # named by their text, as the contract has them
    attributes = ", ".join(
        [
            *(f"CAST(r.{a} AS VARCHAR) AS register_{a}" for a in texts),
            "r.registered_capital AS register_registered_capital",
        ]
    )
    query = f"""
        SELECT g.register_status, g.probability, g.{column} AS grade, g.{column}_by_score AS grade_by_score,
               g.region_code, g.industry_section,
               {attributes}, r.uscc IS NOT NULL AS registered
        FROM read_parquet(?) AS g LEFT JOIN read_parquet(?) AS r USING (uscc)
        ORDER BY g.uscc
    """
    with tempfile.TemporaryDirectory() as spill:
        config = {"threads": os.cpu_count() or 1, "memory_limit": DUCKDB_MEMORY, "temp_directory": spill}
        con = duckdb.connect(config=config)
        no_progress_bar(con.execute)
        try:
            frame = con.sql(query, params=[str(graded), str(register)]).to_arrow_table().to_pandas()
        except duckdb.Error as exc:
            raise PlanError(
                f"{graded} is not a graded table with {column}, or {register} not the register: {exc}",
                f"{graded} 不是含 {column} 的分级结果表，或 {register} 不是登记表：{exc}",
            ) from exc
        finally:
            con.close()
    if len(frame) != pq.read_metadata(graded).num_rows:
        raise PlanError(
            f"{register} lists some enterprises more than once: give the ingested city (--data), whose register "
            "holds one row an enterprise",
            f"{register} 中有企业重复出现：请提供清洗后的数据目录（--data），其登记表每户一行",
        )
    if frame.empty:
        raise PlanError(f"graded table {graded} has no enterprises", f"分级结果 {graded} 中没有企业")
    frame["reason"] = not_operating(frame["register_status"])
    return frame


def sections(report: dict) -> list:
    """The report's tables as sections of a Markdown/HTML page (`models.report.Section`)."""
    out = []
    if report["calibration"]:
        out.append(equity.calibration_section(report["calibration"], report["tolerance"]))
    out.append(equity.treatment_section(report["treatment"], report["grades"], report["tolerance"]))
    return out


def flagged(report: dict) -> list[dict]:
    """Every flagged group of the report: (kind, group, names, flag)."""
    out = [{"kind": "calibration", **r} for r in report["calibration"] if r["flag"]]
    return out + [{"kind": "treatment", **r} for r in report["treatment"] if r["flag"]]


def write(report: dict, out: Path) -> Path:
    """The report as `equal_treatment.json`, `.md` and `.html` in the folder `out`, written whole or not at all."""
    title = f"Equal treatment (公平性报告) — {report['model_version']}, plan {report['plan']}"
    with atomic_folder(Path(out), overwrite=True) as tmp:
        (tmp / "equal_treatment.json").write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
        (tmp / "equal_treatment.md").write_text(markdown_page(title, sections(report), {}), encoding="utf-8")
        (tmp / "equal_treatment.html").write_text(html_page(title, sections(report), {}, lang="zh"), encoding="utf-8")
    return Path(out)
