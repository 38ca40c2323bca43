"""Equal treatment: whether the grades treat like enterprises alike, group by group.

A grade sets how often an enterprise is inspected. If the model overstates the risk of one group (say small
retailers in one district), that group is inspected more than its risk justifies; if it understates it, less.
Two readings per group — per district, industry section, legal form and size band, and the largest crossings
of two of them with enough inspections:

- **calibration on the test period** (`calibration_by_group`, at training, on the inspections no step has
  seen): the weighted mean predicted problem rate beside the observed one, with a 95% Wilson interval on the
  effective sample size (Kish, as the calibration table per grade). Flagged *overstated* when the whole
  interval lies below predicted ÷ (1 + tolerance), *understated* when it lies above predicted × (1 +
  tolerance); a group with fewer than `min_inspections` test inspections is shown, never flagged.
- **treatment this month** (`treatment_by_group`, on the graded city and a plan's inclusion probabilities):
  enterprises, grade shares, the inspection rate the plan implies (mean inclusion probability), the expected
  problems (the model's probabilities, times observed ÷ predicted where the group's calibration is flagged —
  the risk as best measured), the planned inspections per expected problem, and the **inspection index**:
  the group's planned inspections over the inspections its enterprises would get were each treated as the
  plan treats the city's enterprises of its measured risk (`_like_risk`). A risk-based plan inspects riskier
  groups more; the index asks only whether like risk gets like inspection. 1 means it does; flagged
  *over-inspected* above 1 + tolerance, *under-inspected* below 1 ÷ (1 + tolerance) (groups of at least
  `MIN_ENTERPRISES` operating enterprises). It moves with a flagged calibration (the group's measured risk
  differs from the model's) and with a plan's strata (a stratum's budget follows its size, not its risk). It
  is taken over the enterprises graded by their score: an override rule sets a grade whatever the risk, by
  law, so its enterprises are counted apart (`overridden`).

Size bands are of registered capital (注册资本, 10k CNY), the one size measure every enterprise has; a group's
attributes are those of the register at extraction.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.isotonic import IsotonicRegression

from creditgrade.features.contract import DISTRICTS, INDUSTRY_SECTIONS, LEGAL_FORMS, Code
from creditgrade.features.errors import CreditgradeError
from creditgrade.models.evaluation import wilson

TOLERANCE = 0.25  # relative: a group is flagged beyond ±25% of its risk (configurable where it is used)
MIN_INSPECTIONS = 100  # fewer test inspections: shown, not flagged
MIN_ENTERPRISES = 50  # fewer operating enterprises this month: shown, not flagged
CROSSINGS = 8  # the largest crossings of two groupings with at least MIN_INSPECTIONS test inspections

# (upper bound in 10k CNY, exclusive; code, names)
SIZE_BANDS: dict[str, Code] = {
    "lt_1m": Code("Registered capital under 1M CNY", "注册资本100万元以下"),
    "1m_10m": Code("1M–10M CNY", "100万–1000万元"),
    "10m_100m": Code("10M–100M CNY", "1000万–1亿元"),
    "ge_100m": Code("100M CNY and over", "1亿元及以上"),
}
SIZE_EDGES = (100.0, 1_000.0, 10_000.0)  # 10k CNY


@dataclass(frozen=True)
class Grouping:
    column: str
    en: str
    zh: str
    codes: dict[str, Code]


GROUPINGS: dict[str, Grouping] = {
    "district": Grouping("region_code", "District", "区", DISTRICTS),
    "industry": Grouping("industry_section", "Industry section", "行业门类", INDUSTRY_SECTIONS),
    "legal_form": Grouping("legal_form", "Legal form", "企业类型", LEGAL_FORMS),
    "size": Grouping("size_band", "Size (registered capital)", "规模（注册资本）", SIZE_BANDS),
}
ATTRIBUTES = ("region_code", "industry_section", "legal_form", "registered_capital")
CALIBRATION_FLAGS = {
    "overstated": ("risk overstated: inspected more than its risk justifies", "风险被高估：检查多于其风险所需"),
    "understated": ("risk understated: inspected less than its risk justifies", "风险被低估：检查少于其风险所需"),
}
TREATMENT_FLAGS = {
    "over": ("over-inspected for its risk", "相对其风险检查过多"),
    "under": ("under-inspected for its risk", "相对其风险检查过少"),
}


class EquityError(CreditgradeError):
    """An equal-treatment report that cannot be made as asked."""

    code = "equal_treatment"


def check_tolerance(tolerance: float) -> None:
    if not (isinstance(tolerance, (int, float)) and 0 < tolerance < 10):
        raise EquityError(
            f"the equal-treatment tolerance must be a share above 0 (e.g. 0.25 for ±25%); got {tolerance!r}",
            f"公平性容忍度须为大于0的比例（如0.25表示±25%），当前为 {tolerance!r}",
        )


def size_band(capital) -> np.ndarray:
    """The size band of registered capitals in 10k CNY, as its place in `SIZE_BANDS` (missing counts as the
    smallest band).

    >>> [list(SIZE_BANDS)[b] for b in size_band([50.0, 100.0, 5_000.0, 20_000.0, float("nan")])]
    ['lt_1m', '1m_10m', '10m_100m', 'ge_100m', 'lt_1m']
    """
    c = np.nan_to_num(np.asarray(capital, dtype=float), nan=0.0)
    return np.searchsorted(SIZE_EDGES, c, side="right")


def with_groups(frame: pd.DataFrame, register: pd.DataFrame) -> pd.DataFrame:
    """`frame` (with uscc) beside its enterprises' group columns from the register (`ATTRIBUTES` + uscc); an
    enterprise the register lacks is in the group 'unknown' of each."""
    cols = register[["uscc", *ATTRIBUTES]].assign(registered=True)
    drop = [c for c in cols.columns if c != "uscc" and c in frame.columns]
    out = frame.drop(columns=drop).merge(cols, on="uscc", how="left")
    return grouped(out.assign(registered=out["registered"].notna().to_numpy()))


def grouped(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with the register's `ATTRIBUTES` (missing where the register lacks the enterprise, told by the
    bool column registered) replaced by the groups' columns, as categories: a missing attribute is the group
    'unknown'; a registered enterprise without a capital is in the smallest size band."""
    out = frame.drop(columns=["registered_capital", "registered"])
    bands = size_band(frame["registered_capital"].to_numpy(float))
    bands[~frame["registered"].to_numpy(bool)] = len(SIZE_BANDS)
    out["size_band"] = pd.Categorical.from_codes(bands, categories=[*SIZE_BANDS, "unknown"])
    for g in GROUPINGS.values():
        if g.column != "size_band":
            out[g.column] = _known(out[g.column])
    return out


