"""MLflow on SQLite under the project's `mlruns/` (artifacts there too) as the embedded default.

One store wherever you stand: its place comes from the settings (`CREDITGRADE_MLRUNS`, else
`<home>/mlruns`, home being `CREDITGRADE_HOME` or the checkout — never the working directory), so a
champion promoted from a notebook is the one `creditgrade grade` and `serve` load. Every experiment
keeps its artifacts inside the store (`mlruns/artifacts/<experiment>`). `CREDITGRADE_TRACKING_URI`
points at another tracking server instead.

The registered models are `enterprise-credit-risk` and `false-registration`, each with aliases
`champion` (what grading and the service use) and `challenger` (the newest candidate); every function
below takes the model's name (default: the risk model). Registered models are data, never pickles:
the risk model is LightGBM's text format plus its state as JSON; the false-registration model is JSON
plus its anomaly forest in skops' format, loaded with only scikit-learn's tree types trusted.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path

import lightgbm as lgb
import mlflow
from mlflow import MlflowClient

from creditgrade.features.errors import CreditgradeError, NotFound
from creditgrade.features.settings import settings
from creditgrade.models import equity
from creditgrade.models import grades as G
from creditgrade.models.boosters import ModelRejected, checked_boosters
from creditgrade.models.risk import RiskModel
from creditgrade.models.scoring import ScoringModel

MODEL_NAME = "enterprise-credit-risk"
FALSE_REGISTRATION = "false-registration"
EXPERIMENT = "enterprise-credit-risk"
EXPERIMENTS = (EXPERIMENT, FALSE_REGISTRATION)
CHAMPION, CHALLENGER, PREVIOUS = "champion", "challenger", "previous-champion"


class RegistryUnavailable(CreditgradeError):
    """The model registry's database cannot be used now (held by another process): nothing was changed."""

    code = "registry_unavailable"
    status = 503


LOCK_WAIT = 5.0  # seconds to wait for another process's write to the embedded registry database to finish


def configure() -> str:
    """Point MLflow at the project's store (creating it and its experiments); returns the tracking URI."""
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    s = settings()
    uri = s.tracking_uri
    if uri is None:
        s.mlruns.mkdir(parents=True, exist_ok=True)
        uri = f"sqlite:///{s.mlruns / 'mlflow.db'}"
        not_locked(s.mlruns / "mlflow.db")
        relocate(s.mlruns)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    for name in EXPERIMENTS:
        if mlflow.get_experiment_by_name(name) is None:
            location = (s.mlruns / "artifacts" / name).as_uri() if s.tracking_uri is None else None
            mlflow.create_experiment(name, artifact_location=location)
    mlflow.set_experiment(EXPERIMENT)
    return uri


def not_locked(db: Path, wait: float = LOCK_WAIT) -> None:
    """RegistryUnavailable, at once and in one sentence, when another process holds the embedded registry
    database locked for longer than `wait` seconds (MLflow itself would retry for a quarter of a minute and
    then die with a long traceback). A read-only database is left for MLflow: reading it needs no lock."""
    import sqlite3

    if not db.exists():
        return
    try:
        with contextlib.closing(sqlite3.connect(db, timeout=wait)) as con:
            con.execute("BEGIN IMMEDIATE")
            con.rollback()
    except sqlite3.OperationalError as exc:
        if "locked" not in str(exc) and "busy" not in str(exc):
            return
        raise RegistryUnavailable(
            f"the model registry database {db} is locked by another process (a training run or another "
            f"command writing to it) and stayed locked for {wait:g} s; nothing was changed — try again when "
            "it has finished",
            f"模型注册库数据库 {db} 正被其他进程（训练或其他写入命令）锁定，等待 {wait:g} 秒仍未释放；"
            "未做任何更改，请待其结束后重试",
        ) from None


# Where MLflow records an artifact's place (an absolute URI or path: MLflow has no relative locations).
LOCATIONS = (
    ("experiments", "artifact_location"),
    ("runs", "artifact_uri"),
    ("logged_models", "artifact_location"),
    ("model_versions", "source"),
    ("model_versions", "storage_location"),
)


