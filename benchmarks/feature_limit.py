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

It also asks whether new enterprises (under a year old at T) *could* be graded apart from B from their
record: every operating enterprise at T is graded by rank at Pingshan's shares (A+ 0.6, A 6.4, B 69.6,
C 23.0, D 0.4%) three ways — by the simulator's true probability (an oracle that sees hidden character),
by the monotone indicator limit (the best the record allows), and, with `--with-model`, by the risk model
as `creditgrade train` fits it (T as the test date, not registered) — and the new enterprises' grade
shares are printed for each.
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
from creditgrade.models.cutpoints import TARGET_SHARES
from creditgrade.models.evaluation import weighted_auc
from creditgrade.training.dataset import design_matrix, labelled_rows
from creditgrade.training.train import load_checks, train


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--panel", default="data/bench/train_panel.parquet")
    p.add_argument("--data", default="data/bench/clean")
    p.add_argument("--truth", default="data/bench/raw")
    p.add_argument("--as-of", default="2024-12-31")
    p.add_argument("--metrics", default="data/bench/train_metrics.json", help="the trained model's figures")
    p.add_argument("--rounds", type=int, default=1500)
    p.add_argument("--with-model", action="store_true", help="also grade the new enterprises with the risk model")
    a = p.parse_args()
    day = dt.date.fromisoformat(a.as_of)
    cols = list(catalog.RISK_IDS)
    frame = pq.read_table(
        a.panel, columns=["uscc", "as_of", "register_status", *cols], filters=[("as_of", "=", day)]
    ).to_pandas()
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
        if name == "monotone":
            limit = booster
    if Path(a.metrics).exists():
        results["model_auc"] = json.loads(Path(a.metrics).read_text())["valid_auc"]
    results["new_enterprises"] = new_enterprise_grades(frame, truth, limit, a if a.with_model else None)
    print(json.dumps(results, indent=2))


def rank_grades(p: np.ndarray) -> np.ndarray:
    """Grades by rank of risk at Pingshan's shares: the safest 0.6% A+, the next 6.4% A, ..., the riskiest 0.4% D."""
    shares = np.asarray(TARGET_SHARES["shenzhen"])  # Pingshan's 2024 run, best grade first
    safest_first = (np.argsort(np.argsort(p, kind="stable"), kind="stable") + 0.5) / len(p)
    return np.array(["A+", "A", "B", "C", "D"])[np.searchsorted(np.cumsum(shares)[:-1], safest_first)]


def new_enterprise_grades(frame, truth, limit, train_args) -> dict:
    """The new enterprises' grade shares (%) when the whole operating city is graded by each scorer."""
    city = frame[frame.register_status == "active"].merge(truth, on="uscc", how="inner")
    new = (city.d1_age_years < 1).to_numpy()
    scorers = {"truth_oracle": city.p_problem.to_numpy(), "monotone_limit": limit.predict(city[list(catalog.RISK_IDS)])}
    if train_args is not None:
        fitted = train(
            Path(train_args.panel), Path(train_args.data), dt.date.fromisoformat(train_args.as_of), register=False
        )
        scorers["risk_model"] = fitted.model.predict_proba(design_matrix(city))
    out: dict = {"operating": len(city), "new": int(new.sum())}
    for name, p in scorers.items():
        grades, counts = np.unique(rank_grades(p)[new], return_counts=True)
        out[name] = {g: round(100 * c / new.sum(), 1) for g, c in zip(grades, counts)}
    return out


if __name__ == "__main__":
    main()
