"""Recourse (信用修复指引): what an enterprise can do, under the rules, to lift its grade — and by how much.

For one enterprise at its graded month-end: every action the rules allow on its records (`actions.yaml`:
repair a penalty once its publicity period has run, leave the abnormal-operation list once the cause is
corrected, perform a judgment, …), each taken alone and in combination, re-derived the way the month-end
run would derive it — the records changed as the repair workflow changes them, the indicators and override
rules recomputed by the feature pipeline from the enterprise's neighbourhood (`features.whatif`), then
scored and graded by the champion. Never a model input edited by hand.

The answer: the actions that would change the grade, ranked (best grade reached, then most points, then
the soonest possible), each with the score and grade it reaches and the date it becomes possible; the
smallest set of actions that reaches the next grade up (every set searched when there are at most
`EXHAUSTIVE` candidate actions; otherwise every set of the `EXHAUSTIVE` that raise the score most, and
the larger sets greedily); and, when nothing the rules allow would change the grade now, a sentence that
says so with the dates when something becomes possible.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from creditgrade.features.actions import Candidate, candidates, load_actions
from creditgrade.features.corrections import Correction
from creditgrade.features.errors import NotFound
from creditgrade.features.whatif import local_records, scenario_rows
from creditgrade.models.scoring import SCHEME_ORDER, ScoringModel

EXHAUSTIVE = 6  # every subset of up to this many candidate actions is tried (2^6 = 64 scenarios in one run)


@dataclass(frozen=True)
class Step:
    """One action on one record, taken alone: what it reaches."""

    action: str
    record: str  # TABLE:ID
    record_date: str
    possible_from: str
    possible_now: bool
    en: str
    zh: str
    basis_en: str
    basis_zh: str
    score: float
    gain: float  # score points over now
    grade: str  # in the scheme asked for, overrides applied
    grades: dict[str, str]


@dataclass(frozen=True)
class Recourse:
    uscc: str
    as_of: str
    scheme: str
    model_version: str
    now: dict  # score, probability, grade, grades, override_rule, override_en, override_zh
    actions: list[Step]  # offered: each changes the grade alone or belongs to the smallest set
    next_grade: str | None  # the next grade up (None: already the best)
    smallest: dict | None  # actions (records), score, grade, grades, possible_from, search
    everything: dict | None  # every candidate action taken: score, grade
    not_offered: int  # actions the rules allow that would not change the grade
    message_en: str | None
    message_zh: str | None

    def to_dict(self) -> dict:
        return asdict(self)


def recourse(
    data: Path,
    day: dt.date,
    uscc: str,
    scoring: ScoringModel,
    *,
    corrections: Sequence[Correction] = (),
    scheme: str = "shenzhen",
    actions=None,
) -> Recourse:
    """`uscc`'s recourse at `day` (its graded month-end) from the ingested records in `data`, with the
    workflow's `corrections` in force, graded by `scoring` in `scheme` (overrides applied)."""
    if scheme not in scoring.schemes:
        raise NotFound(f"no grade scheme {scheme!r}; schemes: {', '.join(SCHEME_ORDER)}", f"没有分级方案 {scheme!r}")
    local = local_records(data, day, uscc, corrections)
    found = candidates(local, day, uscc, actions or load_actions())
    sets = _sets(len(found), None)
    graded = _graded(local, day, uscc, found, sets, scoring)
    if len(found) > EXHAUSTIVE:  # the singles ranked the actions: now the sets of the strongest, and greedy ones
        gains = [graded[(i,)]["score"] for i in range(len(found))]
        sets = _sets(len(found), np.argsort(-np.asarray(gains), kind="stable").tolist())
        graded = {**graded, **_graded(local, day, uscc, found, [s for s in sets if s not in graded], scoring)}
    return _answer(uscc, day, scheme, scoring, found, graded)


def _sets(n: int, order: list[int] | None) -> list[tuple[int, ...]]:
    """The sets of candidate actions to try, as sorted index tuples, the empty set first."""
    if n <= EXHAUSTIVE:
        return [s for k in range(n + 1) for s in itertools.combinations(range(n), k)]
    if order is None:  # first run: nothing taken, each alone, everything
        return [(), *((i,) for i in range(n)), tuple(range(n))]
    strongest = order[:EXHAUSTIVE]
    every = [tuple(sorted(s)) for k in range(2, EXHAUSTIVE + 1) for s in itertools.combinations(strongest, k)]
    greedy = [tuple(sorted(order[:k])) for k in range(EXHAUSTIVE + 1, n)]
    return list(dict.fromkeys(every + greedy))


