"""Benchmark: the indicator pipeline on the full simulated city, and a plain-pandas baseline side by side.

    .venv/bin/python benchmarks/city_scale.py --enterprises 2230000 --out data/bench   # the city, once
    .venv/bin/python benchmarks/features_scale.py --data data/bench/clean --as-of 2025-12-31

Targets (issue #3, 2-core machine): all 63 indicators plus the false-registration set in ≤ 3 min
and ≤ 6 GB peak RSS. The baseline computes a subset of 11 indicators spanning the five dimensions
(windows, a repair anti-join, a point-in-time join, a rank window and an arg-max) with pandas
groupby; the same subset runs through the pipeline, the two results are compared value by value,
and the ratio of their times is printed (goal ≥ 5×). The same subset is also written in Polars (lazy scans,
predicates pushed into the Parquet reads, anti-joins for repairs, the result streamed to Parquet) as the fast
single-machine baseline (goal: the pipeline at least as fast), checked value by value the same way. Each timed run
is its own process.
"""

from __future__ import annotations

import argparse
import json

from measure import timed

SUBSET = (
    "d1_age_years",
    "d1_legal_rep_changes_24m",
    "d2_reports_missed_3y",
    "d2_enterprises_at_address",
    "d3_penalties_36m",
    "d3_abnormal_current",
    "d3_days_since_penalty",
    "d4_complaints_12m",
    "d4_cases_lost_24m",
    "d5_tax_grade",
    "d5_awards_36m",
)

PIPELINE = """
import datetime as dt, sys
from creditgrade.features.pipeline import build_features, connect, indicator_table, load_raw
day = dt.date.fromisoformat('{as_of}')
if {subset!r}:
    con = connect()
    con.to_parquet(indicator_table(load_raw(con, '{data}'), day, only={subset!r}, ids=('uscc',)), '{out}')
else:
    build_features('{data}', [day], '{out}')
"""

PANDAS = """
import datetime as dt
import numpy as np, pandas as pd, pyarrow.parquet as pq
d, day = '{data}', pd.Timestamp('{as_of}')
read = lambda n, cols: pq.read_table(f'{{d}}/{{n}}.parquet', columns=cols).to_pandas()
def dates(df, *cols):
    for c in cols: df[c] = pd.to_datetime(df[c])
    return df
ent = dates(read('enterprises', ['uscc', 'established_date', 'closed_date', 'status', 'address_id']),
            'established_date', 'closed_date')
on_register = (ent.closed_date.isna() | (ent.closed_date > day)
               | ent.status.isin(['revoked', 'struck_off', 'ordered_closed', 'suspended']))
ent = ent[(ent.established_date <= day) & on_register].set_index('uscc')
out = pd.DataFrame(index=ent.index)
out['d1_age_years'] = (day - ent.established_date).dt.days / 365.25
within = lambda s, n: (s > day - pd.Timedelta(days=n)) & (s <= day)
ch = dates(read('registration_changes', ['uscc', 'change_date', 'change_type']), 'change_date')
ch = ch[ch.change_date <= day]
out['d1_legal_rep_changes_24m'] = ch[within(ch.change_date, 730)
                                     & (ch.change_type == 'legal_rep')].groupby('uscc').size()
last_due = day.year - 1 if (day.month, day.day) >= (6, 30) else day.year - 2
ar = dates(read('annual_reports', ['uscc', 'report_year', 'filed_date']), 'filed_date')
ar = ar[(ar.report_year <= last_due) & (ar.report_year > last_due - 3)]
ar['missed'] = ~(ar.filed_date.notna() & (ar.filed_date <= day))
out['d2_reports_missed_3y'] = ar.groupby('uscc').missed.sum()
out['d2_enterprises_at_address'] = ent.groupby('address_id').address_id.transform('size')
rep = dates(read('credit_repairs', ['repaired_table', 'repaired_record_id', 'repair_date']), 'repair_date')
repaired = lambda table: set(rep[(rep.repaired_table == table) & (rep.repair_date <= day)].repaired_record_id)
pen = dates(read('penalties', ['penalty_id', 'uscc', 'decision_date']), 'decision_date')
pen = pen[(pen.decision_date <= day) & ~pen.penalty_id.isin(repaired('penalties'))]
out['d3_penalties_36m'] = pen[within(pen.decision_date, 1095)].groupby('uscc').size()
out['d3_days_since_penalty'] = (day - pen[within(pen.decision_date, 1826)].groupby('uscc').decision_date.max()).dt.days
ab = dates(read('abnormal_list', ['record_id', 'uscc', 'entry_date', 'exit_date']), 'entry_date', 'exit_date')
ab = ab[(ab.entry_date <= day) & ~ab.record_id.isin(repaired('abnormal_list'))]
out['d3_abnormal_current'] = ab[ab.exit_date.isna() | (ab.exit_date > day)].groupby('uscc').size().clip(upper=1)
cp = dates(read('complaints', ['uscc', 'received_date']), 'received_date')
out['d4_complaints_12m'] = cp[within(cp.received_date, 365)].groupby('uscc').size()
cc = dates(read('court_cases', ['uscc', 'filing_date', 'role', 'judgment_date', 'lost']),
           'filing_date', 'judgment_date')
cc = cc[(cc.filing_date <= day) & (cc.role == 'defendant') & within(cc.judgment_date, 730)
        & cc.lost.fillna(False).astype(bool)]
out['d4_cases_lost_24m'] = cc.groupby('uscc').size()
tx = dates(read('tax_credit', ['uscc', 'tax_year', 'grade', 'published_date']), 'published_date')
tx = tx[tx.published_date <= day].sort_values('tax_year').groupby('uscc').tail(1).set_index('uscc')
out['d5_tax_grade'] = tx.grade.map({{'A': 1, 'B': 2, 'M': 3, 'C': 4, 'D': 5}})
aw = dates(read('awards', ['uscc', 'award_date']), 'award_date')
out['d5_awards_36m'] = aw[within(aw.award_date, 1095)].groupby('uscc').size()
for c in out.columns:
    if c not in ('d3_days_since_penalty', 'd5_tax_grade'):
        out[c] = out[c].fillna(0)
out['d3_days_since_penalty'] = out['d3_days_since_penalty'].clip(upper=1826).fillna(1826)  # none in 5 years
out.astype('float64').reset_index().to_parquet('{out}')
"""

