"""`creditgrade inspections ingest`: what the inspectors found, back into the spot-check table.

A results file (CSV or Parquet) has one row per inspection of a drawn enterprise:

    uscc, check_date, problem_found, finding[, plan_id]

Each row is matched to the plan list that drew the enterprise, and appended to the city's
`spot_checks.parquet` with that plan's inclusion probability, so the next `creditgrade train` weighs
it by 1/π (see training/dataset.py). The batch is checked whole first: a result for an enterprise no
given plan drew, a date before the plan or in the future, an unknown finding, a finding that
disagrees with problem_found, a result given twice or already ingested — each is listed with its row
number and nothing is written. The table is replaced in one rename, never half-written.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from creditgrade.features import contract as C
from creditgrade.features.errors import CreditgradeError, NotFound
from creditgrade.features.store import arrow_schema, atomic_file, read_user_table

REQUIRED = ("uscc", "check_date", "problem_found")
TRUE, FALSE = {"1", "true", "yes", "y", "t"}, {"0", "false", "no", "n", "f"}


class InspectionError(CreditgradeError):
    """Results that cannot be ingested; the message lists the rows and why."""

    code = "inspection_results"


def read_results(path: Path) -> pd.DataFrame:
    frame = read_user_table(path, REQUIRED, ("results file", "检查结果文件"), InspectionError)
    return frame.astype({c: str for c in frame.columns if c != "check_date"})


def read_plans(plans: list[Path]) -> pd.DataFrame:
    """uscc, plan_id, inclusion_prob, plan_as_of of every enterprise the given plans drew."""
    parts = []
    for folder in plans:
        folder = Path(folder)
        meta_path, list_path = folder / "plan.json", folder / "list.parquet"
        if not meta_path.exists() or not list_path.exists():
            raise InspectionError(
                f"{folder} is not a plan folder (plan.json and list.parquet)",
                f"{folder} 不是抽查计划目录（应含 plan.json 与 list.parquet）",
            )
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        drawn = pq.read_table(list_path, columns=["uscc", "plan_id", "inclusion_probability"]).to_pandas()
        parts.append(
            drawn.rename(columns={"inclusion_probability": "inclusion_prob"}).assign(
                plan_as_of=pd.Timestamp(meta["as_of"])
            )
        )
    if not parts:
        raise InspectionError("give at least one plan folder (--plan)", "须至少指定一个抽查计划目录（--plan）")
    return pd.concat(parts, ignore_index=True)


@dataclass(frozen=True)
class IngestedResults:
    """Results appended: how many, how many found a problem, of which plans, and the table's new size."""

    ingested: int
    problems_found: int
    plans: list[str]
    table_rows: int

    def to_dict(self) -> dict:
        return asdict(self)


def ingest_results(results: Path, plans: list[Path], data: Path, *, today: dt.date | None = None) -> IngestedResults:
    """Append the results to `data`/spot_checks.parquet. InspectionError names every bad row; nothing is
    written unless every row can be ingested."""
    frame = read_results(results)
    drawn = read_plans(plans)
    table_path = Path(data) / "spot_checks.parquet"
    if not table_path.exists():
        raise NotFound(
            f"{table_path} does not exist: ingest the city first", f"检查记录表 {table_path} 不存在：请先接入城市数据"
        )
    existing = pq.read_table(table_path)
    rows, problems = checked_rows(
        frame, drawn, set(existing.column("check_id").to_pylist()), pd.Timestamp(today or dt.date.today())
    )
    if problems:
        more = len(problems) - 10
        raise InspectionError(
            f"{len(problems)} of {len(frame)} result rows cannot be ingested; nothing was written:\n"
            + "\n".join(f"  row {r}: {en}" for r, en, _ in problems[:10])
            + (f"\n  … and {more} more" if more > 0 else ""),
            f"{len(frame)} 行检查结果中有 {len(problems)} 行无法录入，未写入任何记录：\n"
            + "\n".join(f"  第 {r} 行：{zh}" for r, _, zh in problems[:10])
            + (f"\n  … 另有 {more} 行" if more > 0 else ""),
        )
    new = pa.Table.from_pandas(rows, schema=arrow_schema(C.table("spot_checks")), preserve_index=False)
    combined = pa.concat_tables([existing.cast(new.schema), new])
    with atomic_file(table_path) as tmp:
        pq.write_table(combined, tmp, compression="zstd")
    return IngestedResults(
        ingested=len(rows),
        problems_found=int(rows["problem_found"].sum()),
        plans=sorted(rows["plan_id"].unique()),
        table_rows=combined.num_rows,
    )