def _known(column: pd.Series) -> pd.Categorical:
    """A column as categories named by text, a missing value in the category 'unknown'."""
    codes, uniques = pd.factorize(column)
    names = [str(u) for u in uniques]
    if "unknown" not in names:
        names.append("unknown")
    codes[codes < 0] = names.index("unknown")
    return pd.Categorical.from_codes(codes, categories=names)


def name_of(grouping: str, group: str) -> tuple[str, str]:
    """(English, Chinese) name of a group; a crossing's parts joined by ×.

    >>> name_of("district×size", "440303×lt_1m")
    ('Luohu × Registered capital under 1M CNY', '罗湖区 × 注册资本100万元以下')
    """
    parts = [GROUPINGS[k].codes.get(v, Code(v, v)) for k, v in zip(grouping.split("×"), group.split("×"), strict=True)]
    return " × ".join(p.en for p in parts), " × ".join(p.zh for p in parts)


def _keys(frame: pd.DataFrame, grouping: str) -> tuple[np.ndarray, list[str]]:
    """Each row's group of `grouping` as an index into the groups' names, in the names' sorted order (a crossing's
    parts joined by ×). Codes, not texts: a city of millions is grouped without a string per row."""
    codes, names = np.zeros(len(frame), np.int64), [""]
    for n, k in enumerate(grouping.split("×")):
        column = GROUPINGS[k].column
        c, uniques = pd.factorize(frame[column])
        if (c < 0).any():
            raise EquityError(
                f"the column {column} has missing values: fill them first (`grouped`)", f"列 {column} 有缺失值"
            )
        parts = [str(u) for u in uniques]
        codes = codes * len(parts) + c
        names = parts if n == 0 else [f"{a}×{b}" for a in names for b in parts]
    present = np.flatnonzero(np.bincount(codes, minlength=len(names)))
    order = sorted(range(present.size), key=lambda i: names[present[i]])
    at = np.empty(len(names), np.int64)
    at[present[order]] = np.arange(present.size)
    return at[codes], [names[present[i]] for i in order]


