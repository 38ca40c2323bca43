"""A model that uses the record: on a city of the demo's size, trained on pooled year-ends, penalties, the
serious-violation list and court cases are split on, and each pushes the score the way its catalog direction
says (more of it, more risk — fewer score points)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from creditgrade.features.city.simulate import CityConfig, simulate_city
from creditgrade.features.ingest import ingest
from creditgrade.features.pipeline import build_features, read_features
from creditgrade.models.explain import CityExplainer
from creditgrade.training.train import train

GROUPS = {
    "penalties": ("d3_penalties_12m", "d3_penalties_36m", "d3_penalty_amount_36m_log", "d3_serious_penalties_36m"),
    "serious list": ("d3_serious_current", "d3_serious_5y"),
    "court cases": ("d4_defendant_cases_24m", "d4_cases_lost_24m", "d4_case_amount_24m_log"),
}


@pytest.mark.slow
def test_penalties_the_serious_list_and_court_cases_count(tmp_path):
    simulate_city(CityConfig(enterprises=20_000, seed=7), tmp_path / "raw")
    ingest(tmp_path / "raw", tmp_path / "clean")
    days = [dt.date(y, 12, 31) for y in range(2020, 2025)]
    build_features(tmp_path / "clean", days, tmp_path / "f.parquet")
    result = train(tmp_path / "f.parquet", tmp_path / "clean", days[-1], register=False)
    model = result.model
    gain = dict(zip(model.features, model.booster_.feature_importance("gain")))
    for name, ids in GROUPS.items():
        assert max(gain[i] for i in ids) > 0, f"no split on {name}: {[(i, gain[i]) for i in ids]}"
    city = read_features(tmp_path / "f.parquet", as_of=[days[-1]], columns=list(model.features)).to_pandas()
    x = city[list(model.features)].to_numpy(dtype=np.float64)
    phi, _ = CityExplainer(model.booster_, 2).contributions(x)
    for ids in GROUPS.values():
        for i in ids:
            if gain[i] > 0:
                j = model.features.index(i)
                has = x[:, j] > 0
                # monotone "more risk": those with the record carry more log-odds of a problem than those without
                assert phi[has, j].mean() > phi[~has, j].mean(), i
