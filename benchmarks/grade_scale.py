"""Benchmark: `creditgrade grade` on the full simulated city — scores, grades, overrides, sub-scores, reasons.

    .venv/bin/python benchmarks/grade_scale.py --mlruns data/bench/mlruns

Grades every enterprise on the register at 2025-12-31 (data/bench/features_full.parquet: 1.89 M of the
2.23 M simulated enterprises are still on the register then) with the champion registered in
`--mlruns` (the override rules' hits come with the feature table), in its own process:
wall time and peak RSS. Then regrades with `--previous` (migration and PSI). Target (issue #5): full
batch grading incl. reasons ≤ 8 min and ≤ 8 GB on 2 cores.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from measure import timed

GRADE = """
import os, json
os.environ['CREDITGRADE_MLRUNS'] = '{mlruns}'
from creditgrade.training import tracking
from creditgrade.serving.batch import grade_city
tracking.configure()
s = grade_city('{features}', '{out}', tracking.load(){previous}, overwrite=True)
print(json.dumps({{k: v for k, v in s.to_dict().items() if k != 'migration'}}, ensure_ascii=False))
if s.migration is not None:
    print('migration: moved', s.migration['moved'], 'psi', round(s.migration['psi_score'], 6))
"""


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mlruns", default="data/bench/mlruns")
    p.add_argument("--features", default="data/bench/features_full.parquet")
    p.add_argument("--out", type=Path, default=Path("data/bench/graded/2025-12-31"))
    a = p.parse_args()
    args = {"mlruns": Path(a.mlruns).resolve(), "features": a.features, "out": a.out, "previous": ""}
    first = timed(GRADE.format(**args))
    print(f"grade: {first[0]:.1f} s wall, peak RSS {first[1]:.2f} GB")
    again = timed(GRADE.format(**{**args, "out": str(a.out) + "-again", "previous": f", previous='{a.out}'"}))
    print(f"grade with --previous: {again[0]:.1f} s wall, peak RSS {again[1]:.2f} GB")
    result = {"grade_s": first[0], "grade_gb": first[1], "grade_previous_s": again[0], "grade_previous_gb": again[1]}
    (a.out.parent / "grade_benchmark.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
