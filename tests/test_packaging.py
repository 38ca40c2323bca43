"""The project installs as one import package, `creditgrade.*`: a wheel built from the checkout works in a fresh
virtual environment far from it (the command line, a tiny city, the service starting), and the folders'
bare names (`features`, `models`, ...) are not importable from an installed project."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("features", "models", "training", "serving")


def test_every_folder_with_code_is_a_declared_package():
    declared = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {
        "creditgrade." + ".".join(p.parent.relative_to(ROOT).parts)
        for layer in LAYERS
        for p in (ROOT / layer).rglob("__init__.py")
    }
    assert declared == found, f"pyproject.toml packages and the folders differ: {declared ^ found}"


def test_the_bare_folder_names_are_not_importable_from_elsewhere(tmp_path):
    code = (
        "import importlib.util as u, creditgrade.features.catalog as c; "
        "print([n for n in ('features', 'models', 'training', 'serving') if u.find_spec(n)]); print(c.__name__)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert out.stdout.split("\n")[:2] == ["[]", "creditgrade.features.catalog"], out.stdout + out.stderr


def _uv() -> Path:
    uv = Path(sys.executable).parent / "uv"
    if not uv.exists():
        pytest.skip(f"uv is not installed beside {sys.executable} (make install puts it there)")
    return uv


def _run(argv: list, cwd: Path, env: dict | None = None, timeout: float = 900) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [str(a) for a in argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
    assert result.returncode == 0, (
        f"{' '.join(map(str, argv))} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )
    return result


@pytest.mark.slow
def test_a_wheel_installs_and_runs_outside_the_checkout(tmp_path, graded_city):
    uv = _uv()
    dist, venv, work = tmp_path / "dist", tmp_path / "venv", tmp_path / "work"
    work.mkdir()
    _run([uv, "build", "--wheel", "--out-dir", dist, ROOT], cwd=tmp_path)
    wheel = next(dist.glob("creditgrade-*.whl"))
    _run([uv, "venv", "--quiet", "--python", sys.executable, venv], cwd=tmp_path)
    python, bin_ = venv / "bin" / "python", venv / "bin"
    _run(
        [uv, "pip", "install", "--quiet", "--python", python, "--constraint", ROOT / "requirements.lock", wheel],
        cwd=tmp_path,
    )
    env = {
        "CREDITGRADE_HOME": str(tmp_path / "home"),
        "PATH": f"{bin_}:{os.environ['PATH']}",
        "VIRTUAL_ENV": str(venv),
        "OMP_NUM_THREADS": "1",
    }
    env.pop("CREDITGRADE_MLRUNS", None)
    assert "simulate" in _run([bin_ / "creditgrade", "--help"], cwd=work, env=env).stdout
    probe = _run(
        [
            python,
            "-c",
            "import importlib.util as u, creditgrade.serving.cli as c; "
            "print(c.__file__); print([n for n in ('features', 'models') if u.find_spec(n)])",
        ],
        cwd=work,
        env=env,
    ).stdout.split("\n")
    assert str(venv) in probe[0] and probe[1] == "[]", probe
    _run(
        [bin_ / "creditgrade", "simulate", "--enterprises", "300", "--seed", "1", "--out", work / "raw"],
        cwd=work,
        env=env,
    )
    _run([bin_ / "creditgrade", "ingest", work / "raw", "--out", work / "clean"], cwd=work, env=env)
    built = _run(
        [
            bin_ / "creditgrade",
            "features",
            "--data",
            work / "clean",
            "--as-of",
            "2025-12-31",
            "--out",
            work / "features.parquet",
        ],
        cwd=work,
        env=env,
    )
    assert (work / "features.parquet").exists() and "Indicator table" in built.stdout
    # The service starts from the wheel, in a folder with no checkout, on a graded city and a registered model.
    code = (
        "import sys; from creditgrade.serving.launch import running_server\n"
        f"with running_server('--graded', {str(graded_city.graded)!r}, '--workers', '1', timeout=240) as base:\n"
        "    import httpx; print(httpx.get(base + '/readyz').status_code)"
    )
    served = _run([python, "-c", code], cwd=work, env={**env, "CREDITGRADE_MLRUNS": str(graded_city.mlruns)})
    assert served.stdout.strip().endswith("200")
