"""A run killed outright (SIGKILL: no clean-up runs) at a random point leaves what was published before it as it
was, leaves nothing behind that the next run keeps, and the rerun writes the same files, byte for byte — the
graded folder's DuckDB file by its content checksum (`batch.database_checksum`: DuckDB's own bytes are not
reproducible). The kill point is drawn from the first run's duration; the seed is printed on failure."""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from creditgrade.serving.batch import DATABASE, database_checksum

CLI = Path(sys.executable).parent / "creditgrade"
SEED = int(os.environ.get("CREDITGRADE_KILL_SEED", time.time_ns() % 10_000))
pytestmark = pytest.mark.slow


def _env(graded_city) -> dict:
    return {**os.environ, "CREDITGRADE_MLRUNS": str(graded_city.mlruns), "OMP_NUM_THREADS": "1"}


def _run(argv: list, env: dict) -> float:
    start = time.monotonic()
    done = subprocess.run([str(CLI), *map(str, argv)], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return time.monotonic() - start


def _killed(argv: list, env: dict, after: float) -> None:
    child = subprocess.Popen([str(CLI), *map(str, argv)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        child.wait(timeout=after)
    except subprocess.TimeoutExpired:
        child.send_signal(signal.SIGKILL)
        child.wait()


def _contents(folder: Path) -> dict[str, str]:
    """Every file under `folder` by its SHA-256 (the DuckDB file by its content checksum), hidden ones too."""
    found = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        name = str(path.relative_to(folder))
        if path.name == DATABASE:
            found[name] = "content:" + database_checksum(path.parent)
        else:
            found[name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def _kill_point(rng: random.Random, took: float) -> float:
    return rng.uniform(0.05, 0.95) * took


def test_a_killed_features_run_leaves_the_table_and_the_rerun_is_identical(graded_city, tmp_path):
    rng, env = random.Random(SEED), _env(graded_city)
    out = tmp_path / "features.parquet"
    argv = ["features", "--data", graded_city.clean, "--as-of", "2024-12-31", "--as-of", "2025-12-31", "--out", out]
    took = _run(argv, env)
    before = _contents(tmp_path)
    after = _kill_point(rng, took)
    _killed(argv, env, after)
    assert _contents(tmp_path).items() >= before.items(), f"seed {SEED}, killed after {after:.1f} s"
    _run(argv, env)
    assert _contents(tmp_path) == before, f"seed {SEED}, killed after {after:.1f} s"


def test_a_killed_grade_run_leaves_the_graded_folder_and_the_rerun_is_identical(graded_city, tmp_path):
    rng, env = random.Random(SEED + 1), _env(graded_city)
    out = tmp_path / "graded"
    argv = ["grade", "--features", graded_city.features, "--as-of", "2025-12-31", "--out", out, "--overwrite"]
    took = _run(argv, env)
    before = _contents(tmp_path)
    assert f"graded/{DATABASE}" in before and "graded/summary.json" in before
    after = _kill_point(rng, took)
    _killed(argv, env, after)
    left = _contents(tmp_path)
    assert {k: v for k, v in left.items() if k.startswith("graded/")} == before, f"seed {SEED + 1}, {after:.1f} s"
    _run(argv, env)
    assert _contents(tmp_path) == before, f"seed {SEED + 1}, killed after {after:.1f} s"


def test_a_killed_month_leaves_the_published_months_and_the_rerun_is_identical(graded_city, tmp_path):
    rng, env = random.Random(SEED + 2), _env(graded_city)
    root = tmp_path / "monthly"

    def month(day: str) -> list:
        return ["month", "--data", graded_city.clean, "--as-of", day, "--root", root]

    _run(month("2025-10-31"), env)
    first = tmp_path / "first"
    shutil.copytree(root, first)
    took = _run(month("2025-11-30"), env)
    whole = _contents(root)
    shutil.rmtree(root)
    shutil.copytree(first, root)
    after = _kill_point(rng, took)
    _killed(month("2025-11-30"), env, after)
    # Everything the first month published, but the lookup file the second month rewrites whole (old or new).
    published = {k: v for k, v in _contents(first).items() if k != "history/by_enterprise.arrow"}
    left = _contents(root)
    assert {k: left.get(k) for k in published} == published, f"seed {SEED + 2}, killed after {after:.1f} s"
    _run(month("2025-11-30"), env)
    assert _contents(root) == whole, f"seed {SEED + 2}, killed after {after:.1f} s"
