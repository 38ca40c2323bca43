"""Random inspectors (双随机: random inspectors): a pair for every drawn enterprise, from the directory.

The inspector directory (执法检查人员名录) is a CSV or Parquet file, one inspector a row:

    inspector_id, unit, districts, conflicts
    SZ-0101, 罗湖监管局 Luohu bureau, 440303;440304, 91440300MA5XXXXXXX

`districts` lists the region codes the inspector covers and `conflicts` the USCCs the inspector must
not inspect (回避: past employment, relatives, earlier disputes), each separated by ";". Staff ids
only: the directory needs no names or phones, and none reach the list.

The pair is random but verifiable: every (enterprise, inspector) gets a 64-bit score from the draw's
key (splitmix64 of the two SHA-256-derived halves); enterprises are taken in the order of their own
score, and each gets the two lowest-scoring inspectors who cover its district, have no conflict with
it, and are below the plan's load cap. The same key and directory give the same pairs.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from creditgrade.models.planning.plan import PlanError

COLUMNS = ("inspector_id", "unit", "districts", "conflicts")
_MASK = np.uint64(0xFFFFFFFFFFFFFFFF)


@dataclass(frozen=True)
class Directory:
    ids: np.ndarray  # inspector ids, sorted
    units: np.ndarray
    districts: tuple[frozenset, ...]
    conflicts: tuple[frozenset, ...]

    def covering(self, district: str) -> np.ndarray:
        return np.array([i for i, d in enumerate(self.districts) if district in d], dtype=np.int64)


def from_frame(frame: pd.DataFrame, source: str = "inspector directory") -> Directory:
    """The directory from its table (columns COLUMNS, as text); PlanError naming `source` for a bad row."""
    frame = frame.fillna("").astype(str)
    ids = frame["inspector_id"].str.strip()
    if (ids == "").any():
        row = int(np.flatnonzero(ids == "")[0]) + 2
        raise PlanError(f"{source}: row {row} has no inspector_id", f"{source}：第 {row} 行的人员编号为空")
    dup = ids[ids.duplicated()]
    if len(dup):
        raise PlanError(f"{source}: inspector_id {dup.iloc[0]} appears twice", f"{source}：人员编号 {dup.iloc[0]} 重复")
    order = np.argsort(ids.to_numpy(), kind="stable")
    frame = frame.iloc[order]

    def sets(col: str) -> tuple[frozenset, ...]:
        return tuple(frozenset(x.strip() for x in v.split(";") if x.strip()) for v in frame[col])

    return Directory(
        ids.to_numpy()[order].astype(str), frame["unit"].to_numpy().astype(str), sets("districts"), sets("conflicts")
    )


def _hash64(prefix: str, names) -> np.ndarray:
    raw = b"".join(hashlib.sha256(f"{prefix}|{x}".encode()).digest()[:8] for x in names)
    return np.frombuffer(raw, dtype=">u8").astype(np.uint64)


def _mix(z: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: a fixed, well-mixed function of 64 bits."""
    with np.errstate(over="ignore"):
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9) & _MASK
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB) & _MASK
        return z ^ (z >> np.uint64(31))


def assign(uscc: np.ndarray, district: np.ndarray, directory: Directory, load_cap: int, key: str) -> np.ndarray:
    """An (n, 2) array of inspector ids for the drawn enterprises; PlanError if a district cannot be covered."""
    n = uscc.size
    need = pd.Series(district).value_counts()
    for d, count in need.items():
        capacity = load_cap * directory.covering(d).size
        if capacity < 2 * count or directory.covering(d).size < 2:
            raise PlanError(
                f"inspectors too few to cover district {d}: {count} drawn enterprises need {2 * count} "
                f"visits, its {directory.covering(d).size} inspectors can make {capacity} at a load cap of "
                f"{load_cap}",
                f"辖区 {d} 执法人员不足：抽中 {count} 户需 {2 * count} 人次，"
                f"{directory.covering(d).size} 名人员在每人上限 {load_cap} 户时只能完成 {capacity} 人次",
            )
    a = _hash64(f"{key}|inspector", directory.ids)
    b = _hash64(f"{key}|enterprise", uscc)
    load = np.zeros(directory.ids.size, dtype=np.int64)
    pairs = np.empty((n, 2), dtype=object)
    cover = {d: directory.covering(d) for d in need.index}
    conflicted: dict[str, list[int]] = {}
    for i, names in enumerate(directory.conflicts):
        for u in names:
            conflicted.setdefault(u, []).append(i)
    for e in np.argsort(_mix(b), kind="stable"):
        pool = cover[district[e]]
        pool = pool[load[pool] < load_cap]
        if uscc[e] in conflicted:
            pool = pool[~np.isin(pool, conflicted[uscc[e]])]
        if pool.size < 2:
            raise PlanError(
                f"no two free inspectors without a conflict are left for an enterprise in district "
                f"{district[e]} (load cap {load_cap}); add inspectors or raise the cap",
                f"辖区 {district[e]} 已无两名无需回避且未满额的执法人员（每人上限 {load_cap} 户）；"
                "请增加人员或提高上限",
            )
        chosen = pool[np.argsort(_mix(a[pool] ^ b[e]), kind="stable")[:2]]
        load[chosen] += 1
        pairs[e] = sorted(directory.ids[chosen])
    return pairs
