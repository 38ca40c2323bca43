"""Property tests on synthetic graded tables: byte-identical plans, and any one changed row is caught."""

from __future__ import annotations

import datetime as dt
import hashlib
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.cn import uscc as stdnum_uscc

from creditgrade.models.planning.plan import parse_plan
from creditgrade.serving.planner.plan import KEY_COLUMNS, preview, verify, write_plan

GRADES = ["A+", "A", "B", "C", "D", "E"]
REASON = pa.struct(
    [
        ("indicator", pa.string()),
        ("value", pa.float64()),
        ("points", pa.float64()),
        ("zh", pa.string()),
        ("en", pa.string()),
    ]
)


def graded_table(path: Path, n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    codes = []
    for k in range(n):
        body = f"9144030{k:010d}"
        codes.append(body + stdnum_uscc.calc_check_digit(body))
    p = rng.beta(1, 3, n)
    pq.write_table(
        pa.table(
            {
                "uscc": codes,
                "name": [f"企业{k}" for k in range(n)],
                "region_code": rng.choice(["440303", "440304", "440305"], n),
                "district_zh": ["区"] * n,
                "district_en": ["D"] * n,
                "industry_section": rng.choice(["C", "F"], n),
                "industry_zh": ["业"] * n,
                "industry_en": ["I"] * n,
                "register_status": np.where(rng.random(n) < 0.1, "revoked", "active"),
                "probability": p,
                "grade_shenzhen": [GRADES[min(int(x * 6), 5)] for x in p],
                "as_of": pa.array([dt.date(2025, 12, 31)] * n, pa.date32()),
                "reasons": pa.array(
                    [[{"indicator": "x", "value": 1.0, "points": -3.0, "zh": "原因", "en": "reason"}]] * n,
                    pa.list_(REASON),
                ),
            }
        ),
        path,
    )


@settings(max_examples=12, deadline=None)
@given(
    n=st.integers(60, 400),
    seed=st.integers(0, 1000),
    budget=st.floats(0.03, 0.5),
    floor=st.sampled_from([0.0, 0.005, 0.02]),
    strata=st.booleans(),
    draw_seed=st.text(min_size=1, max_size=12).filter(str.strip),
    row=st.integers(0, 10_000),
    column=st.sampled_from(KEY_COLUMNS),
)
def test_same_inputs_same_bytes_and_one_changed_row_fails_verification(
    n, seed, budget, floor, strata, draw_seed, row, column
):
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        graded_table(tmp / "graded.parquet", n, seed)
        plan = parse_plan(
            {"plan_id": "prop", "budget": budget, "floor": floor, "strata": ["district"] if strata else []}
        )
        pv = preview(tmp / "graded.parquet", plan)
        write_plan(pv, draw_seed, tmp / "a")
        write_plan(preview(tmp / "graded.parquet", plan), draw_seed, tmp / "b")
        for name in ("list.csv", "list.parquet", "probabilities.parquet", "plan.json"):
            assert (
                hashlib.sha256((tmp / "a" / name).read_bytes()).digest()
                == hashlib.sha256((tmp / "b" / name).read_bytes()).digest()
            )
        assert verify(tmp / "a" / "list.csv", pv, draw_seed) == []
        listed = pd.read_csv(tmp / "a" / "list.csv", dtype=str, keep_default_na=False)
        if listed.empty:
            return
        i = row % len(listed)
        value = listed.at[i, column]
        listed.at[i, column] = {
            "uscc": "91440300000000000X",
            "inclusion_probability": "0.123456",
            "draw_value": "0.999",
        }.get(column, value + "x")
        listed.to_csv(tmp / "changed.csv", index=False)
        assert verify(tmp / "changed.csv", pv, draw_seed) != []
