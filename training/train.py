"""`creditgrade train`: the risk model fitted, tuned and tested on three disjoint periods, then registered.

For a test date T (`--as-of`) the feature panel's year-ends play three roles, and no row plays two:

- **fit** — every year-end before T − 12 months in the panel (pooled, one row per random inspection of the
  following year, weighted 1/π): the trees learn from these alone;
- **tune** — T − 12 months and the inspections of the following year: early stopping, Platt calibration, the
  odds scale (fitted on the whole city at that date, no labels) and every scheme's cut-points;
- **test** — T and the inspections of the year after it, which no step has seen: every printed and logged
  figure (AUC, KS, Brier, the problem rate per grade — whether it rises, which may honestly fail — and the
  calibration table per grade with 95% intervals), and, on a simulated city, the truth's AUC beside it.

The model registered is the one evaluated. Everything is logged to MLflow; the model is registered as
`enterprise-credit-risk` with alias `challenger` (and `champion` when there is none yet).
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from mlflow.models import infer_signature

from creditgrade.features import catalog
from creditgrade.features.pipeline import read_features
from creditgrade.models import equity
from creditgrade.models import grades as G
from creditgrade.models.cutpoints import TARGET_SHARES, fit_cuts, grade_table
from creditgrade.models.evaluation import calibration_curve, calibration_table, evaluate, psi, weighted_auc
from creditgrade.models.monitoring import Bins, reference_bins
from creditgrade.models.plots import calibration_plot, grade_rates_plot
from creditgrade.models.report import write_report
from creditgrade.models.risk import RiskModel, RiskModelConfig
from creditgrade.models.scaling import Scale
from creditgrade.training import tracking
from creditgrade.training.dataset import DatasetError, design_matrix, labelled_rows

FITTED_SCHEMES = ("shenzhen", "pingshan", "national")
HEADLINE = "shenzhen"


@dataclass(frozen=True)
class Periods:
    """Which year-ends fitted the trees, tuned them, and tested them."""

    fit: list[str]
    tune: str
    test: str


@dataclass(frozen=True)
class TrainResult:
    """What `train` did: the periods, the test figures, the per-grade report of every scheme on the test rows,
    the calibration table, the fitted schemes and scale, the model, and its registered version."""

    as_of: str
    periods: Periods
    metrics: dict[str, float]
    report: dict[str, dict]
    calibration_table: list[dict]
    scheme_notes: dict[str, dict[str, str]]
    schemes: dict[str, dict]
    scale: dict
    calibration: list[dict]
    model: RiskModel = field(repr=False)
    registered_version: int | None = None
    # The operating city at the tuning date, binned: what monthly drift is measured against (models/monitoring).
    reference: dict = field(default_factory=dict, repr=False)
    # Calibration per district, industry, legal form and size band on the test rows (models/equity).
    equal_treatment: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        out = {
            "as_of": self.as_of,
            "periods": asdict(self.periods),
            "metrics": self.metrics,
            "report": self.report,
            "calibration_table": self.calibration_table,
            "scheme_notes": self.scheme_notes,
            "schemes": self.schemes,
            "scale": self.scale,
            "calibration": self.calibration,
            "equal_treatment": self.equal_treatment,
        }
        if self.registered_version is not None:
            out["registered_version"] = self.registered_version
        return out


def load_checks(data: Path) -> pd.DataFrame:
    path = Path(data) / "spot_checks.parquet"
    if not path.exists():
        raise DatasetError(
            f"spot_checks.parquet not found in {data}: the labels come from the inspections",
            f"{data} 中没有 spot_checks.parquet：标签来自检查记录",
            code="not_found",
        )
    return pq.read_table(path, columns=["uscc", "check_date", "kind", "inclusion_prob", "problem_found"]).to_pandas()


def truth_of(truth_dir: Path | None, rows: pd.DataFrame, as_of: dt.date) -> np.ndarray | None:
    """The simulator's true probability for the rows (the year after the as-of date)."""
    if truth_dir is None:
        return None
    path = Path(truth_dir) / "truth" / "problem_probability.parquet"
    if not path.exists():
        return None
    truth = pq.read_table(path).to_pandas()
    year = (pd.Timestamp(as_of) + pd.Timedelta(days=1)).year
    return rows[["uscc"]].merge(truth[truth.year == year], on="uscc", how="left")["p_problem"].to_numpy()


