"""Exact SHAP by decision pattern: identical to shap.TreeExplainer and LightGBM; sub-scores and reasons."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
import shap

from creditgrade.features import catalog
from creditgrade.models import explain as X
from creditgrade.models.risk import RiskModel, RiskModelConfig
from creditgrade.models.scaling import Scale


def _data(n: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Indicator-shaped data: counts, flags, continuous values, exact zeros and missing values."""
    rng = np.random.default_rng(seed)
    cols = {}
    for j, ind in enumerate(catalog.INDICATORS):
        if ind.unit in ("count", "flag"):
            v = rng.poisson(0.3 if ind.unit == "count" else 0.1, n).astype(float)
            v = np.minimum(v, 1) if ind.unit == "flag" else v
        else:
            v = rng.gamma(2.0, 1.0, n)
            v[rng.random(n) < 0.1] = 0.0
        v[rng.random(n) < 0.05 * (j % 3)] = np.nan
        cols[ind.id] = v
    x = pd.DataFrame(cols)
    risk = sum(catalog.BY_ID[c].direction * np.nan_to_num(x[c].to_numpy()) for c in x.columns[:20]) * 0.3
    y = (rng.random(n) < 1 / (1 + np.exp(-(risk - 1)))).astype(int)
    return x, y


@pytest.fixture(scope="module")
def fitted() -> tuple[RiskModel, pd.DataFrame]:
    x, y = _data(6000)
    xv, yv = _data(3000, seed=1)
    model = RiskModel(RiskModelConfig(n_estimators=120, early_stopping_rounds=20, num_threads=2, learning_rate=0.1))
    model.fit(x, y, x_valid=xv, y_valid=yv)
    return model, _data(4000, seed=2)[0]


def test_contributions_equal_shap_tree_explainer_and_lightgbm(fitted):
    model, x = fitted
    phi, expected = X.CityExplainer(model.booster_, 2, few_rows=0).contributions(x.to_numpy())
    reference = shap.TreeExplainer(model.booster_).shap_values(x.to_numpy()[:500])
    assert np.abs(phi[:500] - reference).max() < 1e-6
    native = model.booster_.predict(x.to_numpy(), pred_contrib=True)
    assert np.abs(phi - native[:, :-1]).max() < 1e-9 and expected == pytest.approx(native[0, -1], abs=1e-9)
    assert np.allclose(expected + phi.sum(axis=1), model.predict_raw(x), atol=1e-9)


def test_rows_are_grouped_per_tree_and_each_pattern_is_explained_once(fitted):
    model, x = fitted
    explainer = X.CityExplainer(model.booster_, 1, few_rows=0)
    doubled = np.vstack([x.to_numpy(), x.to_numpy()])
    phi, _ = explainer.contributions(doubled)
    assert np.array_equal(phi[: len(x)], phi[len(x) :])
    leaves = [t.feature.size + 1 for t in explainer.trees]
    assert all(1 <= k <= 2 ** (s - 1) for k, s in zip(explainer.patterns_, leaves))
    assert max(explainer.patterns_) <= len(x)  # the second copy of every row adds no pattern


def test_missing_values_follow_lightgbm_at_every_kind_of_split():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(3000, 4))
    x[rng.random(x.shape) < 0.2] = np.nan
    x[:, 2][rng.random(3000) < 0.3] = 0.0
    y = (np.nan_to_num(x[:, 0]) + np.isnan(x[:, 1]) + (x[:, 2] == 0) + rng.normal(size=3000) > 0.5).astype(int)
    for params in ({}, {"zero_as_missing": True}, {"use_missing": False}):
        booster = lgb.train(
            {"objective": "binary", "num_leaves": 7, "verbose": -1, **params}, lgb.Dataset(x, y), num_boost_round=30
        )
        phi, expected = X.CityExplainer(booster, 1, few_rows=0).contributions(x)
        native = booster.predict(x, pred_contrib=True)
        assert np.abs(phi - native[:, :-1]).max() < 1e-9, params


def test_dimension_points_and_base_add_up_to_the_score(fitted):
    model, x = fitted
    phi, expected = X.CityExplainer(model.booster_, 2).contributions(x.to_numpy())
    a, b = model.calibrator_.a, model.calibrator_.b
    scale = Scale(pdo=35.0, ref_score=620.0)  # any fitted scale: points and base add up to its raw score
    points = X.dimension_points(phi, model.features, scale.points_per_logodds(a))
    assert list(points.columns) == ["D1", "D2", "D3", "D4", "D5"]
    raw = scale.raw(model.predict_proba(x))
    assert np.allclose(scale.base(expected, a, b) + points.sum(axis=1), raw, atol=1e-6)


def test_reasons_are_the_largest_contributions_risk_raising_first_in_both_languages(fitted):
    model, x = fitted
    phi, _ = X.CityExplainer(model.booster_, 2).contributions(x.to_numpy())
    per = Scale().points_per_logodds(model.calibrator_.a)
    reasons = X.top_reasons(phi, x.to_numpy(), model.features, per, k=5).to_pylist()
    for r in range(0, len(x), 97):
        got = reasons[r]
        assert len(got) <= 5
        ids = [g["indicator"] for g in got]
        order = np.argsort(-np.abs(phi[r]), kind="stable")
        nonzero = [model.features[j] for j in order if phi[r, j] != 0][:5]
        assert set(ids) == set(nonzero)
        assert [g["points"] for g in got] == sorted(g["points"] for g in got)  # risk-raising = fewest points first
        for g in got:
            ind = catalog.BY_ID[g["indicator"]]
            assert g["zh"] == ind.reason(g["value"], "zh") and g["en"] == ind.reason(g["value"], "en")
    missing = catalog.BY_ID["d1_insured_ratio"]
    assert missing.reason(None, "en") == "No employees reported, so no insured share"
    assert missing.reason(None, "zh") == "未报告从业人数，无参保比例"
