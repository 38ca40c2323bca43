"""Benchmark: the month-end run on Spark against the single-machine run, stage by stage (issue #18).

    .venv/bin/creditgrade demo --out data/demo          # a champion model (under mlruns/)
    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/month_spark.py --enterprises 100000 --out data/bench_spark

Simulates and ingests a city (kept under --out and reused), then runs two consecutive month-ends with each
engine — DuckDB on one machine, Spark local[1], Spark local[2] — each month in its own process, as
`creditgrade month` runs it (the champion loaded from MLflow, feeds, indicators, grading with explanations,
comparisons, report, history). Records when each stage starts (the run's progress events), the wall time,
and the peak memory of the whole process tree (driver, JVM, Python workers: RSS summed, sampled every
0.2 s). Checks that every engine wrote the same graded table, byte for byte, and prints each stage's cost
per million enterprises — the figures docs/scale-out.md sizes a national run from.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

RUN = """
import datetime as dt, json, sys, time
from pathlib import Path
from creditgrade.serving.month import run_month
from creditgrade.training import tracking
events = [(time.time(), "start-up")]
def progress(step, done, total):
    stage = step.split(":")[0] if not step.startswith("spark:") else ":".join(step.split(":")[:2])
    if not events or events[-1][1] != stage:
        events.append((time.time(), stage))
scoring = tracking.load()
run = run_month(Path({data!r}), dt.date.fromisoformat({day!r}), Path({root!r}), scoring, engine={engine!r},
                accept_drift=True, progress=progress)
events.append((time.time(), "end"))
Path({out!r}).write_text(json.dumps({{"events": events, "enterprises": run.enterprises,
                                      "reused": run.explanations_reused}}))
"""


def tree_peak(proc: subprocess.Popen, every: float = 0.2) -> dict:
    """Sample the RSS of `proc` and all its descendants until it exits: the peak of the sum (GB), and every
    sample (wall-clock time, GB; the driver's and the JVM's apart) to find which stage peaks."""
    peak = {"gb": 0.0, "samples": []}

    def sample() -> None:
        root = psutil.Process(proc.pid)
        while proc.poll() is None:
            total = jvm = 0
            try:
                for p in [root, *root.children(recursive=True)]:
                    try:
                        rss = p.memory_info().rss
                        total += rss
                        jvm += rss if p.name() == "java" else 0
                    except psutil.Error:
                        pass
                driver = root.memory_info().rss
            except psutil.Error:  # the run ended between two samples
                break
            peak["gb"] = max(peak["gb"], total / 2**30)
            peak["samples"].append((time.time(), total / 2**30, jvm / 2**30, driver / 2**30))
            time.sleep(every)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    return peak


def run_one(data: Path, day: str, root: Path, engine: str, master: str | None, out: Path) -> dict:
    env = {**os.environ}
    if master:
        env["CREDITGRADE_SPARK_MASTER"] = master
    code = RUN.format(data=str(data), day=day, root=str(root), engine=engine, out=str(out))
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.DEVNULL)
    peak = tree_peak(proc)
    if proc.wait() != 0:
        raise SystemExit(f"the month {day} on {engine} {master or ''} failed (exit {proc.returncode})")
    wall = time.perf_counter() - start
    result = json.loads(out.read_text())
    events = result["events"]
    stages, peaks = {}, {}
    for (t, name), (t_next, _) in zip(events, events[1:]):
        stages[name] = stages.get(name, 0.0) + (t_next - t)
        inside = [s for s in peak["samples"] if t <= s[0] < t_next]
        if inside:  # the stage's peak: the whole tree, and then the JVM and the driver's Python at that moment
            top = max(inside, key=lambda s: s[1])
            if top[1] > peaks.get(name, {}).get("tree", 0):
                peaks[name] = {"tree": round(top[1], 2), "jvm": round(top[2], 2), "driver": round(top[3], 2)}
    result["events"] = [(round(t - events[0][0], 2), name) for t, name in events]
    return {"wall": wall, "peak_gb": peak["gb"], "stages": stages, "peaks": peaks, **result}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("data/bench_spark"))
    p.add_argument("--enterprises", type=int, default=100_000)
    p.add_argument("--months", nargs="+", default=["2025-11-30", "2025-12-31"])
    p.add_argument(
        "--keep",
        action="store_true",
        help="Keep the months already published under --out (run only --months on top of them).",
    )
    p.add_argument("--engines", default="duckdb,spark:local[1],spark:local[2]")
    p.add_argument("--dirty-rate", type=float, default=0.002, help="Faults injected into the simulated feeds.")
    p.add_argument(
        "--data", type=Path, default=None, help="An ingested city to grade (default: simulated under --out)."
    )
    p.add_argument(
        "--mlruns", type=Path, default=None, help="The MLflow folder whose champion grades (default: settings')."
    )
    p.add_argument(
        "--discard",
        action="store_true",
        help="Remove each engine's months once their graded tables' digests are taken (≈ 2.3 GB a million a month).",
    )
    a = p.parse_args()
    if a.mlruns is not None:
        os.environ["CREDITGRADE_MLRUNS"] = str(a.mlruns.resolve())  # the month runs' processes inherit it
    from creditgrade.features.city.simulate import CityConfig, simulate_city
    from creditgrade.features.ingest import ingest

    clean = a.data or a.out / "clean"
    if a.data is not None and not (clean / "enterprises.parquet").exists():
        raise SystemExit(f"{clean} holds no ingested city (enterprises.parquet)")
    if not (clean / "enterprises.parquet").exists():
        t = time.perf_counter()
        simulate_city(CityConfig(a.enterprises, 7, dirty_rate=a.dirty_rate), a.out / "raw", overwrite=True)
        ingest(a.out / "raw", clean, overwrite=True)
        print(f"city of {a.enterprises:,} simulated and ingested in {time.perf_counter() - t:.0f} s", flush=True)
    results: dict[str, list[dict]] = {}
    for spec in a.engines.split(","):
        engine, _, master = spec.partition(":")
        root = a.out / f"monthly-{spec.replace(':', '-').replace('[', '').replace(']', '')}"
        if not a.keep:
            shutil.rmtree(root, ignore_errors=True)
        results[spec] = []
        for day in a.months:
            r = run_one(clean, day, root, engine, master or None, a.out / "run.json")
            r["graded"] = hashlib.sha256((root / "months" / day / "graded" / "graded.parquet").read_bytes()).hexdigest()
            results[spec].append(r)
            stages = ", ".join(
                f"{k} {v:.1f} s" + (f" (peak {r['peaks'][k]['tree']:.1f} GB)" if k in r["peaks"] else "")
                for k, v in r["stages"].items()
            )
            print(
                f"{spec:<16} {day}: {r['wall']:6.1f} s, peak {r['peak_gb']:.2f} GB (process tree); "
                f"{r['enterprises']:,} enterprises, {r['reused']:,} explanations reused; {stages}",
                flush=True,
            )
        if a.discard:
            shutil.rmtree(root)
    for n, day in enumerate(a.months):
        digests = {spec: rs[n]["graded"] for spec, rs in results.items()}
        same = len(set(digests.values())) == 1
        print(f"{day}: graded table byte-identical across engines: {'yes' if same else 'NO ' + str(digests)}")
    print("cost per million enterprises (seconds, the last month run; stages as the run reports them):")
    for spec, rs in results.items():
        r = rs[-1]
        per = 1e6 / r["enterprises"]
        print(
            f"  {spec:<16} total {r['wall'] * per:7.0f} s/M  "
            + "  ".join(f"{k} {v * per:.0f}" for k, v in r["stages"].items())
        )
    (a.out / "month_spark.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
