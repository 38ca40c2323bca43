"""Inclusion probabilities and the publicly verifiable draw (双随机: random targets).

1. Every enterprise gets its inclusion probability π first: 0 with a reason if it is not eligible,
   else from the plan — fixed per-grade ratios, or a budget spread to maximise the expected problems
   found (`creditgrade.models.planning.allocation`) within each stratum, with the floor and the per-grade bounds.
2. The draw is Poisson sampling with public randomness: enterprise i is drawn when
   uᵢ < πᵢ, uᵢ = the first 8 bytes of SHA-256("creditgrade-draw-v1|seed|inputs|USCC") read as a
   fraction of 2⁶⁴. Anyone holding the plan, the input files and the seed recomputes every uᵢ, so the
   list is determined, and each enterprise is drawn with exactly its published πᵢ (which the feedback
   loop's inverse-probability weights need). The list's size varies around the budget (its
   standard deviation, √Σπ(1−π), is printed with the plan).
3. The commitment, SHA-256 of the plan's hash and the inputs' hashes, is published before the seed is
   known (e.g. drawn in public); a list that does not re-derive from them is detected.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from creditgrade.models.planning.allocation import AllocationError, allocate
from creditgrade.models.planning.plan import LEGAL_MINIMUM, Plan, PlanError

DRAW_VERSION = "creditgrade-draw-v1"
BEST_GRADE_REASON = "best grade: inspected on complaint or referral only / 最优等级：无事不扰，仅凭投诉举报检查"


def commitment(plan_hash: str, inputs_hash: str) -> str:
    """What the planner publishes before the seed: it binds the plan and the input files."""
    return hashlib.sha256(f"{DRAW_VERSION}|commit|{plan_hash}|{inputs_hash}".encode()).hexdigest()


def uniforms(uscc, seed: str, inputs_hash: str) -> np.ndarray:
    """uᵢ ∈ [0, 1) for every USCC, from the seed and the inputs' hash only."""
    prefix = f"{DRAW_VERSION}|{seed}|{inputs_hash}|".encode()
    raw = b"".join(hashlib.sha256(prefix + u.encode()).digest()[:8] for u in uscc)
    return np.frombuffer(raw, dtype=">u8").astype(np.float64) / 2.0**64


@dataclass(frozen=True)
class Probabilities:
    pi: np.ndarray  # inclusion probability of every enterprise (0 when not eligible)
    grades: tuple[str, ...]  # the scheme's grades, best first
    per_grade: list[dict]  # enterprises, eligible, expected inspections and problems, and a uniform draw's
    expected_problems: float
    uniform_problems: float
    budget: float  # Σπ

    @property
    def ratio(self) -> float:
        return self.expected_problems / self.uniform_problems if self.uniform_problems else float("nan")

    @property
    def size_sd(self) -> float:
        return float(np.sqrt((self.pi * (1 - self.pi)).sum()))


