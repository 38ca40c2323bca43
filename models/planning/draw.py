"""Inclusion probabilities and the publicly verifiable draw (双随机: random targets).

1. Every enterprise gets its inclusion probability π first: 0 with a reason if it is not eligible,
   else from the plan — fixed per-grade ratios, or a budget spread to maximise the expected problems
   found (`creditgrade.models.planning.allocation`) within each stratum, with the floor and the per-grade bounds.
   Every stratum's πs add up to a whole number of inspections (the budget is split over the strata by
   largest remainders, rounded up so the legal 3% is met; fixed ratios are raised just enough), so:
2. The draw has exactly the planned size. It is randomised systematic sampling with probability
   proportional to π (Goodman & Kish 1950; Hartley & Rao 1962), with public randomness: within a
   stratum the enterprises are put in the order of kᵢ = SHA-256("creditgrade-draw-v2|seed|inputs|USCC"),
   their πs laid end to end on a line of length n = Σπ, and the points u, u + 1, …, u + n − 1 are taken,
   u = SHA-256("creditgrade-draw-v2|seed|inputs|stratum") read as a fraction of 2⁶⁴; the enterprise whose
   stretch holds a point is drawn. Each enterprise is drawn with exactly its πᵢ (its stretch is πᵢ long,
   and the points are one apart), which the feedback loop's 1/π weights need; each draw holds exactly n.
   Second order: two enterprises whose stretches lie within one unit of each other in the random order
   are never drawn together, so some joint inclusion probabilities πᵢⱼ are 0 — the Horvitz–Thompson
   estimates (1/π weights) stay unbiased, but their variance is estimated by the with-replacement
   approximation (Hartley–Rao), not by πᵢⱼ. Anyone holding the plan, the input files and the seed
   recomputes the order, the start and the list.
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

DRAW_VERSION = "creditgrade-draw-v2"
BEST_GRADE_REASON = "best grade: inspected on complaint or referral only / 最优等级：无事不扰，仅凭投诉举报检查"


def commitment(plan_hash: str, inputs_hash: str) -> str:
    """What the planner publishes before the seed: it binds the plan and the input files."""
    return hashlib.sha256(f"{DRAW_VERSION}|commit|{plan_hash}|{inputs_hash}".encode()).hexdigest()


def uniforms(uscc, seed: str, inputs_hash: str) -> np.ndarray:
    """uᵢ ∈ [0, 1) for every USCC, from the seed and the inputs' hash only."""
    prefix = f"{DRAW_VERSION}|{seed}|{inputs_hash}|".encode()
    raw = b"".join(hashlib.sha256(prefix + u.encode()).digest()[:8] for u in uscc)
    return np.frombuffer(raw, dtype=">u8").astype(np.float64) / 2.0**64


def _fraction(digest: bytes) -> float:
    return int.from_bytes(digest[:8], "big") / 2.0**64


def systematic(uscc, pi: np.ndarray, stratum, seed: str, inputs_hash: str) -> tuple[np.ndarray, np.ndarray]:
    """(row numbers drawn, the point that drew each): randomised systematic πps within each stratum.

    Every stratum's π must add up to a whole number n (as `inclusion_probabilities` makes them); exactly n
    are drawn from it.

    >>> pi = np.array([0.5, 0.5, 1.0, 0.25, 0.75])
    >>> rows, _ = systematic(["a", "b", "c", "d", "e"], pi, ["s"] * 5, "seed", "inputs")
    >>> len(rows), 2 in rows
    (3, True)
    """
    uscc = np.asarray(uscc, dtype=str)
    stratum = np.asarray(stratum, dtype=str)
    pi = np.asarray(pi, dtype=float)
    key = uniforms(uscc, seed, inputs_hash)
    drawn, points = [], []
    for s in np.unique(stratum):
        members = np.flatnonzero((stratum == s) & (pi > 0))
        n = float(pi[members].sum())
        if abs(n - round(n)) > 1e-6:
            raise ValueError(f"stratum {s!r}: inclusion probabilities add up to {n:.6f}, not a whole number")
        if not members.size or round(n) == 0:
            continue
        members = members[np.lexsort((uscc[members], key[members]))]  # the public random order
        end = np.cumsum(pi[members])
        end[-1] = round(n)  # the last stretch ends exactly at n (no rounding drift)
        start = np.concatenate([[0.0], end[:-1]])
        u = _fraction(hashlib.sha256(f"{DRAW_VERSION}|{seed}|{inputs_hash}|stratum|{s}".encode()).digest())
        hit = np.ceil(start - u) < np.ceil(end - u)  # a point u + k lies in [start, end)
        first = np.ceil(start[hit] - u) + u
        drawn.append(members[hit])
        points.append(first)
    if not drawn:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    rows, pts = np.concatenate(drawn), np.concatenate(points)
    order = np.argsort(rows, kind="stable")
    return rows[order], pts[order]


