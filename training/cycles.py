"""`creditgrade simulate-cycles`: the whole feedback loop on the simulated city, weighted and unweighted.

Each month m of the city's last simulated year Y (as-of dates T0 = 31 Dec of Y−1, then each month end):

    grade the city with the current model → plan (models/planning: the plan's budget and floor)
    → draw (the planner's Poisson draw) → the simulator decides each outcome from its truth
    → ingest the results with their inclusion probability → retrain

The first plan uses `creditgrade train`'s model as of 31 Dec of Y−2 (learned from the simulator's own
inspection history). Each retraining then learns from the loop's inspections so far, one row per
inspection with the enterprise's features as of T0 (training/dataset.py): the same monotone LightGBM,
cross-fitted in 5 folds by enterprise (early stopping on the held-out fold), the five models' mean log-odds
calibrated (Platt) on the out-of-fold log-odds. By default (`schedule="warm"`) each cycle's fold models
start from the last cycle's and add trees at a larger step (`WARM`); `schedule="full"` grows them anew each
cycle with `creditgrade train`'s settings. Two runs share every random number (the same public order and start of
the month's systematic draw, the same outcome for the same inspection); they differ
only in whether the inspections are weighted by 1/π. A plan spends most of its budget on the riskiest
few percent (π = 1) and gives everyone else the floor (π = 0.005), so unweighted, the rows the model
learns from are mostly high-risk enterprises: its starting point (the sample's problem rate), its
regularised leaves and its calibration all lean that way, and it overstates the risk of the low-risk
majority of the city. Weighted, every inspection stands for the 1/π enterprises like it.

Reported per cycle and run: problems found per 1,000 checks against a uniform random draw of the
same size (its expectation under the truth), and the calibration error of the model's probabilities
for every enterprise on the register at T0 against the simulator's true probability for year Y
(ECE: 20 equal-count bins of the prediction, Σ share·|mean predicted − mean true|).

Simplifications: the plan inspections do not feed back into the simulated records (the month-end
features come from the simulator's own history), and the simulator's own year-Y checks are replaced
by the plans' ones.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from creditgrade.features import catalog
from creditgrade.features.errors import CreditgradeError
from creditgrade.features.inspections import checked_rows
from creditgrade.features.pipeline import build_features, read_features
from creditgrade.models import grades as G
from creditgrade.models.planning.draw import inclusion_probabilities, systematic, uniforms
from creditgrade.models.planning.plan import Plan
from creditgrade.models.risk import Calibrator, RiskModel, RiskModelConfig
from creditgrade.models.scaling import probability_to_score
from creditgrade.training.dataset import design_matrix, labelled_rows
from creditgrade.training.train import load_checks, train

DEFAULT_PLAN = Plan(plan_id="cycle", scheme="shenzhen_fixed", budget=0.03, floor=0.005)
FOLDS = 5
RUNS = {"weighted": True, "unweighted": False}
SCHEDULES = ("warm", "full")  # refits started from the last cycle's fold models, or from nothing
# The warm schedule's trees: a larger step and a shorter patience than `creditgrade train`'s (0.03, 100), for a
# refit that adds a month's rows to trees already grown. At 100 k enterprises it took the loop from 69 to 27 s
# with the calibration result the same in kind (docs/scale-out.md).
WARM = {"learning_rate": 0.1, "early_stopping_rounds": 30}
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class CycleDates:
    year: int  # the simulated year whose truth decides the outcomes
    months: int

    @property
    def t0(self) -> dt.date:
        return dt.date(self.year - 1, 12, 31)

    @property
    def grading(self) -> list[dt.date]:
        """The month ends the plans grade at: T0, then 31 Jan, 28 Feb, ..."""
        return [self.t0] + [
            (pd.Timestamp(self.year, m + 1, 1) - pd.Timedelta(days=1)).date() for m in range(1, self.months)
        ]

    @property
    def panel(self) -> list[dt.date]:
        return sorted({dt.date(self.year - k, 12, 31) for k in (4, 3, 2)} | set(self.grading))


@dataclass(frozen=True)
class CycleReport:
    """The loop's figures: per cycle and run (weighted, unweighted) the checks, problems found against a
    uniform draw and the calibration error; and the verdict after the last cycle."""

    year: int
    months: int
    plan: dict
    seed: str
    schedule: str
    enterprises_at_t0: int
    cycles: list[dict]
    final_calibration_error: dict[str, float]
    weighted_over_unweighted: float
    weighted_ratio_to_uniform_mean: float

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def calibration_error(predicted: np.ndarray, true: np.ndarray, bins: int = 20) -> float:
    """ECE against known true probabilities: equal-count bins of the prediction.

    >>> round(calibration_error(np.array([0.1, 0.1, 0.5, 0.5]), np.array([0.2, 0.2, 0.5, 0.5]), bins=2), 3)
    0.05
    """
    order = np.argsort(predicted, kind="stable")
    return float(
        sum(
            len(b) / len(order) * abs(predicted[b].mean() - true[b].mean())
            for b in np.array_split(order, bins)
            if len(b)
        )
    )


def simulate_cycles(
    clean: Path,
    truth_dir: Path,
    out: Path,
    *,
    months: int = 6,
    plan: Plan = DEFAULT_PLAN,
    seed: str = "0",
    features: Path | None = None,
    progress: Progress | None = None,
    schedule: str = "warm",
) -> CycleReport:
    """Run the loop; writes out/cycles.json and out/cycles.png and returns the report. The feature panel
    (every month end) is built at `features` (default out/features.parquet) unless already there.
    `schedule`: "warm" (each cycle's refit starts from the last cycle's fold models, `refit`) or "full"
    (every refit from nothing)."""
    # Long (92 lines): the loop of the issue step by step (grade, plan, draw, outcome, ingest, refit) for two runs.
    if schedule not in SCHEDULES:
        raise CreditgradeError(
            f"schedule must be one of {', '.join(SCHEDULES)}; got {schedule!r}",
            f"重新训练方式须为 {'、'.join(SCHEDULES)} 之一，当前为 {schedule!r}",
        )
    if not 1 <= months <= 12:
        raise CreditgradeError(
            f"months must be between 1 and 12 (one simulated year); got {months}",
            f"月数须在 1 到 12 之间（一个模拟年度），当前为 {months}",
        )
    progress = progress or (lambda step, done, total: None)
    manifest = json.loads((Path(truth_dir) / "manifest.json").read_text())
    dates = CycleDates(int(manifest["end_year"]), months)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    panel = Path(features) if features is not None else out / "features.parquet"
    total = 2 + 2 * months
    progress(f"features at {len(dates.panel)} dates", 0, total)
    feature_panel(clean, dates, panel)
    truth = pq.read_table(Path(truth_dir) / "truth" / "problem_probability.parquet").to_pandas()
    truth = truth[truth.year == dates.year].set_index("uscc")["p_problem"]
    history = load_checks(clean)
    history = history[pd.to_datetime(history["check_date"]) <= pd.Timestamp(dates.t0)]
    city_t0 = _city(panel, dates.t0, truth)
    city_t0 = city_t0[(city_t0["register_status"] == "active") & city_t0["p_true"].notna()].reset_index(drop=True)
    previous = dt.date(dates.year - 2, 12, 31)
    models, added = {}, {run: [] for run in RUNS}
    progress("initial models", 1, total)
    for run, weighted in RUNS.items():
        models[run] = train(panel, None, previous, checks=history, weighted=weighted, register=False).model
    frame_t0 = read_features(panel, as_of=[dates.t0], columns=["uscc", "as_of", *catalog.RISK_IDS]).to_pandas()
    rows = []
    for m, day in enumerate(dates.grading, start=1):
        city = _city(panel, day, truth)
        reason = np.where(city["register_status"].to_numpy() == "active", None, "not operating")
        reason = np.where(city["p_true"].isna().to_numpy(), "no truth for the year", reason).astype(object)
        outcome = uniforms(city["uscc"], seed, f"cycle-{m}-outcome") < city["p_true"].fillna(0).to_numpy()
        uniform_rate = float(city.loc[pd.isna(reason), "p_true"].mean())
        for run, weighted in RUNS.items():
            progress(f"cycle {m} ({day}): {run}", 1 + 2 * (m - 1) + list(RUNS).index(run) + 1, total)
            p = models[run].predict_proba(design_matrix(city))
            grade = G.score_to_grade(probability_to_score(p), G.scheme(plan.scheme))
            pr = inclusion_probabilities(plan, grade, p, np.full(len(city), "all"), reason.copy())
            drawn, _ = systematic(city["uscc"], pr.pi, np.full(len(city), "all"), seed, f"cycle-{m}-draw")
            found = outcome[drawn]
            added[run].append(ingested(city["uscc"].to_numpy()[drawn], pr.pi[drawn], found, day, f"{run}-{m}"))
            warm = models[run] if schedule == "warm" and isinstance(models[run], CrossFitted) else None
            models[run] = refit(
                labelled_rows(frame_t0, pd.concat(added[run], ignore_index=True), dates.t0),
                weighted,
                previous=warm,
                config=RiskModelConfig(**WARM) if schedule == "warm" else None,
            )
            p0 = models[run].predict_proba(design_matrix(city_t0))
            rows.append(
                {
                    "cycle": m,
                    "graded_as_of": str(day),
                    "run": run,
                    "drawn": int(drawn.size),
                    "problems_found": int(found.sum()),
                    "per_1000": 1000 * float(found.mean()) if drawn.size else 0.0,
                    "uniform_per_1000": 1000 * uniform_rate,
                    "ratio_to_uniform": float(found.mean()) / uniform_rate if drawn.size else 0.0,
                    "expected_ratio_by_truth": float(pr.pi @ city["p_true"].fillna(0).to_numpy())
                    / pr.budget
                    / uniform_rate,
                    "calibration_error": calibration_error(p0, city_t0["p_true"].to_numpy()),
                    "mean_predicted": float(p0.mean()),
                    "mean_true": float(city_t0["p_true"].mean()),
                    "inspections_so_far": int(sum(len(a) for a in added[run])),
                }
            )
    report = CycleReport(
        year=dates.year,
        months=months,
        plan=plan.to_dict(),
        seed=seed,
        schedule=schedule,
        enterprises_at_t0=len(city_t0),
        cycles=rows,
        **_verdict(rows),
    )
    (out / "cycles.json").write_text(json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n")
    from creditgrade.models.plots import cycles_plot

    cycles_plot(rows, out / "cycles.png")
    progress("done", total, total)
    return report


def ingested(uscc: np.ndarray, pi: np.ndarray, found: np.ndarray, day: dt.date, plan_id: str) -> pd.DataFrame:
    """The cycle's results as `creditgrade inspections ingest` turns them into spot-check rows (the same
    checks: each drawn by the plan, dated after it, findings consistent), inspected mid-month."""
    drawn = pd.DataFrame({"uscc": uscc, "plan_id": plan_id, "inclusion_prob": pi, "plan_as_of": pd.Timestamp(day)})
    results = pd.DataFrame(
        {
            "uscc": uscc,
            "check_date": str(day + dt.timedelta(days=15)),
            "problem_found": found.astype(int).astype(str),
            "finding": np.where(found, "other_violation", "none"),
        }
    )
    rows, problems = checked_rows(results, drawn, set(), pd.Timestamp(day + dt.timedelta(days=31)))
    if problems:
        raise CreditgradeError(
            f"cycle results refused: {[(r, en) for r, en, _ in problems[:3]]}",
            f"本轮检查结果被拒绝：{[(r, zh) for r, _, zh in problems[:3]]}",
        )
    return rows


class CrossFitted:
    """Fold models whose mean log-odds are calibrated on out-of-fold log-odds."""

    def __init__(self, models: list[RiskModel], calibrator: Calibrator):
        self.models, self.calibrator = models, calibrator

    def predict_proba(self, x: pd.DataFrame) -> np.ndarray:
        matrix = self.models[0].matrix(x)  # converted once for the five models (1.1 GB a copy at 2.23 M rows)
        return self.calibrator.predict(np.mean([m.predict_raw(matrix) for m in self.models], axis=0))


def refit(
    rows: pd.DataFrame,
    weighted: bool,
    folds: int = FOLDS,
    previous: CrossFitted | None = None,
    config: RiskModelConfig | None = None,
) -> CrossFitted:
    """The risk model learned from labelled inspection rows, weighted by 1/π or not.

    Folds are by enterprise and fixed (`enterprise_folds`): an enterprise inspected in several cycles, its
    features as of T0 each time, is never on both sides of a fold, and a row stays in its fold as the rows
    grow. So fold k's model of the last cycle (`previous`) learned only from rows outside fold k, and the
    refit can start from its trees (warm start) and add trees for the cycle's new rows, stopping early on
    fold k; its out-of-fold log-odds stay out of fold."""
    x, y = design_matrix(rows), rows["label"].to_numpy()
    w = rows["weight"].to_numpy(float) if weighted else np.ones(len(rows))
    fold = enterprise_folds(rows["uscc"], folds)
    if min(np.bincount(y, minlength=2)) < folds or len(np.unique(fold)) < folds:
        raise CreditgradeError(
            f"{len(rows)} inspections with {int(y.sum())} problems are too few to refit in {folds} folds",
            f"{len(rows)} 次检查（发现问题 {int(y.sum())} 次）不足以按 {folds} 折重新训练",
        )
    matrix = RiskModel().matrix(x)
    margin, models = np.zeros(len(rows)), []
    for k in range(folds):
        fit, held = fold != k, fold == k
        init = previous.models[k] if previous is not None else None
        model = RiskModel(config).fit(x[fit], y[fit], w[fit], x[held], y[held], w[held], init=init)
        margin[held] = model.predict_raw(matrix[held])
        models.append(model)
    return CrossFitted(models, Calibrator.fit("sigmoid", margin, y, w))


def enterprise_folds(uscc: pd.Series, folds: int) -> np.ndarray:
    """Each row's fold, from its enterprise's USCC alone (a seeded hash: the same in every cycle and run)."""
    return np.minimum((uniforms(uscc.astype(str), "folds", "cycle-refit") * folds).astype(np.int64), folds - 1)


def _verdict(rows: list[dict]) -> dict:
    last = max(r["cycle"] for r in rows)
    err = {r["run"]: r["calibration_error"] for r in rows if r["cycle"] == last}
    ratio = [r["ratio_to_uniform"] for r in rows if r["run"] == "weighted"]
    return {
        "final_calibration_error": err,
        "weighted_over_unweighted": err["weighted"] / err["unweighted"] if err["unweighted"] else float("nan"),
        "weighted_ratio_to_uniform_mean": float(np.mean(ratio)),
    }


def feature_panel(clean: Path, dates: CycleDates, panel: Path) -> bool:
    """The loop's feature panel at `panel`: kept if it holds exactly the loop's dates, else built (True)."""
    if panel.exists():
        held = pq.read_table(panel, columns=["as_of"]).column("as_of").unique().to_pylist()
        if set(held) == set(dates.panel):
            return False
    build_features(clean, dates.panel, panel)
    return True


def _city(panel: Path, day: dt.date, truth: pd.Series) -> pd.DataFrame:
    frame = read_features(panel, as_of=[day], columns=["uscc", "register_status", *catalog.RISK_IDS]).to_pandas()
    frame = frame.sort_values("uscc", kind="stable").reset_index(drop=True)
    frame["p_true"] = frame["uscc"].map(truth)
    return frame
