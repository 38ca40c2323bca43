"""The false-registration model's parts: the rules baseline, constraints, the stacked score."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from creditgrade.features import catalog
from creditgrade.features.errors import CreditgradeError
from creditgrade.models.falsereg import (
    FEATURES,
    RULES,
    FalseRegConfig,
    FalseRegModel,
    constraints,
    rules_broken,
    rules_score,
)


def frame(rows: list[dict]) -> pd.DataFrame:
    base = {f: 0.0 for f in FEATURES}
    return pd.DataFrame([{**base, "uscc": f"U{k}", **r} for k, r in enumerate(rows)])


def test_rules_count_what_each_enterprise_breaks():
    f = frame(
        [
            {},
            {"d2_enterprises_at_address": 57, "fr_enterprises_per_phone": 6},
            {
                "d2_enterprises_at_address": 21,
                "fr_enterprises_per_rep": 9,
                "fr_enterprises_per_phone": 8,
                "fr_agent_registered_30d": 40,
                "fr_zero_insured": 1,
            },
            {"fr_zero_insured": np.nan, "fr_no_report_ever": 1},
        ]
    )
    broken = rules_broken(f)
    assert list(broken.columns) == [r.id for r in RULES]
    assert broken.sum(axis=1).tolist() == [0, 2, 5, 1]
    score = rules_score(f)
    assert np.floor(score).tolist() == [0, 2, 5, 1]  # ties are broken below the next whole number
    severe = rules_score(f.assign(d2_enterprises_at_address=[0, 200, 21, 0]), severity=True)
    assert severe[1] > rules_score(f, severity=True)[1]


def test_constraints_follow_the_catalog_for_own_features_only():
    c = dict(zip(FEATURES, constraints()))
    assert c["fr_address_registered_30d"] == 1 and c["fr_days_to_unreachable"] == -1
    assert all(c[i] == 0 for i in catalog.FALSE_REGISTRATION_SHARED)


def synthetic(n: int, seed: int):
    rng = np.random.default_rng(seed)
    city = pd.DataFrame({f: rng.poisson(1.0, n).astype(float) for f in FEATURES})
    false = rng.random(n) < 0.03
    city.loc[false, "fr_address_registered_30d"] += rng.poisson(30, false.sum())
    city.loc[false, "fr_agent_registered_30d"] += rng.poisson(20, false.sum())
    city.loc[rng.random(n) < 0.1, "fr_zero_insured"] = np.nan
    return city, false


def test_the_model_ranks_false_registrations_first_and_the_anomaly_sees_outliers():
    city, false = synthetic(6000, 0)
    labelled = np.random.default_rng(1).random(len(city)) < 0.3
    model = FalseRegModel(FalseRegConfig(anomaly_sample=5000, anomaly_trees=50, num_threads=1))
    model.fit(city[labelled], false[labelled].astype(int), city)
    s = model.scores(city)
    assert s["supervised"].between(0, 1).all() and s["combined"].between(0, 1).all()
    top = np.argsort(-s["combined"].to_numpy())[: false.sum()]
    assert false[top].mean() > 0.9
    assert s["anomaly"][false].mean() > s["anomaly"][~false].mean() + 1
    phi = model.contributions(city.iloc[:5])
    assert phi.shape == (5, len(FEATURES))


def test_one_class_or_too_few_cases_are_refused():
    city, false = synthetic(500, 2)
    with pytest.raises(CreditgradeError, match="each class needs at least 5"):
        FalseRegModel(FalseRegConfig(anomaly_sample=500, anomaly_trees=10)).fit(city, np.zeros(500, int), city)
    with pytest.raises(CreditgradeError, match="lacks false-registration feature"):
        FalseRegModel().fit(city.drop(columns=["fr_cluster_size"]), false.astype(int), city)
