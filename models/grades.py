"""Grade schemes as data, and the tiny function that grades a score.

A scheme is its grade names, best first, and the score cut-points between them (higher score =
lower risk). Shenzhen's six tiers A+..E, Pingshan's eight tiers A..D, SAMR's four tiers A..D, and
Shenzhen's published fixed bands. The worst grade of the six-tier schemes (E) is given only by an
override (ordered to stop business, revoked, struck off, closed), never by a score.
Fitted cut-points are data too: `GradeScheme.to_dict` / `from_dict` round-trip them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class GradeScheme:
    name: str
    en: str
    zh: str
    grades: tuple[str, ...]  # best first
    cuts: tuple[float, ...]  # descending score cut-points; grade i holds scores in [cuts[i], cuts[i-1])
    override_only: tuple[str, ...] = ()  # grades a score never gives (assigned by override rules)

    def __post_init__(self) -> None:
        scored = [g for g in self.grades if g not in self.override_only]
        if len(self.cuts) != len(scored) - 1:
            raise ValueError(
                f"scheme {self.name!r}: {len(scored)} scored grades need {len(scored) - 1} cut-points; "
                f"got {len(self.cuts)}"
            )
        if any(a <= b for a, b in zip(self.cuts, self.cuts[1:])):
            raise ValueError(f"scheme {self.name!r}: cut-points must strictly decrease; got {self.cuts}")
        if len(set(self.grades)) != len(self.grades):
            raise ValueError(f"scheme {self.name!r}: grade names must be unique")

    @property
    def scored_grades(self) -> tuple[str, ...]:
        return tuple(g for g in self.grades if g not in self.override_only)

    @property
    def worst(self) -> str:
        return self.grades[-1]

    def with_cuts(self, cuts) -> GradeScheme:
        return replace(self, cuts=tuple(float(c) for c in cuts))

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "en": self.en,
            "zh": self.zh,
            "grades": list(self.grades),
            "cuts": list(self.cuts),
            "override_only": list(self.override_only),
        }

    @classmethod
    def from_dict(cls, d: dict) -> GradeScheme:
        return cls(
            d["name"],
            d["en"],
            d["zh"],
            tuple(d["grades"]),
            tuple(float(c) for c in d["cuts"]),
            tuple(d.get("override_only", ())),
        )


def score_to_grade(score, scheme: GradeScheme) -> np.ndarray:
    """The grade of each score: the best grade whose cut-point the score reaches.

    >>> score_to_grade([800, 700, 650, 560, 100], SHENZHEN_FIXED).tolist()
    ['A+', 'A', 'B', 'C', 'D']
    """
    s = np.asarray(score, dtype=float)
    if np.isnan(s).any():
        raise ValueError("scores must not be missing: an ungradable enterprise has no score")
    scored = np.array(scheme.scored_grades)
    index = np.searchsorted(-np.asarray(scheme.cuts), -s, side="left")  # how many cut-points lie above the score
    return scored[index]


def grade_rank(grades, scheme: GradeScheme) -> np.ndarray:
    """0 for the best grade, rising to the worst."""
    order = {g: i for i, g in enumerate(scheme.grades)}
    try:
        return np.array([order[g] for g in grades])
    except KeyError as exc:
        raise ValueError(f"unknown grade {exc.args[0]!r} for scheme {scheme.name!r}; grades: {scheme.grades}") from None


SHENZHEN_FIXED = GradeScheme(
    "shenzhen_fixed",
    "Shenzhen six tiers, published bands (深市监规〔2021〕3号)",
    "深圳六级（公布分段）",
    ("A+", "A", "B", "C", "D", "E"),
    (751.0, 671.0, 601.0, 555.0),
    override_only=("E",),
)
SHENZHEN = GradeScheme(
    "shenzhen",
    "Shenzhen six tiers, cut-points fitted to the city",
    "深圳六级（拟合分段）",
    ("A+", "A", "B", "C", "D", "E"),
    (751.0, 671.0, 601.0, 555.0),
    override_only=("E",),
)
PINGSHAN = GradeScheme(
    "pingshan",
    "Pingshan eight tiers",
    "坪山八级",
    ("A", "BBB", "BB", "B", "CCC", "CC", "C", "D"),
    (800.0, 740.0, 680.0, 620.0, 560.0, 500.0, 440.0),
)
NATIONAL = GradeScheme(
    "national", "SAMR four classes (国市监信发〔2022〕6号)", "全国四类", ("A", "B", "C", "D"), (700.0, 600.0, 500.0)
)

SCHEMES: dict[str, GradeScheme] = {s.name: s for s in (SHENZHEN, SHENZHEN_FIXED, PINGSHAN, NATIONAL)}


def scheme(name: str) -> GradeScheme:
    try:
        return SCHEMES[name]
    except KeyError:
        raise ValueError(f"unknown grade scheme {name!r}; known: {', '.join(SCHEMES)}") from None


def apply_overrides(grades, effects: list[tuple[str, ...]], scheme: GradeScheme) -> np.ndarray:
    """Grades after the override rules: any 'worst' effect gives the worst grade; any 'down2' moves
    two grades down, no worse than the worst grade a score can give (D). Effects do not add up.

    >>> apply_overrides(["A+", "A", "C", "A"], [(), ("down2",), ("down2",), ("worst", "down2")], SHENZHEN).tolist()
    ['A+', 'C', 'D', 'E']
    """
    if len(effects) != len(grades):
        raise ValueError(f"one tuple of effects per grade is needed; got {len(effects)} for {len(grades)} grades")
    check_effects(set().union(*map(set, effects)))
    worst = np.array(["worst" in e for e in effects], dtype=bool)
    down2 = np.array(["down2" in e for e in effects], dtype=bool)
    return apply_effects(grades, worst, down2, scheme)


def check_effects(found: set[str]) -> None:
    """Refuse override effects other than the two the rules have ('' or none: no effect)."""
    unknown = found - {"", "worst", "down2"}
    if unknown:
        raise ValueError(f"unknown override effect(s) {sorted(unknown)}; known: worst, down2")


def apply_effects(grades, worst: np.ndarray, down2: np.ndarray, scheme: GradeScheme) -> np.ndarray:
    """`apply_overrides` for whole columns: the grades where `worst` is set become the worst grade, those where
    only `down2` is set move two scored grades down (at most to the worst a score can give)."""
    out = np.asarray(grades).astype(f"<U{max(len(g) for g in scheme.grades)}")
    scored = np.array(scheme.scored_grades)
    moved = down2 & ~worst
    if moved.any():
        at = pd.Categorical(out[moved], categories=scheme.scored_grades).codes.astype(np.int64)
        if (at < 0).any():
            raise ValueError(
                f"grades not given by a score in scheme {scheme.name!r}: {sorted(set(out[moved][at < 0]))}"
            )
        out[moved] = scored[np.minimum(at + 2, len(scored) - 1)]
    out[worst] = scheme.worst
    return out
