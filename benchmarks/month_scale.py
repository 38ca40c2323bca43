"""Benchmark: the month-end run on the full simulated city, the first month and the one after (issue #15).

    .venv/bin/python benchmarks/city_scale.py --enterprises 2230000 --out data/bench      # the city, once
    .venv/bin/python benchmarks/train_scale.py --first-year 2021 --out data/bench          # a model, once
    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/month_scale.py --out data/bench

Promotes the model `train_scale.py` registered (if no champion yet), then runs `creditgrade month` for two
consecutive month-ends, each in its own process from the command line (start-up, the champion loaded from
MLflow, feeds, indicators, grading with explanations, comparisons, report, history and its lookup file):
the first month explains every enterprise; the second reuses the explanations of the enterprises the model
sees unchanged. Prints wall time and peak RSS of each, and what the second month reused. Target: the
month after the first ≤ 5 min.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

from measure import timed

MONTH = """
import sys
from creditgrade.serving.cli import main
sys.argv = ['creditgrade', 'month', '--data', '{data}', '--as-of', '{day}', '--root', '{root}']
main()
"""


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("data/bench"))
    p.add_argument("--months", nargs=2, default=["2025-10-31", "2025-11-30"])
    a = p.parse_args()
    os.environ["CREDITGRADE_MLRUNS"] = str((a.out / "mlruns").resolve())
    from creditgrade.training import tracking

    tracking.configure()
    if tracking.alias_version(tracking.CHAMPION) is None:
        tracking.promote(max(v.version for v in tracking.client().search_model_versions()))
    print(f"champion: {tracking.load().label}", flush=True)
    root = a.out / "monthly"
    shutil.rmtree(root, ignore_errors=True)
    figures = []
    for day in a.months:
        wall, rss = timed(MONTH.format(data=a.out / "clean", day=day, root=root))
        figures.append((day, wall, rss))
        print(f"month-end {day}: {wall:.1f} s, peak RSS {rss:.2f} GB", flush=True)
    month = json.loads((root / "months" / a.months[-1] / "month.json").read_text())
    print(f"second month: {month['enterprises']:,} enterprises, {month['warnings']:,} warnings")
    for day, wall, rss in figures:
        print(f"  {day}: {wall:6.1f} s  {rss:5.2f} GB")
    sys.exit(0)


if __name__ == "__main__":
    main()