def calibration_by_group(
    rows: pd.DataFrame,
    *,
    tolerance: float = TOLERANCE,
    min_inspections: int = MIN_INSPECTIONS,
    crossings: int = CROSSINGS,
) -> list[dict]:
    """Per group, on test rows (`with_groups` applied; columns label, p, weight): inspections, effective n, the
    weighted predicted and observed problem rate, the observed rate's 95% Wilson interval, observed ÷ predicted
    and the flag (see the module's docstring). Singles first, grouping by grouping, then the largest crossings."""
    check_tolerance(tolerance)
    y, p, w = (rows[c].to_numpy(float) for c in ("label", "p", "weight"))
    out: list[dict] = []
    pairs = ["×".join(pair) for pair in itertools.combinations(GROUPINGS, 2)]
    for grouping in [*GROUPINGS, *pairs]:
        key, names = _keys(rows, grouping)
        found: list[dict] = []
        for i, group in enumerate(names):
            m = key == i
            wm = w[m]
            observed, predicted = float(np.average(y[m], weights=wm)), float(np.average(p[m], weights=wm))
            n_eff = float(wm.sum() ** 2 / (wm**2).sum())
            low, high = wilson(observed, n_eff)
            flag = None
            if m.sum() >= min_inspections:
                if high < predicted / (1 + tolerance):
                    flag = "overstated"
                elif low > predicted * (1 + tolerance):
                    flag = "understated"
            en, zh = name_of(grouping, str(group))
            found.append(
                {
                    "grouping": grouping,
                    "group": str(group),
                    "en": en,
                    "zh": zh,
                    "inspections": int(m.sum()),
                    "effective": n_eff,
                    "predicted": predicted,
                    "observed": observed,
                    "low": low,
                    "high": high,
                    "ratio": observed / predicted if predicted > 0 else None,
                    "flag": flag,
                }
            )
        out += found if "×" not in grouping else [r for r in found if int(r["inspections"]) >= min_inspections]
    singles = [r for r in out if "×" not in r["grouping"]]
    crossed = sorted((r for r in out if "×" in r["grouping"]), key=lambda r: (-r["inspections"], r["group"]))
    return singles + crossed[:crossings]


def treatment_by_group(
    city: pd.DataFrame,
    grades: Sequence[str],
    calibration: Sequence[dict],
    *,
    tolerance: float = TOLERANCE,
) -> list[dict]:
    """Per group of the calibration table (the same singles and crossings; every single group of the city when
    the model has no calibration table), on the operating city this month (`with_groups` applied; columns
    probability, grade (after overrides), grade_by_score, stratum and pi — the plan's inclusion probability, 0
    when not drawable): enterprises, grade shares,
    the implied inspection rate, the expected problems corrected by the flagged calibration, and the
    inspection index with its flag (see the module's docstring)."""
    check_tolerance(tolerance)
    groups = list(calibration) or _city_groups(city)
    keys = {g: _keys(city, g) for g in dict.fromkeys(r["grouping"] for r in groups)}
    p, pi = city["probability"].to_numpy(float), city["pi"].to_numpy(float)
    grade = pd.Categorical(city["grade"].astype(str), categories=list(grades)).codes
    factor = np.ones(len(city))
    for r in groups:  # singles before crossings: a crossing's own measurement, when flagged, wins
        if r.get("flag") and r.get("ratio") is not None:
            codes, names = keys[r["grouping"]]
            if r["group"] in names:
                factor[codes == names.index(r["group"])] = r["ratio"]
    risk = p * factor
    # The index compares like risk among the enterprises graded by their score: an override rule's grade is
    # set by the rule, whatever the risk (its enterprises are counted apart, `overridden`).
    scored = city["grade"].to_numpy(str) == city["grade_by_score"].to_numpy(str)
    pi_scored = np.where(scored, pi, 0.0)
    like_risk = np.zeros(len(city))
    like_risk[scored] = _like_risk(p[scored], pi[scored], risk[scored])
    sums = {}
    for g, (codes, names) in keys.items():
        k = len(names)
        per_grade = np.bincount(codes * len(grades) + np.clip(grade, 0, None), minlength=k * len(grades))
        sums[g] = (
            {u: i for i, u in enumerate(names)},
            np.bincount(codes, minlength=k),
            np.bincount(codes, weights=risk, minlength=k),
            np.bincount(codes, weights=pi, minlength=k),
            np.bincount(codes, weights=pi_scored, minlength=k),
            np.bincount(codes, weights=like_risk, minlength=k),
            np.bincount(codes, weights=~scored, minlength=k),
            per_grade.reshape(k, len(grades)),
        )
    out = []
    for r in groups:
        where, count, expected_by, planned_by, scored_by, fair_by, overridden_by, by_grade = sums[r["grouping"]]
        i = where.get(r["group"])
        n = 0 if i is None else int(count[i])
        expected = 0.0 if i is None else float(expected_by[i])
        planned = 0.0 if i is None else float(planned_by[i])
        fair = 0.0 if i is None else float(fair_by[i])
        index = float(scored_by[i]) / fair if n and fair > 0 else None
        flag = None
        if index is not None and n >= MIN_ENTERPRISES:
            flag = "over" if index > 1 + tolerance else "under" if index < 1 / (1 + tolerance) else None
        shares = {g: float(by_grade[i, j] / n) if n else 0.0 for j, g in enumerate(grades)}
        out.append(
            {
                "grouping": r["grouping"],
                "group": r["group"],
                "en": r["en"],
                "zh": r["zh"],
                "enterprises": n,
                "overridden": 0 if i is None else int(overridden_by[i]),
                "shares": shares,
                "inspection_rate": planned / n if n else None,
                "expected_problems": expected,
                "planned_inspections": planned,
                "per_expected_problem": planned / expected if expected > 0 else None,
                "like_risk_inspections": fair,
                "index": index,
                "flag": flag,
            }
        )
    return out


