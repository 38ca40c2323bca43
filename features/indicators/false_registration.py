"""FR false-registration signals (虚假登记特征): crowding, bursts, clusters and empty shells."""

from __future__ import annotations

import ibis
import numpy as np
import pyarrow as pa
from ibis import _
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from creditgrade.features import catalog
from creditgrade.features.indicators import aggregate, column, table

# Shared by more enterprises than this (business-secretary address, big agency): a hub, not a cluster link. The
# cluster list and its graph use the same cut as the indicator, from its catalog entry.
HUB = int(catalog.BY_ID["fr_cluster_size"].params["hub_more_than"])


def _burst(src, key: str, days: int, name: str):
    """Enterprises registered (by as_of) with the same key within ±days of each one's own registration."""
    reg = src["registered"].filter(_[key].notnull())
    window = ibis.range_window(preceding=days, following=days, group_by=key, order_by="est_day")
    return reg.select("uscc", **{name: reg.uscc.count().over(window)})


@table
def fr_address_registered_30d(src, wide, asof, entry):
    return _burst(src, "address_id", entry.window_days, "fr_address_registered_30d")


@table
def fr_address_registered_90d(src, wide, asof, entry):
    return _burst(src, "address_id", entry.window_days, "fr_address_registered_90d")


@column
def fr_enterprises_per_rep(w, asof, entry):
    return w.uscc.count().over(group_by="legal_rep_id")


@table
def fr_rep_registered_90d(src, wide, asof, entry):
    return _burst(src, "legal_rep_id", entry.window_days, "fr_rep_registered_90d")


@column
def fr_enterprises_per_phone(w, asof, entry):
    return w.uscc.count().over(group_by="phone_id")


@table
def fr_phone_registered_30d(src, wide, asof, entry):
    return _burst(src, "phone_id", entry.window_days, "fr_phone_registered_30d")


@table
def fr_enterprises_per_agent(src, wide, asof, entry):
    reg = src["registered"].filter(_.agent_id.notnull())
    return reg.select("uscc", fr_enterprises_per_agent=reg.uscc.count().over(group_by="agent_id"))


@table
def fr_agent_registered_30d(src, wide, asof, entry):
    return _burst(src, "agent_id", entry.window_days, "fr_agent_registered_30d")


@table
def fr_agent_registered_90d(src, wide, asof, entry):
    return _burst(src, "agent_id", entry.window_days, "fr_agent_registered_90d")


@table
def fr_cluster_size(src, wide, asof, entry):
    """Connected components of enterprises linked by a shared person, address, phone or agent.

    The links are built by the backend; the components (a graph algorithm, not a query) are found on
    the driver with scipy — exact, and small data even nationally: one integer pair per link.
    """
    reg = src["registered"].select("uscc", "legal_rep_id", "address_id", "phone_id", "agent_id")
    parts = [
        reg.filter(reg[k].notnull()).select("uscc", key=ibis.literal(k + ":") + reg[k])
        for k in ("legal_rep_id", "address_id", "phone_id", "agent_id")
    ]
    links = ibis.union(*parts)
    degree = links.group_by("key").aggregate(n=_.count())
    links = links.join(degree.filter((degree.n > 1) & (degree.n <= entry.params["hub_more_than"])), "key")
    # Each shared key links its members to the key's first member: enough to connect them all. The window is
    # partitioned by the key, so an engine that distributes (Spark) never gathers the city in one place; the
    # nodes are numbered on the driver, by their place in the list of enterprises.
    links = links.select("uscc", anchor=_.uscc.min().over(group_by="key"))
    pairs = links.to_pyarrow()
    nodes = reg.select("uscc").to_pyarrow()["uscc"].combine_chunks()
    a, b = (pa.compute.index_in(pairs[c], value_set=nodes).to_numpy() for c in ("uscc", "anchor"))
    sizes = component_sizes(len(nodes), a, b)
    return ibis.memtable(pa.table({"uscc": nodes, "fr_cluster_size": pa.array(sizes, pa.int64())}))


