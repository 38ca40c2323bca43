"""False-registration training on the small simulated city: confirmed cases, truth figures, registry."""

from __future__ import annotations

import datetime as dt
import pathlib
import pickle

import numpy as np
import pandas as pd
import pytest

from creditgrade.models.boosters import ModelRejected
from creditgrade.training import tracking
from creditgrade.training.falsereg import FalseRegError, confirmed_cases, evaluate, load, train_falsereg


def test_confirmed_cases_are_the_inspected_with_their_finding():
    checks = pd.DataFrame(
        {
            "uscc": ["A", "A", "B", "C", "D"],
            "check_date": pd.to_datetime(["2025-02-01", "2025-05-01", "2025-03-01", "2024-06-01", "2025-04-01"]),
            "finding": ["none", "false_registration", "none", "false_registration", "unreachable"],
        }
    )
    labels = confirmed_cases(checks, dt.date(2024, 12, 31), dt.date(2025, 12, 31))
    assert labels.to_dict() == {"A": 1, "B": 0, "D": 0}  # C was inspected before the window


def test_evaluate_counts_precision_and_recall_at_the_top():
    truth = np.array([1, 1, 0, 0, 1, 0, 0, 0, 0, 0], bool)
    e = evaluate({"perfect": truth.astype(float), "reverse": -truth.astype(float)}, truth, k=3, share=0.3)
    perfect = e["methods"]["perfect"]
    assert (perfect["precision_at_k"], perfect["recall_at_share"]) == (1.0, 1.0)
    assert e["methods"]["reverse"]["precision_at_k"] == 0.0


@pytest.mark.slow
def test_train_registers_a_model_that_beats_the_rules_on_the_truth(graded_city, tmp_path, monkeypatch):
    monkeypatch.setenv("CREDITGRADE_MLRUNS", str(tmp_path / "mlruns"))
    s = train_falsereg(graded_city.features, graded_city.clean, graded_city.days[2], truth_dir=graded_city.raw)
    assert s.confirmed_false >= 5 and s.confirmed_genuine > s.confirmed_false
    m = s.truth["methods"]
    assert set(m) == {"rules", "rules_by_severity", "supervised", "anomaly", "combined"}
    assert m["combined"]["recall_at_share"] >= m["rules"]["recall_at_share"]
    tracking.configure()
    version, model = load()
    assert version == s.registered_version == tracking.alias_version(tracking.CHAMPION, tracking.FALSE_REGISTRATION)
    assert tracking.alias_version(tracking.CHAMPION) is None  # the risk model's registry is another name
    # The registered model is data: no pickle anywhere in the store, and it scores exactly as trained.
    store = tmp_path / "mlruns"
    assert not [p for p in store.rglob("*") if p.suffix in (".pkl", ".pickle", ".joblib")]
    assert {
        p.name for p in (store / "artifacts" / tracking.FALSE_REGISTRATION).rglob("*") if p.parent.name == "model"
    } == {"state.json", "forest.skops"}
    city = graded_city_frame(graded_city)
    assert np.allclose(model.scores(city).to_numpy(), s.model.scores(city).to_numpy(), rtol=0, atol=1e-12)
    assert load(isolated=True)[1].scores(city).equals(model.scores(city))  # boosters tried in a child first
    # a pickle put in place of the forest is never opened: its SHA-256 is not the one registered
    (forest,) = (store / "artifacts" / tracking.FALSE_REGISTRATION).rglob("model/forest.skops")
    sentinel = tmp_path / "ran"
    forest.write_bytes(pickle.dumps(Payload(sentinel)))
    with pytest.raises(ModelRejected, match="forest.skops of false-registration version 1 is not the file"):
        load()
    assert not sentinel.exists()


class Payload:
    """A pickle that, when loaded, creates a file: proof that it ran."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (pathlib.Path.touch, (pathlib.Path(self.path),))


def graded_city_frame(graded_city):
    from creditgrade.training.falsereg import city_at

    return city_at(graded_city.features, graded_city.days[2]).head(500)


def test_no_confirmed_case_is_explained(graded_city, tmp_path, monkeypatch):
    clean = tmp_path / "clean"
    clean.mkdir()
    checks = pd.read_parquet(graded_city.clean / "spot_checks.parquet")
    checks.assign(
        finding=np.where(checks.finding == "false_registration", "other_violation", checks.finding)
    ).to_parquet(clean / "spot_checks.parquet")
    with pytest.raises(FalseRegError, match="--anomaly-only"):
        train_falsereg(graded_city.features, clean, graded_city.days[2], register=False)