def relocate(mlruns: Path) -> int:
    """A store whose folder was moved (a deployment copied to another machine or path): the artifact
    locations recorded under its old place are rewritten to its new one, so its models load where it now
    is. Returns the number of locations rewritten (0 when the store is where it was made)."""
    import sqlite3

    db = mlruns / "mlflow.db"
    if not db.exists():
        return 0
    new_uri, new_path = mlruns.resolve().as_uri(), str(mlruns.resolve())
    with contextlib.closing(sqlite3.connect(db, timeout=LOCK_WAIT)) as con:
        try:
            found = con.execute(
                "select artifact_location from experiments where artifact_location like 'file://%/artifacts/%'"
            ).fetchone()
        except sqlite3.OperationalError:
            return 0  # not (yet) an MLflow store
        if found is None:
            return 0
        old_uri = found[0].rsplit("/artifacts/", 1)[0]
        if old_uri == new_uri:
            return 0
        old_path = old_uri.removeprefix("file://")
        changed = 0
        with con:
            for table, column in LOCATIONS:
                for old, new in ((old_uri, new_uri), (old_path, new_path)):
                    changed += con.execute(
                        f"update {table} set {column} = ? || substr({column}, ?) where {column} like ? escape '!'",
                        (new, len(old) + 1, _like_prefix(old)),
                    ).rowcount
        return changed


def _like_prefix(text: str) -> str:
    return text.replace("!", "!!").replace("%", "!%").replace("_", "!_") + "/%"


def client() -> MlflowClient:
    """A client of the project's store (configured first, so that no caller can reach MLflow's default)."""
    uri = configure()
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


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
        out.append(
            {
                "version": int(v.version),
                "aliases": sorted(aliases.get(int(v.version), [])),
                "run_id": v.run_id,
                "auc": next(
                    (run.data.metrics[k] for k in ("test_auc", "valid_auc", "auc") if k in run.data.metrics), None
                ),
                "as_of": run.data.params.get("as_of"),
                "catalog_version": run.data.params.get("catalog_version"),
            }
        )
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
        raise NotFound(
            f"no version of {name} given and no challenger registered", f"未指定 {name} 的版本，且没有挑战者模型"
        )
    known = {v["version"] for v in versions(name)}
    if target not in known:
        raise NotFound(
            f"version {target} of {name} does not exist; known: {sorted(known)}",
            f"{name} 没有版本 {target}；现有版本：{sorted(known)}",
        )
    old = alias_version(CHAMPION, name)
    if old is not None and old != target:
        set_alias(PREVIOUS, old, name)
    set_alias(CHAMPION, target, name)
    return target


def rollback(name: str = MODEL_NAME) -> int:
    """Give the champion alias back to the previous champion."""
    previous = alias_version(PREVIOUS, name)
    if previous is None:
        raise NotFound(f"{name} has no previous champion to roll back to", f"{name} 没有可回退的上一任冠军模型")
    current = alias_version(CHAMPION, name)
    set_alias(CHAMPION, previous, name)
    if current is not None:
        set_alias(PREVIOUS, current, name)
    return previous


def version_behind(alias: str, name: str) -> tuple[int, str]:
    """(version, run id) behind an alias; NotFound naming what to run when there is none."""
    version = alias_version(alias, name)
    if version is None:
        command = "creditgrade train" if name == MODEL_NAME else "creditgrade falsereg train"
        raise NotFound(
            f"no model has the alias {alias!r} in {name}: train one with `{command}`",
            f"{name} 中没有别名为 {alias!r} 的模型：请先运行 `{command}`",
        )
    return version, client().get_model_version(name, str(version)).run_id


SEAL = "creditgrade.sha256"  # model-version tag: {artifact: SHA-256} of every file loaded back
RISK_ARTIFACTS = (
    "model/model.lgb",
    "report/risk_model_state.json",
    "report/grade_schemes.json",
    "report/reference_distribution.json",
    "report/evaluation.json",
)
FALSE_REGISTRATION_ARTIFACTS = ("model/state.json", "model/forest.skops")


