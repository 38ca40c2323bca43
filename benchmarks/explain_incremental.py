"""Benchmark: a month's explanations reusing last month's, against explaining every enterprise (issue #15).

    .venv/bin/creditgrade demo --out data/demo          # a champion and two published months
    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/explain_incremental.py --demo data/demo --rows 2230000

First, on the demo's two published months (real month-over-month change): the share of enterprises the
model sees unchanged (`models.explain.model_view`), i.e. whose explanation is reused.

Then at city scale, side by side in one process with the same champion: last month's rows are --rows drawn
from the demo's December enterprises, their continuous indicators (over 50 distinct values: age, capital,
...) jittered by up to ±25% so that rows differ as a city's do; this month every enterprise is a month
older (second scenario; not in the first) and a random --changed share entered the abnormal-operation list.
Timed: the explanation step (`ScoringModel.score`) and the whole graded table (`graded_table`), in full and
with last month's explanations to reuse (including reading them from last month's folder — its explanations
file, `serving.batch.EXPLAINED`, written when that month was published —, the model views of every row and
matching them to last month);
the two tables are compared (must be equal). Target: ≥ 5× faster at about 5% changed.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from creditgrade.features.overrides import OVERRIDE_COLUMNS
from creditgrade.serving.batch import (
    EXPLAINED,
    GRADED,
    ID_COLUMNS,
    ROW_GROUP,
    RowGroups,
    _reuse,
    explained_file,
    graded_table,
    read_explained,
)


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
        v = scoring.explainer().model_view(frame[features].to_numpy(np.float64))
        views.append(pd.DataFrame({"a": v[:, 0], "b": v[:, 1]}, index=frame.index))
    both = views[0].join(views[1].add_suffix("_now"), how="inner")
    same = ((both.a == both.a_now) & (both.b == both.b_now)).mean()
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
    day = pd.Timestamp(months[-1].parent.name).date()
    print(f"{a.rows:,} rows; last month graded (not timed) ...", flush=True)
    last_path = Path(tempfile.mkdtemp())  # last month's folder as a month-end run finds it
    last = graded_table(frame, x, scoring, day)
    with RowGroups(last_path / GRADED, "parquet", ROW_GROUP) as out:
        out.add(last)
    t = time.perf_counter()
    with explained_file(last_path / EXPLAINED) as out:
        out.add(last)
    print(f"  (writing its explanations file, part of publishing a month: {time.perf_counter() - t:.1f} s)")
    del last
    hit = rng.random(a.rows) < a.changed
    for older in (False, True):
        now = x.copy()
        now[hit, features.index("d3_abnormal_current")] = 1.0  # entered the abnormal-operation list
        if older:
            now[:, features.index("d1_age_years")] += 1 / 12
        t = time.perf_counter()
        scoring.score(now)
        s_full = time.perf_counter() - t
        t = time.perf_counter()
        last = read_explained(last_path)
        reuse = _reuse(frame.uscc, scoring.explainer().model_view(now), last, scoring)
        scoring.score(now, reuse=reuse)
        s_reused = time.perf_counter() - t
        t = time.perf_counter()
        full = graded_table(frame, now, scoring, day)
        t_full = time.perf_counter() - t
        t = time.perf_counter()
        reused = graded_table(frame, now, scoring, day, previous=read_explained(last_path))
        t_reused = time.perf_counter() - t
        assert full.equals(reused), "the reused table differs from the full one"
        print(
            f"{a.changed:.0%} entered the abnormal list{', everyone a month older' if older else ''}: "
            f"{1 - reuse.same.mean():.1%} of enterprises explained, the rest reused\n"
            f"  the explanation step (reading last month's, model views, matching, contributions, sub-scores, "
            "reasons): "
            f"full {s_full:.1f} s, reusing {s_reused:.1f} s — {s_full / s_reused:.1f}×\n"
            f"  the whole graded table: full {t_full:.1f} s, reusing {t_reused:.1f} s — {t_full / t_reused:.1f}×; "
            "tables equal",
            flush=True,
        )


if __name__ == "__main__":
    main()
