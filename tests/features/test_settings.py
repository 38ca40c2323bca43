"""Settings: every CREDITGRADE_* variable in one object, places that do not depend on the working directory."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from creditgrade.features.errors import CreditgradeError
from creditgrade.features.settings import checkout, settings

ROOT = Path(__file__).resolve().parents[2]
ENV_NAMES = ("CREDITGRADE_HOME", "CREDITGRADE_MLRUNS", "CREDITGRADE_GRADED", "CREDITGRADE_WORKERS")


def test_the_home_is_the_checkout_wherever_the_command_runs(tmp_path):
    code = "from creditgrade.features.settings import settings; s = settings(); print(s.home); print(s.mlruns)"
    env = {k: v for k, v in __import__("os").environ.items() if k not in ENV_NAMES}
    seen = {
        subprocess.run(
            [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, check=True
        ).stdout
        for cwd in (tmp_path, ROOT / "notebooks", ROOT)
    }
    assert seen == {f"{ROOT}\n{ROOT / 'mlruns'}\n"}
    assert checkout() == ROOT


def test_variables_override_the_defaults(tmp_path, monkeypatch):
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CREDITGRADE_HOME", str(tmp_path / "home"))
    s = settings()
    assert (s.mlruns, s.graded, s.audit_log) == (
        tmp_path / "home" / "mlruns",
        tmp_path / "home" / "data" / "graded",
        tmp_path / "home" / "data" / "audit" / "audit.log",
    )
    monkeypatch.setenv("CREDITGRADE_MLRUNS", "relative/store")
    assert settings().mlruns == Path("relative/store").resolve()
    child = settings().to_env()
    assert child["CREDITGRADE_MLRUNS"] == str(Path("relative/store").resolve())
    monkeypatch.setenv("CREDITGRADE_WORKERS", "two")
    with pytest.raises(CreditgradeError, match="CREDITGRADE_WORKERS must be a positive whole number") as err:
        settings()
    assert "正整数" in err.value.zh
    monkeypatch.delenv("CREDITGRADE_WORKERS")
    monkeypatch.setenv("CREDITGRADE_SPARK_DRIVER_MEMORY", "12G")
    assert settings().spark_driver_memory == "12g"
    for bad in ("8 GB", "0g", "-4g", "eight"):
        monkeypatch.setenv("CREDITGRADE_SPARK_DRIVER_MEMORY", bad)
        with pytest.raises(CreditgradeError, match="CREDITGRADE_SPARK_DRIVER_MEMORY must be a memory size") as err:
            settings()
        assert "内存大小" in err.value.zh