def _artifact(name: str, version: int, relative: str) -> Path:
    """A local copy of one file of a registered version: `model/<file>` from the version's registered model
    files, anything else from the run that trained it."""
    c = client()
    if relative.startswith("model/"):
        where = c.get_model_version_download_uri(name, str(version))
        return Path(mlflow.artifacts.download_artifacts(artifact_uri=f"{where}/{relative.removeprefix('model/')}"))
    run_id = c.get_model_version(name, str(version)).run_id
    return Path(mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=relative))


def report_plot(version: int, plot: str, name: str = MODEL_NAME) -> bytes:
    """A PNG of a registered version's model report (`report/<plot>.png`), for the console's model page: an
    image is only shown, never loaded as a model, so it is not one of the sealed files."""
    if not plot.replace("_", "").isalnum():
        raise NotFound(f"no plot {plot[:40]!r}", f"没有图表 {plot[:40]!r}")
    try:
        return _artifact(name, version, f"report/{plot}.png").read_bytes()
    except (OSError, mlflow.exceptions.MlflowException):
        raise NotFound(
            f"version {version} of {name} has no plot {plot!r}", f"{name} 版本 {version} 没有图表 {plot!r}"
        ) from None


def evaluation(version: int, name: str = MODEL_NAME) -> dict | None:
    """A registered version's test-period evaluation (`report/evaluation.json`, checked against its SHA-256);
    None for a version registered without one."""
    try:
        return json.loads(artifact_bytes(name, version, "report/evaluation.json"))
    except (NotFound, mlflow.exceptions.MlflowException, OSError):
        return None


def worse_for_groups(version: int | None = None, name: str = MODEL_NAME) -> list[dict]:
    """The groups for which `version` (default: the challenger) is calibrated worse than the champion on their
    test periods (`models.equity.worse_groups`): what a promotion warns of. [] when there is no champion, the
    version is the champion, or either was registered without the table."""
    target = version or alias_version(CHALLENGER, name)
    champion = alias_version(CHAMPION, name)
    if name != MODEL_NAME or target is None or champion is None or target == champion:
        return []
    mine, theirs = evaluation(target, name), evaluation(champion, name)
    if not mine or not theirs:
        return []
    groups = [(e.get("equal_treatment") or {}).get("groups") or [] for e in (mine, theirs)]
    return equity.worse_groups(*groups)


def run_metrics(version: int, name: str = MODEL_NAME) -> dict[str, float]:
    """The metrics logged by the run that trained `version` (its test-period figures among them)."""
    c = client()
    return dict(c.get_run(c.get_model_version(name, str(version)).run_id).data.metrics)


def seal(version: int, name: str = MODEL_NAME) -> dict[str, str]:
    """Record the SHA-256 of every file of `version` that is loaded back (a model-version tag in the
    registry's database, not a file beside the artifacts); done at registration. Returns the digests."""
    digests = {}
    for relative in RISK_ARTIFACTS if name == MODEL_NAME else FALSE_REGISTRATION_ARTIFACTS:
        try:
            digests[relative] = hashlib.sha256(_artifact(name, version, relative).read_bytes()).hexdigest()
        except (OSError, mlflow.exceptions.MlflowException):
            continue  # a file this version never had (older versions: no reference distribution)
    client().set_model_version_tag(name, str(version), SEAL, json.dumps(digests, sort_keys=True))
    return digests


def artifact_bytes(name: str, version: int, relative: str) -> bytes:
    """One file of a registered version, checked against the SHA-256 recorded when it was registered;
    ModelRejected if it was changed, damaged or never recorded."""
    sealed = client().get_model_version(name, str(version)).tags.get(SEAL)
    if sealed is None:
        raise ModelRejected(
            f"version {version} of {name} was registered without the SHA-256 of its files, so they cannot be "
            "checked: retrain it, or vouch for its files with `creditgrade models seal`",
            f"{name} 版本 {version} 注册时未记录文件的 SHA-256，无法校验：请重新训练，或确认文件无误后运行 "
            "`creditgrade models seal`",
        )
    expected = json.loads(sealed).get(relative)
    if expected is None:
        raise NotFound(f"version {version} of {name} has no {relative}", f"{name} 版本 {version} 没有 {relative}")
    data = _artifact(name, version, relative).read_bytes()
    if hashlib.sha256(data).hexdigest() != expected:
        raise ModelRejected(
            f"{relative} of {name} version {version} is not the file that was registered (its SHA-256 differs): "
            "changed or damaged since; it is not loaded",
            f"{name} 版本 {version} 的 {relative} 与注册时的文件不符（SHA-256 不同）：已被修改或损坏，拒绝加载",
        )
    return data