def periods_of(dates: list[dt.date], test: dt.date) -> Periods:
    """The fit, tune and test year-ends for a test date, from the dates a feature panel holds."""
    tune = (pd.Timestamp(test) - pd.DateOffset(years=1)).date()
    missing = [d for d in (tune, test) if d not in dates]
    fit = sorted(d for d in dates if d < tune and (d.month, d.day) == (test.month, test.day))
    if missing or not fit:
        need = ", ".join(str(d) for d in [*missing, (pd.Timestamp(tune) - pd.DateOffset(years=1)).date()][:3])
        have = ", ".join(map(str, sorted(dates))) or "none"
        raise DatasetError(
            f"training with test date {test} needs the panel to hold the test date, the tuning date a year before "
            f"({tune}) and at least one earlier date for fitting (e.g. {need}); it holds {have}",
            f"以 {test} 为测试日训练，指标面板须包含测试日、前一年的调参日（{tune}）和至少一个更早的拟合日"
            f"（如 {need}）；现有日期：{have}",
            code="training_periods",
        )
    return Periods(fit=[str(d) for d in fit], tune=str(tune), test=str(test))


def train(
    features_path: Path,
    data: Path | None,
    as_of: dt.date,
    *,
    config: RiskModelConfig | None = None,
    truth_dir: Path | None = None,
    register: bool = True,
    checks: pd.DataFrame | None = None,
    weighted: bool = True,
    tolerance: float = equity.TOLERANCE,
) -> TrainResult:
    """Fit, tune and test the risk model with `as_of` as the test date (see the module's docstring), from the
    feature panel and the inspections (`data`'s spot checks, or `checks`).

    weighted=False ignores the inclusion probabilities (every inspection weighs 1): only for showing the
    bias that the inverse-probability weights prevent. `tolerance`: how far (relative) a group's observed
    problem rate may lie from the predicted before the equal-treatment table flags it.
    """
    panel_dates = (
        sorted(pq.read_table(features_path, columns=["as_of"]).column("as_of").unique().to_pylist())
        if Path(features_path).exists()
        else []
    )
    equity.check_tolerance(tolerance)
    periods = periods_of(panel_dates, as_of)
    days = [dt.date.fromisoformat(d) for d in (*periods.fit, periods.tune, periods.test)]
    frame = read_features(
        features_path, as_of=days, columns=["uscc", "as_of", "register_status", *catalog.RISK_IDS]
    ).to_pandas()
    checks = load_checks(data) if checks is None else checks
    tune_day, test_day = days[-2], days[-1]
    fit_rows = pd.concat([labelled_rows(frame, checks, d) for d in days[:-2]], ignore_index=True)
    tune_rows, test_rows = labelled_rows(frame, checks, tune_day), labelled_rows(frame, checks, test_day)
    for name, zh, part in (("fitting", "拟合", fit_rows), ("tuning", "调参", tune_rows), ("test", "测试", test_rows)):
        if part["label"].nunique() < 2:
            raise DatasetError(
                f"the {name} rows have one class only: a model needs inspections that found problems and "
                "inspections that did not",
                f"{zh}样本只有一类：模型需要既有发现问题、也有未发现问题的检查",
            )
    if not weighted:
        for part in (fit_rows, tune_rows, test_rows):
            part["weight"] = 1.0
    x, xt = design_matrix(fit_rows), design_matrix(tune_rows)
    model = RiskModel(config).fit(x, fit_rows.label, fit_rows.weight, xt, tune_rows.label, tune_rows.weight)

    # Tune: the odds scale on the whole city at the tuning date, the cut-points on the tuning inspections.
    city = frame[(pd.to_datetime(frame["as_of"]) == pd.Timestamp(tune_day)) & (frame["register_status"] == "active")]
    scale = Scale.fit(
        model.predict_proba(design_matrix(city)), np.ones(len(city)), G.SHENZHEN_FIXED.cuts, TARGET_SHARES[HEADLINE]
    )
    model.scale(scale)
    reference = training_reference(model, city)
    p_tune = model.predict_proba(xt)
    schemes, notes = {}, {}
    for name in FITTED_SCHEMES:
        fitted = fit_cuts(G.scheme(name), scale.raw(p_tune), tune_rows.label.to_numpy(), tune_rows.weight.to_numpy())
        schemes[name] = fitted.scheme
        if fitted.note_en:
            notes[name] = {"en": fitted.note_en, "zh": fitted.note_zh or fitted.note_en}
    schemes["shenzhen_fixed"] = G.SHENZHEN_FIXED

    # Test: every figure from here on.
    xs = design_matrix(test_rows)
    p_test = model.predict_proba(xs)
    y, w = test_rows.label.to_numpy(), test_rows.weight.to_numpy()
    scores = scale.score(p_test)
    report = {name: evaluate(y, p_test, w, scores, s) for name, s in schemes.items()}
    headline = report[HEADLINE]
    metrics = {
        "test_auc": headline["auc"],
        "test_gini": headline["gini"],
        "test_ks": headline["ks"],
        "test_brier": headline["brier"],
        "psi_fit_test": psi(scale.score(model.predict_proba(x)), scores),
        "best_iteration": model.booster_.best_iteration,
        "fit_rows": len(fit_rows),
        "tune_rows": len(tune_rows),
        "test_rows": len(test_rows),
        "scale_pdo": scale.pdo,
        "scale_ref_score": scale.ref_score,
    }
    for name, r in report.items():
        metrics[f"{name}_worst_grade_lift"] = r["worst_grade_lift"] or 0.0
        metrics[f"{name}_rates_strictly_rise"] = float(r["rates_strictly_rise"])
    metrics.update(_against_truth(truth_dir, test_rows, test_day, y, w, report, metrics["test_auc"]))
    grade = G.score_to_grade(scores, schemes[HEADLINE])
    result = TrainResult(
        as_of=str(as_of),
        periods=periods,
        metrics=metrics,
        report=report,
        calibration_table=calibration_table(y, p_test, w, grade, schemes[HEADLINE].scored_grades),
        scheme_notes=notes,
        schemes={k: s.to_dict() for k, s in schemes.items()},
        scale=scale.to_dict(),
        calibration=calibration_curve(y, p_test, w),
        model=model,
        reference=reference,
        equal_treatment=equal_treatment(data, test_rows, p_test, tolerance),
    )
    if register:
        result = replace(result, registered_version=_log(result, x, as_of))
    return result


