"""Shared fixtures: small simulated cities, built once per test session under a temporary folder.

`make test` runs the files on two workers (pytest-xdist, `--dist loadfile`), each pinned to its share of
the cores (LightGBM, OpenMP and numba threads), so that they do not oversubscribe the machine.

Two session-wide rules live here too:
- every test that uses a simulated city, a Spark session or the service is marked `slow` automatically
  (`make test-fast` runs the rest: `pytest -m "not slow"`);
- the suite must leave the checkout as it found it: `git status --porcelain` is compared before and after,
  and a difference fails the run (tests write only under their temporary folders).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "2")
if os.environ.get("PYTEST_XDIST_WORKER_COUNT"):  # `make test` runs one worker per core: one thread each
    _share = str(max(1, (os.cpu_count() or 1) // int(os.environ["PYTEST_XDIST_WORKER_COUNT"])))
    os.environ.update(OMP_NUM_THREADS=_share, NUMBA_NUM_THREADS=_share)

from creditgrade.features.city.simulate import CityConfig, simulate_city  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SLOW_FIXTURES = {"graded_city", "city_50k", "dirty_city", "small_city", "spark", "service", "planned"}


# The longest files (minutes each, measured in CI), started first so that the two workers finish together;
# every other file keeps its place after them.
LONGEST_FIRST = (
    "tests/serving/test_live.py",
    "tests/serving/test_privacy.py",
    "tests/notebooks/test_notebooks.py",
    "tests/serving/test_killed_runs.py",
    "tests/serving/test_spark.py",
    "tests/serving/test_service.py",
    "tests/features/test_pipeline.py",
    "tests/serving/test_keys_and_audit.py",
    "tests/test_packaging.py",
)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
    rank = {name: n for n, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))  # stable: files stay whole


def _git_status() -> str | None:
    try:
        return subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=all"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None  # not a git checkout (an unpacked source tree): nothing to compare


def pytest_sessionstart(session):
    session.config._creditgrade_tree = _git_status()


def pytest_sessionfinish(session, exitstatus):
    before = getattr(session.config, "_creditgrade_tree", None)
    after = _git_status()
    if before is not None and after is not None and after != before:
        changed = sorted(set(after.splitlines()) ^ set(before.splitlines()))
        session.config.pluginmanager.get_plugin("terminalreporter").write_line(
            "the test suite changed the checkout (git status --porcelain):\n  " + "\n  ".join(changed[:20]), red=True
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session")
def postgres_server():
    """A real PostgreSQL server on loopback, for the team's database option: a throwaway cluster started in a
    temporary folder (Debian's postgresql package, which `make test` installs) and stopped at the end.
    Yields a function giving the URL of a new, empty database."""
    from creditgrade.serving.launch import NoPostgres, local_postgres, new_database

    folder = Path(tempfile.mkdtemp(prefix="creditgrade-pg-"))  # not pytest's tmp: the server's user must own it
    try:
        with local_postgres(folder) as server:
            yield lambda: new_database(server)
    except NoPostgres as exc:
        pytest.skip(str(exc))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def city_50k(tmp_path_factory) -> Path:
    """The calibration city: 50,000 enterprises, clean."""
    out = tmp_path_factory.mktemp("city") / "c50k"
    simulate_city(CityConfig(enterprises=50_000, seed=11), out)
    return out


@pytest.fixture(scope="session")
def dirty_city(tmp_path_factory) -> Path:
    """20,000 enterprises with 10% of every table's rows given an injected fault, every kind at once."""
    out = tmp_path_factory.mktemp("city") / "dirty"
    simulate_city(CityConfig(enterprises=20_000, seed=5, dirty_rate=0.10), out)
    return out


@pytest.fixture(scope="session")
def graded_city(tmp_path_factory):
    """A small city taken through the whole job: ingest, features for three year-ends, a model trained
    and registered as champion (MLflow under its own mlruns/), the city graded at the last two dates.

    Tests that load the model must point MLflow at `mlruns` (monkeypatch CREDITGRADE_MLRUNS)."""
    import datetime as dt
    from types import SimpleNamespace

    from creditgrade.features.ingest import ingest
    from creditgrade.features.pipeline import build_features
    from creditgrade.serving.batch import grade_city
    from creditgrade.training import tracking
    from creditgrade.training.train import train

    root = tmp_path_factory.mktemp("graded")
    raw, clean, table, mlruns = root / "raw", root / "clean", root / "features.parquet", root / "mlruns"
    simulate_city(CityConfig(enterprises=8_000, seed=21, dirty_rate=0.002), raw)
    ingest(raw, clean)
    days = [dt.date(2023, 12, 31), dt.date(2024, 12, 31), dt.date(2025, 12, 31)]
    fit_days = [dt.date(2021, 12, 31), dt.date(2022, 12, 31)]  # the trees learn from these; 2023 tunes, 2024 tests
    build_features(clean, fit_days + days, table)
    before = os.environ.get("CREDITGRADE_MLRUNS")
    os.environ["CREDITGRADE_MLRUNS"] = str(mlruns)
    try:
        summary = train(table, clean, days[1], truth_dir=raw)
        tracking.promote(summary.registered_version)
        loaded = tracking.load()
        grade_city(table, root / "graded" / str(days[1]), loaded, as_of=days[1])
        latest = grade_city(
            table, root / "graded" / str(days[2]), loaded, as_of=days[2], previous=root / "graded" / str(days[1])
        )
    finally:
        if before is None:
            os.environ.pop("CREDITGRADE_MLRUNS", None)
        else:
            os.environ["CREDITGRADE_MLRUNS"] = before
    return SimpleNamespace(
        root=root,
        raw=raw,
        clean=clean,
        features=table,
        mlruns=mlruns,
        days=days,
        graded=root / "graded",
        latest=root / "graded" / str(days[2]),
        summary=latest,
        loaded=loaded,
    )