def load(alias: str = CHAMPION, isolated: bool = False) -> ScoringModel:
    """The registered risk-model version behind `alias`: its LightGBM booster (text format) with the
    calibration, medians and fitted grade schemes logged beside it, every file checked against its SHA-256
    recorded at registration. Nothing is unpickled (MLflow's loader is not used). With `isolated` (the
    service), the booster is first parsed and smoke-tested in a child process (`models.boosters`)."""
    version, run_id = version_behind(alias, MODEL_NAME)
    what = f"{MODEL_NAME} version {version}"
    try:
        state = json.loads(artifact_bytes(MODEL_NAME, version, "report/risk_model_state.json"))
        schemes = json.loads(artifact_bytes(MODEL_NAME, version, "report/grade_schemes.json"))
        text = artifact_bytes(MODEL_NAME, version, "model/model.lgb").decode()
        model = RiskModel.from_dict(state)
        grade_schemes = {k: G.GradeScheme.from_dict(v) for k, v in schemes.items()}
    except (ValueError, KeyError, TypeError) as exc:  # a file that matches its hash but does not parse
        raise ModelRejected(f"{what} cannot be read: {exc}", f"{what} 无法读取：{exc}") from None
    except OSError as exc:
        raise ModelRejected(f"{what}: a file is missing ({exc.strerror})", f"{what}：文件缺失") from None
    model.booster_ = checked_boosters([text], what)[0] if isolated else lgb.Booster(model_str=text)
    model.booster_.best_iteration = 0
    if model.booster_.num_trees() != state["booster"].count("\nTree="):
        raise CreditgradeError(
            f"version {version}: the registered booster and the logged state disagree",
            f"版本 {version}：注册的模型树与记录的模型状态不一致",
            code="registry",
        )
    model.config = model.config.with_threads(settings().threads)
    scoring = ScoringModel(MODEL_NAME, version, run_id, model, grade_schemes)
    try:  # models registered before the monthly cycle have no reference distribution
        scoring.reference = json.loads(artifact_bytes(MODEL_NAME, version, "report/reference_distribution.json"))
    except (NotFound, mlflow.exceptions.MlflowException, OSError):
        scoring.reference = None
    try:  # the test-period figures, among them the calibration per group that the month's equal treatment uses
        scoring.evaluation = json.loads(artifact_bytes(MODEL_NAME, version, "report/evaluation.json"))
    except (NotFound, mlflow.exceptions.MlflowException, OSError):
        scoring.evaluation = None
    return scoring


def register_files(files: dict[str, bytes], name: str) -> int:
    """Log `files` under the active run's `model/` and register them as a new version of `name` (a model
    that MLflow need not know how to load: we read the files back ourselves, as data)."""
    run = mlflow.active_run()
    if run is None:
        raise RuntimeError("register_files needs an active MLflow run")
    with tempfile.TemporaryDirectory() as tmp:
        for relative, content in files.items():
            (Path(tmp) / relative).write_bytes(content)
        mlflow.log_artifacts(tmp, artifact_path="model")
    c = client()
    try:
        c.get_registered_model(name)
    except mlflow.exceptions.MlflowException:
        c.create_registered_model(name)
    version = c.create_model_version(name, source=f"{run.info.artifact_uri}/model", run_id=run.info.run_id)
    seal(int(version.version), name)
    register_aliases(int(version.version), name)
    return int(version.version)


def registered_file(alias: str, name: str, relative: str) -> tuple[int, bytes]:
    """(version, content of one of its `model/` files, checked against its SHA-256) of the version of `name`
    behind `alias` (see `register_files`)."""
    version, _ = version_behind(alias, name)
    return version, artifact_bytes(name, version, f"model/{relative}")
