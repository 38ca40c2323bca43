"""`creditgrade falsereg list`: the ranked targeted-check list of suspected false registrations (虚假登记核查名单).

Every enterprise operating on the register at the date is scored by the champion `false-registration`
model (or, asked explicitly with --anomaly-only, by an anomaly forest grown on the city itself). The
list gives the top K with their score, anomaly score, rules broken, registration cluster (id = the
smallest USCC in it, and size) and up to three reasons in Chinese and English from the record. With
`by_cluster`, whole clusters are listed together, best cluster first, since a check visits an address
once; the list then ends with the cluster that reaches K.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from creditgrade.features import catalog
from creditgrade.features.errors import CreditgradeError
from creditgrade.features.indicators.false_registration import clusters
from creditgrade.models.falsereg import FEATURES, RULES, FalseRegConfig, FalseRegModel, rules_broken
from creditgrade.training.falsereg import city_at

REASONS = 3


def ranked(
    features: Path,
    data: Path,
    as_of: dt.date,
    model: FalseRegModel | None,
    *,
    top: int = 1000,
    by_cluster: bool = False,
) -> pa.Table:
    if top < 1:
        raise CreditgradeError(
            f"top must be a positive number of enterprises; got {top}", f"名单户数 top 须为正整数，当前为 {top}"
        )
    city = city_at(features, as_of)
    if model is None:  # anomaly only, asked for explicitly
        model = FalseRegModel(FalseRegConfig()).fit_anomaly_only(city)
        anomaly = model.anomaly(city)
        score, supervised = anomaly, np.full(len(city), np.nan)
    else:  # the forest scores the city once, inside scores()
        s = model.scores(city)
        score, supervised, anomaly = (s[c].to_numpy() for c in ("combined", "supervised", "anomaly"))
    groups = clusters(pq.read_table(Path(data) / "enterprises.parquet"), as_of).to_pandas().set_index("uscc")
    city["cluster_id"] = city["uscc"].map(groups["cluster_id"])
    city["cluster_size"] = city["uscc"].map(groups["cluster_size"]).fillna(1).astype(int)
    city["score"], city["supervised"], city["anomaly"] = score, supervised, anomaly
    order = np.lexsort((city["uscc"].to_numpy(), -score))
    if by_cluster:
        best = city.groupby("cluster_id")["score"].transform("max").to_numpy()
        order = np.lexsort((city["uscc"].to_numpy(), -score, city["cluster_id"].to_numpy(), -best))
        first_k = city["cluster_id"].to_numpy()[order][:top]
        chosen = pd.unique(first_k)
        order = order[np.isin(city["cluster_id"].to_numpy()[order], chosen)]
    else:
        order = order[:top]
    rows = city.iloc[order].reset_index(drop=True)
    zh, en = _reasons(rows, model if model.boosters_ else None)
    broken = rules_broken(rows)
    names = {r.id: (r.zh, r.en) for r in RULES}
    return pa.table(
        {
            "rank": pa.array(np.arange(1, len(rows) + 1), pa.int64()),
            "uscc": rows["uscc"].to_numpy(dtype=str),
            "region_code": rows["region_code"].to_numpy(dtype=str),
            "score": np.round(rows["score"].to_numpy(float), 6),
            "supervised": np.round(rows["supervised"].to_numpy(float), 6),
            "anomaly": np.round(rows["anomaly"].to_numpy(float), 4),
            "rules_broken_zh": ["；".join(names[c][0] for c in broken.columns if b[c]) for _, b in broken.iterrows()],
            "rules_broken_en": ["; ".join(names[c][1] for c in broken.columns if b[c]) for _, b in broken.iterrows()],
            "cluster_id": rows["cluster_id"].to_numpy(dtype=str),
            "cluster_size": rows["cluster_size"].to_numpy(),
            "reasons_zh": zh,
            "reasons_en": en,
            "as_of": pa.array([as_of] * len(rows), pa.date32()),
        }
    )


def _reasons(rows: pd.DataFrame, model: FalseRegModel | None) -> tuple[list[str], list[str]]:
    """Up to three record facts that raised the supervised score most (or, anomaly only, the rules broken),
    and the cluster, in both languages."""
    zh_out, en_out = [], []
    phi = model.contributions(rows) if model is not None and len(rows) else None
    for i, row in rows.iterrows():
        if phi is not None:
            top = [FEATURES[j] for j in np.argsort(-phi[i], kind="stable")[:REASONS] if phi[i, j] > 0]
        else:
            top = [r.indicator for r in RULES if np.nan_to_num(row[r.indicator]) > r.threshold][:REASONS]
        facts = [catalog.BY_ID[f] for f in top]
        zh = [f.reason(_value(row[f.id]), "zh") for f in facts]
        en = [f.reason(_value(row[f.id]), "en") for f in facts]
        if row["cluster_size"] > 1:
            zh.append(f"所在关联登记集群{row['cluster_size']}户（集群{row['cluster_id']}）")
            en.append(f"in registration cluster {row['cluster_id']} of {row['cluster_size']} enterprises")
        if row["anomaly"] >= 3:
            zh.append(f"登记特征异于全市（异常分{row['anomaly']:.1f}）")
            en.append(f"registration profile unlike the city's (anomaly {row['anomaly']:.1f} sd)")
        zh_out.append("；".join(zh))
        en_out.append("; ".join(en))
    return zh_out, en_out


def _value(v) -> float | None:
    return None if pd.isna(v) else float(v)


def write(table: pa.Table, out: Path) -> Path:
    """list.parquet and list.csv in `out`, written whole or not at all."""
    from creditgrade.features.store import atomic_folder

    with atomic_folder(out, overwrite=True) as tmp:
        pq.write_table(table, tmp / "list.parquet", compression="zstd")
        pacsv.write_csv(table, tmp / "list.csv")
    return out
