"""Registered models cannot hurt what loads them: every file checked against the SHA-256 recorded at
registration, nothing unpickled (MLflow's loader is not used), and a booster LightGBM cannot read tried in a
child process, so the process that asked survives with a clear refusal."""

from __future__ import annotations

import contextlib
import json
import pathlib
import pickle
import time

import pytest
import yaml
from typer.testing import CliRunner

from creditgrade.models.boosters import ModelRejected, checked_boosters
from creditgrade.serving.cli import app
from creditgrade.training import tracking

runner = CliRunner()


class Payload:
    """A pickle that, when loaded, creates a file: proof that it ran."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (pathlib.Path.touch, (pathlib.Path(self.path),))


@contextlib.contextmanager
def changed(path: pathlib.Path, content: bytes):
    """`path` holds `content` inside the block, its own bytes again after."""
    before = path.read_bytes()
    path.write_bytes(content)
    try:
        yield path
    finally:
        path.write_bytes(before)


@pytest.fixture
def store(graded_city, monkeypatch):
    monkeypatch.setenv("CREDITGRADE_MLRUNS", str(graded_city.mlruns))
    tracking.configure()
    version = tracking.alias_version(tracking.CHAMPION)
    booster = pathlib.Path(tracking._artifact(tracking.MODEL_NAME, version, "model/model.lgb"))
    (model_file,) = [p for p in graded_city.mlruns.rglob("model.lgb") if p.read_bytes() == booster.read_bytes()]
    return version, model_file


def test_every_file_loaded_is_sealed_at_registration(store):
    version, _ = store
    sealed = json.loads(tracking.client().get_model_version(tracking.MODEL_NAME, str(version)).tags[tracking.SEAL])
    assert set(sealed) == set(tracking.RISK_ARTIFACTS)
    assert all(len(d) == 64 for d in sealed.values())
    assert tracking.load().model.booster_.num_trees() > 0


def test_a_truncated_model_is_refused_by_grade_and_serve(store, graded_city, tmp_path, monkeypatch):
    from creditgrade.serving.cli import serve as serve_command
    from creditgrade.serving.launch import Supervised

    started: list[Supervised] = []  # `serve` starts the server beside the champion's check

    def recorded(*args, **kwargs):
        started.append(Supervised(*args, **kwargs))
        return started[-1]

    monkeypatch.setattr(serve_command, "Supervised", recorded)
    version, model_file = store
    text = model_file.read_bytes()
    with changed(model_file, text[: len(text) // 2]):
        with pytest.raises(
            ModelRejected, match=r"model/model.lgb of enterprise-credit-risk version \d+ is not the file"
        ):
            tracking.load()
        result = runner.invoke(app, ["grade", "--features", str(graded_city.features), "--out", str(tmp_path / "g")])
        assert result.exit_code == 2 and "is not the file that was registered" in " ".join(result.output.split())
        start = time.monotonic()
        served = runner.invoke(app, ["serve", "--graded", str(graded_city.latest), "--port", "3999"])
        assert served.exit_code == 2 and "SHA-256 differs" in " ".join(served.output.split())
        assert time.monotonic() - start < 30
        assert "Traceback" not in served.output
        assert len(started) == 1 and started[0].proc.poll() is not None  # the server it had started is stopped
    assert tracking.load().version == version  # restored: loads again


def test_an_edited_mlmodel_pointing_to_a_pickle_runs_nothing(store, tmp_path):
    _, model_file = store
    sentinel = tmp_path / "ran"
    (model_file.parent / "model.pkl").write_bytes(pickle.dumps(Payload(sentinel)))
    spec = yaml.safe_load((model_file.parent / "MLmodel").read_text())
    spec["flavors"]["lightgbm"].update(data="model.pkl", model_class="lightgbm.sklearn.LGBMClassifier")
    spec["flavors"]["python_function"]["data"] = "model.pkl"
    try:
        with changed(model_file.parent / "MLmodel", yaml.safe_dump(spec).encode()):
            scoring = tracking.load(isolated=True)
        assert scoring.model.booster_.num_trees() > 0 and not sentinel.exists()
    finally:
        (model_file.parent / "model.pkl").unlink()


def test_a_version_without_hashes_is_refused_until_an_admin_vouches_for_it(store):
    version, _ = store
    tracking.client().delete_model_version_tag(tracking.MODEL_NAME, str(version), tracking.SEAL)
    with pytest.raises(ModelRejected, match="registered without the SHA-256 of its files") as refused:
        tracking.load()
    assert "creditgrade models seal" in refused.value.zh
    result = runner.invoke(app, ["models", "seal", str(version)])
    assert result.exit_code == 0 and "model/model.lgb" in " ".join(result.output.split())
    assert tracking.load().version == version


@pytest.mark.parametrize(
    "damage",
    [
        lambda t: t[: len(t) // 2],  # cut short
        lambda t: t.replace("leaf_value=", "leaf_value=zz", 1),  # garbled numbers
        lambda t: t.replace("num_leaves=", "num_leaves=9999", 1),  # a tree that does not match its header
        lambda t: "",  # empty
    ],
    ids=["truncated", "garbled", "inconsistent", "empty"],
)
def test_a_booster_lightgbm_cannot_read_is_refused_in_a_child_not_here(store, damage):
    _, model_file = store
    with pytest.raises(ModelRejected, match="cannot be loaded") as refused:
        checked_boosters([damage(model_file.read_text())], "the test booster")
    assert "继续使用当前模型" in refused.value.zh  # and this process is still here to say so


def test_a_resealed_bad_booster_is_still_caught_by_the_child(store):
    """Someone who can rewrite the registry's hashes too: the service's isolated load still refuses it."""
    version, model_file = store
    text = model_file.read_bytes()
    with changed(model_file, text.replace(b"leaf_value=", b"leaf_value=zz", 1)):
        tracking.seal(version)
        with pytest.raises(ModelRejected, match="cannot be loaded"):
            tracking.load(isolated=True)
    tracking.seal(version)
    assert tracking.load(isolated=True).version == version


def test_a_moved_store_still_loads_its_models(graded_city, tmp_path, monkeypatch):
    import shutil

    first, moved = tmp_path / "deployment" / "mlruns", tmp_path / "elsewhere" / "mlruns"
    shutil.copytree(graded_city.mlruns, first)
    monkeypatch.setenv("CREDITGRADE_MLRUNS", str(first))
    assert tracking.relocate(first) > 0  # recorded under the fixture's folder: rewritten to this one
    assert tracking.relocate(first) == 0  # and only once
    version = tracking.load().version
    shutil.move(first.parent, moved.parent)
    monkeypatch.setenv("CREDITGRADE_MLRUNS", str(moved))
    scoring = tracking.load()  # configure() found the store moved and followed it
    assert scoring.version == version and not first.exists()
    assert str(moved) in str(tracking._artifact(tracking.MODEL_NAME, version, "model/model.lgb"))


def test_a_locked_registry_database_is_one_clear_message_not_a_traceback(store, graded_city):
    import sqlite3

    holder = sqlite3.connect(graded_city.mlruns / "mlflow.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process in the middle of a write
    try:
        start = time.monotonic()
        served = runner.invoke(app, ["serve", "--graded", str(graded_city.latest), "--port", "3999"])
        took = time.monotonic() - start
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    said = " ".join(served.output.split())
    assert served.exit_code == 2 and "is locked by another process" in said and "nothing was changed" in said, said
    assert "Traceback" not in served.output and took < 15, took
    assert tracking.load().version == store[0]  # the lock gone, the store works as before


def test_an_edited_equal_treatment_table_is_refused_not_shown(store, graded_city):
    """evaluation.json (the calibration per group the month report and the promotion warning read) is sealed
    like the model: a flag quietly removed is refused."""
    version, _ = store
    copy = pathlib.Path(tracking._artifact(tracking.MODEL_NAME, version, "report/evaluation.json"))
    (stored,) = [p for p in graded_city.mlruns.rglob("evaluation.json") if p.read_bytes() == copy.read_bytes()]
    summary = json.loads(stored.read_bytes())
    assert summary["equal_treatment"]["groups"]
    for group in summary["equal_treatment"]["groups"]:
        group["flag"] = None
    with changed(stored, json.dumps(summary).encode()):
        with pytest.raises(ModelRejected, match="report/evaluation.json of enterprise-credit-risk version"):
            tracking.load()
        with pytest.raises(ModelRejected):
            tracking.evaluation(version)
    assert tracking.evaluation(version)["equal_treatment"] == json.loads(copy.read_bytes())["equal_treatment"]