def component_sizes(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Size of the connected component of each node (nodes numbered 0..n-1) given undirected links a–b."""
    graph = coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    return np.bincount(label)[label]


@aggregate("latest_report")
def fr_zero_insured(t, asof, entry):
    return (t.insured_headcount == 0).max().cast("int64")


@column
def fr_zero_paid_in(w, asof, entry):
    return (w.paid_in_capital == 0).cast("int64")


@aggregate("reports_due")
def fr_no_report_ever(t, asof, entry):
    return (~t.filed_by.max()).cast("int64")


@table
def fr_duplicate_report(src, wide, asof, entry):
    """latest filed report identical (all six figures disclosed) to another enterprise's for the same year"""
    figures = [
        "report_year",
        "employees",
        "insured_headcount",
        "revenue",
        "profit",
        "total_assets",
        "total_liabilities",
    ]
    latest = src["latest_report"]
    complete = latest.filter(ibis.and_(*[latest[f].notnull() for f in figures]))
    copies = complete.group_by(figures).aggregate(copies=_.count())
    flagged = complete.join(copies, figures)
    return flagged.select("uscc", fr_duplicate_report=(flagged.copies > 1).cast("int64"))


@table
def fr_early_change(src, wide, asof, entry):
    ch = src["registration_changes"].filter(_.change_type.isin(["legal_rep", "address"]))
    ch = ch.join(src["registered"].select("uscc", "established_date"), "uscc")
    early = ch.established_date.delta(ch.change_date, unit="day") >= -entry.window_days
    return ch.group_by("uscc").aggregate(fr_early_change=early.max().cast("int64"))


@table
def fr_days_to_unreachable(src, wide, asof, entry):
    ab = src["abnormal_list"].filter(_.entry_reason == "unreachable")
    first = ab.group_by("uscc").aggregate(first=_.entry_date.min())
    first = first.join(src["registered"].select("uscc", "established_date"), "uscc")
    return first.select("uscc", fr_days_to_unreachable=first.first.delta(first.established_date, unit="day"))


def clusters(enterprises: pa.Table, as_of) -> pa.Table:
    """uscc, cluster_id (the smallest USCC in the cluster) and cluster_size of every enterprise registered by
    as_of: the same graph as fr_cluster_size, for naming the cluster a targeted check visits."""
    import pandas as pd

    ent = enterprises.select(["uscc", "established_date", "legal_rep_id", "address_id", "phone_id", "agent_id"])
    ent = ent.to_pandas()
    ent = ent[pd.to_datetime(ent["established_date"]) <= pd.Timestamp(as_of)].sort_values("uscc").reset_index(drop=True)
    node, anchor = [], []
    for key in ("legal_rep_id", "address_id", "phone_id", "agent_id"):
        members = ent[key].dropna()
        size = members.map(members.value_counts())
        members = members[(size > 1) & (size <= HUB)]
        first = members.index.to_series().groupby(members.to_numpy()).transform("min")
        node.append(members.index.to_numpy())
        anchor.append(first.to_numpy())
    a, b = np.concatenate(node), np.concatenate(anchor)
    graph = coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(len(ent), len(ent)))
    _, label = connected_components(graph, directed=False)
    first_uscc = pd.Series(ent["uscc"].to_numpy()).groupby(label).transform("min")
    return pa.table(
        {
            "uscc": ent["uscc"].to_numpy(),
            "cluster_id": first_uscc.to_numpy(),
            "cluster_size": pa.array(np.bincount(label)[label], pa.int64()),
        }
    )


KEY_KINDS = (("person", "legal_rep_id"), ("address", "address_id"), ("phone", "phone_id"), ("agent", "agent_id"))


def cluster_links(enterprises: pa.Table, members) -> list[tuple[str, str]]:
    """(USCC, 'kind:key') for every link of `members` through a person, address, phone or agent shared by 2 to
    HUB enterprises — the edges of the cluster graph. The keys are pseudonymous ids: draw them by kind only."""

    ent = enterprises.select(["uscc", *(c for _, c in KEY_KINDS)]).to_pandas()
    links: list[tuple[str, str]] = []
    for kind, col in KEY_KINDS:
        counts = ent[col].value_counts()
        shared = ent[ent["uscc"].isin(set(members)) & (ent[col].map(counts) > 1) & (ent[col].map(counts) <= HUB)]
        links += [(u, f"{kind}:{k}") for u, k in zip(shared["uscc"], shared[col])]
    return links
