"""Benchmark: the equal-treatment report on the full simulated city (issue #19 target: ≤ 60 s).

    .venv/bin/python benchmarks/city_scale.py --enterprises 2230000 --out data/bench        # the city, once
    .venv/bin/python benchmarks/train_scale.py --first-year 2021 --out data/bench            # a model, once
    .venv/bin/python benchmarks/grade_scale.py --features data/bench/train_panel.parquet     # graded, once
    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/equal_treatment.py

In its own process, as `creditgrade equal-treatment` runs it: the champion registered in `--mlruns` loaded
(its calibration per group on the test period, measured at training), the graded city read, the plan's
inclusion probabilities computed for every operating enterprise (the default 3% risk-weighted plan, and a
plan stratified by district), the register's groups joined, the treatment per group and the report written
(JSON, Markdown, HTML). Wall time and peak RSS of each, and the flagged groups. Also times, side by side, the
part training adds: the calibration per group on the full city's test inspections.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from measure import timed

REPORT = """
import os, json, time
os.environ['CREDITGRADE_MLRUNS'] = '{mlruns}'
from creditgrade.training import tracking
from creditgrade.serving import equity
from creditgrade.models.planning.plan import Plan
tracking.configure()
scoring = tracking.load()
plan = {plan}
t = time.perf_counter()
report = equity.month_treatment('{graded}', '{data}', scoring, plan)
equity.write(report, '{out}')
flagged = equity.flagged(report)
print(json.dumps({{'report_s': round(time.perf_counter() - t, 2), 'groups': len(report['treatment']),
                  'calibration_groups': len(report['calibration']), 'plan': report['plan'],
                  'flagged': [(f['kind'], f['en'], f['flag']) for f in flagged]}}, ensure_ascii=False))
"""
CALIBRATION = """
import os, time, datetime as dt, json
import numpy as np, pandas as pd, pyarrow.parquet as pq
os.environ['CREDITGRADE_MLRUNS'] = '{mlruns}'
from creditgrade.features import catalog
from creditgrade.features.pipeline import read_features
from creditgrade.training import tracking
from creditgrade.training.dataset import design_matrix, labelled_rows
from creditgrade.training.train import equal_treatment, load_checks
tracking.configure()
scoring = tracking.load()
test = dt.date.fromisoformat(scoring.evaluation['periods']['test'])
frame = read_features('{panel}', as_of=[test], columns=['uscc', 'as_of', 'register_status', *catalog.RISK_IDS])
rows = labelled_rows(frame.to_pandas(), load_checks('{data}'), test)
p = scoring.model.predict_proba(design_matrix(rows))
t = time.perf_counter()
fair = equal_treatment('{data}', rows, p, 0.25)
print(json.dumps({{'calibration_s': round(time.perf_counter() - t, 2), 'test_rows': len(rows),
                  'groups': len(fair['groups']), 'flagged': [g['en'] for g in fair['groups'] if g['flag']]}}))
"""


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mlruns", default="data/bench/mlruns")
    p.add_argument("--data", default="data/bench/clean")
    p.add_argument("--graded", default="data/bench/graded/2025-12-31")
    p.add_argument(
        "--panel", default="data/bench/train_panel.parquet", help="The training panel; '' skips the calibration's time."
    )
    p.add_argument("--out", type=Path, default=Path("data/bench/equal_treatment"))
    a = p.parse_args()
    args = {"mlruns": Path(a.mlruns).resolve(), "graded": a.graded, "data": a.data}
    result = {}
    for name, plan in (
        ("default", "None"),
        ("by_district", "Plan(plan_id='by-district', budget=0.03, strata=['district'])"),
    ):
        wall, rss = timed(REPORT.format(**args, plan=plan, out=a.out / name))
        print(f"equal-treatment report, plan {name}: {wall:.1f} s wall (with start-up and model load), "
              f"peak RSS {rss:.2f} GB (target ≤ 60 s) {'OK' if wall <= 60 else 'MISSED'}")  # fmt: skip
        result[name] = {"wall_s": round(wall, 1), "peak_rss_gb": round(rss, 2)}
    if a.panel:
        wall, rss = timed(CALIBRATION.format(**args, panel=a.panel))
        print(f"calibration per group at training, on the test inspections (with reading them): {wall:.1f} s wall")
        result["calibration_wall_s"] = round(wall, 1)
    (a.out / "benchmark.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