def _like_risk(p: np.ndarray, pi: np.ndarray, measured: np.ndarray) -> np.ndarray:
    """Each enterprise's inclusion probability were it treated as the plan treats the city's enterprises of its
    measured risk: the plan's probability as a rising function of the model's (isotonic regression of π on p,
    scikit-learn), read at the measured risk. A plan's probability rises with the model's (by grade, or by
    probability within the grades' bounds), so in a plan without strata the function passes through every
    enterprise's own; strata that give like risk unlike inspection are pooled, and show.

    >>> p = np.array([0.1, 0.2, 0.6]); pi = np.array([0.01, 0.03, 0.5])
    >>> _like_risk(p, pi, p).round(3).tolist(), _like_risk(p, pi, np.array([0.15, 0.4, 0.9])).round(3).tolist()
    ([0.01, 0.03, 0.5], [0.02, 0.265, 0.5])
    """
    if not len(p):
        return np.zeros(0)
    fitted = IsotonicRegression(increasing=True, out_of_bounds="clip").fit(p, pi)
    return np.asarray(fitted.predict(measured), dtype=float)


def _city_groups(city: pd.DataFrame) -> list[dict]:
    out = []
    for grouping in GROUPINGS:
        for group in _keys(city, grouping)[1]:
            en, zh = name_of(grouping, group)
            out.append({"grouping": grouping, "group": group, "en": en, "zh": zh, "flag": None, "ratio": None})
    return out


def worse_groups(challenger: Sequence[dict], champion: Sequence[dict]) -> list[dict]:
    """Groups where a challenger's test-period calibration is worse than the champion's: flagged for the
    challenger and either not flagged for the champion or flagged with a smaller error (|observed ÷ predicted
    − 1|). Each model's figures are from its own test period."""
    theirs = {(r["grouping"], r["group"]): r for r in champion}
    out = []
    for r in challenger:
        if not r["flag"]:
            continue
        c = theirs.get((r["grouping"], r["group"]))
        mine = abs((r["ratio"] or 1.0) - 1)
        if c is None or not c["flag"] or abs((c["ratio"] or 1.0) - 1) < mine:
            out.append({**r, "champion_ratio": None if c is None else c["ratio"]})
    return out


def _pct(v) -> str:
    return "—" if v is None else f"{v:.1%}"


def calibration_section(rows: Sequence[dict], tolerance: float) -> tuple[str, tuple[str, ...], list[tuple]]:
    """The calibration table as a report section (heading, columns, rows)."""
    return (
        f"Equal treatment: calibration per group on the test period, 95% interval; flagged beyond ±{tolerance:.0%} "
        f"with at least {MIN_INSPECTIONS} inspections (分组校准，测试期)",
        ("group", "分组", "inspections", "predicted", "observed", "95% interval", "flag", "标记"),
        [
            (
                r["en"],
                r["zh"],
                f"{r['inspections']:,}",
                _pct(r["predicted"]),
                _pct(r["observed"]),
                f"{r['low']:.1%}–{r['high']:.1%}",
                CALIBRATION_FLAGS[r["flag"]][0] if r["flag"] else "",
                CALIBRATION_FLAGS[r["flag"]][1] if r["flag"] else "",
            )
            for r in rows
        ],
    )


def treatment_section(rows: Sequence[dict], grades: Sequence[str], tolerance: float):
    """This month's treatment per group as a report section."""
    return (
        "Equal treatment this month: grade shares, the plan's inspection rate, inspections per expected problem, "
        "and the index of planned inspections to those enterprises of like measured risk get in the city "
        f"(1 = like risk, like inspection; flagged beyond ±{tolerance:.0%}) (分组检查强度)",
        (
            "group",
            "分组",
            "enterprises",
            *grades,
            "inspection rate",
            "expected problems",
            "inspections per expected problem",
            "index",
            "flag",
            "标记",
        ),
        [
            (
                r["en"],
                r["zh"],
                f"{r['enterprises']:,}",
                *(f"{r['shares'][g]:.1%}" for g in grades),
                "—" if r["inspection_rate"] is None else f"{r['inspection_rate']:.2%}",
                f"{r['expected_problems']:,.1f}",
                "—" if r["per_expected_problem"] is None else f"{r['per_expected_problem']:.3f}",
                "—" if r["index"] is None else f"{r['index']:.2f}",
                TREATMENT_FLAGS[r["flag"]][0] if r["flag"] else "",
                TREATMENT_FLAGS[r["flag"]][1] if r["flag"] else "",
            )
            for r in rows
        ],
    )
