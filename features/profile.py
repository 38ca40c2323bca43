"""What an indicator table shows, dimension by dimension: for the command line's summary after `features`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from creditgrade.features import catalog


@dataclass(frozen=True)
class DimensionProfile:
    """One dimension over the rows of a feature table: how many indicators, the share of rows showing any
    adverse signal, the mean share of missing values, and the commonest adverse signal with its share."""

    dimension: catalog.Dimension
    indicators: int
    any_adverse: float | None
    missing: float
    commonest: catalog.Indicator | None
    commonest_share: float | None


def adverse_signals(dimension: str) -> list[str]:
    """The dimension's indicators that count a bad thing from zero (flags and counts that raise risk), left
    out the network sizes every enterprise has at least one of."""
    return [
        i.id
        for i in catalog.ALL
        if i.dimension == dimension
        and i.direction == 1
        and i.unit in ("flag", "count")
        and i.minimum == 0
        and not i.id.startswith("fr_enterprises")
    ]


def dimension_profiles(path: Path) -> tuple[int, list[DimensionProfile]]:
    """(rows, a profile per dimension) of the feature table at `path`."""
    frame = pq.read_table(path, columns=[i.id for i in catalog.ALL]).to_pandas()
    out = []
    for dim in catalog.DIMENSIONS:
        ids = [i.id for i in catalog.ALL if i.dimension == dim.id]
        adverse = adverse_signals(dim.id)
        shares = (frame[adverse].fillna(0) > 0).mean() if adverse else None
        top = shares.idxmax() if shares is not None else None
        out.append(
            DimensionProfile(
                dimension=dim,
                indicators=len(ids),
                any_adverse=float((frame[adverse].fillna(0) > 0).any(axis=1).mean()) if adverse else None,
                missing=float(frame[ids].isna().mean().mean()),
                commonest=catalog.BY_ID[top] if top is not None else None,
                commonest_share=float(shares[top]) if top is not None else None,
            )
        )
    return len(frame), out
