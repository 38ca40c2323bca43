"""The service bounded under abuse: token buckets, body limit, non-finite and out-of-range values refused,
and metrics labelled by route — a flood of unknown paths does not grow /metrics (real server)."""

from __future__ import annotations

import json

import httpx
import pytest

from creditgrade.features import catalog
from creditgrade.serving.auth import add_key
from creditgrade.serving.launch import running_server
from creditgrade.serving.limits import Buckets
from creditgrade.serving.schemas import WhatIf


def test_a_bucket_allows_a_burst_and_then_the_rate():
    now = [0.0]
    b = Buckets(10, clock=lambda: now[0])
    assert [b.take("a") for _ in range(20)] == [0.0] * 20  # two seconds' worth at once
    assert b.take("a") == pytest.approx(0.1)  # then one every 0.1 s
    assert b.take("b") == 0.0  # another key has its own bucket
    now[0] += 0.5
    assert [b.take("a") == 0.0 for _ in range(6)] == [True] * 5 + [False]


def test_every_indicator_has_a_finite_range_and_what_ifs_keep_to_it():
    for i in catalog.INDICATORS:
        low, high = i.valid_range
        assert -1e12 < low < high < 1e17, i.id
    for bad in (float("inf"), float("nan"), 1e309, 2e7):
        with pytest.raises(ValueError, match="d3_penalties_12m"):
            WhatIf.model_validate_json(json.dumps({"indicators": {"d3_penalties_12m": bad}}))


@pytest.mark.slow
def test_a_flood_is_bounded_and_metrics_stay_small(graded_city, tmp_path):
    keys = tmp_path / "keys.json"
    key = add_key(keys, "unit-a", "regulator")
    env = {"CREDITGRADE_MLRUNS": str(graded_city.mlruns), "CREDITGRADE_API_KEYS": "", "CREDITGRADE_RATE_NO_KEY": "20"}
    args = ["--graded", str(graded_city.latest), "--keys", str(keys), "--audit-log", str(tmp_path / "a.log")]
    import pyarrow.parquet as pq

    uscc = pq.read_table(graded_city.latest / "graded.parquet", columns=["uscc"])["uscc"][0].as_py()
    with running_server(*args, "--workers", "1", env=env) as base, httpx.Client(base_url=base, timeout=10) as http:
        statuses = [http.get(f"/no/such/path/{n}").status_code for n in range(400)]
        for n in range(50):
            http.get(f"/v1/history/91440300MA5DC1YU{n:02d}", headers={"X-API-Key": key})
        metrics = http.get("/metrics").text
        big = http.post(
            "/v1/explain", content=b"x" * 5_000_000, headers={"X-API-Key": key, "Content-Type": "application/json"}
        )
        infinite = http.post(
            "/v1/explain",
            content=b'{"records": [{"indicators": {"d3_penalties_12m": Infinity}}]}',
            headers={"X-API-Key": key, "Content-Type": "application/json"},
        )
        huge = http.post(
            "/v1/explain",
            content=b'{"records": [{"indicators": {"d1_age_years": 1e309}}]}',
            headers={"X-API-Key": key, "Content-Type": "application/json"},
        )
        still = http.post("/v1/grade", json={"uscc": uscc}, headers={"X-API-Key": key}).status_code
    assert statuses.count(401) >= 20 and statuses.count(429) > 200  # the burst, then the rate
    assert "/no/such/path" not in metrics and "91440300MA5DC1YU" not in metrics
    assert 'endpoint="/{unknown}"' in metrics and 'endpoint="/v1/history/{uscc}"' in metrics
    assert len(metrics) < 200_000
    assert big.status_code == 413 and big.json()["code"] == "too_large"
    assert infinite.status_code == 400 and "d3_penalties_12m" in infinite.text
    assert huge.status_code == 400 and "d1_age_years" in huge.text
    assert still == 200
    audited = [json.loads(line) for line in (tmp_path / "a.log").read_text().splitlines()]
    assert sum(1 for e in audited if e.get("refused") == 401) == statuses.count(401)  # 429s counted, not logged
