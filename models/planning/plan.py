"""A spot-check plan (抽查计划): what a planner writes in PLAN.yaml or sends to `POST /v1/plan`.

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

`Plan` is the one declaration: the YAML file, the service's request body and its OpenAPI schema, and
the validation messages all come from it. `parse_plan` turns any mapping into a `Plan` or a `PlanError`
naming the first problem in English and Chinese. The plan's hash (`digest`) is taken over the same
canonical form since the first release, so a commitment published earlier still verifies.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any, Literal, Optional

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from creditgrade.features.errors import CreditgradeError
from creditgrade.models import grades as G

LEGAL_MINIMUM = 0.03  # SAMR: public-information spot checks cover at least 3% of enterprises


class PlanError(CreditgradeError):
    """A plan that cannot be drawn; the message names the problem in English and Chinese."""

    code = "plan"


def _rule(en: str, zh: str) -> PydanticCustomError:
    """A plan rule broken: pydantic carries both texts to `parse_plan`."""
    return PydanticCustomError("plan_rule", en, {"zh": zh})


class GradeBounds(BaseModel):
    """Bounds on one grade's sampling ratio (mean inclusion probability of its eligible enterprises)."""

    model_config = ConfigDict(extra="forbid")
    min: Optional[float] = Field(None, ge=0.0, le=1.0, strict=True, description="Least sampling ratio / 最低抽查比例")
    max: Optional[float] = Field(None, ge=0.0, le=1.0, strict=True, description="Largest sampling ratio / 最高抽查比例")

    @model_validator(mode="after")
    def _ordered(self) -> GradeBounds:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise _rule("min ratio above max ratio", "最低比例高于最高比例")
        return self


class Exclusions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    checked_within_months: int = Field(
        0,
        ge=0,
        strict=True,
        description="Leave out enterprises inspected within this many months / 近N个月内已检查的企业不再抽取",
    )


class InspectorSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    load_cap: int = Field(
        40,
        ge=1,
        strict=True,
        description="Most enterprises one inspector is sent to in this plan / 每名执法人员最多检查户数",
    )


