"""Benchmark: exact SHAP contributions for 2.23 M enterprises × 63 indicators, ours against shap.TreeExplainer.

    .venv/bin/python benchmarks/explain_scale.py --mlruns data/bench/mlruns --rows 2230000

Explains the same rows with the same registered champion model three times, each in its own process (wall
time and peak RSS): with `creditgrade.models.explain.CityExplainer` (LightGBM's exact TreeSHAP once per decision
pattern of each tree), with `shap.TreeExplainer(booster).shap_values`, and with WOODELF
(`woodelf.WoodelfExplainer(booster).shap_values`, Wettenstein et al.: path-dependent TreeSHAP vectorised in
NumPy, the fastest other exact CPU implementation that installs here; LightGBM's own `pred_contrib` was
slower than shap's on these rows) — then compares all 2.23 M × 63 contributions with shap's. The rows are
the simulated city's graded population at 2025-12-31 (data/bench/features_full.parquet, 1.89 M) topped up
with rows as of 2024-12-31 from the training panel. Every process loads the same model and rows before its
clock starts; the speed-up is printed for the explaining alone and for the whole processes. Targets
(issue #18): ≥ 30× faster than shap.TreeExplainer, values equal to 1e-6 (`make bench` holds ours to 1e-9;
issue #5: ≤ 5 min);
`--others ""` leaves WOODELF out.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from measure import timed

ROWS = """
import numpy as np, pyarrow as pa, pyarrow.parquet as pq
from creditgrade.features import catalog
cols = list(catalog.RISK_IDS)
a = pq.read_table('{full}', columns=cols)
b = pq.read_table('{panel}', columns=cols, filters=[('as_of', '=', __import__('datetime').date(2024, 12, 31))])
x = np.vstack([t.to_pandas().to_numpy(dtype=np.float64) for t in (a, b.slice(0, max(0, {rows} - a.num_rows)))])[:{rows}]
np.save('{out}/rows.npy', x)
print(f"{{len(x):,}} rows")
"""
LOAD = """
import os, time, numpy as np
os.environ['CREDITGRADE_MLRUNS'] = '{mlruns}'
from creditgrade.training import tracking
tracking.configure()
model = tracking.load().model
x = np.load('{out}/rows.npy')
"""
OURS = (
    LOAD
    + """
from creditgrade.models.explain import CityExplainer
t = time.perf_counter()
e = CityExplainer(model.booster_, 2)
phi, expected = e.contributions(x)
open('{out}/ours_seconds.txt', 'w').write(str(time.perf_counter() - t))
print(f"ours: {{time.perf_counter() - t:.1f}} s (explaining only), {{len(e.trees)}} trees, "
      f"{{np.mean(e.patterns_):.0f}} patterns per tree on average, {{max(e.patterns_)}} at most")
np.save('{out}/ours.npy', phi.astype(np.float64))
"""
)
SHAP = (
    LOAD
    + """
import shap
t = time.perf_counter()
phi = shap.TreeExplainer(model.booster_).shap_values(x)
phi = phi[1] if isinstance(phi, list) else phi
open('{out}/shap_seconds.txt', 'w').write(str(time.perf_counter() - t))
print(f"shap.TreeExplainer: {{time.perf_counter() - t:.1f}} s (explaining only)")
np.save('{out}/shap.npy', np.asarray(phi, dtype=np.float64))
"""
)
WOODELF = (
    LOAD
    + """
