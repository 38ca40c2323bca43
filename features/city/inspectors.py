"""The simulated city's inspector directory (执法检查人员名录), for the spot-check planner.

Each district's market-regulation bureau has about one inspector per 400 enterprises registered there
(at least four); one in five also covers a neighbouring district. About one inspector in ten has a
declared conflict of interest (回避) with one to three enterprises of their district. Staff ids only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from creditgrade.features import contract as C

ENTERPRISES_PER_INSPECTOR = 400


def inspector_directory(uscc: np.ndarray, region: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    """One row per inspector: inspector_id, unit, districts (';'-separated codes), conflicts (';'-separated USCCs)."""
    codes = list(C.DISTRICTS)
    rows = []
    for d, code in enumerate(codes):
        members = np.flatnonzero(region == d)
        count = max(4, int(np.ceil(members.size / ENTERPRISES_PER_INSPECTOR)))
        name = C.DISTRICTS[code]
        for k in range(count):
            covers = [code]
            if rng.random() < 0.2:
                covers.append(codes[(d + 1) % len(codes)])
            conflicts = []
            if members.size and rng.random() < 0.1:
                conflicts = sorted(uscc[rng.choice(members, min(members.size, int(rng.integers(1, 4))), replace=False)])
            rows.append(
                {
                    "inspector_id": f"SZ{code[-2:]}-{k + 1:04d}",
                    "unit": f"{name.zh}市场监督管理局 / {name.en} market-regulation bureau",
                    "districts": ";".join(covers),
                    "conflicts": ";".join(conflicts),
                }
            )
    return pd.DataFrame(rows, columns=["inspector_id", "unit", "districts", "conflicts"])
