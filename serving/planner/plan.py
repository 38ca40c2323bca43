"""`creditgrade plan`: from a graded table and a PLAN.yaml to a published spot-check list.

    preview (inclusion probabilities, expected problems, commitment) → publish the commitment
    → the seed is revealed → draw → assign inspectors → write → anyone can `plan verify`

The plan's inputs are the graded table and, when the plan uses them, the spot-check table (for the
"checked within N months" exclusion) and the inspector directory; their SHA-256 digests together are
the inputs' hash that the commitment binds and the draw uses.

Output folder (written whole or not at all; the same inputs give byte-identical files):
- `list.parquet`, `list.csv`: the drawn enterprises, by USCC, with grade, inclusion probability, the
  draw value (the systematic draw's point that fell in the enterprise's stretch), top reasons (zh/en), the
  two inspectors and the plan id;
- `probabilities.parquet`: every enterprise of the graded table with its inclusion probability, or
  the reason it cannot be drawn;
- `plan.json`: the plan, the hashes, the commitment, the seed and the expected problems;
- `expected_problems.png`: expected problems per grade, this plan beside a uniform draw.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict

from creditgrade.features.store import atomic_folder, read_user_table
from creditgrade.models.planning import inspectors as I
from creditgrade.models.planning.draw import Probabilities, commitment, inclusion_probabilities, systematic
from creditgrade.models.planning.plan import Plan, PlanError, plan_from_yaml

PARQUET = {"compression": "zstd", "use_dictionary": True, "write_statistics": False}
REASONS_SHOWN = 3
STRATUM_COLUMNS = {"district": "region_code", "industry": "industry_section"}


def load_plan(path: Path) -> Plan:
    """PLAN.yaml, every setting checked (`creditgrade.models.planning.plan.Plan`)."""
    path = Path(path)
    if not path.exists():
        raise PlanError(f"plan file {path} does not exist", f"计划文件 {path} 不存在", code="not_found")
    return plan_from_yaml(path.read_text(encoding="utf-8"), f"plan file {path}")


def file_digest(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_directory(path: Path) -> I.Directory:
    """The inspector directory (执法人员名录), CSV or Parquet; see `creditgrade.models.planning.inspectors`."""
    frame = read_user_table(path, I.COLUMNS, ("inspector directory", "执法人员名录"), PlanError)
    return I.from_frame(frame, f"inspector directory {path}")


class GradePlan(BaseModel):
    """One grade in a plan: how many enterprises, how many may be drawn, the expected inspections and problems,
    and a uniform draw's of the same size."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    grade: str
    enterprises: int
    eligible: int
    expected_inspections: float
    expected_problems: float
    uniform_inspections: float
    uniform_problems: float
    sampling_ratio: float


