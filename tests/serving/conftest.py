"""A real server for the suites that probe the running service (soak, schema fuzzing, roles): `creditgrade serve`
with two workers on loopback, on the graded test city with three published months, started once per session."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from creditgrade.serving.auth import hash_key

LIVE_KEYS = {"regulator": "live-reg-secret", "planner": "live-plan-secret", "admin": "live-admin-secret"}
LIVE_MONTHS = (dt.date(2025, 10, 31), dt.date(2025, 11, 30), dt.date(2025, 12, 31))


def service_env(graded_city, folder: Path, keys: dict[str, tuple[str, str]]) -> dict[str, str]:
    """The settings a service on the graded test city runs with: its months, workflow database and audit log
    under `folder`; `keys` maps a key id to (role, secret)."""
    return {
        "CREDITGRADE_GRADED": str(graded_city.graded),
        "CREDITGRADE_MONTHLY": str(folder / "monthly"),
        "CREDITGRADE_RECORDS": str(graded_city.clean),
        "CREDITGRADE_DATABASE_URL": f"sqlite:///{folder / 'workflow.db'}",
        "CREDITGRADE_MLRUNS": str(graded_city.mlruns),
        "CREDITGRADE_AUDIT_LOG": str(folder / "audit.log"),
        "CREDITGRADE_FALSEREG": str(graded_city.root / "falsereg"),
        "CREDITGRADE_API_KEYS": ",".join(f"{i}:{r}:{hash_key(k)}" for i, (r, k) in keys.items()),
        "CREDITGRADE_CONSOLE": str(folder / "console"),
    }


@pytest.fixture(scope="session")
def live(graded_city, tmp_path_factory):
    from creditgrade.serving.launch import running_server
    from creditgrade.serving.month import run_month

    tmp = tmp_path_factory.mktemp("live")
    for day in LIVE_MONTHS:  # December's credit commitments are partial in the test city (docs/monthly-cycle.md)
        run_month(graded_city.clean, day, tmp / "monthly", graded_city.loaded, accept_drift=day == LIVE_MONTHS[-1])
    env = service_env(graded_city, tmp, {f"live-{r}": (r, k) for r, k in LIVE_KEYS.items()})
    started = {}
    log = tmp / "server.log"
    before = os.environ.get("CREDITGRADE_SERVER_LOG")
    os.environ["CREDITGRADE_SERVER_LOG"] = str(log)  # where `running` sends the server's output
    try:
        with running_server(
            "--graded", str(graded_city.graded), "--workers", "2", env=env, on_start=lambda p: started.update(pid=p.pid)
        ) as base:
            yield SimpleNamespace(
                base=base,
                pid=started["pid"],
                monthly=tmp / "monthly",
                audit=tmp / "audit.log",
                log=log,
                keys=LIVE_KEYS,
                months=LIVE_MONTHS,
            )
    finally:
        if before is None:
            os.environ.pop("CREDITGRADE_SERVER_LOG", None)
        else:
            os.environ["CREDITGRADE_SERVER_LOG"] = before
