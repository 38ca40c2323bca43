"""`creditgrade falsereg train`: the false-registration model, out of time, evaluated and registered.

For an as-of date T: the confirmed cases are the enterprises inspected in the year before T (any kind of
check), labelled 1 when a check found a false registration and 0 otherwise, with their features as of
T − 12 months; the anomaly forest grows on the city at T − 12 months too. The model then scores every
enterprise operating on the register at T. On a simulated city the scores are compared with the
simulator's truth: precision among the top 1,000 and recall within the top 3%, for the rules baseline,
the supervised model alone, the anomaly score alone and the combination. Logged to MLflow and
registered as `false-registration` (aliases challenger / champion) as a pyfunc whose `predict` gives the
combined probability.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from pathlib import Path

import joblib
import mlflow
import mlflow.pyfunc
import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from features import catalog
from features.pipeline import read_features
from models.evaluation import weighted_auc
from models.falsereg import FEATURES, FalseRegConfig, FalseRegModel, rules_score
from models.plots import precision_at_k_plot
from training import tracking

TOP_K = 1000
TOP_SHARE = 0.03
METHODS = ("rules", "rules_by_severity", "supervised", "anomaly", "combined")


class FalseRegError(ValueError):
    """Training data that cannot give a false-registration model; the message says why and what to do."""


def confirmed_cases(checks: pd.DataFrame, start: dt.date, end: dt.date) -> pd.Series:
    """label per USCC inspected in (start, end]: 1 if any check found a false registration."""
    dates = pd.to_datetime(checks["check_date"])
    window = checks[(dates > pd.Timestamp(start)) & (dates <= pd.Timestamp(end))]
    return (window["finding"] == "false_registration").groupby(window["uscc"]).max().astype(int).rename("label")


def city_at(features: Path, day: dt.date) -> pd.DataFrame:
    frame = read_features(features, as_of=[day], columns=["uscc", "register_status", "region_code", *FEATURES])
    frame = frame.to_pandas()
    if frame.empty:
        raise FalseRegError(f"the feature table has no rows as of {day}")
    return frame[frame["register_status"] == "active"].sort_values("uscc", kind="stable").reset_index(drop=True)


def evaluate(scores: dict[str, np.ndarray], truth: np.ndarray, k: int = TOP_K, share: float = TOP_SHARE) -> dict:
    """Precision among the top k and recall within the top `share` of enterprises, per method."""
    n, positives = len(truth), int(truth.sum())
    top_share = int(np.ceil(share * n))
    out = {}
    for name, s in scores.items():
        order = np.argsort(-s, kind="stable")
        out[name] = {"precision_at_k": float(truth[order[:k]].mean()),
                     "recall_at_share": float(truth[order[:top_share]].sum() / positives) if positives else 0.0,
                     "curve": [float(truth[order[:j]].mean()) for j in _curve_points(n)],
                     "recall_curve": [float(truth[order[:j]].sum() / positives) if positives else 0.0
                                      for j in _curve_points(n)]}
    return {"k": k, "share": share, "enterprises": n, "false_registrations": positives, "methods": out,
            "curve_k": _curve_points(n)}


def _curve_points(n: int) -> list[int]:
    return sorted({int(x) for x in np.unique(np.geomspace(10, max(n, 11), 30).astype(int)) if x <= n})


def train_falsereg(features: Path, data: Path, as_of: dt.date, *, truth_dir: Path | None = None,
                   config: FalseRegConfig | None = None, register: bool = True) -> dict:
    train_day = (pd.Timestamp(as_of) - pd.DateOffset(years=1)).date()
    checks = pq.read_table(Path(data) / "spot_checks.parquet", columns=["uscc", "check_date", "finding"]).to_pandas()
    labels = confirmed_cases(checks, train_day, as_of)
    before = city_at(features, train_day)
    rows = before.merge(labels, left_on="uscc", right_index=True)
    counts = rows["label"].value_counts()
    if len(counts) < 2:
        raise FalseRegError(f"the inspections of ({train_day}, {as_of}] confirm {int(counts.get(1, 0))} false and "
                            f"{int(counts.get(0, 0))} genuine registrations among enterprises on the register at "
                            f"{train_day}: a supervised model needs both; `creditgrade falsereg list --anomaly-only` "
                            "ranks by the anomaly score alone")
    model = FalseRegModel(config).fit(rows, rows["label"], before)
    now = city_at(features, as_of)
    s = model.scores(now)
    scores = {"rules": rules_score(now), "rules_by_severity": rules_score(now, severity=True), "supervised": s["supervised"].to_numpy(), "anomaly": s["anomaly"].to_numpy(),
              "combined": s["combined"].to_numpy()}
    summary = {"as_of": str(as_of), "confirmed_false": int(counts.get(1, 0)), "confirmed_genuine": int(counts.get(0, 0)),
               "out_of_fold_auc": weighted_auc(rows["label"].to_numpy(), model.out_of_fold_, np.ones(len(rows))),
               "stack": dict(zip(("supervised", "anomaly", "intercept"), model.stack_)), "scored": len(now)}
    truth = _truth(truth_dir, now)
    if truth is not None:
        summary["truth"] = evaluate(scores, truth)
    if register:
        summary["registered_version"] = _log(model, summary)
    summary["model"] = model
    return summary


def _truth(truth_dir: Path | None, frame: pd.DataFrame) -> np.ndarray | None:
    path = Path(truth_dir) / "truth" / "false_registration.parquet" if truth_dir else None
    if path is None or not path.exists():
        return None
    truth = pq.read_table(path).to_pandas().set_index("uscc")["is_false_registration"]
    return frame["uscc"].map(truth).fillna(False).astype(bool).to_numpy()


class FalseRegPyfunc(mlflow.pyfunc.PythonModel):
    """The registered form: predict() gives the combined probability for rows of features."""

    def load_context(self, context) -> None:
        self.model = joblib.load(context.artifacts["model"])

    def predict(self, context, model_input, params=None):
        return self.model.scores(model_input)["combined"].to_numpy()


def _log(model: FalseRegModel, summary: dict) -> int:
    tracking.configure()
    mlflow.set_experiment(tracking.FALSE_REGISTRATION)
    with mlflow.start_run(run_name=f"false-registration-{summary['as_of']}"), tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        mlflow.log_params({"as_of": summary["as_of"], "catalog_version": model.catalog_version_, **model.params()})
        metrics = {"auc": summary["out_of_fold_auc"], "confirmed_false": summary["confirmed_false"],
                   "confirmed_genuine": summary["confirmed_genuine"]}
        for method, m in summary.get("truth", {}).get("methods", {}).items():
            metrics[f"{method}_precision_at_{TOP_K}"] = m["precision_at_k"]
            metrics[f"{method}_recall_at_top_3pct"] = m["recall_at_share"]
        mlflow.log_metrics(metrics)
        report = {k: v for k, v in summary.items() if k != "model"}
        (tmp / "evaluation.json").write_text(json.dumps(report, ensure_ascii=False, indent=2))
        if "truth" in summary:
            precision_at_k_plot(summary["truth"], tmp / "precision_at_k.png")
        mlflow.log_artifacts(str(tmp), artifact_path="report")
        joblib.dump(model, tmp / "model.joblib")
        info = mlflow.pyfunc.log_model(name="model", python_model=FalseRegPyfunc(),
                                       artifacts={"model": str(tmp / "model.joblib")},
                                       registered_model_name=tracking.FALSE_REGISTRATION)
    version = int(info.registered_model_version)
    tracking.register_aliases(version, tracking.FALSE_REGISTRATION)
    return version


def load(alias: str = tracking.CHAMPION) -> tuple[int, FalseRegModel]:
    version = tracking.alias_version(alias, tracking.FALSE_REGISTRATION)
    if version is None:
        raise LookupError(f"no {tracking.FALSE_REGISTRATION} model has the alias {alias!r}: train one with "
                          "`creditgrade falsereg train`")
    model = mlflow.pyfunc.load_model(f"models:/{tracking.FALSE_REGISTRATION}@{alias}").unwrap_python_model().model
    if model.catalog_version_ != catalog.version():
        raise FalseRegError(f"{tracking.FALSE_REGISTRATION} version {version} was trained on catalog "
                            f"{model.catalog_version_}; this code has {catalog.version()}: retrain it")
    return version, model
