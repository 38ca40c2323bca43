"""The running service probed as regulators, planners and attackers would: `creditgrade serve` (two workers)
on loopback, started once for this file (`live`, tests/serving/conftest.py).

Schema fuzzing and roles: schemathesis generates requests for every operation of the service's own OpenAPI
document, with no key and with a key of each role, and checks every answer against the document (no 5xx,
the status documented, the body matching its schema); and no operation answers anyone below its role.

The soak: 64 clients asking a mix of lookups, batch lookups, what-ifs, histories, early warnings, spot-check
plans and objections for a minute (CREDITGRADE_SOAK_SECONDS for longer; `make bench` runs ten): no error,
every endpoint's p99 reported, and no worker's memory more than 10% above what it was after the warm-up.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import httpx
import pyarrow.parquet as pq
import pytest

from creditgrade.serving.batch import GRADED
from creditgrade.serving.soak import Call, soak

EXAMPLES = int(os.environ.get("CREDITGRADE_FUZZ_EXAMPLES", "15"))
SECONDS = float(os.environ.get("CREDITGRADE_SOAK_SECONDS", "60"))
pytestmark = pytest.mark.slow

# The least role each operation needs, stated here rather than read from the service: a new operation fails
# this test until its role is decided.
NEEDS = {
    ("post", "/v1/grade"): "regulator",
    ("post", "/v1/grades"): "regulator",
    ("post", "/v1/explain"): "regulator",
    ("post", "/v1/model"): "regulator",
    ("post", "/v1/history"): "regulator",
    ("get", "/v1/history/{uscc}"): "regulator",
    ("post", "/v1/recourse"): "regulator",
    ("get", "/v1/recourse/{uscc}"): "regulator",
    ("post", "/v1/warnings"): "regulator",
    ("post", "/v1/objection/file"): "regulator",
    ("post", "/v1/objection/decide"): "regulator",
    ("post", "/v1/objections"): "regulator",
    ("post", "/v1/plan"): "planner",
    ("post", "/v1/falsereg"): "planner",
    ("post", "/v1/reload"): "admin",
}
ROLES = ("regulator", "planner", "admin")
OPEN = {"/healthz", "/livez", "/readyz", "/metrics", "/docs.json", "/", "/docs"}


def _operations(document: dict) -> set[tuple[str, str]]:
    return {
        (method, path)
        for path, item in document["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete") and path not in OPEN
    }


def test_every_operation_refuses_callers_below_its_role(live):
    document = httpx.get(f"{live.base}/docs.json", timeout=10).json()
    assert _operations(document) == set(NEEDS), "an operation without a stated role, or a role for none"
    with httpx.Client(base_url=live.base, timeout=30) as http:
        for (method, path), needs in sorted(NEEDS.items()):
            if path == "/v1/reload":
                continue  # asked below only by those who may not: an admin's reload is tested in test_service
            url = path.replace("{uscc}", "91440300MA5DC1YU4Q")

            def ask(headers, method=method, url=url):
                return http.get(url, headers=headers) if method == "get" else http.post(url, json={}, headers=headers)

            assert ask({}).status_code == 401, path
            assert ask({"X-API-Key": "not-a-key"}).status_code == 401, path
            for role in ROLES:
                status = ask({"X-API-Key": live.keys[role]}).status_code
                if ROLES.index(role) < ROLES.index(needs):
                    assert status == 403, (path, role, status)
                else:
                    assert status not in (401, 403), (path, role, status)
        for role in ("regulator", "planner"):
            assert http.post("/v1/reload", json={}, headers={"X-API-Key": live.keys[role]}).status_code == 403


@pytest.mark.parametrize("role", [None, *ROLES])
def test_schemathesis_finds_no_server_error_and_no_mismatch_with_the_document(live, role, tmp_path):
    st = Path(sys.executable).parent / "st"
    headers = ["--header", f"X-API-Key: {live.keys[role]}"] if role else []
    argv = [
        str(st),
        "run",
        f"{live.base}/docs.json",
        "--checks",
        "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
        "--max-examples",
        str(EXAMPLES),
        "--exclude-path",
        "/v1/reload",  # reloading the model under the other suites is tested on its own
        "--seed",
        "1",
        "--report",
        "junit",
        "--report-dir",
        str(tmp_path),
        *headers,
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=900, cwd=tmp_path)
    said = done.stdout[-30000:] + done.stderr[-2000:]
    assert done.returncode == 0, said
    assert "No issues found" in said or " passed" in said, said
    reports = list(tmp_path.glob("*.xml"))
    assert reports and "<testcase" in reports[0].read_text(), json.dumps([str(p) for p in tmp_path.iterdir()])


CLAIM = "Soak: listed in error"


def mix(live, file_objections: bool = True) -> list:
    month = live.monthly / "months" / "2025-12-31" / "graded" / GRADED
    graded = pq.read_table(month, columns=["uscc", "override_source", "register_status"]).to_pandas()
    rng = random.Random(7)
    usccs = rng.sample(list(graded.uscc), 400)
    regulator = {"X-API-Key": live.keys["regulator"]}
    planner = {"X-API-Key": live.keys["planner"]}
    disputed = graded[graded.override_source.notna() & (graded.register_status == "active")]
    # Records another test on this server already disputed (the console's tests uphold one, which withdraws
    # it): filing again is rightly refused, so the soak files only records nobody has disputed yet.
    listed = httpx.post(f"{live.base}/v1/objections", json={}, headers=regulator, timeout=60)
    assert listed.status_code == 200, listed.text
    already = {(o["uscc"], o["record"]) for o in listed.json()["objections"]}
    records = sorted({(u, s.split("@")[0]) for u, s in zip(disputed.uscc, disputed.override_source)} - already)
    filings = iter(
        Call(
            "/v1/objection/file",
            "POST",
            "/v1/objection/file",
            {"uscc": u, "record": r, "claim": CLAIM},
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
    regulator = {"X-API-Key": live.keys["regulator"]}
    listed = httpx.post(f"{live.base}/v1/objections", json={"status": "open"}, headers=regulator, timeout=60)
    for o in listed.json()["objections"]:  # the soak's filings rejected: other tests may dispute those records
        if o["claim"] == CLAIM:
            body = {"id": o["id"], "uphold": False, "reason": "soak over"}
            decided = httpx.post(f"{live.base}/v1/objection/decide", json=body, headers=regulator, timeout=60)
            assert decided.status_code == 200, decided.text
    log = live.log.read_text(errors="replace").splitlines() if live.log.exists() else []
    errors = [line for line in log if "Error" in line or "error" in line]
    assert report.error_count == 0, said + "\nserver log:\n" + "\n".join(errors[-30:])
    asked = set(report.latency_ms)
    assert asked >= {"/v1/grade", "/v1/history/{uscc}", "/v1/explain", "/v1/grades", "/v1/objections", "/v1/plan"}
    assert "/v1/objection/file" in asked and "/v1/warnings" in asked
    assert len(report.memory_mb) >= 2, report.memory_mb  # the two workers (and their helpers) were watched
    assert report.memory_growth() <= 0.10, "\n".join(report.lines())
