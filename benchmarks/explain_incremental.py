"""Benchmark: a month's explanations reusing last month's, against explaining every enterprise (issue #15).

    .venv/bin/creditgrade demo --out data/demo          # a champion and two published months
    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/explain_incremental.py --demo data/demo --rows 2230000

First, on the demo's two published months (real month-over-month change): the share of enterprises the
model sees unchanged (`models.explain.model_view`), i.e. whose explanation is reused.

Then at city scale, side by side in one process with the same champion: last month's rows are --rows drawn
from the demo's December enterprises, their continuous indicators (over 50 distinct values: age, capital,
...) jittered by up to ±25% so that rows differ as a city's do; this month every enterprise is a month
older and a random --changed share got one more penalty in the last 12 months. Timed: the graded table
explained in full (`graded_table`), and with last month's table to reuse (`graded_table(previous=...)`,
including the model views of every row); the two tables are compared (must be equal). Target: ≥ 5×
faster at about 5% changed.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from creditgrade.features.overrides import OVERRIDE_COLUMNS
from creditgrade.serving.batch import ID_COLUMNS, graded_table


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--demo", type=Path, default=Path("data/demo"))
    p.add_argument("--mlruns", type=Path, default=Path("mlruns"))
    p.add_argument("--rows", type=int, default=2_230_000)
    p.add_argument("--changed", type=float, default=0.05)
    a = p.parse_args()
    os.environ["CREDITGRADE_MLRUNS"] = str(a.mlruns.resolve())
    from creditgrade.training import tracking

    tracking.configure()
    scoring = tracking.load()
    features = list(scoring.model.features)
    months = sorted((a.demo / "monthly" / "months").glob("*/features.parquet"))
    views = []
    for path in months[-2:]:
        frame = pq.read_table(path).to_pandas().sort_values("uscc").set_index("uscc")
        views.append(pd.DataFrame(scoring.explainer().model_view(frame[features].to_numpy(np.float64)), frame.index))
    both = views[0].join(views[1], lsuffix="_before", how="inner")
    same = ((both["0_before"] == both[0]) & (both["1_before"] == both[1])).mean()
    print(
        f"demo city, {months[-2].parent.name} → {months[-1].parent.name}: {len(both):,} enterprises in both months, "
        f"{same:.1%} seen unchanged by {scoring.label} (explanations reused), {1 - same:.1%} explained"
    )

    december = pq.read_table(months[-1]).to_pandas()
    rng = np.random.default_rng(0)
    pick = rng.integers(0, len(december), a.rows)
    frame = december.iloc[pick][ID_COLUMNS + list(OVERRIDE_COLUMNS)].reset_index(drop=True)
    frame["uscc"] = [f"91440300{i:09d}X" for i in range(a.rows)]  # sorted, unique (never checked here)
    x = december[features].to_numpy(np.float64)[pick]
    for j, name in enumerate(features):
        if december[name].nunique() > 50:  # continuous (age, capital, ...): jittered
            x[:, j] *= rng.uniform(0.8, 1.25, a.rows)
    now = x.copy()
    now[:, features.index("d1_age_years")] += 1 / 12
    hit = rng.random(a.rows) < a.changed
    j = features.index("d3_penalties_12m")
    now[hit, j] = np.nan_to_num(now[hit, j]) + 1
    day = pd.Timestamp(months[-1].parent.name).date()
    print(f"{a.rows:,} rows; last month graded (not timed) ...", flush=True)
    last = graded_table(frame, x, scoring, day)
    t = time.perf_counter()
    full = graded_table(frame, now, scoring, day)
    t_full = time.perf_counter() - t
    t = time.perf_counter()
    reused = graded_table(frame, now, scoring, day, previous=last)
    t_reused = time.perf_counter() - t
    view = scoring.explainer().model_view
    explained = 1 - (view(now) == view(x)).all(axis=1).mean()
    assert full.equals(reused), "the reused table differs from the full one"
    print(
        f"  explained in full: {t_full:6.1f} s\n  reusing last month ({explained:.1%} explained): {t_reused:6.1f} s"
        f"\n  speed-up {t_full / t_reused:.1f}× (target ≥ 5× at ~5% changed); tables equal"
    )


if __name__ == "__main__":
    main()