class PlanSummary(BaseModel):
    """What the plan is expected to do, before any draw, and the commitment to publish (also the body of
    `POST /v1/plan`'s answer, `serving.schemas.PlanAnswer`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    plan_id: str
    scheme: str
    as_of: str
    coverage: str
    enterprises: int
    eligible: int
    expected_inspections: float
    size_sd: float
    expected_problems: float
    uniform_problems: float
    ratio_to_uniform: float
    per_grade: list[GradePlan]
    excluded: dict[str, int]
    plan_hash: str
    inputs: dict[str, str]
    inputs_hash: str
    commitment: str

    @property
    def problems_per_1000(self) -> float:
        return 1000 * self.expected_problems / self.expected_inspections if self.expected_inspections else 0.0

    def to_dict(self) -> dict:
        return self.model_dump(mode="json")


@dataclass(frozen=True)
class DrawnPlan:
    """A plan drawn and written: its summary, the seed and how many enterprises were drawn (plan.json)."""

    summary: PlanSummary
    seed: str
    drawn: int
    plan: dict
    draw_method: str

    def to_dict(self) -> dict:
        return {
            **self.summary.to_dict(),
            "seed": self.seed,
            "drawn": self.drawn,
            "plan": self.plan,
            "draw_method": self.draw_method,
        }


@dataclass
class Preview:
    config: Plan
    graded: Path
    checks: Path | None
    inspectors: Path | None
    inputs_hash: str
    digests: dict[str, str]
    frame: pd.DataFrame  # uscc, region_code, industry_section, grade, probability, stratum, reason, as_of
    probabilities: Probabilities

    @property
    def plan_hash(self) -> str:
        return self.config.digest()

    @property
    def commitment(self) -> str:
        return commitment(self.plan_hash, self.inputs_hash)

    def summary(self) -> PlanSummary:
        pr = self.probabilities
        if self.config.ratios is not None:
            coverage = "fixed per-grade ratios"
        elif self.config.best_grade == "complaints_only":
            coverage = "best grade on complaint only (无事不扰)"
        else:
            coverage = f"universal floor {self.config.floor:g} (不免抽)"
        return PlanSummary(
            plan_id=self.config.plan_id,
            scheme=self.config.scheme,
            as_of=str(self.frame["as_of"].iloc[0]),
            coverage=coverage,
            enterprises=int(len(self.frame)),
            eligible=int(self.frame["reason"].isna().sum()),
            expected_inspections=pr.budget,
            size_sd=pr.size_sd,
            expected_problems=pr.expected_problems,
            uniform_problems=pr.uniform_problems,
            ratio_to_uniform=pr.ratio,
            per_grade=pr.per_grade,
            excluded={k: int(v) for k, v in self.frame["reason"].value_counts().sort_index().items()},
            plan_hash=self.plan_hash,
            inputs=self.digests,
            inputs_hash=self.inputs_hash,
            commitment=self.commitment,
        )


def graded_file(path: Path) -> Path:
    """The graded.parquet of a graded folder, of the newest folder under a root of them, or the file itself."""
    path = Path(path)
    if path.is_dir():
        found = (
            [path / "graded.parquet"]
            if (path / "graded.parquet").exists()
            else sorted(p for p in path.glob("*/graded.parquet") if not p.parent.name.startswith("."))
        )
        if not found:
            raise PlanError(
                f"no graded table under {path}; run `creditgrade grade` first",
                f"{path} 下没有分级结果：请先运行 `creditgrade grade`",
                code="not_found",
            )
        return found[-1]
    if not path.exists():
        raise PlanError(
            f"graded table {path} does not exist; run `creditgrade grade` first",
            f"分级结果 {path} 不存在：请先运行 `creditgrade grade`",
            code="not_found",
        )
    return path


def preview(graded: Path, config: Plan, *, checks: Path | None = None, inspectors: Path | None = None) -> Preview:
    """Every enterprise's inclusion probability and the plan's expected problems, before any draw."""
    graded = graded_file(graded)
    if checks is None:
        needs_no_checks(config)
    column = f"grade_{config.scheme}"
    try:
        table = pq.read_table(
            graded,
            columns=["uscc", "region_code", "industry_section", "register_status", "probability", column, "as_of"],
        )
    except (pa.ArrowInvalid, KeyError) as exc:
        raise PlanError(
            f"{graded} is not a graded table with {column}: {exc}", f"{graded} 不是含 {column} 的分级结果表：{exc}"
        ) from exc
    frame = table.sort_by("uscc").to_pandas().rename(columns={column: "grade"})
    if frame.empty:
        raise PlanError(f"graded table {graded} has no enterprises", f"分级结果 {graded} 中没有企业")
    frame["reason"] = not_operating(frame["register_status"])
    digests = {"graded": file_digest(graded)}
    if checks is not None:
        checks = Path(checks) / "spot_checks.parquet" if Path(checks).is_dir() else Path(checks)
        digests["checks"] = file_digest(checks)
        if config.checked_within_months:
            _exclude_recent(frame, checks, config.checked_within_months)
    if inspectors is not None:
        digests["inspectors"] = file_digest(inspectors)
    pr = probabilities_of(frame, config)
    inputs_hash = hashlib.sha256("|".join(f"{k}:{v}" for k, v in sorted(digests.items())).encode()).hexdigest()
    return Preview(config, graded, checks, inspectors, inputs_hash, digests, frame, pr)


def needs_no_checks(config: Plan) -> None:
    """PlanError for a plan that excludes the enterprises checked recently, when no spot-check table is given."""
    if config.checked_within_months:
        raise PlanError(
            f"the plan excludes enterprises checked within {config.checked_within_months} months: give "
            "the spot-check table (--checks)",
            f"计划排除近 {config.checked_within_months} 个月内已检查的企业，须提供检查记录表（--checks）",
        )


def not_operating(status: pd.Series) -> np.ndarray:
    """Why each enterprise of a graded table cannot be drawn for not operating (None when it is operating)."""
    return np.where(status == "active", None, "not operating (" + status.astype(str) + ") / 非存续经营状态")


def probabilities_of(frame: pd.DataFrame, config: Plan) -> Probabilities:
    """Every enterprise's inclusion probability under `config`. frame: the graded table's grade (of the plan's
    scheme), probability, register_status, region_code and industry_section (for the strata), and reason (None
    when drawable, updated here); adds the column stratum."""
    if config.strata:
        parts = [frame[STRATUM_COLUMNS[s]].fillna("unknown").astype(str) for s in config.strata]
        frame["stratum"] = parts[0].str.cat(parts[1:], sep="|") if len(parts) > 1 else parts[0]
    else:
        frame["stratum"] = "all"
    reason = frame["reason"].to_numpy(dtype=object)
    pr = inclusion_probabilities(
        config,
        frame["grade"].to_numpy(dtype=str),
        frame["probability"].to_numpy(float),
        frame["stratum"].to_numpy(dtype=str),
        reason,
        active=(frame["register_status"] == "active").to_numpy(),
    )
    frame["reason"] = reason
    return pr


def _exclude_recent(frame: pd.DataFrame, checks: Path, months: int) -> None:
    as_of = pd.Timestamp(frame["as_of"].iloc[0])
    since = as_of - pd.DateOffset(months=months)
    seen = pq.read_table(checks, columns=["uscc", "check_date"]).to_pandas()
    dates = pd.to_datetime(seen["check_date"])
    last = seen[(dates > since) & (dates <= as_of)].assign(check_date=dates).groupby("uscc")["check_date"].max()
    hit = frame["uscc"].map(last)
    mask = frame["reason"].isna() & hit.notna()
    frame.loc[mask, "reason"] = [
        f"inspected on {d.date()}, within {months} months / {months}个月内已检查" for d in hit[mask]
    ]


def draw(pv: Preview, seed: str) -> pa.Table:
    """The drawn list: randomised systematic πps with the public seed (exactly the planned size), then a
    random pair of inspectors each."""
    if not str(seed).strip():
        raise PlanError("the seed must not be empty", "随机种子不能为空")
    pi = pv.probabilities.pi
    take, point = systematic(pv.frame["uscc"], pi, pv.frame["stratum"], str(seed), pv.inputs_hash)
    rows = pv.frame.iloc[take]
    graded = pq.read_table(
        pv.graded, columns=["uscc", "name", "district_zh", "district_en", "industry_zh", "industry_en", "reasons"]
    )
    graded = graded.take(pc.index_in(pa.array(rows["uscc"].to_numpy(dtype=str), pa.string()), graded["uscc"]))
    pairs = np.full((take.size, 2), None, dtype=object)
    if pv.inspectors is not None:
        pairs = I.assign(
            rows["uscc"].to_numpy(dtype=str),
            rows["region_code"].to_numpy(dtype=str),
            read_directory(pv.inspectors),
            pv.config.load_cap,
            f"{seed}|{pv.inputs_hash}",
        )
    reasons = graded["reasons"].to_pylist()
    return pa.table(
        {
            "plan_id": pa.array([pv.config.plan_id] * take.size, pa.string()),
            "uscc": pa.array(rows["uscc"].to_numpy(dtype=str)),
            "name": graded["name"],
            "district_zh": graded["district_zh"],
            "district_en": graded["district_en"],
            "industry_zh": graded["industry_zh"],
            "industry_en": graded["industry_en"],
            "stratum": pa.array(rows["stratum"].to_numpy(dtype=str)),
            "grade": pa.array(rows["grade"].to_numpy(dtype=str)),
            "problem_probability": pa.array(np.round(rows["probability"].to_numpy(float), 6)),
            "inclusion_probability": pa.array(pi[take]),
            "draw_value": pa.array(point),
            "reasons_zh": pa.array(
                ["；".join(r["zh"] for r in (x or [])[:REASONS_SHOWN]) for x in reasons], pa.string()
            ),
            "reasons_en": pa.array(
                ["; ".join(r["en"] for r in (x or [])[:REASONS_SHOWN]) for x in reasons], pa.string()
            ),
            "inspector_1": pa.array(pairs[:, 0], pa.string()),
            "inspector_2": pa.array(pairs[:, 1], pa.string()),
        }
    )


def write_plan(pv: Preview, seed: str, out: Path, *, overwrite: bool = False) -> DrawnPlan:
    """Draw and write the whole plan folder; returns what plan.json holds."""
    listed = draw(pv, seed)
    drawn = DrawnPlan(
        pv.summary(),
        str(seed),
        listed.num_rows,
        pv.config.to_dict(),
        "randomised systematic πps within each stratum: enterprises ordered by SHA-256(creditgrade-draw-v2|seed|"
        "inputs_hash|USCC), points u + k, u = SHA-256(creditgrade-draw-v2|seed|inputs_hash|stratum|S); exactly the "
        "planned size; see docs/spot-check-planner.md",
    )
    meta = drawn.to_dict()
    probabilities = pa.table(
        {
            "uscc": pv.frame["uscc"].to_numpy(dtype=str),
            "stratum": pv.frame["stratum"].to_numpy(dtype=str),
            "grade": pv.frame["grade"].to_numpy(dtype=str),
            "problem_probability": pv.frame["probability"].to_numpy(float),
            "inclusion_probability": pv.probabilities.pi,
            "excluded_reason": pa.array(pv.frame["reason"].to_numpy(dtype=object), pa.string(), from_pandas=True),
        }
    )
    from creditgrade.models.plots import expected_problems_plot  # matplotlib: not imported by every service worker

    with atomic_folder(out, overwrite=overwrite) as tmp:
        pq.write_table(listed, tmp / "list.parquet", **PARQUET)
        pacsv.write_csv(listed, tmp / "list.csv")
        pq.write_table(probabilities, tmp / "probabilities.parquet", **PARQUET)
        (tmp / "plan.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        expected_problems_plot(
            pv.probabilities.per_grade,
            tmp / "expected_problems.png",
            f"Plan {pv.config.plan_id}: {drawn.summary.ratio_to_uniform:.2f}x a uniform draw",
        )
    return drawn


KEY_COLUMNS = ("plan_id", "uscc", "grade", "inclusion_probability", "draw_value", "inspector_1", "inspector_2")


def read_list(path: Path) -> pd.DataFrame:
    path = Path(path) / "list.parquet" if Path(path).is_dir() else Path(path)
    return read_user_table(path, KEY_COLUMNS, ("published list", "公示名单"), PlanError)


def verify(published: Path, pv: Preview, seed: str) -> list[tuple[str, str]]:
    """Differences between a published list and the list re-derived from the plan, inputs and seed, each in
    English and Chinese ([] = the same)."""
    mine = draw(pv, seed).select(list(KEY_COLUMNS)).to_pandas()
    theirs = read_list(published)[list(KEY_COLUMNS)]
    a, b = _canonical(mine), _canonical(theirs)
    problems = []
    for u in sorted(set(b.index) - set(a.index))[:5]:
        problems.append((f"{u} is on the published list but the draw does not select it", f"{u} 在名单中但未被抽中"))
    for u in sorted(set(a.index) - set(b.index))[:5]:
        problems.append((f"{u} is drawn but missing from the published list", f"{u} 被抽中但不在名单中"))
    both = a.index.intersection(b.index)
    diff = (a.loc[both] != b.loc[both]).any(axis=1)
    for u in list(diff[diff].index[:5]):
        cols = [c for c in a.columns if a.at[u, c] != b.at[u, c]]
        problems.append(
            (
                f"{u}: {', '.join(f'{c} published {b.at[u, c]!r}, re-derived {a.at[u, c]!r}' for c in cols)}",
                f"{u}：{', '.join(f'{c} 公布为 {b.at[u, c]!r}，重算为 {a.at[u, c]!r}' for c in cols)}",
            )
        )
    if b.index.duplicated().any():
        twice = b.index[b.index.duplicated()][0]
        problems.append((f"{twice} appears twice on the published list", f"{twice} 在名单中重复出现"))
    return problems


def _canonical(frame: pd.DataFrame) -> pd.DataFrame:
    """Every key column as text (floats to 12 significant digits), indexed by USCC: CSV and Parquet compare alike."""
    out = pd.DataFrame(index=frame["uscc"].astype(str).to_numpy())
    for c in KEY_COLUMNS[:1] + KEY_COLUMNS[2:]:
        v = frame[c].to_numpy()
        if c in ("inclusion_probability", "draw_value"):
            out[c] = [f"{float(x):.12g}" for x in v]
        else:
            out[c] = ["" if x is None or (isinstance(x, float) and np.isnan(x)) else str(x) for x in v]
    return out