def equal_treatment(data: Path | None, rows: pd.DataFrame, p: np.ndarray, tolerance: float) -> dict:
    """The test rows' calibration per group (`models.equity`), the groups from the register in `data`; empty,
    with the reason, when there is no register to group by."""
    path = Path(data) / "enterprises.parquet" if data is not None else None
    if path is None or not path.exists():
        return {"tolerance": tolerance, "groups": [], "note": "no enterprise register beside the inspections"}
    register = pq.read_table(path, columns=["uscc", *equity.ATTRIBUTES]).to_pandas()
    test = equity.with_groups(rows[["uscc", "label", "weight"]].assign(p=p), register)
    return {"tolerance": tolerance, "groups": equity.calibration_by_group(test, tolerance=tolerance)}


def training_reference(model: RiskModel, city: pd.DataFrame) -> dict:
    """Bins and shares of every indicator and of the score over the operating city at the tuning date."""
    x = design_matrix(city)
    return {
        "as_of": str(pd.Timestamp(city["as_of"].iloc[0]).date()) if len(city) else None,
        "enterprises": len(city),
        "indicators": {k: b.to_dict() for k, b in reference_bins(x, model.features).items()},
        "score": Bins.of(model.scale_.score(model.predict_proba(x))).to_dict(),
    }


