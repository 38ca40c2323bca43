"""Benchmark: the console's name search (`serving.names`) over a whole city's names.

    .venv/bin/python benchmarks/console_search.py --graded data/bench/monthly/months/2025-11-30/graded

Writes the graded folder's name file again into a temporary folder (as the grading job writes it) and times
that, maps it (as a worker does at its first search) and reports what the process allocated for it, then
searches 20 names drawn at random (seed 1) twice each: by their first three characters after the city's
prefix (a prefix match) and with their third character changed (no prefix match, so the similarity scan
runs). Prefix hits must all start with the query; how many of the mistyped names are found among the 20
answers is counted (in a simulated city many names are one character apart, so a slip can be as close to
another name as to its own). Prints the times, the median and worst search times and that count.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

import pyarrow as pa

from creditgrade.serving import names as N
from creditgrade.serving.batch import LOOKUP


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--graded", type=Path, required=True, help="A graded folder (its lookup file inside).")
    ap.add_argument("--names", type=int, default=20)
    args = ap.parse_args()
    column = pa.ipc.open_file(pa.memory_map(str(args.graded / LOOKUP))).read_all().column("name")
    names = column.to_pylist()
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        N.write_names(column, Path(tmp) / N.NAMES, {"rows": len(column)})
        written = time.perf_counter() - start
        before = pa.total_allocated_bytes()
        start = time.perf_counter()
        index = N.NameIndex.mapped(Path(tmp) / N.NAMES)
        mapped = time.perf_counter() - start
        held = pa.total_allocated_bytes() - before
        prefix, typo, found = [], [], 0
        for name in random.Random(1).sample(names, args.names):
            bare = N.bare(name)
            for query, times in ((bare[:3], prefix), (bare[:2] + ("甲" if bare[2] != "甲" else "乙") + bare[3:], typo)):
                start = time.perf_counter()
                positions, _ = index.search(query)
                times.append((time.perf_counter() - start) * 1000)
                if query == bare[:3]:
                    assert all(N.bare(names[i]).startswith(query) for i in positions), query
                else:
                    found += name in [names[i] for i in positions]
        size = (Path(tmp) / N.NAMES).stat().st_size / 2**20
    print(f"{len(names):,} names; file written in {written:.1f} s ({size:,.0f} MB); mapped in {mapped * 1000:.1f} ms, "
          f"{held / 2**20:.1f} MB allocated for it")  # fmt: skip
    print(f"prefix (3 characters): median {statistics.median(prefix):.1f} ms, worst {max(prefix):.1f} ms")
    print(f"one character wrong (similarity scan): median {statistics.median(typo):.0f} ms, worst {max(typo):.0f} ms; "
          f"the name found in {found} of {args.names}")  # fmt: skip


if __name__ == "__main__":
    main()
