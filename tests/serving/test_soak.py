"""The soak: the real server (two workers) on loopback, 64 clients asking a mix of lookups, batch lookups,
what-ifs, histories, early warnings, spot-check plans and objections for a minute (CREDITGRADE_SOAK_SECONDS
for longer; `make bench` runs ten): no error, every endpoint's p99 reported, and no worker's memory more than
10% above what it was after the warm-up."""

from __future__ import annotations

import os
import random

import pyarrow.parquet as pq
import pytest

from creditgrade.serving.batch import GRADED
from creditgrade.serving.soak import Call, soak

SECONDS = float(os.environ.get("CREDITGRADE_SOAK_SECONDS", "60"))
pytestmark = pytest.mark.slow


def mix(live, file_objections: bool = True) -> list:
    month = live.monthly / "months" / "2025-12-31" / "graded" / GRADED
    graded = pq.read_table(month, columns=["uscc", "override_source", "register_status"]).to_pandas()
    rng = random.Random(7)
    usccs = rng.sample(list(graded.uscc), 400)
    regulator = {"X-API-Key": live.keys["regulator"]}
    planner = {"X-API-Key": live.keys["planner"]}
    disputed = graded[graded.override_source.notna() & (graded.register_status == "active")]
    records = sorted({(u, s.split("@")[0]) for u, s in zip(disputed.uscc, disputed.override_source)})
    filings = iter(
        Call(
            "/v1/objection/file",
            "POST",
            "/v1/objection/file",
            {"uscc": u, "record": r, "claim": "Soak: listed in error"},
            regulator,
        )
        for u, r in records
    )
    calls: list = []
    for n, u in enumerate(usccs):
        calls += [
            Call("/v1/grade", "POST", "/v1/grade", {"uscc": u}, regulator),
            Call("/v1/history/{uscc}", "GET", f"/v1/history/{u}", None, regulator),
            Call(
                "/v1/explain",
                "POST",
                "/v1/explain",
                {"records": [{"uscc": u, "indicators": {"d3_penalties_12m": n % 4}}]},
                regulator,
            ),
        ]
        if n % 4 == 0:
            calls.append(Call("/v1/grades", "POST", "/v1/grades", {"usccs": usccs[n : n + 100]}, regulator))
            calls.append(Call("/v1/objections", "POST", "/v1/objections", {"uscc": u}, regulator))
        if n % 10 == 0:
            calls.append(Call("/v1/warnings", "POST", "/v1/warnings", {"limit": 50}, regulator))
            if file_objections:
                calls.append(filings)
        if n % 20 == 0:
            plan = {"plan_id": f"soak-{n}", "budget": 0.03, "floor": 0.005}
            calls.append(Call("/v1/plan", "POST", "/v1/plan", {"plan": plan, "seed": str(n)}, planner))
    return calls


def test_64_clients_for_a_minute_no_error_and_no_memory_growth(live):
    report = soak(
        live.base,
        mix(live),
        server_pid=live.pid,
        clients=64,
        seconds=SECONDS,
        warmup=10,
        warmup_mix=mix(live, file_objections=False),  # each record can be disputed once: kept for the count
    )
    said = "\n".join(report.lines())
    print(said)
    log = live.log.read_text(errors="replace").splitlines() if live.log.exists() else []
    errors = [line for line in log if "Error" in line or "error" in line]
    assert report.error_count == 0, said + "\nserver log:\n" + "\n".join(errors[-30:])
    asked = set(report.latency_ms)
    assert asked >= {"/v1/grade", "/v1/history/{uscc}", "/v1/explain", "/v1/grades", "/v1/objections", "/v1/plan"}
    assert "/v1/objection/file" in asked and "/v1/warnings" in asked
    assert len(report.memory_mb) >= 2, report.memory_mb  # the two workers (and their helpers) were watched
    assert report.memory_growth() <= 0.10, "\n".join(report.lines())