def _graded(local, day, uscc, found: list[Candidate], sets, scoring: ScoringModel) -> dict[tuple[int, ...], dict]:
    """Each set of actions taken: the enterprise's score, probability and grades (overrides applied)."""
    rows = scenario_rows(local, day, uscc, [[found[i].change for i in s] for s in sets])
    features = scoring.model.features
    x = np.array([[np.nan if r[f] is None else r[f] for f in features] for r in rows], dtype=np.float64)
    scored = scoring.score(x, few_rows=0)  # as a city is scored: the month-end run gives the same figures
    final = scoring.overridden(scored.grades, [r["override_effect"] for r in rows])
    return {
        s: {
            "score": float(scored.score[n]),
            "probability": float(scored.probability[n]),
            "grades": {name: str(final[name][n]) for name in SCHEME_ORDER if name in final},
            "grades_by_score": {name: str(scored.grades[name][n]) for name in SCHEME_ORDER if name in final},
            "override_rule": rows[n]["override_rule"],
            "override_en": rows[n]["override_en"],
            "override_zh": rows[n]["override_zh"],
        }
        for n, s in enumerate(sets)
    }


def _answer(uscc, day, scheme_name, scoring: ScoringModel, found: list[Candidate], graded: dict) -> Recourse:
    scheme = scoring.schemes[scheme_name]
    rank = {g: i for i, g in enumerate(scheme.grades)}  # 0: the best
    now = graded[()]
    now_grade = now["grades"][scheme_name]
    better = rank[now_grade] - 1
    next_grade = scheme.grades[better] if better >= 0 else None

    def reached(s) -> int:
        return rank[graded[s]["grades"][scheme_name]]

    # The smallest set that reaches the next grade up: fewest actions, then the best grade and most points,
    # then the soonest possible.
    smallest = None
    if next_grade is not None:
        reaching = [s for s in graded if s and reached(s) <= better]
        if reaching:
            best = min(
                reaching,
                key=lambda s: (len(s), reached(s), -graded[s]["score"], max(found[i].possible_from for i in s)),
            )
            smallest = {
                "actions": [found[i].record for i in best],
                "action_ids": [found[i].action.id for i in best],
                "score": graded[best]["score"],
                "grade": graded[best]["grades"][scheme_name],
                "grades": graded[best]["grades"],
                "possible_from": str(max(found[i].possible_from for i in best)),
                "search": "exhaustive"
                if len(found) <= EXHAUSTIVE
                else f"every set of the {EXHAUSTIVE} strongest, then greedy",
            }
    in_smallest = set(smallest["actions"]) if smallest else set()
    steps = []
    for i, c in enumerate(found):
        g = graded[(i,)]
        if reached((i,)) < rank[now_grade] or c.record in in_smallest:
            steps.append(_step(c, g, now["score"], scheme_name, day))
    steps.sort(key=lambda s: (rank[s.grade], -s.score, s.possible_from, s.record))
    every = tuple(range(len(found)))
    everything = (
        {"score": graded[every]["score"], "grade": graded[every]["grades"][scheme_name]}
        if found and every in graded
        else None
    )
    message_en = message_zh = None
    if not steps:
        message_en, message_zh = _nothing(found, now, day, next_grade)
    return Recourse(
        uscc=uscc,
        as_of=str(day),
        scheme=scheme_name,
        model_version=scoring.label,
        now={**now, "grade": now_grade},
        actions=steps,
        next_grade=next_grade,
        smallest=smallest,
        everything=everything,
        not_offered=len(found) - len(steps),
        message_en=message_en,
        message_zh=message_zh,
    )


def _step(c: Candidate, g: dict, now_score: float, scheme: str, day: dt.date) -> Step:
    return Step(
        action=c.action.id,
        record=c.record,
        record_date=str(c.record_date),
        possible_from=str(c.possible_from),
        possible_now=c.possible_from <= day,
        en=c.action.en,
        zh=c.action.zh,
        basis_en=c.action.basis_en,
        basis_zh=c.action.basis_zh,
        score=g["score"],
        gain=round(g["score"] - now_score, 1),
        grade=g["grades"][scheme],
        grades=g["grades"],
    )


def _nothing(found: list[Candidate], now: dict, day: dt.date, next_grade: str | None) -> tuple[str, str]:
    """Why no action is offered, in both languages, with the dates when something becomes possible."""
    if next_grade is None:
        return "the enterprise already has the best grade", "该企业已为最高等级"
    en = ["nothing in the rules would change this grade now"]
    zh = ["按现行规则，目前没有可提升该等级的操作"]
    if now["override_rule"]:
        en.append(f"an override holds the grade: {now['override_en']}")
        zh.append(f"等级受直接调整规则约束：{now['override_zh']}")
    pending = sorted({c.possible_from for c in found if c.possible_from > day})
    if pending:
        dates = ", ".join(map(str, pending[:3]))
        en.append(
            f"actions become possible on {dates} (none of them alone or together would change the grade as of {day})"
        )
        zh.append(f"以下日期起可申请：{dates}（截至 {day}，单独或合并均不改变等级）")
    elif found:
        en.append(f"the {len(found)} action(s) the rules allow would not change it, alone or together")
        zh.append(f"规则允许的 {len(found)} 项操作单独或合并均不改变等级")
    else:
        en.append("no record of the enterprise is open to repair or removal")
        zh.append("该企业没有可修复或可移出的记录")
    return "; ".join(en), "；".join(zh)
