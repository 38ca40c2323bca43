"""Experiment: how far is a monotone LightGBM from the simulator's Bayes limit, and why?

    .venv/bin/python benchmarks/bayes_gap.py --enterprises 200000                        # as simulated
    .venv/bin/python benchmarks/bayes_gap.py --enterprises 200000 --unobserved 0 --person 0 --shock 0
    .venv/bin/python benchmarks/bayes_gap.py --enterprises 200000 --extra industry_section,legal_form,region_code

Simulates a city with the unobserved parts of the latent risk set as given (the enterprise's own
character, its legal representative's, the yearly shock), builds features for four year-ends, trains
on the first three pooled (inverse-probability weights) and validates on the last; prints the
out-of-time AUC beside the AUC of the simulator's true probabilities on the same rows. The figures in
docs/risk-model.md come from these commands.
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from sklearn.metrics import roc_auc_score

import creditgrade.features.city.history as H
import creditgrade.features.city.population as P
from creditgrade.features import catalog
from creditgrade.features.city.simulate import CityConfig, simulate_city
from creditgrade.features.pipeline import build_features
from creditgrade.training.dataset import labelled_rows


def main() -> None:
    a = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    a.add_argument("--enterprises", type=int, default=200_000)
    a.add_argument("--unobserved", type=float, default=P.UNOBSERVED_SD)
    a.add_argument("--person", type=float, default=P.PERSON_SD)
    a.add_argument("--shock", type=float, default=H.SHOCK_SD)
    a.add_argument("--extra", default="", help="register columns added as categorical inputs")
    a.add_argument("--out", type=Path, default=Path("data/bayes_gap"))
    args = a.parse_args()
    P.UNOBSERVED_SD, P.PERSON_SD, H.SHOCK_SD = args.unobserved, args.person, args.shock
    out = args.out / f"{args.enterprises}_{args.unobserved}_{args.person}_{args.shock}"
    simulate_city(CityConfig(enterprises=args.enterprises, seed=3), out / "raw", overwrite=True)
    days = [dt.date(y, 12, 31) for y in (2021, 2022, 2023, 2024)]
    build_features(out / "raw", days, out / "features.parquet")
    frame = pq.read_table(out / "features.parquet").to_pandas()
    checks = pq.read_table(out / "raw" / "spot_checks.parquet").to_pandas()
    truth = pq.read_table(out / "raw" / "truth" / "problem_probability.parquet").to_pandas()
    train = pd.concat([labelled_rows(frame, checks, d) for d in days[:-1]])
    valid = labelled_rows(frame, checks, days[-1]).merge(truth[truth.year == 2025][["uscc", "p_problem"]], on="uscc")
    extra = [c for c in args.extra.split(",") if c]
    for c in extra:
        cats = sorted(frame[c].unique())
        train[c], valid[c] = pd.Categorical(train[c], cats), pd.Categorical(valid[c], cats)
    cols = list(catalog.RISK_IDS) + extra
    model = lgb.LGBMClassifier(
        objective="binary",
        learning_rate=0.03,
        num_leaves=15,
        min_child_samples=100,
        n_estimators=3000,
        subsample=0.8,
        subsample_freq=1,
        colsample_bytree=0.8,
        monotone_constraints=catalog.monotone_constraints() + [0] * len(extra),
        monotone_constraints_method="advanced",
        n_jobs=2,
        verbose=-1,
    )
    model.fit(
        train[cols],
        train.label,
        sample_weight=train.weight,
        eval_X=(valid[cols],),
        eval_y=(valid.label,),
        eval_sample_weight=[valid.weight],
        callbacks=[lgb.early_stopping(100, verbose=False)],
    )
    p = model.predict_proba(valid[cols])[:, 1]
    w = valid.weight.to_numpy()
    auc, bayes = (
        roc_auc_score(valid.label, p, sample_weight=w),
        roc_auc_score(valid.label, valid.p_problem, sample_weight=w),
    )
    print(
        f"unobserved {args.unobserved}, person {args.person}, shock {args.shock}, extra {extra or '—'}: "
        f"{len(train):,} training rows; model AUC {auc:.4f}, Bayes limit {bayes:.4f}, gap {bayes - auc:.4f}"
    )


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
