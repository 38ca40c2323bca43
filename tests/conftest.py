"""Shared fixtures: small simulated cities, built once per test session under a temporary folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "2")

from features.city.simulate import CityConfig, simulate_city  # noqa: E402

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture(scope="session")
def city_50k(tmp_path_factory) -> Path:
    """The calibration city: 50,000 enterprises, clean."""
    out = tmp_path_factory.mktemp("city") / "c50k"
    simulate_city(CityConfig(enterprises=50_000, seed=11), out)
    return out


@pytest.fixture(scope="session")
def dirty_city(tmp_path_factory) -> Path:
    """20,000 enterprises with 1% of rows given an injected fault."""
    out = tmp_path_factory.mktemp("city") / "dirty"
    simulate_city(CityConfig(enterprises=20_000, seed=5, dirty_rate=0.01), out)
    return out
