"""`creditgrade falsereg train`: the false-registration model, out of time, evaluated and registered.

For an as-of date T: the confirmed cases are the enterprises inspected in the year before T (any kind of
check), labelled 1 when a check found a false registration and 0 otherwise, with their features as of
T − 12 months; the anomaly forest grows on the city at T − 12 months too. The model then scores every
enterprise operating on the register at T. On a simulated city the scores are compared with the
simulator's truth: precision among the top 1,000 and recall within the top 3%, for the rules baseline,
the supervised model alone, the anomaly score alone and the combination. Logged to MLflow and
registered as `false-registration` (aliases challenger / champion) as data: `state.json` and the forest in
skops' format (`FalseRegModel.to_files`), read back by `load` without executing anything.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from creditgrade.features import catalog
from creditgrade.features.errors import CreditgradeError
from creditgrade.features.pipeline import read_features
from creditgrade.models.evaluation import weighted_auc
from creditgrade.models.falsereg import FEATURES, FalseRegConfig, FalseRegModel, rules_score
from creditgrade.models.plots import precision_at_k_plot
from creditgrade.training import tracking

TOP_K = 1000
TOP_SHARE = 0.03
METHODS = ("rules", "rules_by_severity", "supervised", "anomaly", "combined")


class FalseRegError(CreditgradeError):
    """Training data that cannot give a false-registration model; the message says why and what to do."""

    code = "false_registration"


def confirmed_cases(checks: pd.DataFrame, start: dt.date, end: dt.date) -> pd.Series:
    """label per USCC inspected in (start, end]: 1 if any check found a false registration."""
    dates = pd.to_datetime(checks["check_date"])
    window = checks[(dates > pd.Timestamp(start)) & (dates <= pd.Timestamp(end))]
    return (window["finding"] == "false_registration").groupby(window["uscc"]).max().astype(int).rename("label")


def city_at(features: Path, day: dt.date) -> pd.DataFrame:
    frame = read_features(features, as_of=[day], columns=["uscc", "register_status", "region_code", *FEATURES])
    frame = frame.to_pandas()
    if frame.empty:
        raise FalseRegError(f"the feature table has no rows as of {day}", f"指标表中没有基准日 {day} 的数据")
    return frame[frame["register_status"] == "active"].sort_values("uscc", kind="stable").reset_index(drop=True)


def evaluate(scores: dict[str, np.ndarray], truth: np.ndarray, k: int = TOP_K, share: float = TOP_SHARE) -> dict:
    """Precision among the top k and recall within the top `share` of enterprises, per method."""
    n, positives = len(truth), int(truth.sum())
    top_share = int(np.ceil(share * n))
    out = {}
    for name, s in scores.items():
        order = np.argsort(-s, kind="stable")
        out[name] = {
            "precision_at_k": float(truth[order[:k]].mean()),
            "recall_at_share": float(truth[order[:top_share]].sum() / positives) if positives else 0.0,
            "curve": [float(truth[order[:j]].mean()) for j in _curve_points(n)],
            "recall_curve": [float(truth[order[:j]].sum() / positives) if positives else 0.0 for j in _curve_points(n)],
        }
    return {
        "k": k,
        "share": share,
        "enterprises": n,
        "false_registrations": positives,
        "methods": out,
        "curve_k": _curve_points(n),
    }


def _curve_points(n: int) -> list[int]:
    return sorted({int(x) for x in np.unique(np.geomspace(10, max(n, 11), 30).astype(int)) if x <= n})


@dataclass(frozen=True)
class FalseRegResult:
    """What `train_falsereg` did: the confirmed cases, the out-of-fold AUC, the stack, the evaluation against
    the simulator's truth (when there is one), the model and its registered version."""

    as_of: str
    confirmed_false: int
    confirmed_genuine: int
    out_of_fold_auc: float
    stack: dict[str, float]
    scored: int
    model: FalseRegModel = field(repr=False)
    truth: dict | None = None
    registered_version: int | None = None

    def to_dict(self) -> dict:
        out = {
            "as_of": self.as_of,
            "confirmed_false": self.confirmed_false,
            "confirmed_genuine": self.confirmed_genuine,
            "out_of_fold_auc": self.out_of_fold_auc,
            "stack": self.stack,
            "scored": self.scored,
        }
        if self.truth is not None:
            out["truth"] = self.truth
        if self.registered_version is not None:
            out["registered_version"] = self.registered_version
        return out


