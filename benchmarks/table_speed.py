"""`creditgrade train-table` against an untuned LGBMClassifier on the same folds, side by side in one run.

    .venv/bin/python benchmarks/table_speed.py                 # the five Polish files, 5 folds
    .venv/bin/python benchmarks/table_speed.py --folds 10 1 5  # some files, 10 folds

For each file: the same stratified folds; ours fits on four fifths of each training fold and tunes on the
rest (early stopping, calibration, scale, cut-points), the untuned `lightgbm.LGBMClassifier()` (defaults,
same threads) fits on the whole training fold. Both are scored on the held-out fold only. Target (issue
#14): ours within 3× the untuned model's time, with an AUC at least as high. Reads
../shared/datasets/polish_bankruptcy in place.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold

from creditgrade.models.evaluation import weighted_auc
from creditgrade.training.table import TableSpec, train_table

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "polish_bankruptcy"


def untuned(path: Path, folds: int, seed: int = 0) -> tuple[float, float]:
    """(mean held-out AUC, seconds) of LGBMClassifier() on the folds train_table uses."""
    frame = pd.read_csv(path, na_values=["", "?", "NA"])
    y = frame["class"].astype(int).to_numpy()
    x = frame.drop(columns="class").astype("float64")
    start = time.perf_counter()
    aucs = []
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(np.zeros(len(y)), y):
        model = lgb.LGBMClassifier(n_jobs=int(os.environ.get("OMP_NUM_THREADS", os.cpu_count() or 1)), verbose=-1)
        model.fit(x.iloc[train], y[train])
        aucs.append(weighted_auc(y[test], model.predict_proba(x.iloc[test])[:, 1], np.ones(len(test))))
    return float(np.mean(aucs)), time.perf_counter() - start


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("years", nargs="*", default=["1", "2", "3", "4", "5"])
    a = p.parse_args()
    if not DATA.exists():
        raise SystemExit(f"{DATA} is absent")
    print(f"{'file':10s} {'ours AUC':>9s} {'untuned':>8s} {'ours s':>7s} {'untuned s':>9s} {'time ×':>7s}")
    for year in a.years:
        path = DATA / f"{year}year.csv"
        start = time.perf_counter()
        ours = train_table(path, TableSpec("class"), folds=a.folds)
        ours_s = time.perf_counter() - start
        auc, their_s = untuned(path, a.folds)
        print(
            f"{path.name:10s} {ours.auc_mean:9.4f} {auc:8.4f} {ours_s:7.1f} {their_s:9.1f} {ours_s / their_s:7.2f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
