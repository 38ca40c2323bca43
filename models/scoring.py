"""Scoring: calibrate → score → grade → explain, for rows of indicator values, with one registered model.

The batch job (`creditgrade grade`), `creditgrade explain` and the service's what-ifs all score through
`ScoringModel.score`, so a published score, its grade and its reasons are computed one way only. The
score is rounded to the 0.1 point it is published with before it is graded, so a published score and
its grade always agree. Override rules (found point in time by the feature pipeline) then move the
grade: `overridden` applies each enterprise's strongest effect.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from creditgrade.models import explain as X
from creditgrade.models import grades as G
from creditgrade.models.explain import CityExplainer
from creditgrade.models.risk import RiskModel

Progress = Callable[[str, int, int], None]
SCHEME_ORDER = ("shenzhen", "shenzhen_fixed", "pingshan", "national")


@dataclass(frozen=True)
class Scored:
    """Rows scored and explained: everything a graded row shows, before overrides."""

    probability: np.ndarray
    score: np.ndarray  # 0–1000, rounded to the published 0.1
    grades: dict[str, np.ndarray]  # by score, per scheme
    points: pd.DataFrame  # the five dimension sub-scores in score points
    base_points: float
    reasons: pa.ChunkedArray  # top reasons per row (indicator, value, points, zh, en; `X.REASON_ENCODED`)
    phi: np.ndarray | None  # contributions in the trees' log-odds, rows × indicators (None: some reused)
    expected: float
    per_logodds: float  # score points per unit of the trees' log-odds (negative: risk lowers the score)


@dataclass(frozen=True)
class Reuse:
    """What last month published for the rows the model sees unchanged (same model, same `model_view`):
    `same` marks them among this month's rows; the rest hold their last-month answers, in row order."""

    same: np.ndarray  # bool, one per row scored
    source: np.ndarray  # per row: its row in last month's table (used where `same`)
    probability: np.ndarray  # for the rows `same`
    points: pd.DataFrame  # dimension sub-scores as published (rounded to 0.01), for the rows `same`
    reasons: pa.Array  # last month's reasons, every row of its table (see `source`)


class ScoringModel:
    """A registered model version ready to grade: the model, its fitted grade schemes, where it came from."""

    def __init__(self, name: str, version: int, run_id: str, model: RiskModel, schemes: dict[str, G.GradeScheme]):
        self.name, self.version, self.run_id, self.model, self.schemes = name, version, run_id, model, schemes
        self._explainer: CityExplainer | None = None
        self.reference: dict | None = None  # the training city's binned indicators and score, for drift
        self.evaluation: dict | None = None  # the test-period figures (evaluation.json), equal treatment among them

    @property
    def label(self) -> str:
        return f"{self.name}/{self.version}"

    def explainer(self) -> CityExplainer:
        """The model's exact TreeSHAP explainer, built once (threads as the model's config says)."""
        if self._explainer is None or self._explainer.num_threads != self.model.config.num_threads:
            self._explainer = CityExplainer(self.model.booster_, self.model.config.num_threads)
        return self._explainer

    def score(
        self,
        x: np.ndarray,
        progress: Progress | None = None,
        k: int = 5,
        reuse: Reuse | None = None,
        few_rows: int | None = None,
    ) -> Scored:
        """Probability, score, grade by score in every scheme, dimension points and top-k reasons for rows of
        indicator values (columns in the model's order). With `reuse`, only the rows the model sees changed
        since last month are explained; the others keep last month's probability, sub-scores and reasons
        (their values and texts rendered again from this month's values) — the same result as explaining
        every row, to the bit (tested). `few_rows=0` explains even a few rows the way a city is (a graded
        table's rows come out the same however many are graded together: a partition, a regraded one)."""
        explainer = self.explainer()
        cal, scale = self.model.calibrator_, self.model.scale_
        a, b = (cal.a, cal.b) if cal.method == "sigmoid" else (1.0, 0.0)
        per = scale.points_per_logodds(a)
        if reuse is None:
            phi, expected = explainer.contributions(x, progress=progress, few_rows=few_rows)
            p = cal.predict(expected + X.row_sums(phi))
            points = X.dimension_points(phi, self.model.features, per)
            reasons = X.top_reasons(phi, x, self.model.features, per, k=k)
        else:
            changed = np.flatnonzero(~reuse.same)
            # explained the way a whole city is (pattern by pattern), so each row comes out the same
            rows = x[changed]
            phi, expected = explainer.contributions(rows if changed.size else x[:1], progress, few_rows=0)
            phi = phi[: changed.size]
            p = np.empty(len(x))
            p[changed] = cal.predict(expected + X.row_sums(phi))
            p[reuse.same] = reuse.probability
            fresh = X.dimension_points(phi, self.model.features, per)
            merged_points = np.empty((len(x), fresh.shape[1]))
            merged_points[changed] = fresh.to_numpy()
            merged_points[reuse.same] = reuse.points[list(fresh.columns)].to_numpy()
            points = pd.DataFrame(merged_points, columns=fresh.columns)
            offsets, ind, value, contribution = X.top(phi, rows, k=k)
            fresh_reasons = (offsets, ind, value, contribution * per)
            merged = X.merged_reasons(fresh_reasons, changed, reuse.reasons, reuse.source, x, self.model.features)
            reasons = pa.chunked_array([merged])
            phi = None
        score = scale.score(p)
        return Scored(
            probability=p,
            score=score,
            grades={name: G.score_to_grade(score, self.schemes[name]) for name in SCHEME_ORDER},
            points=points,
            base_points=scale.base(expected, a, b),
            reasons=reasons,
            phi=phi,
            expected=expected,
            per_logodds=per,
        )

    def overridden(self, grades: dict[str, np.ndarray], effects: Sequence[str | None]) -> dict[str, np.ndarray]:
        """The final grade in every scheme: each enterprise's strongest override effect ('worst', 'down2' or
        none) applied to its grade by score.

        >>> from creditgrade.models.grades import SHENZHEN
        >>> m = ScoringModel("risk", 1, "run", None, {"shenzhen": SHENZHEN})
        >>> m.overridden({"shenzhen": np.array(["A+", "A", "B"])}, [None, "down2", "worst"])["shenzhen"].tolist()
        ['A+', 'C', 'E']
        """
        kinds = pd.Series(effects, dtype="string").fillna("")  # one vectorised pass, not a tuple per enterprise
        G.check_effects(set(kinds.unique()))
        worst, down2 = (kinds == "worst").to_numpy(dtype=bool), (kinds == "down2").to_numpy(dtype=bool)
        return {name: G.apply_effects(g, worst, down2, self.schemes[name]) for name, g in grades.items()}
