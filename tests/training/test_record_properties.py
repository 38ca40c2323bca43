"""A grade is a public act: removing a record that counts against an enterprise, or completing its credit
repair, never lowers the enterprise's score — tested on the fitted model, through the whole feature pipeline.

Removal and repair touch each picked enterprise's own indicators and, through the network indicators, those of
the enterprises linked to it: every enterprise's probability may only stay or fall.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from creditgrade.features import contract as C
from creditgrade.features.pipeline import build_features, read_features

REPAIRABLE = {
    "penalties": "penalty_id",
    "abnormal_list": "record_id",
    "serious_violations": "record_id",
    "judgment_defaulters": "record_id",
}
REMOVABLE = {**REPAIRABLE, "court_cases": "case_id"}  # a lost or pending case against the enterprise


def _copy(clean: Path, out: Path, replaced: dict[str, pd.DataFrame]) -> Path:
    out.mkdir(parents=True)
    for t in C.TABLES:
        target = out / f"{t.name}.parquet"
        if t.name in replaced:
            replaced[t.name].to_parquet(target, index=False)
        else:
            os.symlink(clean / f"{t.name}.parquet", target)
    return out


def _probabilities(features: Path, day: dt.date, scoring) -> pd.Series:
    frame = read_features(features, as_of=[day], columns=["uscc", *scoring.model.features]).to_pandas()
    x = frame[list(scoring.model.features)].to_numpy(dtype=np.float64)
    return pd.Series(scoring.score(x).probability, index=frame["uscc"])


@pytest.mark.slow
def test_removing_or_repairing_a_negative_record_never_lowers_a_score(graded_city, tmp_path):
    day = graded_city.days[2]
    rng = np.random.default_rng(3)
    picked: dict[str, pd.DataFrame] = {}
    for table in REMOVABLE:
        frame = pd.read_parquet(graded_city.clean / f"{table}.parquet")
        frame = frame[pd.to_datetime(frame[C.table(table).event_date]) <= pd.Timestamp(day)]
        if table == "court_cases":
            frame = frame[frame["role"] == "defendant"]
        picked[table] = frame.drop_duplicates("uscc").sample(n=min(80, len(frame)), random_state=rng.integers(1 << 30))
    assert sum(len(p) for p in picked.values()) > 200

    removed = {t: pd.read_parquet(graded_city.clean / f"{t}.parquet") for t in REMOVABLE}
    removed = {t: f[~f[REMOVABLE[t]].isin(picked[t][REMOVABLE[t]])] for t, f in removed.items()}
    repairs = pd.read_parquet(graded_city.clean / "credit_repairs.parquet")
    new = pd.concat(
        [
            pd.DataFrame(
                {
                    "repair_id": [f"TEST-{t}-{r}" for r in picked[t][key]],
                    "uscc": picked[t]["uscc"].to_numpy(),
                    "repaired_table": t,
                    "repaired_record_id": picked[t][key].to_numpy(),
                    "repair_date": day,
                }
            )
            for t, key in REPAIRABLE.items()
        ],
        ignore_index=True,
    )
    repaired = {
        "credit_repairs": pd.concat(
            [repairs, new.astype({"repair_date": repairs["repair_date"].dtype})], ignore_index=True
        )
    }

    scoring = graded_city.loaded
    before = _probabilities(graded_city.features, day, scoring)
    for name, tables in (("removed", removed), ("repaired", repaired)):
        folder = _copy(graded_city.clean, tmp_path / name, tables)
        build_features(folder, [day], tmp_path / f"{name}.parquet")
        after = _probabilities(tmp_path / f"{name}.parquet", day, scoring).reindex(before.index)
        worse = after > before + 1e-12
        assert not worse.any(), (
            f"{name}: {int(worse.sum())} enterprises scored worse, e.g. {before.index[worse.to_numpy()][0]}: "
            f"{before[worse].iloc[0]:.6f} → {after[worse].iloc[0]:.6f}"
        )
        assert (after < before - 1e-6).sum() >= 10, f"{name}: too few scores moved to show anything"
