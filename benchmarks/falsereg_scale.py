"""Benchmark: the false-registration model on the full simulated city (issue #7).

    .venv/bin/python benchmarks/falsereg_scale.py --panel data/bench/train_panel.parquet --data data/bench/clean \
        --truth data/bench/raw --as-of 2024-12-31

Stage 1 (own process): `creditgrade falsereg train` as of T — cases confirmed by the inspections of the
year before T, features as of T − 12 months — registered in a throw-away MLflow store under --out, and
evaluated against the simulator's truth on every enterprise operating at T. Stage 2 (own process):
loading the registered model and scoring every enterprise in the feature table at T (supervised,
anomaly, combined, and the rules), timed. Targets: precision among the top 1,000 ≥ 1.5× the rules
baseline; recall within the top 3% ≥ 70%; scoring the full city ≤ 3 min on 2 cores.
"""

from __future__ import annotations

import argparse
import json

from measure import timed

TRAIN = """
import datetime as dt, json, os
os.environ['CREDITGRADE_MLRUNS'] = '{out}/mlruns-falsereg'
from creditgrade.training.falsereg import train_falsereg
s = train_falsereg('{panel}', '{data}', dt.date.fromisoformat('{as_of}'), truth_dir='{truth}')
json.dump(s.to_dict(), open('{out}/falsereg_metrics.json', 'w'), indent=2)
"""
SCORE = """
import datetime as dt, json, os, time
os.environ['CREDITGRADE_MLRUNS'] = '{out}/mlruns-falsereg'
from creditgrade.features.pipeline import read_features
from creditgrade.models.falsereg import FEATURES, rules_score
from creditgrade.training import tracking
from creditgrade.training.falsereg import load
tracking.configure()
start = time.perf_counter()
version, model = load()
frame = read_features('{panel}', as_of=[dt.date.fromisoformat('{as_of}')], columns=['uscc', *FEATURES]).to_pandas()
s = model.scores(frame)
rules = rules_score(frame)
json.dump({{'rows': len(frame), 'seconds': time.perf_counter() - start}}, open('{out}/falsereg_scoring.json', 'w'))
"""


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--panel", default="data/bench/train_panel.parquet")
    p.add_argument("--data", default="data/bench/clean")
    p.add_argument("--truth", default="data/bench/raw")
    p.add_argument("--as-of", default="2024-12-31")
    p.add_argument("--out", default="data/bench")
    a = p.parse_args()
    wall, rss = timed(TRAIN.format(out=a.out, panel=a.panel, data=a.data, as_of=a.as_of, truth=a.truth))
    m = json.load(open(f"{a.out}/falsereg_metrics.json"))
    print(
        f"training incl. anomaly forest, evaluation, MLflow: {wall:.0f} s, peak RSS {rss:.2f} GB; confirmed "
        f"{m['confirmed_false']:,} false / {m['confirmed_genuine']:,} genuine; "
        f"out-of-fold AUC {m['out_of_fold_auc']:.4f}"
    )
    t = m["truth"]
    print(
        f"{t['false_registrations']:,} false registrations among {t['enterprises']:,} operating enterprises "
        f"at {a.as_of}"
    )
    rules = t["methods"]["rules"]["precision_at_k"]
    for name, r in t["methods"].items():
        print(
            f"  {name:>18}: precision top {t['k']:,} {r['precision_at_k']:.3f} "
            f"({r['precision_at_k'] / rules:.2f}x rules)"
            f", recall top {t['share']:.0%} {r['recall_at_share']:.3f}"
        )
    c = t["methods"]["combined"]
    print(
        f"combined: precision {c['precision_at_k'] / rules:.2f}x the rules (target >= 1.5x) "
        f"{'OK' if c['precision_at_k'] >= 1.5 * rules else 'MISSED'}; recall {c['recall_at_share']:.3f} "
        f"(target >= 0.70) {'OK' if c['recall_at_share'] >= 0.7 else 'MISSED'}"
    )
    wall, rss = timed(SCORE.format(out=a.out, panel=a.panel, as_of=a.as_of))
    s = json.load(open(f"{a.out}/falsereg_scoring.json"))
    print(
        f"scoring {s['rows']:,} enterprises (load model, read features, score, rules): {s['seconds']:.0f} s inside, "
        f"{wall:.0f} s whole process, peak RSS {rss:.2f} GB (target <= 180 s) {'OK' if wall <= 180 else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
