"""Benchmark: an objection decided over HTTP → the enterprise's new grade served by `/v1/grade` (issue #15).

    .venv/bin/creditgrade demo --out data/demo          # a published month, its records, a champion
    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/objection_served.py --demo data/demo

Starts the real server (2 workers, API key, audit log) on a copy of the demo's monthly folder, picks
enterprises moved two grades down by an override with one source record, and for each: files an objection
against that record, decides it (upheld) and then asks `/v1/grade` every 20 ms until the corrected grade is
answered — whichever worker answers. Prints the decision's own time and the time from its answer to the
new grade being served. Target: served ≤ 2 s after the decision, without a restart.
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

import duckdb
import httpx
import numpy as np

from creditgrade.serving.auth import hash_key
from creditgrade.serving.launch import running_server

KEY = "bench-regulator-key"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--demo", type=Path, default=Path("data/demo"))
    p.add_argument("--mlruns", type=Path, default=Path("mlruns"))
    p.add_argument("--out", type=Path, default=Path("data/bench_objection"))
    p.add_argument("--objections", type=int, default=5)
    a = p.parse_args()
    shutil.rmtree(a.out, ignore_errors=True)
    shutil.copytree(a.demo / "monthly", a.out / "monthly", ignore=shutil.ignore_patterns("workflow.db"))
    month = sorted((a.out / "monthly" / "months").glob("*/graded/graded.parquet"))[-1]
    picked = duckdb.sql(
        f"SELECT uscc, split_part(override_source, '@', 1) FROM read_parquet('{month}') WHERE override_effect = "
        "'down2' AND grade_shenzhen <> grade_shenzhen_by_score AND register_status = 'active' "
        f"AND override_source NOT LIKE '%;%' ORDER BY uscc LIMIT {a.objections}"
    ).fetchall()
    env = {
        "CREDITGRADE_MLRUNS": str(a.mlruns.resolve()),
        "CREDITGRADE_MONTHLY": str((a.out / "monthly").resolve()),
        "CREDITGRADE_RECORDS": str((a.demo / "clean").resolve()),
        "CREDITGRADE_DATABASE_URL": f"sqlite:///{(a.out / 'workflow.db').resolve()}",
        "CREDITGRADE_API_KEYS": f"bench:regulator:{hash_key(KEY)}",
    }
    headers = {"X-API-Key": KEY}
    decided, served = [], []
    with (
        running_server(
            "--graded", str(month.parent), "--workers", "2", "--audit-log", str(a.out / "audit.log"), env=env
        ) as base,
        httpx.Client(base_url=base, headers=headers, timeout=120) as http,
    ):
        for uscc, record in picked:
            filed = http.post("/v1/objection/file", json={"uscc": uscc, "record": record, "claim": "bench"}).json()
            t = time.perf_counter()
            answer = http.post("/v1/objection/decide", json={"id": filed["id"], "uphold": True, "reason": "bench"})
            done = time.perf_counter()
            assert answer.status_code == 200, answer.text
            after = answer.json()["after"]["grade"]
            while True:
                g = http.post("/v1/grade", json={"uscc": uscc}).json()
                if g.get("correction") and g["grades"]["shenzhen"] == after:
                    break
                assert time.perf_counter() - done < 30, "not served within 30 s"
                time.sleep(0.02)
            decided.append(done - t)
            served.append(time.perf_counter() - done)
            print(f"  {filed['id']}: decided in {done - t:5.1f} s; new grade {after} served {served[-1]:.2f} s later")
    print(
        f"{len(served)} objections: decision {np.median(decided):.1f} s median; served after the decision: "
        f"median {np.median(served):.2f} s, max {max(served):.2f} s (target ≤ 2 s)"
    )


if __name__ == "__main__":
    main()
