"""Benchmark: one enterprise's grade history, 24 months of a 2.23 M-enterprise city (issue #15).

    .venv/bin/creditgrade demo --out data/demo          # a champion model and a published month to serve
    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/history_lookup.py --out data/bench_history

Synthesises the history (rows as the month-end run writes them, valid USCCs, random grades and scores;
kept under --out and reused), rewrites the lookup file as the month-end run does and times it, then times
lookups side by side in
one process: the lookup file (`serving.history.Lookup`) against a DuckDB query over the 24 month files
(`History.of`, the way without it). Then starts the real server (2 workers, API key, audit log) on the
demo's champion and published month with this history, and drives `GET /v1/history/{uscc}` from an
asyncio/aiohttp load generator on the same machine at 1 and 32 clients, beside `POST /v1/history` and the
plain grade lookup `POST /v1/grade` (the service's baseline). Targets: p99 ≤ 15 ms at 1 client;
≥ 400 req/s and p99 ≤ 100 ms at 32 clients; 0 errors.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
from service_load import UNLIMITED, drive_calls  # benchmarks/ is the script's folder
from stdnum.cn import uscc as stdnum_uscc

from creditgrade.models.scoring import SCHEME_ORDER
from creditgrade.serving.auth import hash_key
from creditgrade.serving.history import LOOKUP, History, Lookup, _lookup_months
from creditgrade.serving.launch import running_server

KEY = "bench-regulator-key"
ALPHABET = np.array(list("0123456789ABCDEFGHJKLMNPQRTUWXY"))
GRADES = {"shenzhen": ["A+", "A", "B", "C", "D", "E"], "pingshan": ["A", "B", "C", "D"]}


def usccs(n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    bodies = {"".join(r) for r in ALPHABET[rng.integers(0, len(ALPHABET), size=(int(n * 1.01) + 10, 9))]}
    codes = [f"91440300{b}" for b in sorted(bodies)[:n]]  # sorted first: a set's order varies by process
    return [c + stdnum_uscc.calc_check_digit(c) for c in codes]


def synthesise(history: History, n: int, months: int) -> list[str]:
    codes = usccs(n)
    end = dt.date(2025, 12, 31)
    days = []
    for k in range(months):
        y, m = divmod(end.year * 12 + end.month - 1 - k, 12)
        first_next = dt.date(y + (m + 1) // 12, (m + 1) % 12 + 1, 1)
        days.append(first_next - dt.timedelta(days=1))
    rng = np.random.default_rng(1)
    for day in sorted(days):
        if history.path(day).exists():
            continue
        p = rng.beta(1, 12, n)
        columns = {
            "uscc": codes,
            "register_status": np.where(rng.random(n) < 0.7, "active", "revoked"),
            "probability": p,
            "score": np.round(1000 * (1 - p), 1),
            **{f"grade_{s}": rng.choice(GRADES.get(s, GRADES["shenzhen"]), n) for s in SCHEME_ORDER},
            "grade_shenzhen_by_score": rng.choice(GRADES["shenzhen"], n),
            "override_rule": np.where(rng.random(n) < 0.02, "abnormal_list", None),
            "override_source": np.where(rng.random(n) < 0.02, "abnormal_list:ABN000001@2025-01-01", None),
            "model_version": np.full(n, "enterprise-credit-risk@7"),
            "catalog_version": np.full(n, "2025.12"),
        }
        history.write(History.rows(pa.table(columns), day), day)
        print(f"  wrote {day} ({n:,} enterprises)", flush=True)
    return codes


def percentiles(seconds: list[float]) -> str:
    ms = np.array(seconds) * 1000
    return f"p50 {np.percentile(ms, 50):6.2f} ms  p99 {np.percentile(ms, 99):6.2f} ms  max {ms.max():6.1f} ms"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("data/bench_history"))
    p.add_argument("--enterprises", type=int, default=2_230_000)
    p.add_argument("--months", type=int, default=24)
    p.add_argument("--demo", type=Path, default=Path("data/demo"), help="A `creditgrade demo` folder to serve.")
    p.add_argument("--mlruns", type=Path, default=Path("mlruns"), help="The demo's MLflow folder.")
    p.add_argument("--seconds", type=float, default=30.0)
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    a = p.parse_args()
    history = History(a.out / "monthly" / "history")
    print(f"history: {a.enterprises:,} enterprises × {a.months} months under {history.root}")
    codes = synthesise(history, a.enterprises, a.months)
    if _lookup_months(history.root / LOOKUP) != history.months():
        t = time.perf_counter()
        history.write_lookup()  # as the month-end run does once the month is published
        size = (history.root / LOOKUP).stat().st_size / 2**20
        print(f"lookup file rewritten in {time.perf_counter() - t:.1f} s ({size:,.0f} MB)")

    sample = random.Random(0).sample(codes, 2000)
    lookup = Lookup(history)
    lookup.of(sample[0])  # open the file, read its footer
    fast, slow = [], []
    for i, code in enumerate(sample):
        t = time.perf_counter()
        rows = lookup.of(code)
        fast.append(time.perf_counter() - t)
        assert len(rows) == a.months, (code, len(rows))
        if i < 200:
            t = time.perf_counter()
            history.of(code)
            slow.append(time.perf_counter() - t)
    again = []
    for code in sample:  # the same enterprises again: their pages now in the page cache
        t = time.perf_counter()
        lookup.of(code)
        again.append(time.perf_counter() - t)
    print(f"in process, lookup file:       {percentiles(fast)}  (2,000 enterprises, first read)")
    print(f"in process, lookup file again: {percentiles(again)}  (the same 2,000, in the page cache)")
    print(f"in process, DuckDB over months: {percentiles(slow)}  (200 enterprises)")

    months = sorted((a.demo / "monthly" / "months").glob("*/graded"))
    env = {
        "CREDITGRADE_MLRUNS": str(a.mlruns.resolve()),
        "CREDITGRADE_MONTHLY": str((a.out / "monthly").resolve()),
        "CREDITGRADE_API_KEYS": f"bench:regulator:{hash_key(KEY)}",
        "CREDITGRADE_DATABASE_URL": f"sqlite:///{(a.out / 'workflow.db').resolve()}",
        **UNLIMITED,
    }
    headers = {"X-API-Key": KEY}
    print(f"creditgrade serve ({a.workers} workers) on {months[-1]}, history {history.root}")
    with running_server(
        "--graded", str(months[-1]), "--workers", str(a.workers), "--audit-log", str(a.out / "audit.log"), env=env
    ) as base:
        sample = random.Random(1).sample(codes, 20000)
        graded = duckdb.sql(f"SELECT uscc FROM read_parquet('{months[-1] / 'graded.parquet'}')").fetchall()
        scenarios = {
            "GET /v1/history/{uscc}": ("GET", [(f"{base}/v1/history/{c}", None) for c in sample]),
            "POST /v1/history": ("POST", [(f"{base}/v1/history", {"uscc": c}) for c in sample]),
            "POST /v1/grade (baseline)": ("POST", [(f"{base}/v1/grade", {"uscc": c}) for (c,) in graded]),
        }
        for name, (method, calls) in scenarios.items():
            asyncio.run(drive_calls(calls[:200], 4, 200, 30, headers, method))  # warm-up: every worker opens the file
            for clients, n in ((1, 3000), (32, 30000)):
                r = asyncio.run(drive_calls(calls, clients, n, a.seconds, headers, method))
                print(
                    f"  {name:<26} at {clients:>2} client(s): {len(r['latencies']):>6} req  "
                    f"{r['rps']:7.1f} req/s  {percentiles(r['latencies'])}  errors {sum(r['errors'].values())}"
                    f"{' ' + str(r['errors']) if r['errors'] else ''}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
