"""Random inspector pairs: district coverage, conflicts of interest, load caps, reproducible."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from creditgrade.features.city.inspectors import inspector_directory
from creditgrade.models.planning.inspectors import COLUMNS, assign, from_frame
from creditgrade.models.planning.plan import PlanError
from creditgrade.serving.planner.plan import read_directory


def directory(tmp_path, rows) -> object:
    return from_frame(pd.DataFrame(rows, columns=list(COLUMNS)))


def drawn(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    uscc = np.array([f"9144030{k:011d}" for k in range(n)])
    return uscc, rng.choice(["440303", "440304"], n)


def test_pairs_cover_the_district_avoid_conflicts_and_respect_the_cap(tmp_path):
    uscc, district = drawn(60)
    conflicted = uscc[district == "440303"][0]
    d = directory(
        tmp_path,
        [
            ("L1", "Luohu", "440303", conflicted),
            ("L2", "Luohu", "440303", ""),
            ("L3", "Luohu", "440303", ""),
            ("L4", "Luohu", "440303;440304", ""),
            ("F1", "Futian", "440304", ""),
            ("F2", "Futian", "440304", ""),
            ("F3", "Futian", "440304", ""),
            ("F4", "Futian", "440304", ""),
        ],
    )
    pairs = assign(uscc, district, d, load_cap=30, key="seed|inputs")
    covers = dict(zip(d.ids, d.districts))
    for dist, pair in zip(district, pairs):
        assert pair[0] != pair[1] and all(dist in covers[i] for i in pair)
    assert "L1" not in pairs[uscc == conflicted][0]
    load = pd.Series(pairs.ravel()).value_counts()
    assert load.max() <= 30 and load.sum() == 120
    assert np.array_equal(pairs, assign(uscc, district, d, load_cap=30, key="seed|inputs"))
    assert not np.array_equal(pairs, assign(uscc, district, d, load_cap=30, key="other|inputs"))


def test_too_few_inspectors_for_a_district_is_refused_naming_it(tmp_path):
    uscc, district = drawn(40)
    d = directory(
        tmp_path, [("L1", "Luohu", "440303", ""), ("L2", "Luohu", "440303", ""), ("F1", "Futian", "440304", "")]
    )
    with pytest.raises(PlanError, match="inspectors too few to cover district 440304"):
        assign(uscc, district, d, load_cap=100, key="k")
    with pytest.raises(PlanError, match="inspectors too few to cover district 440303"):
        assign(uscc[district == "440303"], district[district == "440303"], d, load_cap=3, key="k")


def test_a_broken_directory_is_named(tmp_path):
    with pytest.raises(PlanError, match="lacks column"):
        (tmp_path / "d.csv").write_text("id,unit\nA,B\n")
        read_directory(tmp_path / "d.csv")
    with pytest.raises(PlanError, match="appears twice"):
        directory(tmp_path, [("L1", "Luohu", "440303", ""), ("L1", "Luohu", "440304", "")])
    with pytest.raises(PlanError, match="row 3 has no inspector_id") as err:
        directory(tmp_path, [("L1", "Luohu", "440303", ""), ("", "Luohu", "440304", "")])
    assert "第 3 行" in err.value.zh


def test_the_simulated_directory_has_every_district_and_no_person_names():
    rng = np.random.default_rng(0)
    region = rng.integers(0, 9, 20_000)
    uscc = np.array([f"9144030{k:011d}" for k in range(20_000)])
    d = inspector_directory(uscc, region, np.random.default_rng(1))
    assert list(d.columns) == ["inspector_id", "unit", "districts", "conflicts"]
    assert d.inspector_id.is_unique
    assert d.districts.str.split(";").explode().nunique() == 9
    assert (d.groupby(d.districts.str[:6]).size() >= 4).all()
    assert d.conflicts.str.len().gt(0).mean() < 0.25