class Plan(BaseModel):
    """A spot-check plan (抽查计划)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    plan_id: str = Field(..., description="Printed on every row of the list / 计划编号")
    purpose: Literal["public_information", "other"] = Field(
        "public_information", description="public_information: the legal minimum of 3% applies / 抽查类型"
    )
    scheme: str = Field(
        "shenzhen",
        description="Whose grades the ratios and bounds refer to / 分级方案",
        json_schema_extra={"enum": list(G.SCHEMES)},
    )
    budget: Optional[float] = Field(
        None, ge=0.0, le=1.0, strict=True, description="Share of eligible enterprises / 抽查比例"
    )
    budget_count: Optional[int] = Field(None, gt=0, strict=True, description="Or a number of inspections / 抽查户数")
    ratios: Optional[dict[str, Annotated[float, Field(strict=True)]]] = Field(
        None, description="Or a fixed sampling ratio per grade / 各等级抽查比例"
    )
    floor: float = Field(
        0.005,
        ge=0.0,
        le=1.0,
        strict=True,
        description="Every eligible enterprise's least inclusion probability (不免抽)",
    )
    best_grade: Literal["drawn", "complaints_only"] = Field(
        "drawn", description="complaints_only: the best grade only on complaint (无事不扰)"
    )
    grades: dict[str, GradeBounds] = Field(default_factory=dict, description="Per-grade bounds / 各等级比例约束")
    strata: list[Literal["district", "industry"]] = Field(
        default_factory=list, description="Drawn separately; budget by stratum size / 分层抽取"
    )
    exclude: Exclusions = Field(default_factory=Exclusions)
    inspectors: InspectorSettings = Field(default_factory=InspectorSettings)
    allow_below_legal_minimum: bool = Field(
        False, strict=True, description="Draw below 3% anyway / 允许低于法定最低比例"
    )

    @field_validator("plan_id", mode="before")
    @classmethod
    def _plan_id(cls, v: Any) -> str:
        v = "" if v is None else str(v).strip()
        if not v:
            raise _rule("the plan needs a plan_id", "计划须有编号 plan_id")
        return v

    @field_validator("scheme")
    @classmethod
    def _known_scheme(cls, v: str) -> str:
        if v not in G.SCHEMES:
            raise _rule(
                f"unknown grade scheme {v!r}; known: {', '.join(G.SCHEMES)}",
                f"未知的分级方案 {v!r}；可选：{', '.join(G.SCHEMES)}",
            )
        return v

    @field_validator("strata", mode="before")
    @classmethod
    def _one_stratum(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else (v or [])

    @field_validator("ratios")
    @classmethod
    def _ratios_in_range(cls, v: dict[str, float] | None) -> dict[str, float] | None:
        for g, r in (v or {}).items():
            if not 0.0 <= r <= 1.0:
                raise _rule(
                    f"the ratio of grade {g} must be a number in [0, 1]; got {r!r}",
                    f"等级 {g} 的抽查比例须在 0 到 1 之间，当前为 {r!r}",
                )
        return v

    @model_validator(mode="after")
    def _consistent(self) -> Plan:
        scheme = G.scheme(self.scheme)
        sizes = [k for k in ("budget", "budget_count", "ratios") if getattr(self, k) is not None]
        if len(sizes) != 1:
            raise _rule(
                "give exactly one of budget (a share), budget_count (a number) or ratios (per grade); "
                f"got {', '.join(sizes) or 'none'}",
                "须且仅须给出 budget、budget_count 或 ratios 之一",
            )
        for named in (self.ratios or {}, self.grades):
            unknown = [g for g in named if g not in scheme.grades]
            if unknown:
                raise _rule(
                    f"unknown grade name(s) {', '.join(unknown)} for scheme {scheme.name} "
                    f"(grades: {', '.join(scheme.grades)})",
                    f"方案 {scheme.name} 没有等级 {', '.join(unknown)}（可选：{', '.join(scheme.grades)}）",
                )
        if self.ratios is not None:
            missing = [g for g in scheme.grades if g not in self.ratios]
            if missing:
                raise _rule(
                    f"ratios must give every grade of {scheme.name}; missing {', '.join(missing)}",
                    f"须给出方案 {scheme.name} 每个等级的抽查比例；缺少 {', '.join(missing)}",
                )
        if (
            self.budget is not None
            and self.purpose == "public_information"
            and self.budget < LEGAL_MINIMUM
            and not self.allow_below_legal_minimum
        ):
            raise _rule(
                f"a budget of {self.budget:.2%} is below the legal minimum of {LEGAL_MINIMUM:.0%} of "
                "enterprises for public-information spot checks; set allow_below_legal_minimum: true to draw "
                "it anyway",
                f"抽查比例 {self.budget:.2%} 低于公示信息抽查法定最低比例 3%；如确需抽取，"
                "请设置 allow_below_legal_minimum: true",
            )
        return self

    # -- what the draw reads ---------------------------------------------------------------------

    @property
    def grade_names(self) -> tuple[str, ...]:
        return G.scheme(self.scheme).grades

    @property
    def checked_within_months(self) -> int:
        return self.exclude.checked_within_months

    @property
    def load_cap(self) -> int:
        return self.inspectors.load_cap

    def bounds(self, grade: str) -> tuple[float, float]:
        """(least, largest) sampling ratio of a grade."""
        b = self.grades.get(grade)
        return (b.min if b and b.min is not None else 0.0, b.max if b and b.max is not None else 1.0)

    def canonical(self) -> dict[str, Any]:
        """The flat form the plan's hash is taken over (unchanged since the first release)."""
        return {
            "plan_id": self.plan_id,
            "purpose": self.purpose,
            "scheme": self.scheme,
            "budget": self.budget,
            "budget_count": self.budget_count,
            "ratios": self.ratios,
            "floor": self.floor,
            "best_grade": self.best_grade,
            "grades": {g: b.model_dump(exclude_none=True) for g, b in self.grades.items()},
            "strata": list(self.strata),
            "checked_within_months": self.checked_within_months,
            "load_cap": self.load_cap,
            "allow_below_legal_minimum": self.allow_below_legal_minimum,
        }

    def digest(self) -> str:
        """SHA-256 of the plan's canonical JSON: the same plan, however written, has the same hash.

        >>> a = parse_plan({"plan_id": "p", "budget": 0.03})
        >>> a.digest() == parse_plan({"budget": 0.03, "plan_id": " p"}).digest()
        True
        """
        return hashlib.sha256(
            json.dumps(self.canonical(), sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
        ).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        """The plan as it would be written in PLAN.yaml (defaults included)."""
        return self.model_dump(mode="json")


# Chinese for pydantic's own checks (types, ranges, unknown or missing settings), by error type.
_ZH = {
    "extra_forbidden": "未知的计划设置 {loc}",
    "missing": "缺少必填的计划设置 {loc}",
    "literal_error": "{loc} 取值无效，可选：{expected}",
    "greater_than_equal": "{loc} 须不小于 {ge}",
    "less_than_equal": "{loc} 须不大于 {le}",
    "greater_than": "{loc} 须大于 {gt}",
    "int_type": "{loc} 须为整数",
    "int_from_float": "{loc} 须为整数",
    "float_type": "{loc} 须为数字",
    "float_parsing": "{loc} 须为数字",
    "bool_type": "{loc} 须为 true 或 false",
    "bool_parsing": "{loc} 须为 true 或 false",
    "dict_type": "{loc} 应为键值配置",
    "model_type": "{loc} 应为键值配置",
    "list_type": "{loc} 应为列表",
    "string_type": "{loc} 须为文字",
}


def parse_plan(raw: Any) -> Plan:
    """The plan from its YAML/JSON mapping, every setting checked; PlanError naming the first problem."""
    if isinstance(raw, Plan):
        return raw
    if not isinstance(raw, dict):
        raise PlanError("a plan is a mapping of settings (plan_id, budget, floor, ...)", "计划应为键值配置")
    try:
        return Plan.model_validate(raw)
    except ValidationError as exc:
        raise _plan_error(exc) from None


def _plan_error(exc: ValidationError) -> PlanError:
    e = exc.errors(include_url=False)[0]
    loc = ".".join(str(x) for x in e["loc"]) or "plan"
    ctx = e.get("ctx") or {}
    if e["type"] == "plan_rule":
        return PlanError(e["msg"], ctx["zh"])
    if e["type"] == "extra_forbidden":
        known = ", ".join(_fields_at(e["loc"][:-1]))
        return PlanError(
            f"unknown plan setting {loc}; known: {known}",
            f"未知的计划设置 {loc}；可用设置：{known}",
            code="plan_unknown_setting",
        )
    given = e.get("input")
    en = f"{loc}: {e['msg'][0].lower()}{e['msg'][1:]}; got {given!r}"
    zh = _ZH.get(e["type"], "计划设置 {loc} 无效").format(loc=loc, **{k: v for k, v in ctx.items() if k != "loc"})
    return PlanError(en, f"{zh}，当前为 {given!r}")


def _fields_at(loc: tuple) -> list[str]:
    """The settings known where an unknown one was found: the plan's, or a nested mapping's."""
    model: type[BaseModel] = Plan
    parts = [str(x) for x in loc]
    while parts:
        part = parts.pop(0)
        if model is Plan and part == "grades":
            parts, model = parts[1:], GradeBounds  # grades.<grade name>.<bound>
            continue
        inner = model.model_fields[part].annotation if part in model.model_fields else None
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            model = inner
    return list(model.model_fields)


def plan_from_yaml(text: str, source: str = "plan") -> Plan:
    """A plan from YAML text; `source` names it in messages."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PlanError(f"{source} is not valid YAML: {exc}", f"{source} 不是有效的 YAML：{exc}") from exc
    return parse_plan(raw)
