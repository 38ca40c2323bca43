"""A spot-check plan (抽查计划) as data: what a planner writes in PLAN.yaml, checked before anything is drawn.

    plan_id: 2026-03-public-info            # printed on every row of the list
    purpose: public_information             # the legal minimum of 3% applies (or: other)
    scheme: shenzhen                        # whose grades the ratios and bounds refer to
    budget: 0.03                            # share of eligible enterprises (or budget_count: 900)
    floor: 0.005                            # every eligible enterprise's least inclusion probability (不免抽)
    best_grade: drawn                       # or complaints_only: the best grade only on complaint (无事不扰)
    grades: {C: {min: 0.10}, D: {min: 0.5}} # per-grade bounds on the sampling ratio
    strata: [district]                      # drawn separately (district, industry); budget by stratum size
    exclude: {checked_within_months: 12}    # enterprises inspected lately are left out, with that reason
    inspectors: {load_cap: 40}              # most enterprises one inspector is sent to in this plan

Instead of a budget, `ratios: {A+: 0.01, A: 0.02, ...}` fixes every grade's sampling ratio.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

from models import grades as G

LEGAL_MINIMUM = 0.03  # SAMR: public-information spot checks cover at least 3% of enterprises
PURPOSES = ("public_information", "other")
BEST_GRADE = ("drawn", "complaints_only")
STRATA = ("district", "industry")
KEYS = {"plan_id", "purpose", "scheme", "budget", "budget_count", "ratios", "floor", "best_grade", "grades",
        "strata", "exclude", "inspectors", "allow_below_legal_minimum"}


class PlanError(ValueError):
    """A plan that cannot be drawn; the message names the problem in English and Chinese."""


@dataclass(frozen=True)
class PlanConfig:
    plan_id: str
    purpose: str = "public_information"
    scheme: str = "shenzhen"
    budget: float | None = None  # share of eligible enterprises
    budget_count: int | None = None  # or a number of inspections
    ratios: dict[str, float] | None = None  # or fixed per-grade sampling ratios
    floor: float = 0.005
    best_grade: str = "drawn"
    grades: dict[str, dict[str, float]] = field(default_factory=dict)
    strata: tuple[str, ...] = ()
    checked_within_months: int = 0
    load_cap: int = 40
    allow_below_legal_minimum: bool = False

    @property
    def grade_names(self) -> tuple[str, ...]:
        return G.scheme(self.scheme).grades

    def to_dict(self) -> dict:
        d = asdict(self)
        d["strata"] = list(self.strata)
        return d

    def digest(self) -> str:
        """SHA-256 of the plan's canonical JSON: the same plan, however written, has the same hash."""
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False,
                                         separators=(",", ":")).encode()).hexdigest()


def load_plan(path: Path) -> PlanConfig:
    path = Path(path)
    if not path.exists():
        raise PlanError(f"plan file {path} does not exist / 计划文件不存在")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise PlanError(f"plan file {path} is not valid YAML / 计划文件格式错误: {exc}") from exc
    return parse_plan(raw)


