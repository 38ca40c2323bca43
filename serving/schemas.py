"""The service's requests and responses, declared once (pydantic v2).

The endpoints take these as their parameters and name them as their return types, so `/docs.json`
documents every request and every response. For speed the service serialises responses straight to
JSON (orjson) from plain dicts; the response models are `extra="forbid"`, and the service's tests
validate every answer against them, so a field the code adds or drops without the schema fails there.
Indicator names, ranges and descriptions come from the catalog; the plan is the planner's own model.
"""

from __future__ import annotations

import builtins
from typing import Annotated, Any, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, create_model

from creditgrade.features import catalog
from creditgrade.models.planning.plan import Plan
from creditgrade.serving.planner.plan import PlanSummary

LOOKUP_LIMIT = 1000  # USCCs per batch lookup, rows per false-registration page
EXPLAIN_LIMIT = 1000  # records per what-if request


def documented_bounds(min_items: int | None = None, max_items: int | None = None):
    """A list's bounds stated in the OpenAPI document and enforced by the endpoint itself, which refuses a
    batch over its limit with 413 naming the limit (pydantic would answer a bare 400)."""
    extra = {k: v for k, v in (("minItems", min_items), ("maxItems", max_items)) if v is not None}
    return Field(json_schema_extra=extra)


class Response(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- requests ----------------------------------------------------------------------------------------

Indicators = create_model(
    "Indicators",
    __config__=ConfigDict(extra="forbid"),
    **{
        i.id: (
            Optional[float],
            Field(
                None,
                ge=i.valid_range[0],
                le=i.valid_range[1],
                allow_inf_nan=False,
                description=f"{i.en} / {i.zh} ({i.unit})",
            ),
        )
        for i in catalog.INDICATORS
    },
)


class WhatIf(BaseModel):
    """Indicator values to score: those given replace the enterprise's current values (when `uscc` is
    given) or stand alone (the others count as missing); null means missing."""

    model_config = ConfigDict(extra="forbid")
    uscc: Optional[str] = Field(None, description="Start from this enterprise's current indicator values.")
    indicators: Indicators = Field(default_factory=Indicators)  # type: ignore[valid-type]


def inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema with its nested definitions written in place (no $ref left to resolve)."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return resolve(defs[node["$ref"].rsplit("/", 1)[-1]])
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    return resolve(schema)


# The plan arrives as a mapping checked by the service itself (so that a bad plan gets the planner's message
# in both languages), and is documented as the plan model.
PlanBody = Annotated[dict[str, Any], WithJsonSchema(inline_schema(Plan))]


# -- responses ---------------------------------------------------------------------------------------


class Reason(Response):
    indicator: str
    value: Optional[float] = Field(None, description="The enterprise's value (null: missing)")
    points: float = Field(..., description="Score points this indicator adds (negative: it lowers the score)")
    zh: str
    en: str


class NamedCode(Response):
    code: Optional[str]
    zh: Optional[str]
    en: Optional[str]


class DimensionPoints(Response):
    id: str
    zh: str
    en: str
    points: float = Field(..., description="The dimension's sub-score in score points")


class Override(Response):
    effect: str = Field(..., description="worst: the worst grade; down2: two grades down")
    rule: str
    zh: str
    en: str
    source: str = Field(..., description="The source records, as table:record@date")


class CorrectionMark(Response):
    id: str = Field(..., description="The objection or repair application")
    on: str = Field(..., description="The date it was upheld")


class Dispute(Response):
    """A record under an open objection or repair application: marked, still counted until decided."""

    id: str
    kind: str = Field(..., description="objection | repair")
    record: str = Field(..., description="TABLE:ID")
    filed_on: str
    deadline: str


class EnterpriseGrade(Response):
    """One enterprise as graded this month."""

    uscc: str
    name: str
    district: NamedCode
    industry: NamedCode
    register_status: str
    probability: float = Field(..., description="Probability that an inspection finds a problem")
    score: float = Field(..., description="Credit score 0–1000 (higher: lower risk)")
    grades: dict[str, str] = Field(..., description="The grade in every scheme, overrides applied")
    grades_by_score: dict[str, str] = Field(..., description="The grade the score alone gives, before any override")
    override: Optional[Override]
    dimensions: list[DimensionPoints]
    base_points: float
    reasons: list[Reason]
    model_version: str
    catalog_version: str
    as_of: str
    correction: Optional[CorrectionMark] = Field(
        None, description="The upheld objection or repair that regraded the enterprise after the month was published"
    )
    disputed: list[Dispute] = Field(
        default_factory=list, description="Records under an open objection or repair application (still counted)"
    )


class GradesAnswer(Response):
    enterprises: list[EnterpriseGrade]
    not_found: list[str]


class WhatIfResult(Response):
    uscc: Optional[str]
    probability: float
    score: float
    grades_by_score: dict[str, str]
    grades: dict[str, str] = Field(..., description="After the enterprise's override rules (when it has any)")
    override_rule: Optional[str]
    dimensions: list[DimensionPoints]
    base_points: float
    reasons: list[Reason]
    changed: list[str] = Field(..., description="The indicators this record set")


class ExplainAnswer(Response):
    results: list[WhatIfResult]
    model_version: str


class SchemeInfo(Response):
    name: str
    en: str
    zh: str
    grades: list[str]
    cuts: list[float]
    override_only: list[str]


class ModelInfo(Response):
    model_version: str
    run_id: str
    catalog_version: str
    graded_as_of: Optional[str]
    graded_enterprises: int
    graded_model_version: Optional[str]
    schemes: dict[str, SchemeInfo]


class NamedEnterprise(Response):
    """Who and where: the enterprise's code and name, its district and industry in both languages."""

    uscc: str
    name: Optional[str]
    district_zh: Optional[str]
    district_en: Optional[str]
    industry_zh: Optional[str]
    industry_en: Optional[str]


class DrawnEnterprise(NamedEnterprise):
    plan_id: str
    stratum: str
    grade: str
    problem_probability: float
    inclusion_probability: float
    draw_value: float
    reasons_zh: str
    reasons_en: str
    inspector_1: Optional[str]
    inspector_2: Optional[str]


class PlanAnswer(PlanSummary):
    """The plan's expected problems against a uniform draw and its commitment (`PlanSummary`); with a seed, the
    drawn list (JSON key `list`)."""

    seed: Optional[str]
    listed: Optional[list[DrawnEnterprise]] = Field(..., alias="list")


class SuspectedFalseRegistration(Response):
    rank: int
    uscc: str
    region_code: str
    score: float
    supervised: Optional[float]
    anomaly: float
    rules_broken_zh: str
    rules_broken_en: str
    cluster_id: str
    cluster_size: int
    reasons_zh: str
    reasons_en: str
    as_of: str


class FalseRegAnswer(Response):
    list: str = Field(..., description="The list's date folder")
    enterprises: int
    rows: builtins.list[SuspectedFalseRegistration]


class HistoryMonth(Response):
    """One published month of an enterprise (or a correction of it after an upheld objection or repair)."""

    month: str
    register_status: str
    probability: float
    score: float
    grade_shenzhen: str
    grade_shenzhen_fixed: str
    grade_pingshan: str
    grade_national: str
    grade_shenzhen_by_score: str
    override_rule: Optional[str]
    override_source: Optional[str]
    model_version: str
    catalog_version: str
    correction: Optional[str] = Field(None, description="The objection or repair that regraded it, if any")
    corrected_on: Optional[str]


class HistoryAnswer(Response):
    uscc: str
    months: builtins.list[HistoryMonth]


class RecourseState(Response):
    score: float
    probability: float
    grade: str = Field(..., description="The grade in the scheme asked for, overrides applied")
    grades: dict[str, str]
    grades_by_score: dict[str, str]
    override_rule: Optional[str]
    override_en: Optional[str]
    override_zh: Optional[str]


class RecourseStep(Response):
    action: str = Field(..., description="The action's id in the action table (features/actions.yaml)")
    record: str = Field(..., description="The record it changes, TABLE:ID")
    record_date: str
    possible_from: str = Field(..., description="The date the rules allow it from")
    possible_now: bool = Field(..., description="Possible at the graded month-end")
    en: str
    zh: str
    basis_en: str
    basis_zh: str
    score: float = Field(..., description="The score the enterprise would have with this action alone")
    gain: float = Field(..., description="Score points over now")
    grade: str
    grades: dict[str, str]


class RecourseSet(Response):
    actions: builtins.list[str] = Field(..., description="The records changed, TABLE:ID")
    action_ids: builtins.list[str]
    score: float
    grade: str
    grades: dict[str, str]
    possible_from: str = Field(..., description="When every action of the set is possible")
    search: str = Field(..., description="How the sets were searched")


class RecourseAnswer(Response):
    uscc: str
    as_of: str
    scheme: str
    model_version: str
    now: RecourseState
    actions: builtins.list[RecourseStep] = Field(..., description="Actions that change the grade, best first")
    next_grade: Optional[str]
    smallest: Optional[RecourseSet] = Field(..., description="The fewest actions that reach the next grade up")
    everything: Optional[dict[str, Union[float, str]]]
    not_offered: int = Field(..., description="Allowed actions that would not change the grade")
    message_en: Optional[str]
    message_zh: Optional[str]


class WarningChange(Response):
    indicator: str
    before: Optional[float]
    after: float
    zh: str
    en: str


class EarlyWarning(NamedEnterprise):
    grade_shenzhen_before: str
    grade_shenzhen_after: str
    probability_before: float
    probability_after: float
    rules: builtins.list[str] = Field(..., description="down2, doubled, worst")
    changes: builtins.list[WarningChange]


class WarningsAnswer(Response):
    month: str
    warnings: int = Field(..., description="Enterprises warned this month (after the filters)")
    rows: builtins.list[EarlyWarning]


class ObjectionRecord(Response):
    """An objection or credit-repair application as its append-only events tell it."""

    id: str
    kind: str = Field(..., description="objection or repair")
    uscc: str
    record: str = Field(..., description="TABLE:ID of the disputed source record")
    claim: str
    filed_by: str
    filed_on: str
    deadline: str
    status: str = Field(..., description="open, upheld or rejected")
    decided_by: Optional[str]
    decided_on: Optional[str]
    reason: Optional[str]
    overdue: bool


class GradeState(Response):
    grade: str
    score: float
    probability: float


class DecisionAnswer(Response):
    objection: ObjectionRecord
    month: Optional[str] = Field(None, description="The published month regraded at once, when upheld")
    before: Optional[GradeState]
    after: Optional[GradeState]


class ObjectionsAnswer(Response):
    objections: builtins.list[ObjectionRecord]


class ValidationIssue(Response):
    """One way a request differs from its schema: where, what."""

    loc: builtins.list[Union[str, int]]
    msg: str
    type: str


class ErrorAnswer(Response):
    """Every refusal: what is wrong in English and Chinese, a machine code, and for a request that does not
    match its schema the issues found (`serving/openapi.py` puts BentoML's own refusals in this shape)."""

    error: str
    error_zh: str
    code: str
    detail: Optional[builtins.list[ValidationIssue]] = None
