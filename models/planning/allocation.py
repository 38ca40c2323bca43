"""Inclusion probabilities for a spot-check plan: a budget of inspections spread to find the most problems.

Every eligible enterprise keeps at least a small random floor (不免抽: no one is ever exempt), each
grade's sampling ratio stays within its bounds, and the rest of the budget goes where the predicted
problem probability is highest. Maximising Σ πᵢ·pᵢ under these constraints is a linear programme
whose constraints nest (enterprise ⊂ grade ⊂ city); filling enterprises in descending order of p,
first to reach each grade's minimum and then to the end of the budget within each grade's maximum,
solves it exactly. Both fills are done in closed form (cumulative sums in that order), not in a loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from creditgrade.features.errors import CreditgradeError


class AllocationError(CreditgradeError):
    """A plan that cannot be met; the message says which constraint."""

    code = "allocation"


@dataclass(frozen=True)
class Allocation:
    probability: np.ndarray  # πᵢ, the inclusion probability of each enterprise
    expected_problems: float  # Σ πᵢ pᵢ
    uniform_problems: float  # the same number of inspections drawn uniformly from the eligible enterprises

    @property
    def ratio(self) -> float:
        return self.expected_problems / self.uniform_problems if self.uniform_problems else float("nan")


def _fill(order: np.ndarray, room: np.ndarray, group: np.ndarray, quota: np.ndarray) -> np.ndarray:
    """Give each group up to quota[g], to its members in `order`, each at most room[i]."""
    room_o, group_o = room[order], group[order]
    sort = np.argsort(group_o, kind="stable")  # members of a group together, still in `order` within it
    cum = np.cumsum(room_o[sort])
    starts = np.searchsorted(group_o[sort], np.arange(quota.size))
    before = cum - room_o[sort]
    before -= np.concatenate([[0.0], cum])[starts][group_o[sort]]
    given_sorted = np.clip(quota[group_o[sort]] - before, 0.0, room_o[sort])
    given = np.zeros_like(room)
    given[order[sort]] = given_sorted
    return given


def allocate(
    p, group, budget: float, *, floor: float = 0.0, low=None, high=None, eligible=None, groups: int | None = None
) -> Allocation:
    """Inclusion probabilities maximising the expected number of problems found.

    p: predicted problem probability per enterprise; group: grade index per enterprise (0..G-1);
    budget: the expected number of inspections (Σ π); floor: the least π of every eligible enterprise;
    low / high: per-grade bounds on the sampling ratio (mean π over the grade's eligible enterprises);
    eligible: enterprises that may be drawn (the others get π = 0); groups: the number of grades (default:
    the largest index + 1).

    >>> a = allocate([0.1, 0.9, 0.5, 0.2], [0, 1, 1, 0], 2.0, floor=0.1)
    >>> a.probability.round(2).tolist()
    [0.1, 1.0, 0.8, 0.1]
    """
    # Long (86 lines): every constraint is checked with its own message before the two closed-form fills.
    p = np.asarray(p, dtype=float)
    group = np.asarray(group, dtype=np.int64)
    n = p.size
    if group.shape != p.shape:
        raise AllocationError("one grade per enterprise is needed", "每户企业须有且仅有一个等级")
    if np.isnan(p).any() or (p < 0).any() or (p > 1).any():
        raise AllocationError("problem probabilities must lie in [0, 1]", "问题发现概率须在 0 到 1 之间")
    eligible = np.ones(n, bool) if eligible is None else np.asarray(eligible, bool)
    if groups is None:
        groups = int(group.max()) + 1 if n else 0
    low = np.zeros(groups) if low is None else np.asarray(low, dtype=float)
    high = np.ones(groups) if high is None else np.asarray(high, dtype=float)
    if low.size != groups or high.size != groups:
        raise AllocationError(
            f"{groups} grades need {groups} lower and upper ratios", f"{groups} 个等级须各有一个最低和最高抽查比例"
        )
    for name, zh, v in (
        ("floor", "最低入选概率", np.array([floor])),
        ("lower ratio", "最低抽查比例", low),
        ("upper ratio", "最高抽查比例", high),
    ):
        if (v < 0).any() or (v > 1).any():
            bad = v[(v < 0) | (v > 1)][0]
            raise AllocationError(
                f"every {name} must lie in [0, 1]; got {bad:g}", f"{zh}须在 0 到 1 之间，当前为 {bad:g}"
            )
    if (low > high).any():
        g = int(np.flatnonzero(low > high)[0])
        raise AllocationError(
            f"grade {g}: lower ratio {low[g]:g} above upper ratio {high[g]:g}",
            f"第 {g} 个等级的最低抽查比例 {low[g]:g} 高于最高比例 {high[g]:g}",
        )
    size = np.bincount(group[eligible], minlength=groups).astype(float)
    lo_total = np.maximum(low, floor) * size
    hi_total = high * size
    if (floor > high[size > 0]).any():
        g = int(np.flatnonzero((floor > high) & (size > 0))[0])
        raise AllocationError(
            f"grade {g}: the floor {floor:g} exceeds its upper ratio {high[g]:g}",
            f"最低入选概率 {floor:g} 超过第 {g} 个等级的最高抽查比例 {high[g]:g}",
        )
    if budget < lo_total.sum() - 1e-9:
        raise AllocationError(
            f"a budget of {budget:,.0f} inspections is below what the floor and the grades' "
            f"minimum ratios need ({lo_total.sum():,.0f})",
            f"抽查预算 {budget:,.0f} 户低于最低入选概率与各等级最低比例所需的 {lo_total.sum():,.0f} 户",
        )
    if budget > hi_total.sum() + 1e-9:
        raise AllocationError(
            f"a budget of {budget:,.0f} inspections exceeds what the grades' maximum ratios "
            f"allow ({hi_total.sum():,.0f})",
            f"抽查预算 {budget:,.0f} 户超过各等级最高比例所允许的 {hi_total.sum():,.0f} 户",
        )
    pi = np.where(eligible, floor, 0.0)
    order = np.argsort(-p, kind="stable")
    order = order[eligible[order]]
    # 1. each grade up to its minimum ratio, highest p first
    need = np.maximum(lo_total - np.bincount(group, weights=pi, minlength=groups), 0.0)
    pi += _fill(order, np.where(eligible, 1.0 - pi, 0.0), group, need)
    # 2. the rest of the budget, highest p first, within each grade's maximum
    room_grade = np.maximum(hi_total - np.bincount(group, weights=pi, minlength=groups), 0.0)
    allowed = _fill(order, np.where(eligible, 1.0 - pi, 0.0), group, room_grade)
    rest = budget - pi.sum()
    allowed_o = allowed[order]
    before = np.cumsum(allowed_o) - allowed_o
    extra = np.zeros(n)
    extra[order] = np.clip(rest - before, 0.0, allowed_o)
    pi = np.minimum(pi + extra, 1.0)
    m = eligible.sum()
    uniform = budget / m * p[eligible].sum() if m else 0.0
    return Allocation(pi, float(pi @ p), float(uniform))
