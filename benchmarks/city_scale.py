"""Benchmark: simulate a Shenzhen-size city (2.23 M enterprises, 2021) and ingest it.

Each stage runs as its own process so its wall time and peak RSS are its own:

    .venv/bin/python benchmarks/city_scale.py --enterprises 2230000 --out data/bench
    .venv/bin/python benchmarks/city_scale.py --start-year 2016 --stages simulate --out data/bench10y

Targets (issue #2, 2-core / 24 GB machine): simulate ≤ 10 min and ≤ 12 GB; ingest ≤ 5 min. The
second command simulates ten years instead of six: its peak RSS shows memory does not grow with
the length of the history (the simulator keeps only the last three years of events in memory).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from measure import timed

STAGES = {
    "simulate": "from creditgrade.features.city.simulate import CityConfig, simulate_city; from pathlib import Path; "
    "simulate_city(CityConfig(enterprises={n}, seed={seed}, start_year={start}), Path(r'{raw}'), "
    "overwrite=True)",
    "ingest": "from creditgrade.features.ingest import ingest; from pathlib import Path; "
    "ingest(Path(r'{raw}'), Path(r'{clean}'), overwrite=True)",
}
TARGETS = {"simulate": (600, 12.0), "ingest": (300, None)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enterprises", type=int, default=2_230_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("data/bench"))
    parser.add_argument("--start-year", type=int, default=2020)
    parser.add_argument("--stages", default="simulate,ingest", help="comma-separated: simulate, ingest")
    args = parser.parse_args()
    raw, clean = args.out / "raw", args.out / "clean"
    print(f"{args.enterprises:,} enterprises, {args.start_year}–2025, seed {args.seed}, {os.cpu_count()} cores")
    results = {}
    stages = args.stages.split(",")
    for stage, template in STAGES.items():
        if stage not in stages:
            continue
        wall, rss = timed(
            template.format(n=args.enterprises, seed=args.seed, raw=raw, clean=clean, start=args.start_year)
        )
        limit_s, limit_gb = TARGETS[stage]
        ok = wall <= limit_s and (limit_gb is None or rss <= limit_gb)
        results[stage] = {"wall_s": round(wall, 1), "peak_rss_gb": round(rss, 2), "meets_target": ok}
        print(
            f"{stage:9s} {wall:8.1f} s  peak RSS {rss:6.2f} GB  target ≤ {limit_s} s"
            + (f", ≤ {limit_gb} GB" if limit_gb else "")
            + f"  {'OK' if ok else 'MISSED'}"
        )
    manifest = json.loads((raw / "manifest.json").read_text())
    report = json.loads((clean / "ingest_report.json").read_text()) if "ingest" in stages else {"tables": []}
    ingested = {t["table"]: t for t in report["tables"]}
    print(f"{'table':22s} {'rows':>12s} {'accepted':>12s} {'quarantined':>12s}")
    for name, rows in manifest["rows"].items():
        t = ingested.get(name, {"accepted": 0, "quarantined": 0})
        print(f"{name:22s} {rows:12,d} {t['accepted']:12,d} {t['quarantined']:12,d}")
    total = sum(manifest["rows"].values())
    print(f"{'all tables':22s} {total:12,d}")
    results["rows"] = manifest["rows"]
    (args.out / "benchmark.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