def inclusion_probabilities(
    config: Plan,
    grade: np.ndarray,
    p: np.ndarray,
    stratum: np.ndarray,
    reason: np.ndarray,
    active: np.ndarray | None = None,
) -> Probabilities:
    """π for every enterprise. reason[i] is None for an eligible enterprise, else why it is not drawn
    (updated here for the best grade when the plan leaves it to complaints). active: the enterprises
    operating on the register (default: the eligible ones) — the budget is a share of them, and each
    stratum's part of it is its share of them, exclusions or not."""
    # Long (105 lines): fixed ratios or a budget by stratum, then the legal minimum and the per-grade table,
    # each checked with a message in both languages.
    grades = config.grade_names
    index = {g: i for i, g in enumerate(grades)}
    present = np.unique(grade.astype(str))
    unknown = [x for x in present if x not in index]
    if unknown:
        raise PlanError(
            f"the graded table holds grade(s) {', '.join(unknown)} that scheme {config.scheme} does not have",
            f"分级表含方案 {config.scheme} 以外的等级 {', '.join(unknown)}",
        )
    g = np.searchsorted(present, grade.astype(str))
    g = np.array([index[x] for x in present], dtype=np.int64)[g] if grade.size else np.zeros(0, np.int64)
    on_register = pd.isna(reason) if active is None else np.asarray(active, bool)
    if config.best_grade == "complaints_only":
        best = pd.isna(reason) & (g == 0)
        reason[best] = BEST_GRADE_REASON
    eligible = pd.isna(reason)
    floor = config.floor if config.ratios is None else 0.0
    pi = np.zeros(p.size)
    if config.ratios is not None:
        for k, name in enumerate(grades):
            if config.ratios[name] < config.floor and (eligible & (g == k)).any():
                raise PlanError(
                    f"grade {name}'s ratio {config.ratios[name]:g} is below the floor {config.floor:g}: no "
                    "enterprise may be exempt (不免抽); lower the floor, or set best_grade: complaints_only "
                    "for the best grade",
                    f"等级 {name} 的抽查比例 {config.ratios[name]:g} 低于最低入选概率 "
                    f"{config.floor:g}：不得免抽；请降低 floor，或对最优等级设置 best_grade: complaints_only",
                )
        pi[eligible] = np.array([config.ratios[grades[k]] for k in g[eligible]])
    else:
        total = config.budget * on_register.sum() if config.budget is not None else float(config.budget_count or 0)
        low = np.array([config.bounds(x)[0] for x in grades])
        high = np.array([config.bounds(x)[1] for x in grades])
        if config.best_grade == "complaints_only":
            low[0], high[0] = 0.0, 0.0
        strata = np.unique(stratum[on_register])
        for s in map(str, strata):
            members = np.flatnonzero(stratum == s)
            share = on_register[members].sum() / on_register.sum()
            if not eligible[members].any():
                raise PlanError(
                    f"stratum {s!r} has no eligible enterprise to draw its share of the budget",
                    f"分层 {s} 没有可抽取的企业来承担其预算份额",
                )
            try:
                a = allocate(
                    p[members],
                    g[members],
                    total * share,
                    floor=floor,
                    low=low,
                    high=high,
                    eligible=eligible[members],
                    groups=len(grades),
                )
            except AllocationError as exc:
                where, where_zh = (f" in stratum {s!r}", f"（分层 {s}）") if strata.size > 1 else ("", "")
                raise PlanError(f"{exc.en}{where}", f"{exc.zh}{where_zh}", code="allocation") from exc
            pi[members] = a.probability
    budget = float(pi.sum())
    active = on_register.sum()
    if (
        config.purpose == "public_information"
        and active
        and budget < LEGAL_MINIMUM * active - 1e-6
        and not config.allow_below_legal_minimum
    ):
        raise PlanError(
            f"the plan draws {budget:,.0f} of {active:,} enterprises ({budget / active:.2%}), below the legal "
            f"minimum of {LEGAL_MINIMUM:.0%} for public-information spot checks; set "
            "allow_below_legal_minimum: true to draw it anyway",
            f"计划抽取 {active:,} 户中的 {budget:,.0f} 户（{budget / active:.2%}），低于公示信息抽查法定最低比例 "
            "3%；如确需抽取，请设置 allow_below_legal_minimum: true",
        )
    m = eligible.sum()
    uniform_rate = budget / m if m else 0.0
    per_grade = []
    for k, name in enumerate(grades):
        at = g == k
        el = at & eligible
        per_grade.append(
            {
                "grade": name,
                "enterprises": int(at.sum()),
                "eligible": int(el.sum()),
                "expected_inspections": float(pi[at].sum()),
                "expected_problems": float(pi[at] @ p[at]),
                "uniform_inspections": float(uniform_rate * el.sum()),
                "uniform_problems": float(uniform_rate * p[el].sum()),
                "sampling_ratio": float(pi[el].mean()) if el.any() else 0.0,
            }
        )
    return Probabilities(pi, grades, per_grade, float(pi @ p), float(uniform_rate * p[eligible].sum()), budget)
