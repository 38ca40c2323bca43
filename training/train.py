"""`creditgrade train`: out-of-time training of the risk model, grades, evaluation, MLflow registration.

For an as-of date T the model learns from features as of T − 12 months and the inspections of the
following year, stops early and is calibrated on features as of T and the inspections after T, and
the grade cut-points are fitted there too. Everything is logged to MLflow; the model is registered
as `enterprise-credit-risk` with alias `challenger` (and `champion` when there is none yet).
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
from creditgrade.models import grades as G
from creditgrade.models.cutpoints import CutpointError, fit_cutpoints, grade_table
from creditgrade.models.evaluation import calibration_curve, evaluate, psi
from creditgrade.models.plots import calibration_plot, grade_rates_plot
from creditgrade.models.report import write_report
from creditgrade.models.risk import RiskModel, RiskModelConfig
from creditgrade.models.scaling import probability_to_score
from creditgrade.training import tracking
from creditgrade.training.dataset import DatasetError, design_matrix, out_of_time

FITTED_SCHEMES = ("shenzhen", "pingshan", "national")


@dataclass(frozen=True)
class TrainResult:
    """What `train` did: the metrics, the per-grade report of every scheme, the fitted schemes, the
    calibration curve, the fitted model, and its registered version when it was registered."""

    as_of: str
    metrics: dict[str, float]
    report: dict[str, dict]
    scheme_errors: dict[str, str]
    schemes: dict[str, dict]
    calibration: list[dict]
    model: RiskModel = field(repr=False)
    registered_version: int | None = None

    def to_dict(self) -> dict:
        out = {
            "as_of": self.as_of,
            "metrics": self.metrics,
            "report": self.report,
            "scheme_errors": self.scheme_errors,
            "schemes": self.schemes,
            "calibration": self.calibration,
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
    """The simulator's true probability for the validation rows (the year after the as-of date)."""
    if truth_dir is None:
        return None
    path = Path(truth_dir) / "truth" / "problem_probability.parquet"
    if not path.exists():
        return None
    truth = pq.read_table(path).to_pandas()
    year = (pd.Timestamp(as_of) + pd.Timedelta(days=1)).year
    return rows[["uscc"]].merge(truth[truth.year == year], on="uscc", how="left")["p_problem"].to_numpy()


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
) -> TrainResult:
    """Train as of `as_of` from the feature panel and the inspections (`data`'s spot checks, or `checks`).

    weighted=False ignores the inclusion probabilities (every inspection weighs 1): only for showing the
    bias that the inverse-probability weights prevent.
    """
    # Long (88 lines): fit, tune, evaluate in every scheme and log, in the order a reader checks them.
    train_day = (pd.Timestamp(as_of) - pd.DateOffset(years=1)).date()
    frame = read_features(
        features_path, as_of=[train_day, as_of], columns=["uscc", "as_of", *catalog.RISK_IDS]
    ).to_pandas()
    train_rows, valid_rows = out_of_time(frame, load_checks(data) if checks is None else checks, as_of)
    if not weighted:
        train_rows["weight"], valid_rows["weight"] = 1.0, 1.0
    x, xv = design_matrix(train_rows), design_matrix(valid_rows)
    model = RiskModel(config).fit(x, train_rows.label, train_rows.weight, xv, valid_rows.label, valid_rows.weight)
    p_valid = model.predict_proba(xv)
    p_train = model.predict_proba(x)
    y, w = valid_rows.label.to_numpy(), valid_rows.weight.to_numpy()
    scores = probability_to_score(p_valid)
    schemes, scheme_errors = {}, {}
    for name in FITTED_SCHEMES:
        try:
            schemes[name] = fit_cutpoints(G.scheme(name), scores, y, w)
        except CutpointError as exc:  # too few inspections for this many grades: say so, keep the others
            scheme_errors[name] = exc.en
    if not schemes:
        raise DatasetError(
            "no grade scheme could be fitted: " + "; ".join(scheme_errors.values()),
            "没有一个分级方案能拟合出分段",
            code="cutpoints",
        )
    schemes["shenzhen_fixed"] = G.SHENZHEN_FIXED
    report = {name: evaluate(y, p_valid, w, scores, s) for name, s in schemes.items()}
    headline = report[next(iter(report))]
    metrics = {
        "valid_auc": headline["auc"],
        "valid_gini": headline["gini"],
        "valid_ks": headline["ks"],
        "valid_brier": headline["brier"],
        "psi_train_valid": psi(probability_to_score(p_train), scores),
        "best_iteration": model.booster_.best_iteration,
        "train_rows": len(train_rows),
        "valid_rows": len(valid_rows),
    }
    for name, r in report.items():
        metrics[f"{name}_worst_grade_lift"] = r["worst_grade_lift"] or 0.0
        metrics[f"{name}_rates_strictly_rise"] = float(r["rates_strictly_rise"])
    truth = truth_of(truth_dir, valid_rows, as_of)
    if truth is not None and not np.isnan(truth).any():
        from creditgrade.models.evaluation import weighted_auc

        metrics["bayes_auc"] = weighted_auc(y, truth, w)
        metrics["auc_gap_to_bayes"] = metrics["bayes_auc"] - metrics["valid_auc"]
        if "shenzhen" in schemes:
            # The oracle grades by the truth with the model's grade shares (equal shares, as the target says).
            shares = [g["share"] for g in report["shenzhen"]["grades"]]
            oracle_scores = probability_to_score(truth)
            cuts = fit_cutpoints(
                G.scheme("shenzhen"), oracle_scores, y, w, shares=tuple(np.array(shares) / sum(shares))
            )
            oracle = grade_table(oracle_scores, y.astype(float), w, cuts)
            metrics["oracle_worst_grade_rate"] = oracle[-1]["problem_rate"] or 0.0
            model_worst = report["shenzhen"]["grades"][-1]["problem_rate"] or 0.0
            metrics["worst_grade_rate_vs_oracle"] = (
                model_worst / metrics["oracle_worst_grade_rate"] if metrics["oracle_worst_grade_rate"] else 0.0
            )
    result = TrainResult(
        as_of=str(as_of),
        metrics=metrics,
        report=report,
        scheme_errors=scheme_errors,
        schemes={k: s.to_dict() for k, s in schemes.items()},
        calibration=calibration_curve(y, p_valid, w),
        model=model,
    )
    if register:
        result = replace(result, registered_version=_log(result, x, as_of))
    return result