def parse_plan(raw) -> PlanConfig:
    """The plan from its YAML/JSON mapping, every field checked."""
    if not isinstance(raw, dict):
        raise PlanError("a plan is a mapping of settings (plan_id, budget, floor, ...) / 计划应为键值配置")
    unknown = sorted(set(raw) - KEYS)
    if unknown:
        raise PlanError(f"unknown plan setting(s) {', '.join(unknown)}; known: {', '.join(sorted(KEYS))} / 未知的计划设置")
    plan_id = str(raw.get("plan_id") or "").strip()
    if not plan_id:
        raise PlanError("the plan needs a plan_id / 计划须有编号 plan_id")
    purpose = _choice(raw, "purpose", PURPOSES, "public_information")
    try:
        scheme = G.scheme(str(raw.get("scheme", "shenzhen")))
    except (KeyError, ValueError) as exc:
        raise PlanError(f"unknown grade scheme {raw.get('scheme')!r} / 未知的分级方案") from exc
    sizes = [k for k in ("budget", "budget_count", "ratios") if raw.get(k) is not None]
    if len(sizes) != 1:
        raise PlanError("give exactly one of budget (a share), budget_count (a number) or ratios (per grade); "
                        f"got {', '.join(sizes) or 'none'} / 须且仅须给出 budget、budget_count 或 ratios 之一")
    budget = _ratio(raw["budget"], "budget") if raw.get("budget") is not None else None
    count = raw.get("budget_count")
    if count is not None and (not isinstance(count, int) or isinstance(count, bool) or count <= 0):
        raise PlanError(f"budget_count must be a positive whole number; got {count!r} / 抽查数量须为正整数")
    ratios = None
    if raw.get("ratios") is not None:
        ratios = {str(g): _ratio(v, f"ratio of grade {g}") for g, v in _mapping(raw["ratios"], "ratios").items()}
        _known_grades(ratios, scheme)
        missing = [g for g in scheme.grades if g not in ratios]
        if missing:
            raise PlanError(f"ratios must give every grade of {scheme.name}; missing {', '.join(missing)} / 须给出每个等级的抽查比例")
    floor = _ratio(raw.get("floor", 0.005), "floor")
    best = _choice(raw, "best_grade", BEST_GRADE, "drawn")
    bounds = {}
    for g, b in _mapping(raw.get("grades") or {}, "grades").items():
        b = _mapping(b, f"grades.{g}")
        extra = sorted(set(b) - {"min", "max"})
        if extra:
            raise PlanError(f"grades.{g} takes min and max only; got {', '.join(extra)} / 等级约束仅含 min、max")
        bounds[str(g)] = {k: _ratio(v, f"{k} ratio of grade {g}") for k, v in b.items()}
        if bounds[str(g)].get("min", 0.0) > bounds[str(g)].get("max", 1.0):
            raise PlanError(f"grade {g}: min ratio above max ratio / 等级 {g} 的最低比例高于最高比例")
    _known_grades(bounds, scheme)
    strata = raw.get("strata") or []
    if isinstance(strata, str):
        strata = [strata]
    bad = [s for s in strata if s not in STRATA]
    if bad:
        raise PlanError(f"unknown stratum {bad[0]!r}; strata may be {', '.join(STRATA)} / 未知的分层字段")
    exclude = _mapping(raw.get("exclude") or {}, "exclude")
    if set(exclude) - {"checked_within_months"}:
        raise PlanError("exclude takes checked_within_months only / 排除条件仅支持 checked_within_months")
    months = _whole(exclude.get("checked_within_months", 0), "exclude.checked_within_months", 0)
    inspectors = _mapping(raw.get("inspectors") or {}, "inspectors")
    if set(inspectors) - {"load_cap"}:
        raise PlanError("inspectors takes load_cap only / 执法人员设置仅支持 load_cap")
    cap = _whole(inspectors.get("load_cap", 40), "inspectors.load_cap", 1)
    config = PlanConfig(plan_id, purpose, scheme.name, budget, count, ratios, floor, best,
                        bounds, tuple(strata), months, cap, bool(raw.get("allow_below_legal_minimum", False)))
    if budget is not None and purpose == "public_information" and budget < LEGAL_MINIMUM \
            and not config.allow_below_legal_minimum:
        raise PlanError(f"a budget of {budget:.2%} is below the legal minimum of {LEGAL_MINIMUM:.0%} of enterprises for "
                        "public-information spot checks; set allow_below_legal_minimum: true to draw it anyway "
                        f"/ 抽查比例 {budget:.2%} 低于公示信息抽查法定最低比例 3%")
    return config


def _mapping(v, name: str) -> dict:
    if not isinstance(v, dict):
        raise PlanError(f"{name} must be a mapping; got {v!r} / {name} 应为键值配置")
    return v


def _ratio(v, name: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.0 <= float(v) <= 1.0:
        raise PlanError(f"the {name} must be a number in [0, 1]; got {v!r} / 比例须在 0 到 1 之间")
    return float(v)


def _whole(v, name: str, least: int) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < least:
        raise PlanError(f"{name} must be a whole number ≥ {least}; got {v!r} / {name} 须为不小于 {least} 的整数")
    return v


def _choice(raw: dict, key: str, options: tuple[str, ...], default: str) -> str:
    v = str(raw.get(key, default))
    if v not in options:
        raise PlanError(f"{key} must be one of {', '.join(options)}; got {v!r} / {key} 取值无效")
    return v


def _known_grades(named: dict, scheme: G.GradeScheme) -> None:
    unknown = [g for g in named if g not in scheme.grades]
    if unknown:
        raise PlanError(f"unknown grade name(s) {', '.join(unknown)} for scheme {scheme.name} "
                        f"(grades: {', '.join(scheme.grades)}) / 未知的等级名称")
