"""Experiment: how much of the gap to the Bayes limit could any model of the 63 indicators close?

    .venv/bin/python benchmarks/feature_limit.py --panel data/bench/train_panel.parquet --data data/bench/clean \
        --truth data/bench/raw --as-of 2024-12-31

The Bayes limit of issue #4 is the AUC of the simulator's true probabilities; they include parts no
record shows (each enterprise's own character, its legal representative's, this year's shock). To
separate what the indicators cannot know from what the model fails to learn, this fits LightGBM to the
*true probabilities themselves* (cross-entropy on soft labels) for every enterprise on the register at
T that was not inspected in the validation year — about 1.5 M noise-free targets, far more than the
130,000 inspections the real model learns from — and scores the validation inspections with it. Its
AUC estimates the best any model of these indicators can do (the "indicator limit"), with and without
the catalog's monotone constraints. Prints the three AUCs on the same weighted validation rows.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pyarrow.parquet as pq

from creditgrade.features import catalog
from creditgrade.models.evaluation import weighted_auc
from creditgrade.training.dataset import labelled_rows
from creditgrade.training.train import load_checks


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--panel", default="data/bench/train_panel.parquet")
    p.add_argument("--data", default="data/bench/clean")
    p.add_argument("--truth", default="data/bench/raw")
    p.add_argument("--as-of", default="2024-12-31")
    p.add_argument("--metrics", default="data/bench/train_metrics.json", help="the trained model's figures")
    p.add_argument("--rounds", type=int, default=1500)
    a = p.parse_args()
    day = dt.date.fromisoformat(a.as_of)
    cols = list(catalog.RISK_IDS)
    frame = pq.read_table(a.panel, columns=["uscc", "as_of", *cols], filters=[("as_of", "=", day)]).to_pandas()
    truth = pq.read_table(Path(a.truth) / "truth" / "problem_probability.parquet").to_pandas()
    truth = truth[truth.year == day.year + 1][["uscc", "p_problem"]]
    valid = labelled_rows(frame, load_checks(Path(a.data)), day).merge(truth, on="uscc", how="left")
    rest = frame[~frame.uscc.isin(valid.uscc)].merge(truth, on="uscc", how="inner")
    rng = np.random.default_rng(0)
    stop = rng.random(len(rest)) < 0.1  # early stopping on held-out soft targets, never on the validation rows
    results = {"validation_rows": len(valid), "soft_training_rows": int((~stop).sum())}
    w, y = valid.weight.to_numpy(), valid.label.to_numpy()
    results["bayes_limit"] = weighted_auc(y, valid.p_problem.to_numpy(), w)
    for name, constraints in (("unconstrained", None), ("monotone", catalog.monotone_constraints())):
        params = {
            "objective": "cross_entropy",
            "learning_rate": 0.05,
            "num_leaves": 63,
            "min_child_samples": 200,
            "subsample": 0.8,
            "subsample_freq": 1,
            "colsample_bytree": 0.8,
            "verbose": -1,
            "num_threads": os.cpu_count() or 1,
            "seed": 0,
        }
        if constraints:
            params.update(monotone_constraints=constraints, monotone_constraints_method="advanced")
        train = lgb.Dataset(rest.loc[~stop, cols], label=rest.loc[~stop, "p_problem"])
        hold = lgb.Dataset(rest.loc[stop, cols], label=rest.loc[stop, "p_problem"], reference=train)
        booster = lgb.train(
            params, train, a.rounds, valid_sets=[hold], callbacks=[lgb.early_stopping(50, verbose=False)]
        )
        results[f"indicator_limit_{name}"] = weighted_auc(y, booster.predict(valid[cols]), w)
        results[f"indicator_limit_{name}_trees"] = booster.best_iteration
    if Path(a.metrics).exists():
        results["model_auc"] = json.loads(Path(a.metrics).read_text())["valid_auc"]
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