def train_falsereg(
    features: Path,
    data: Path,
    as_of: dt.date,
    *,
    truth_dir: Path | None = None,
    config: FalseRegConfig | None = None,
    register: bool = True,
) -> FalseRegResult:
    train_day = (pd.Timestamp(as_of) - pd.DateOffset(years=1)).date()
    checks = pq.read_table(Path(data) / "spot_checks.parquet", columns=["uscc", "check_date", "finding"]).to_pandas()
    labels = confirmed_cases(checks, train_day, as_of)
    before = city_at(features, train_day)
    rows = before.merge(labels, left_on="uscc", right_index=True)
    counts = rows["label"].value_counts()
    if len(counts) < 2:
        raise FalseRegError(
            f"the inspections of ({train_day}, {as_of}] confirm {int(counts.get(1, 0))} false and "
            f"{int(counts.get(0, 0))} genuine registrations among enterprises on the register at "
            f"{train_day}: a supervised model needs both; `creditgrade falsereg list --anomaly-only` "
            "ranks by the anomaly score alone",
            f"({train_day}, {as_of}] 期间的检查确认虚假登记 {int(counts.get(1, 0))} 户、真实登记 "
            f"{int(counts.get(0, 0))} 户：监督模型两类都需要；可用 "
            "`creditgrade falsereg list --anomaly-only` 仅按异常分排序",
            code="too_few_cases",
        )
    model = FalseRegModel(config).fit(rows, rows["label"], before)
    now = city_at(features, as_of)
    s = model.scores(now)
    scores = {
        "rules": rules_score(now),
        "rules_by_severity": rules_score(now, severity=True),
        "supervised": s["supervised"].to_numpy(),
        "anomaly": s["anomaly"].to_numpy(),
        "combined": s["combined"].to_numpy(),
    }
    truth = _truth(truth_dir, now)
    result = FalseRegResult(
        as_of=str(as_of),
        confirmed_false=int(counts.get(1, 0)),
        confirmed_genuine=int(counts.get(0, 0)),
        out_of_fold_auc=weighted_auc(rows["label"].to_numpy(), model.out_of_fold_, np.ones(len(rows))),
        stack=dict(zip(("supervised", "anomaly", "intercept"), model.stack_)),
        scored=len(now),
        model=model,
        truth=evaluate(scores, truth) if truth is not None else None,
    )
    if register:
        result = dataclasses.replace(result, registered_version=_log(result))
    return result


def _truth(truth_dir: Path | None, frame: pd.DataFrame) -> np.ndarray | None:
    path = Path(truth_dir) / "truth" / "false_registration.parquet" if truth_dir else None
    if path is None or not path.exists():
        return None
    truth = pq.read_table(path).to_pandas().set_index("uscc")["is_false_registration"]
    return frame["uscc"].map(truth).fillna(False).astype(bool).to_numpy()


def _log(result: FalseRegResult) -> int:
    model = result.model
    tracking.configure()
    mlflow.set_experiment(tracking.FALSE_REGISTRATION)
    with mlflow.start_run(run_name=f"false-registration-{result.as_of}"), tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        mlflow.log_params({"as_of": result.as_of, "catalog_version": model.catalog_version_, **model.params()})
        metrics = {
            "auc": result.out_of_fold_auc,
            "confirmed_false": result.confirmed_false,
            "confirmed_genuine": result.confirmed_genuine,
        }
        for method, m in (result.truth or {}).get("methods", {}).items():
            metrics[f"{method}_precision_at_{TOP_K}"] = m["precision_at_k"]
            metrics[f"{method}_recall_at_top_3pct"] = m["recall_at_share"]
        mlflow.log_metrics(metrics)
        (folder / "evaluation.json").write_text(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
        if result.truth is not None:
            precision_at_k_plot(result.truth, folder / "precision_at_k.png")
        mlflow.log_artifacts(str(folder), artifact_path="report")
        return tracking.register_files(model.to_files(), tracking.FALSE_REGISTRATION)


def load(alias: str = tracking.CHAMPION, isolated: bool = False) -> tuple[int, FalseRegModel]:
    """The registered false-registration model behind `alias`, rebuilt from its data files (each checked
    against its SHA-256 recorded at registration; with `isolated`, its boosters tried in a child first)."""
    version, state = tracking.registered_file(alias, tracking.FALSE_REGISTRATION, "state.json")
    _, forest = tracking.registered_file(alias, tracking.FALSE_REGISTRATION, "forest.skops")
    model = FalseRegModel.from_files(state, forest, isolated=isolated)
    if model.catalog_version_ != catalog.version():
        raise FalseRegError(
            f"{tracking.FALSE_REGISTRATION} version {version} was trained on catalog "
            f"{model.catalog_version_}; this code has {catalog.version()}: retrain it",
            f"虚假登记模型版本 {version} 基于指标目录 {model.catalog_version_} 训练，当前代码为 "
            f"{catalog.version()}：请重新训练",
            code="catalog_version",
        )
    return version, model
