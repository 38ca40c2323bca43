"""Benchmark: plain lookups of one graded month at 1 and 32 clients, for comparing two versions of the store.

    .venv/bin/python benchmarks/service_ab.py new
    git show 4861670:serving/graded.py > serving/graded.py     # the store that copied the city into each worker
    .venv/bin/python benchmarks/service_ab.py old
    git checkout serving/graded.py

Starts the real server (2 workers, API key, audit log) on the demo's latest published month and drives
`POST /v1/grade` from the asyncio load generator on the same machine (1,500 requests at 1 client, 6,000 at
32, each at most 20 s), printing requests a second and the p50 and p99 latency, labelled with the argument.
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
import tempfile
from pathlib import Path

import duckdb
import numpy as np
from service_load import UNLIMITED, drive_calls  # benchmarks/ is the script's folder

from creditgrade.serving.auth import hash_key
from creditgrade.serving.launch import running_server

KEY = "bench-regulator-key"


def main() -> None:
    label = sys.argv[1] if len(sys.argv) > 1 else "this checkout"
    folder = sorted(Path("data/demo/monthly/months").glob("*/graded"))[-1]
    codes = [r[0] for r in duckdb.sql(f"SELECT uscc FROM read_parquet('{folder / 'graded.parquet'}')").fetchall()]
    random.Random(0).shuffle(codes)
    tmp = Path(tempfile.mkdtemp(prefix="creditgrade-ab-"))
    env = {
        "CREDITGRADE_MLRUNS": os.path.abspath("mlruns"),
        "CREDITGRADE_MONTHLY": str(tmp / "monthly"),
        "CREDITGRADE_API_KEYS": f"bench:regulator:{hash_key(KEY)}",
        "CREDITGRADE_DATABASE_URL": f"sqlite:///{tmp / 'workflow.db'}",
        **UNLIMITED,
    }
    headers = {"X-API-Key": KEY}
    with running_server(
        "--graded", str(folder), "--workers", "2", "--audit-log", str(tmp / "audit.log"), env=env
    ) as base:
        calls = [(f"{base}/v1/grade", {"uscc": c}) for c in codes]
        asyncio.run(drive_calls(calls[:200], 4, 200, 30, headers))  # warm-up
        for clients, n in ((1, 1500), (32, 6000)):
            r = asyncio.run(drive_calls(calls, clients, n, 20, headers))
            ms = np.array(r["latencies"]) * 1000
            print(
                f"{label}: {clients:>2} client(s) {r['rps']:6.0f} req/s  p50 {np.percentile(ms, 50):6.2f} ms  "
                f"p99 {np.percentile(ms, 99):6.2f} ms  errors {sum(r['errors'].values())}",
                flush=True,
            )


if __name__ == "__main__":
    main()