def _log(result: TrainResult, x: pd.DataFrame, as_of: dt.date) -> int:
    model, summary = result.model, result.to_dict()
    tracking.configure()
    with mlflow.start_run(run_name=f"risk-{as_of}") as run, tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        mlflow.log_params(
            {
                "as_of": str(as_of),
                "catalog_version": catalog.version(),
                **{f"lgb_{k}": v for k, v in asdict(model.config).items()},
            }
        )
        mlflow.log_metrics(summary["metrics"])
        (tmp / "risk_model_state.json").write_text(json.dumps(model.to_dict()))
        (tmp / "grade_schemes.json").write_text(json.dumps(summary["schemes"], ensure_ascii=False, indent=2))
        (tmp / "evaluation.json").write_text(
            json.dumps(
                {k: summary[k] for k in ("as_of", "metrics", "report", "calibration")}, ensure_ascii=False, indent=2
            )
        )
        calibration_plot(summary["calibration"], tmp / "calibration.png")
        grade_rates_plot(
            {k: v["grades"] for k, v in summary["report"].items()},
            tmp / "grade_rates.png",
            next(iter(summary["report"].values()))["city_problem_rate"],
        )
        write_report(summary, tmp, {"Calibration": "calibration.png", "Problem rate per grade": "grade_rates.png"})
        mlflow.log_artifacts(str(tmp), artifact_path="report")
        example = x.head(5)
        info = mlflow.lightgbm.log_model(
            model.booster_,
            name="model",
            input_example=example,
            signature=infer_signature(example, model.predict_raw(example)),
            registered_model_name=tracking.MODEL_NAME,
        )
        version = int(info.registered_model_version)
        tracking.register_aliases(version)
        mlflow.set_tag("run_id", run.info.run_id)
    return version
