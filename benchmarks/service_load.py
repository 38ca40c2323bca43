"""Benchmark: `creditgrade serve` on loopback under load, and a plain shap.TreeExplainer endpoint beside it.

    .venv/bin/python benchmarks/grade_scale.py --mlruns data/bench/mlruns          # the graded city, once
    .venv/bin/python benchmarks/service_load.py --mlruns data/bench/mlruns --graded data/bench/graded

Starts the real server (2 workers, API keys, audit log) on the full graded city and drives it with an
asyncio/aiohttp load generator on the same machine, each scenario bounded in requests and time:
lookups at 1 and 32 concurrent clients, score-and-explain (what-ifs on real enterprises' indicator
values) at 1 and 32, and 1,000 enterprises per batch lookup. Then serves benchmarks/shap_service.py
(a plain BentoML endpoint calling shap.TreeExplainer per request) and repeats the explain scenarios,
printing the ratios. Targets (issue #5): 0 errors; lookup ≥ 400 req/s and p99 ≤ 100 ms at 32 clients,
p99 ≤ 15 ms at 1; explain ≥ 300 req/s at 32, p50 ≤ 10 ms at 1; a 1,000-enterprise batch ≤ 200 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import time
from pathlib import Path

import aiohttp
import duckdb
import numpy as np

from creditgrade.serving.auth import hash_key
from creditgrade.serving.launch import running_server

KEY = "bench-regulator-key"
# Every benchmark client shares one key and one address: the per-key and per-address rates (1,000 and 2,000 a
# second per worker, a defence against one caller's flood; docs/hardening.md) are raised so that the service's
# capacity is what is measured, not the limiter.
UNLIMITED = {"CREDITGRADE_RATE_KEY": "100000", "CREDITGRADE_RATE_ADDRESS": "100000"}


async def drive_calls(
    calls: list[tuple[str, dict | None]],
    concurrency: int,
    max_requests: int,
    max_seconds: float,
    headers,
    method="POST",
) -> dict:
    """Send up to max_requests requests (cycling through (url, JSON body) calls) from `concurrency` clients for at
    most max_seconds: every latency, the error codes, the rate."""
    latencies: list[float] = []
    errors: dict[int, int] = {}
    sent = 0
    stop = time.perf_counter() + max_seconds

    async def client(session: aiohttp.ClientSession) -> None:
        nonlocal sent
        while sent < max_requests and time.perf_counter() < stop:
            url, body = calls[sent % len(calls)]
            sent += 1
            t = time.perf_counter()
            try:
                async with session.request(method, url, json=body, headers=headers) as r:
                    await r.read()
                    if r.status != 200:
                        errors[r.status] = errors.get(r.status, 0) + 1
            except aiohttp.ClientError:
                errors[-1] = errors.get(-1, 0) + 1
            latencies.append(time.perf_counter() - t)

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as session:
        start = time.perf_counter()
        await asyncio.gather(*(client(session) for _ in range(concurrency)))
        wall = time.perf_counter() - start
    return {"latencies": latencies, "errors": errors, "rps": len(latencies) / wall}


async def drive(
    url: str, bodies: list[dict], concurrency: int, max_requests: int, max_seconds: float, headers: dict
) -> dict:
    """Send up to max_requests POSTs (cycling through bodies) from `concurrency` clients for at most max_seconds."""
    r = await drive_calls([(url, b) for b in bodies], concurrency, max_requests, max_seconds, headers)
    lat = np.array(r["latencies"]) * 1000
    return {
        "requests": len(lat),
        "errors": sum(r["errors"].values()),
        "error_codes": r["errors"],
        "rps": r["rps"],
        "p50_ms": float(np.percentile(lat, 50)),
        "p99_ms": float(np.percentile(lat, 99)),
        "max_ms": float(lat.max()),
    }


def run(url, bodies, concurrency, n, seconds, headers, warm=50) -> dict:
    asyncio.run(drive(url, bodies, min(concurrency, 4), warm, 30, headers))  # warm-up, not counted
    return asyncio.run(drive(url, bodies, concurrency, n, seconds, headers))


def show(name: str, r: dict) -> None:
    print(
        f"  {name:<34} {r['requests']:>6} req  {r['rps']:>7.1f} req/s  p50 {r['p50_ms']:6.1f} ms  "
        f"p99 {r['p99_ms']:6.1f} ms  errors {r['errors']}{' ' + str(r['error_codes']) if r['errors'] else ''}"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mlruns", default="data/bench/mlruns")
    p.add_argument("--graded", default="data/bench/graded")
    p.add_argument("--out", type=Path, default=Path("data/bench/service"))
    p.add_argument("--seconds", type=float, default=30.0, help="Time bound of each scenario.")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    a = p.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    mlruns = str(Path(a.mlruns).resolve())
    from creditgrade.serving.graded import latest_folder

    folder = latest_folder(Path(a.graded))
    with duckdb.connect(str(folder / "creditgrade.duckdb"), read_only=True) as con:
        usccs = [r[0] for r in con.execute("SELECT uscc FROM graded USING SAMPLE 20000 ROWS (reservoir, 7)").fetchall()]
        cols = [d[0] for d in con.execute("SELECT * FROM indicators LIMIT 0").description][1:]
        rows = con.execute("SELECT * FROM indicators USING SAMPLE 2000 ROWS (reservoir, 8)").fetchall()
    records = [{c: v for c, v in zip(cols, r[1:])} for r in rows]
    rng = random.Random(0)
    lookups = [{"uscc": u} for u in usccs]
    whatifs = [{"records": [{"uscc": u, "indicators": {"d3_penalties_12m": rng.randint(0, 3)}}]} for u in usccs[:2000]]
    plain = [{"records": [{"indicators": r}]} for r in records]
    batches = [{"usccs": usccs[i : i + 1000]} for i in range(0, 20000, 1000)]
    headers = {"X-API-Key": KEY}
    env = {"CREDITGRADE_MLRUNS": mlruns, "CREDITGRADE_API_KEYS": f"bench:regulator:{hash_key(KEY)}", **UNLIMITED}
    results: dict[str, dict] = {}
    print(f"creditgrade serve ({a.workers} workers) on {folder}")
    with running_server(
        "--graded", str(folder), "--workers", str(a.workers), "--audit-log", str(a.out / "audit.log"), env=env
    ) as base:
        results["lookup_c1"] = run(f"{base}/v1/grade", lookups, 1, 3000, a.seconds, headers)
        results["lookup_c32"] = run(f"{base}/v1/grade", lookups, 32, 30000, a.seconds, headers)
        results["explain_c1"] = run(f"{base}/v1/explain", whatifs, 1, 3000, a.seconds, headers)
        results["explain_c32"] = run(f"{base}/v1/explain", whatifs, 32, 30000, a.seconds, headers)
        results["explain_plain_c1"] = run(f"{base}/v1/explain", plain, 1, 3000, a.seconds, headers)
        results["explain_plain_c32"] = run(f"{base}/v1/explain", plain, 32, 30000, a.seconds, headers)
        results["batch1000_c1"] = run(f"{base}/v1/grades", batches, 1, 200, a.seconds, headers, warm=len(batches))
    for k, r in results.items():
        show(k, r)
    import sys

    from creditgrade.serving.launch import free_port, running

    def other_service(target: str, scenarios: dict[str, tuple[str, list[dict], int, int]]) -> None:
        port = free_port()
        argv = [str(Path(sys.executable).parent / "bentoml"), "serve", target, "--port", str(port)]
        env = {
            "CREDITGRADE_MLRUNS": mlruns,
            "CREDITGRADE_WORKERS": str(a.workers),
            "OMP_NUM_THREADS": "1",
            "BENTOML_DO_NOT_TRACK": "true",
        }
        with running(argv, port, env=env, cwd=Path(__file__).resolve().parents[1]) as base:
            for name, (path, bodies, clients, n) in scenarios.items():
                results[name] = run(f"{base}{path}", bodies, clients, n, a.seconds, {})
                show(name, results[name])

    print("plain BentoML endpoint calling shap.TreeExplainer per request (benchmarks/shap_service.py)")
    shap_records = [{"records": [r]} for r in records]
    other_service(
        "benchmarks.shap_service:PlainShap",
        {"shap_c1": ("/v1/explain", shap_records, 1, 3000), "shap_c32": ("/v1/explain", shap_records, 32, 30000)},
    )
    print(
        f"ratios, ours / plain shap endpoint (same records): throughput at 32 clients "
        f"{results['explain_plain_c32']['rps'] / results['shap_c32']['rps']:.1f}×, p50 at 1 client "
        f"{results['shap_c1']['p50_ms'] / results['explain_plain_c1']['p50_ms']:.1f}× lower"
    )
    print("adaptive batching against a plain list endpoint, same explanation code (benchmarks/batched_service.py)")
    other_service(
        "benchmarks.batched_service:Batching",
        {
            "batched_c1": ("/batched", shap_records, 1, 3000),
            "batched_c32": ("/batched", shap_records, 32, 30000),
            "unbatched_c1": ("/plain", shap_records, 1, 3000),
            "unbatched_c32": ("/plain", shap_records, 32, 30000),
        },
    )
    (a.out / "service_benchmark.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
