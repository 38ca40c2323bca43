"""One MLflow store wherever you stand: the notebooks, the command line and the service use the same one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_every_folder_reaches_the_same_store_with_its_artifacts_inside(tmp_path):
    code = (
        "import mlflow; from creditgrade.training import tracking; print(tracking.configure()); "
        "print(*[mlflow.get_experiment_by_name(n).artifact_location for n in tracking.EXPERIMENTS], sep='\\n')"
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CREDITGRADE_")},
        "CREDITGRADE_HOME": str(tmp_path / "home"),
    }
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, check=True
        ).stdout
        for cwd in (ROOT / "notebooks", tmp_path, ROOT)
    }
    assert len(outputs) == 1
    uri, *locations = outputs.pop().split()
    store = tmp_path / "home" / "mlruns"
    assert uri == f"sqlite:///{store / 'mlflow.db'}"
    assert locations == [
        (store / "artifacts" / name).as_uri() for name in ("enterprise-credit-risk", "false-registration")
    ]
    assert not (ROOT / "notebooks" / "mlruns").exists() and not (tmp_path / "mlruns").exists()
