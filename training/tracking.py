"""MLflow on SQLite under `mlruns/` (artifacts there too) as the embedded default; any tracking URI by setting.

`CREDITGRADE_TRACKING_URI` overrides the store. The registered models are `enterprise-credit-risk`
and `false-registration`, each with aliases `champion` (what the service uses) and `challenger` (the
newest candidate); every function below takes the model's name (default: the risk model).
"""

from __future__ import annotations

import os
from pathlib import Path

import mlflow
from mlflow import MlflowClient

MODEL_NAME = "enterprise-credit-risk"
FALSE_REGISTRATION = "false-registration"
EXPERIMENT = "enterprise-credit-risk"
CHAMPION, CHALLENGER = "champion", "challenger"


def configure(root: Path | None = None) -> str:
    """Point MLflow at the project's store; returns the tracking URI."""
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    uri = os.environ.get("CREDITGRADE_TRACKING_URI")
    root = Path(root or os.environ.get("CREDITGRADE_MLRUNS", "mlruns")).resolve()
    if uri is None:
        root.mkdir(parents=True, exist_ok=True)
        uri = f"sqlite:///{root / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    if mlflow.get_experiment_by_name(EXPERIMENT) is None:
        mlflow.create_experiment(EXPERIMENT, artifact_location=(root / "artifacts").as_uri())
    mlflow.set_experiment(EXPERIMENT)
    return uri


def client() -> MlflowClient:
    return MlflowClient()


def versions(name: str = MODEL_NAME) -> list[dict]:
    """Every registered version with its aliases and headline metric, newest first."""
    c = client()
    try:
        found = c.search_model_versions(f"name = '{name}'")
        registered = c.get_registered_model(name)
    except mlflow.exceptions.MlflowException:
        return []
    aliases: dict[int, list[str]] = {}
    for alias, version in registered.aliases.items():
        aliases.setdefault(int(version), []).append(alias)
    out = []
    for v in sorted(found, key=lambda v: int(v.version), reverse=True):
        run = c.get_run(v.run_id)
        out.append({"version": int(v.version), "aliases": sorted(aliases.get(int(v.version), [])), "run_id": v.run_id,
                    "auc": run.data.metrics.get("valid_auc", run.data.metrics.get("auc")), "as_of": run.data.params.get("as_of"),
                    "catalog_version": run.data.params.get("catalog_version")})
    return out


def set_alias(alias: str, version: int, name: str = MODEL_NAME) -> None:
    client().set_registered_model_alias(name, alias, str(version))


def alias_version(alias: str, name: str = MODEL_NAME) -> int | None:
    try:
        return int(client().get_model_version_by_alias(name, alias).version)
    except mlflow.exceptions.MlflowException:
        return None


def register_aliases(version: int, name: str = MODEL_NAME) -> None:
    """A new version is the challenger, and the champion too when there is none yet."""
    set_alias(CHALLENGER, version, name)
    if alias_version(CHAMPION, name) is None:
        set_alias(CHAMPION, version, name)


def promote(version: int | None = None, name: str = MODEL_NAME) -> int:
    """Make `version` (default: the challenger) the champion; the old champion is kept as `previous-champion`."""
    target = version or alias_version(CHALLENGER, name)
    if target is None:
        raise ValueError("no version given and no challenger registered")
    known = {v["version"] for v in versions(name)}
    if target not in known:
        raise ValueError(f"version {target} of {name} does not exist; known: {sorted(known)}")
    old = alias_version(CHAMPION, name)
    if old is not None and old != target:
        set_alias("previous-champion", old, name)
    set_alias(CHAMPION, target, name)
    return target


def rollback(name: str = MODEL_NAME) -> int:
    """Give the champion alias back to the previous champion."""
    previous = alias_version("previous-champion", name)
    if previous is None:
        raise ValueError("there is no previous champion to roll back to")
    current = alias_version(CHAMPION, name)
    set_alias(CHAMPION, previous, name)
    if current is not None:
        set_alias("previous-champion", current, name)
    return previous


def load(alias: str = CHAMPION) -> "LoadedModel":
    """The registered version behind `alias`: the native LightGBM booster from the registry (so that
    contributions can be computed), with the calibration, medians and fitted grade schemes logged
    beside it in the same run."""
    import json

    import mlflow.lightgbm

    from models import grades as G
    from models.risk import RiskModel

    version = alias_version(alias)
    if version is None:
        raise LookupError(f"no model has the alias {alias!r} in {MODEL_NAME}: train one with `creditgrade train`")
    mv = client().get_model_version(MODEL_NAME, str(version))
    state = json.loads(Path(mlflow.artifacts.download_artifacts(
        run_id=mv.run_id, artifact_path="report/risk_model_state.json")).read_text())
    schemes = json.loads(Path(mlflow.artifacts.download_artifacts(
        run_id=mv.run_id, artifact_path="report/grade_schemes.json")).read_text())
    model = RiskModel.from_dict(state)
    model.booster_ = mlflow.lightgbm.load_model(f"models:/{MODEL_NAME}@{alias}")
    model.booster_.best_iteration = 0
    if model.booster_.num_trees() != lgb_trees(state["booster"]):
        raise ValueError(f"version {version}: the registered booster and the logged state disagree")
    return LoadedModel(version, mv.run_id, model, {k: G.GradeScheme.from_dict(v) for k, v in schemes.items()})


def lgb_trees(model_string: str) -> int:
    return model_string.count("\nTree=")


class LoadedModel:
    """A registered model version ready to grade: the model, its fitted schemes, where it came from."""

    def __init__(self, version: int, run_id: str, model, schemes: dict):
        self.version, self.run_id, self.model, self.schemes = version, run_id, model, schemes
        self._explainer = None

    def explainer(self):
        """The model's exact TreeSHAP explainer, built once (threads as the model's config says)."""
        from models.explain import CityExplainer

        if self._explainer is None or self._explainer.num_threads != self.model.config.num_threads:
            self._explainer = CityExplainer(self.model.booster_, self.model.config.num_threads)
        return self._explainer

    @property
    def label(self) -> str:
        return f"{MODEL_NAME}/{self.version}"