import pandas as pd
from woodelf import WoodelfExplainer
frame = pd.DataFrame(x)  # its API takes a frame, as shap's does
t = time.perf_counter()
phi = WoodelfExplainer(model.booster_).shap_values(frame, verbose=False)
open('{out}/woodelf_seconds.txt', 'w').write(str(time.perf_counter() - t))
print(f"WOODELF: {{time.perf_counter() - t:.1f}} s (explaining only)")
np.save('{out}/woodelf.npy', np.asarray(phi, dtype=np.float64))
"""
)
OTHERS = {"woodelf": WOODELF}


def largest_difference(a: Path, b: Path) -> float:
    """The largest absolute difference of two saved (rows × features) arrays, read in slices."""
    mine, ref = np.load(a, mmap_mode="r"), np.load(b, mmap_mode="r")
    if mine.shape != ref.shape:
        raise ValueError(f"{a.name} has shape {mine.shape}, {b.name} {ref.shape}")
    return max(
        (float(np.abs(mine[i : i + 200_000] - ref[i : i + 200_000]).max()) for i in range(0, len(ref), 200_000)),
        default=0.0,
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mlruns", default="data/bench/mlruns")
    p.add_argument("--full", default="data/bench/features_full.parquet")
    p.add_argument("--panel", default="data/bench/train_panel.parquet")
    p.add_argument("--rows", type=int, default=2_230_000)
    p.add_argument("--out", type=Path, default=Path("data/bench/explain"))
    p.add_argument("--others", default="woodelf", help="comma-separated other exact TreeSHAPs to time: woodelf")
    a = p.parse_args()
    others = [o.strip() for o in a.others.split(",") if o.strip()]
    if unknown := set(others) - set(OTHERS):
        p.error(f"--others: unknown {sorted(unknown)}; known: {sorted(OTHERS)}")
    a.out.mkdir(parents=True, exist_ok=True)
    args = {"mlruns": Path(a.mlruns).resolve(), "full": a.full, "panel": a.panel, "rows": a.rows, "out": a.out}
    timed(ROWS.format(**args))
    ours = timed(OURS.format(**args))
    print(f"  CityExplainer process: {ours[0]:.1f} s wall, peak RSS {ours[1]:.2f} GB")
    theirs = timed(SHAP.format(**args))
    print(f"  shap.TreeExplainer process: {theirs[0]:.1f} s wall, peak RSS {theirs[1]:.2f} GB")
    whole = {}
    for other in others:
        whole[other] = timed(OTHERS[other].format(**args))
        print(f"  {other} process: {whole[other][0]:.1f} s wall, peak RSS {whole[other][1]:.2f} GB")
    diff = largest_difference(a.out / "ours.npy", a.out / "shap.npy")
    shape = np.load(a.out / "shap.npy", mmap_mode="r").shape
    only = {k: float((a.out / f"{k}_seconds.txt").read_text()) for k in ("ours", "shap", *others)}
    result = {
        "rows": int(shape[0]),
        "ours_s": ours[0],
        "ours_gb": ours[1],
        "shap_s": theirs[0],
        "shap_gb": theirs[1],
        "speedup": theirs[0] / ours[0],
        "ours_explain_s": only["ours"],
        "shap_explain_s": only["shap"],
        "speedup_explaining": only["shap"] / only["ours"],
        "max_abs_difference": diff,
        "others": {
            o: {
                "explain_s": only[o],
                "process_s": whole[o][0],
                "process_gb": whole[o][1],
                "speedup_explaining": only[o] / only["ours"],
                "max_abs_difference_to_shap": largest_difference(a.out / f"{o}.npy", a.out / "shap.npy"),
            }
            for o in others
        },
    }
    (a.out / "explain_benchmark.json").write_text(json.dumps(result, indent=2))
    for o, r in result["others"].items():
        print(
            f"{o}: explaining {r['explain_s']:.1f} s, ours {r['speedup_explaining']:.1f}× faster; "
            f"its largest difference to shap's {r['max_abs_difference_to_shap']:.2e}"
        )
    print(
        f"{result['rows']:,} rows × {shape[1]}: explaining {only['ours']:.1f} s against shap.TreeExplainer's "
        f"{only['shap']:.1f} s → {only['shap'] / only['ours']:.1f}× faster; whole processes (loading the model and "
        f"rows too) {ours[0]:.1f} s against {theirs[0]:.1f} s → {theirs[0] / ours[0]:.1f}×; "
        f"largest difference {diff:.2e}"
    )


if __name__ == "__main__":
    main()