POLARS = """
import datetime as dt
import polars as pl
d, day = '{data}', dt.date.fromisoformat('{as_of}')
scan = lambda n, cols: pl.scan_parquet(f'{{d}}/{{n}}.parquet').select(cols)
def within(c, n):
    return (pl.col(c) > day - dt.timedelta(days=n)) & (pl.col(c) <= day)
def count(frame, name):
    return frame.group_by('uscc').agg(pl.len().cast(pl.Float64).alias(name))
ent = scan('enterprises', ['uscc', 'established_date', 'closed_date', 'status', 'address_id']).filter(
    (pl.col('established_date') <= day)
    & (pl.col('closed_date').is_null() | (pl.col('closed_date') > day)
       | pl.col('status').is_in(['revoked', 'struck_off', 'ordered_closed', 'suspended'])))
out = ent.select(
    'uscc',
    ((pl.lit(day) - pl.col('established_date')).dt.total_days() / 365.25).alias('d1_age_years'),
    pl.when(pl.col('address_id').is_null()).then(None)
    .otherwise(pl.len().over('address_id')).cast(pl.Float64).alias('d2_enterprises_at_address'),
)
parts = []
ch = scan('registration_changes', ['uscc', 'change_date', 'change_type'])
parts.append(count(ch.filter(within('change_date', 730) & (pl.col('change_type') == 'legal_rep')),
                   'd1_legal_rep_changes_24m'))
last_due = day.year - 1 if (day.month, day.day) >= (6, 30) else day.year - 2
ar = scan('annual_reports', ['uscc', 'report_year', 'filed_date']).filter(
    (pl.col('report_year') <= last_due) & (pl.col('report_year') > last_due - 3))
parts.append(ar.group_by('uscc').agg(
    (~(pl.col('filed_date').is_not_null() & (pl.col('filed_date') <= day))).sum().cast(pl.Float64)
    .alias('d2_reports_missed_3y')))
rep = scan('credit_repairs', ['repaired_table', 'repaired_record_id', 'repair_date']).filter(
    pl.col('repair_date') <= day)
repaired = lambda table: rep.filter(pl.col('repaired_table') == table).select(
    pl.col('repaired_record_id').alias('id'))
pen = scan('penalties', ['penalty_id', 'uscc', 'decision_date']).filter(pl.col('decision_date') <= day).join(
    repaired('penalties'), left_on='penalty_id', right_on='id', how='anti')
parts.append(count(pen.filter(within('decision_date', 1095)), 'd3_penalties_36m'))
parts.append(pen.filter(within('decision_date', 1826)).group_by('uscc').agg(
    (pl.lit(day) - pl.col('decision_date').max()).dt.total_days().cast(pl.Float64).alias('d3_days_since_penalty')))
ab = scan('abnormal_list', ['record_id', 'uscc', 'entry_date', 'exit_date']).filter(
    (pl.col('entry_date') <= day) & (pl.col('exit_date').is_null() | (pl.col('exit_date') > day))).join(
    repaired('abnormal_list'), left_on='record_id', right_on='id', how='anti')
parts.append(ab.group_by('uscc').agg(pl.lit(1.0).alias('d3_abnormal_current')))
parts.append(count(scan('complaints', ['uscc', 'received_date']).filter(within('received_date', 365)),
                   'd4_complaints_12m'))
cc = scan('court_cases', ['uscc', 'filing_date', 'role', 'judgment_date', 'lost']).filter(
    (pl.col('filing_date') <= day) & (pl.col('role') == 'defendant') & within('judgment_date', 730)
    & pl.col('lost').fill_null(False))
parts.append(count(cc, 'd4_cases_lost_24m'))
tx = scan('tax_credit', ['uscc', 'tax_year', 'grade', 'published_date']).filter(pl.col('published_date') <= day)
parts.append(tx.group_by('uscc').agg(pl.col('grade').sort_by('tax_year').last()).select(
    'uscc', pl.col('grade').replace_strict({{'A': 1.0, 'B': 2.0, 'M': 3.0, 'C': 4.0, 'D': 5.0}},
                                          default=None, return_dtype=pl.Float64).alias('d5_tax_grade')))
parts.append(count(scan('awards', ['uscc', 'award_date']).filter(within('award_date', 1095)), 'd5_awards_36m'))
for part in parts:
    out = out.join(part, on='uscc', how='left')
kept = ('d3_days_since_penalty', 'd5_tax_grade')
out = out.with_columns(
    *(pl.col(c).fill_null(0.0) for c in out.collect_schema().names() if c not in ('uscc', *kept)),
    pl.col('d3_days_since_penalty').clip(upper_bound=1826).fill_null(1826.0),
)
out.sink_parquet('{out}')
"""


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="data/bench/clean")
    p.add_argument("--as-of", default="2025-12-31")
    p.add_argument("--out", default="data/bench")
    args = p.parse_args()
    import pandas as pd

    full = f"{args.out}/features_full.parquet"
    wall, rss = timed(PIPELINE.format(as_of=args.as_of, data=args.data, out=full, subset=()))
    ok = wall <= 180 and rss <= 6.0
    print(
        f"all indicators + false-registration set: {wall:7.1f} s  peak RSS {rss:5.2f} GB  "
        f"(target ≤ 180 s, ≤ 6 GB) {'OK' if ok else 'MISSED'}"
    )
    ours, base = f"{args.out}/features_subset.parquet", f"{args.out}/pandas_subset.parquet"
    fast = f"{args.out}/polars_subset.parquet"
    t_ours, rss_ours = timed(PIPELINE.format(as_of=args.as_of, data=args.data, out=ours, subset=SUBSET))
    t_pandas, rss_pandas = timed(PANDAS.format(as_of=args.as_of, data=args.data, out=base))
    t_polars, rss_polars = timed(POLARS.format(as_of=args.as_of, data=args.data, out=fast))
    a = pd.read_parquet(ours).set_index("uscc")[list(SUBSET)].sort_index()
    same = {
        name: _same(a, pd.read_parquet(path).set_index("uscc")) for name, path in (("pandas", base), ("polars", fast))
    }
    ratio, versus_polars = t_pandas / t_ours, t_polars / t_ours
    print(
        f"subset of {len(SUBSET)} indicators: pipeline {t_ours:6.1f} s ({rss_ours:.2f} GB), "
        f"pandas {t_pandas:6.1f} s ({rss_pandas:.2f} GB), ratio {ratio:.1f}x (goal ≥ 5x) "
        f"{'OK' if ratio >= 5 else 'MISSED'}; Polars {t_polars:6.1f} s ({rss_polars:.2f} GB), ratio "
        f"{versus_polars:.2f}x (goal ≥ 1x) {'OK' if versus_polars >= 1 else 'MISSED'}; identical values: "
        + ", ".join(f"{k} {v}" for k, v in same.items())
    )
    with open(f"{args.out}/features_benchmark.json", "w") as fh:
        json.dump(
            {
                "full_s": round(wall, 1),
                "full_rss_gb": round(rss, 2),
                "subset_pipeline_s": round(t_ours, 1),
                "subset_pandas_s": round(t_pandas, 1),
                "subset_polars_s": round(t_polars, 1),
                "ratio": round(ratio, 2),
                "ratio_polars": round(versus_polars, 2),
                "identical": all(same.values()),
                "identical_by_baseline": same,
            },
            fh,
            indent=2,
        )


def _same(a, b) -> bool:
    """The same enterprises and, indicator by indicator, the same values (to 1e-9) and the same missing ones."""
    b = b[list(SUBSET)].sort_index()
    return a.index.equals(b.index) and all(
        ((a[c] - b[c]).abs().fillna(0) < 1e-9).all() and (a[c].isna() == b[c].isna()).all() for c in SUBSET
    )


if __name__ == "__main__":
    main()