def checked_rows(frame: pd.DataFrame, drawn: pd.DataFrame, known_ids: set, today: pd.Timestamp):
    """(the spot-check rows to append, [(row number, reason in English, in Chinese)]); row numbers count the
    header as row 1."""
    # Long (98 lines): one check after another on each result row, each refusal worded in both languages.
    problems: list[tuple[int, str, str]] = []
    out = []
    by_uscc: dict[str, list[dict]] = {}  # each enterprise's draws, as plain records (no frame per enterprise)
    for plan in drawn.to_dict("records"):
        by_uscc.setdefault(plan["uscc"], []).append(plan)
    days = pd.to_datetime(frame["check_date"], errors="coerce", format="mixed") if len(frame) else []
    seen = set()
    for i, r, day in zip(range(2, len(frame) + 2), frame.to_dict("records"), days):
        uscc = str(r["uscc"]).strip()
        plans = by_uscc.get(uscc)
        if plans is None:
            problems.append((i, f"{uscc} was not drawn by any given plan", f"{uscc} 未被所给计划抽中"))
            continue
        wanted = str(r.get("plan_id") or "").strip()
        if wanted:
            plans = [p for p in plans if p["plan_id"] == wanted]
            if not plans:
                problems.append((i, f"{uscc} was not drawn by plan {wanted}", f"{uscc} 未被计划 {wanted} 抽中"))
                continue
        if len(plans) > 1:
            listed = ", ".join(p["plan_id"] for p in plans)
            problems.append(
                (
                    i,
                    f"{uscc} was drawn by plans {listed}; give plan_id",
                    f"{uscc} 被多个计划抽中（{listed}），须注明计划编号 plan_id",
                )
            )
            continue
        plan = plans[0]
        if pd.isna(day):
            problems.append((i, f"check_date {r['check_date']!r} is not a date", f"检查日期 {r['check_date']!r} 无效"))
            continue
        if day <= plan["plan_as_of"] or day > today:
            problems.append(
                (
                    i,
                    f"check_date {day.date()} is not after the plan's as-of date {plan['plan_as_of'].date()} "
                    "and on or before today",
                    f"检查日期 {day.date()} 不在计划日期之后，或晚于今天",
                )
            )
            continue
        flag = str(r["problem_found"]).strip().lower()
        if flag not in TRUE | FALSE:
            problems.append(
                (
                    i,
                    f"problem_found {r['problem_found']!r} is not 0/1",
                    f"是否发现问题 problem_found 应为 0 或 1，当前为 {r['problem_found']!r}",
                )
            )
            continue
        found = flag in TRUE
        finding = str(r.get("finding") or "").strip() or ("other_violation" if found else "none")
        if finding not in C.FINDINGS:
            problems.append(
                (
                    i,
                    f"unknown finding {finding!r}; known: {', '.join(C.FINDINGS)}",
                    f"未知的检查结果 {finding!r}，可选：{', '.join(C.FINDINGS)}",
                )
            )
            continue
        if (finding != "none") != found:
            problems.append(
                (
                    i,
                    f"finding {finding!r} disagrees with problem_found {int(found)}",
                    f"检查结果 {finding!r} 与是否发现问题 {int(found)} 不一致",
                )
            )
            continue
        check_id = f"{plan['plan_id']}:{uscc}"
        if check_id in known_ids or check_id in seen:
            problems.append(
                (
                    i,
                    f"the result of {uscc} under plan {plan['plan_id']} is already ingested",
                    f"{uscc} 在计划 {plan['plan_id']} 下的检查结果已录入",
                )
            )
            continue
        seen.add(check_id)
        out.append(
            {
                "check_id": check_id,
                "uscc": uscc,
                "check_date": day.date(),
                "kind": "random",
                "plan_id": plan["plan_id"],
                "inclusion_prob": float(plan["inclusion_prob"]),
                "problem_found": found,
                "finding": finding,
            }
        )
    columns = [c.name for c in C.table("spot_checks").columns]
    return pd.DataFrame(out, columns=columns), problems
