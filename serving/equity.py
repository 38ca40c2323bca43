"""The equal-treatment report of a graded month: the champion's calibration per group on its test period
beside this month's grade shares, the inspection rates a plan implies and inspections per expected problem
per group (`creditgrade.models.equity` says what each figure is and when it is flagged).

Part of the month report (`serving.month`), also `creditgrade equal-treatment` for any graded folder and plan.
Without a plan, the default: the legal minimum of 3% of operating enterprises, risk-weighted with the
default floor (`DEFAULT_PLAN`).
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq

from creditgrade.features.store import atomic_folder
from creditgrade.models import equity
from creditgrade.models.planning.plan import LEGAL_MINIMUM, Plan
from creditgrade.models.report import html_page, markdown_page
from creditgrade.models.scoring import ScoringModel
from creditgrade.serving.planner.plan import graded_file, preview

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
    drawn = preview(graded, plan)
    column = f"grade_{plan.scheme}_by_score"
    by_score = pq.read_table(graded_file(graded), columns=["uscc", column]).to_pandas()
    city = drawn.frame[["uscc", "register_status", "probability", "grade", "stratum"]].assign(pi=drawn.probabilities.pi)
    city = city.merge(by_score.rename(columns={column: "grade_by_score"}), on="uscc", how="left")
    city = city[city["register_status"] == "active"]
    register = pq.read_table(Path(data) / "enterprises.parquet", columns=["uscc", *equity.ATTRIBUTES]).to_pandas()
    city = equity.with_groups(city, register)
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