def whole_per_stratum(pi: np.ndarray, stratum: np.ndarray) -> np.ndarray:
    """π raised just enough (never above 1) that each stratum's sum is a whole number: ratios are a floor,
    and each stratum's expected size is rounded up to a whole inspection.

    >>> np.round(whole_per_stratum(np.array([0.5, 0.25, 1.0, 0.1]), np.array(["a", "a", "a", "b"])), 4).tolist()
    [0.6667, 0.3333, 1.0, 1.0]
    """
    out = pi.astype(float).copy()
    for s in np.unique(stratum):
        m = np.flatnonzero((stratum == s) & (out > 0))
        target = float(np.ceil(out[m].sum() - 1e-9))
        for _ in range(100):  # scale those below 1 up by one factor (the grades keep their proportions)
            short = target - out[m].sum()
            room = m[out[m] < 1]
            if short <= 1e-12 or not room.size:
                break
            out[room] = np.minimum(1.0, out[room] * (1 + short / out[room].sum()))
    return out


def largest_remainder(total: int, shares: np.ndarray) -> np.ndarray:
    """Whole numbers adding up to `total` in proportion to `shares` (Hamilton's method).

    >>> largest_remainder(10, np.array([0.5, 0.3, 0.2001])).tolist()
    [5, 3, 2]
    """
    exact = total * shares / shares.sum()
    whole = np.floor(exact).astype(int)
    rest = np.argsort(-(exact - whole), kind="stable")[: total - whole.sum()]
    whole[rest] += 1
    return whole


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
        """The spread of the draw's size: 0, every draw has exactly the planned size."""
        return 0.0


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
        pi = whole_per_stratum(pi, stratum)
    else:
        share_total = config.budget * on_register.sum() if config.budget is not None else None
        total = int(np.ceil(share_total - 1e-9)) if share_total is not None else int(config.budget_count or 0)
        low = np.array([config.bounds(x)[0] for x in grades])
        high = np.array([config.bounds(x)[1] for x in grades])
        if config.best_grade == "complaints_only":
            low[0], high[0] = 0.0, 0.0
        strata = np.unique(stratum[on_register])
        sizes = np.array([on_register[stratum == s].sum() for s in strata], dtype=float)
        quota = dict(zip(map(str, strata), largest_remainder(total, sizes)))
        exact = dict(zip(map(str, strata), total * sizes / sizes.sum()))
        for s in map(str, strata):  # rounding must not take a stratum below what its floor and minimums need
            at = (stratum == s) & eligible
            need = int(np.ceil(sum(max(low[k], floor) * (at & (g == k)).sum() for k in range(len(grades))) - 1e-9))
            if quota[s] < need <= exact[s] + 1:
                quota[s] = need
        for s in map(str, strata):
            members = np.flatnonzero(stratum == s)
            if not eligible[members].any():
                raise PlanError(
                    f"stratum {s!r} has no eligible enterprise to draw its share of the budget",
                    f"分层 {s} 没有可抽取的企业来承担其预算份额",
                )
            try:
                a = allocate(
                    p[members],
                    g[members],
                    float(quota[s]),
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
