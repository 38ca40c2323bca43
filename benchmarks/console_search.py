"""Benchmark: the console's name search (`serving.console.search.NameIndex`) over a whole city's names.

    .venv/bin/python benchmarks/console_search.py --graded data/bench/monthly/months/2025-11-30/graded

Builds the index over every name of the graded month (as a worker does at its first search), then searches 20
names drawn at random (seed 1) twice each: by their first three characters after the city's prefix (a prefix
match) and with their third character changed (no prefix match, so the similarity scan runs). Prefix hits must
all start with the query; how many of the mistyped names are found among the 20 answers is counted (in a
simulated city many names are one character apart, so a slip can be as close to another name as to its own).
Prints the build time, the median and worst search times and that count.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from pathlib import Path

import pyarrow.parquet as pq

from creditgrade.serving.console.search import NameIndex


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--graded", type=Path, required=True, help="A graded folder (graded.parquet inside).")
    ap.add_argument("--names", type=int, default=20)
    args = ap.parse_args()
    names = pq.read_table(args.graded / "graded.parquet", columns=["name"]).column("name").to_pylist()
    start = time.perf_counter()
    index = NameIndex(names)
    build = time.perf_counter() - start
    prefix, typo, found = [], [], 0
    for name in random.Random(1).sample(names, args.names):
        bare = name.removeprefix("深圳市")
        for query, times in ((bare[:3], prefix), (bare[:2] + ("甲" if bare[2] != "甲" else "乙") + bare[3:], typo)):
            start = time.perf_counter()
            positions, _ = index.search(query)
            times.append((time.perf_counter() - start) * 1000)
            if query == bare[:3]:
                assert all(names[i].removeprefix("深圳市").startswith(query) for i in positions), query
            else:
                found += name in [names[i] for i in positions]
    print(f"{len(names):,} names; index built in {build:.1f} s")
    print(f"prefix (3 characters): median {statistics.median(prefix):.1f} ms, worst {max(prefix):.1f} ms")
    print(f"one character wrong (similarity scan): median {statistics.median(typo):.0f} ms, worst {max(typo):.0f} ms; "
          f"the name found in {found} of {args.names}")  # fmt: skip


if __name__ == "__main__":
    main()
