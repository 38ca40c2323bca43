"""The risk model on synthetic indicator data: monotone, calibrated, and its state round-trips as data."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from creditgrade.features import catalog
from creditgrade.features.errors import CreditgradeError
from creditgrade.models.risk import RiskModel, RiskModelConfig

IDS = catalog.RISK_IDS


def synthetic(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = pd.DataFrame(rng.poisson(0.5, size=(n, len(IDS))).astype(float), columns=IDS)
    x.loc[rng.random(n) < 0.1, "d1_paid_in_ratio"] = np.nan  # missing stays missing
    logit = (
        -1.5
        + 0.8 * x["d3_penalties_12m"]
        + 0.6 * x["d3_abnormal_current"].clip(upper=1)
        - 0.5 * x["d5_awards_36m"]
        + 0.4 * x["d4_complaints_12m"] * (x["d1_employees"] < 1)
    )
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    w = rng.choice([1 / 0.035, 1 / 0.2], size=n)
    return x, y, w


@pytest.fixture(scope="module")
def fitted():
    x, y, w = synthetic(6000, 1)
    xv, yv, wv = synthetic(3000, 2)
    model = RiskModel(RiskModelConfig(n_estimators=300, num_threads=2)).fit(x, y, w, xv, yv, wv)
    return model, xv, yv, wv


def test_probabilities_are_calibrated_on_the_validation_period(fitted):
    model, xv, yv, wv = fitted
    p = model.predict_proba(xv)
    assert ((p > 0) & (p < 1)).all()
    assert np.average(p, weights=wv) == pytest.approx(np.average(yv, weights=wv), abs=1e-4)


def test_learned_state_round_trips_as_json(fitted):
    model, xv, _, _ = fitted
    state = json.loads(json.dumps(model.to_dict()))
    again = RiskModel.from_dict(state)
    np.testing.assert_allclose(again.predict_proba(xv), model.predict_proba(xv), rtol=0, atol=1e-12)
    assert state["catalog_version"] == catalog.version()


def test_a_model_of_another_catalog_version_is_refused(fitted):
    state = fitted[0].to_dict() | {"catalog_version": "000000000000"}
    with pytest.raises(CreditgradeError, match="catalog version"):
        RiskModel.from_dict(state)


def test_bad_config_is_named():
    with pytest.raises(ValueError, match="learning_rate must be in"):
        RiskModelConfig(learning_rate=0)


@settings(max_examples=60, deadline=None)
@given(
    row=st.integers(0, 2999),
    step=st.floats(0.5, 5.0),
    name=st.sampled_from([i for i in IDS if catalog.BY_ID[i].direction == 1]),
)
def test_raising_a_more_risk_indicator_never_lowers_the_probability(fitted, row, step, name):
    model, xv, _, _ = fitted
    base = xv.iloc[[row]].copy()
    if np.isnan(base[name].iloc[0]):
        return
    raised = base.copy()
    raised[name] += step
    assert model.predict_proba(raised)[0] >= model.predict_proba(base)[0] - 1e-12
    assert model.predict_raw(raised)[0] >= model.predict_raw(base)[0] - 1e-12