def _against_truth(truth_dir, rows: pd.DataFrame, day: dt.date, y, w, report: dict, auc: float) -> dict[str, float]:
    """On a simulated city: the truth's AUC on the same test rows, and the worst grade against an oracle that
    grades by the truth with the model's grade shares."""
    truth = truth_of(truth_dir, rows, day)
    if truth is None or np.isnan(truth).any():
        return {}
    out = {"bayes_auc": weighted_auc(y, truth, w)}
    out["auc_gap_to_bayes"] = out["bayes_auc"] - auc
    shares = np.array([g["share"] for g in report[HEADLINE]["grades"]])
    oracle_scores = Scale().raw(truth)
    cuts = fit_cuts(G.scheme(HEADLINE), oracle_scores, y, w, shares=tuple(shares / shares.sum())).scheme
    oracle = grade_table(oracle_scores, y.astype(float), w, cuts)
    out["oracle_worst_grade_rate"] = oracle[-1]["problem_rate"] or 0.0
    model_worst = report[HEADLINE]["grades"][-1]["problem_rate"] or 0.0
    out["worst_grade_rate_vs_oracle"] = (
        model_worst / out["oracle_worst_grade_rate"] if out["oracle_worst_grade_rate"] else 0.0
    )
    return out


def _log(result: TrainResult, x: pd.DataFrame, as_of: dt.date) -> int:
    model, summary = result.model, result.to_dict()
    tracking.configure()
    with mlflow.start_run(run_name=f"risk-{as_of}") as run, tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        mlflow.log_params(
            {
                "as_of": str(as_of),
                "fit_periods": ",".join(result.periods.fit),
                "tune_period": result.periods.tune,
                "catalog_version": catalog.version(),
                **{f"lgb_{k}": v for k, v in asdict(model.config).items()},
            }
        )
        mlflow.log_metrics(summary["metrics"])
        (folder / "risk_model_state.json").write_text(json.dumps(model.to_dict()))
        (folder / "grade_schemes.json").write_text(json.dumps(summary["schemes"], ensure_ascii=False, indent=2))
        evaluation = {
            k: summary[k]
            for k in (
                "as_of",
                "periods",
                "metrics",
                "report",
                "calibration_table",
                "scheme_notes",
                "scale",
                "calibration",
                "equal_treatment",
            )
        }
        (folder / "reference_distribution.json").write_text(json.dumps(result.reference))
        (folder / "evaluation.json").write_text(json.dumps(evaluation, ensure_ascii=False, indent=2))
        calibration_plot(summary["calibration"], folder / "calibration.png", "Calibration (test period, weighted)")
        grade_rates_plot(
            {k: v["grades"] for k, v in summary["report"].items()},
            folder / "grade_rates.png",
            summary["report"][HEADLINE]["city_problem_rate"],
        )
        write_report(summary, folder, {"Calibration": "calibration.png", "Problem rate per grade": "grade_rates.png"})
        mlflow.log_artifacts(str(folder), artifact_path="report")
        example = x.head(5)
        info = mlflow.lightgbm.log_model(
            model.booster_,
            name="model",
            input_example=example,
            signature=infer_signature(example, model.predict_raw(example)),
            registered_model_name=tracking.MODEL_NAME,
        )
        version = int(info.registered_model_version)
        tracking.seal(version)
        tracking.register_aliases(version)
        mlflow.set_tag("run_id", run.info.run_id)
    return version
