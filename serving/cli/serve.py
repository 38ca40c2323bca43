"""`creditgrade serve`: start the scoring service (BentoML) on the latest graded table."""

from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path
from typing import Optional

import typer

from creditgrade.features.settings import settings
from creditgrade.serving.cli.app import app, console
from creditgrade.serving.launch import Supervised

SERVICE = "creditgrade.serving.service:CreditGrade"


@app.command()
def serve(
    graded: Optional[Path] = typer.Option(
        None,
        help="Graded folder, or a folder of them; default <data>/graded. The newest of it and the latest "
        "published month (CREDITGRADE_MONTHLY) is served.",
    ),
    port: int = typer.Option(3000),
    host: str = typer.Option("127.0.0.1"),
    workers: int = typer.Option(os.cpu_count() or 1, help="Worker processes (each holds the table in memory)."),
    keys: Optional[Path] = typer.Option(
        None, help="API key file (see `creditgrade keys add`); default <data>/api_keys.json."
    ),
    audit_log: Optional[Path] = typer.Option(None, help="Append-only audit log; default <data>/audit/audit.log."),
    inspectors: Optional[Path] = typer.Option(None, help="Inspector directory for /v1/plan's draws."),
    checks: Optional[Path] = typer.Option(None, help="Spot-check table for /v1/plan's recent-check exclusions."),
    falsereg: Optional[Path] = typer.Option(
        None, help="Folder of false-registration lists for /v1/falsereg; default <data>/falsereg."
    ),
    monthly: Optional[Path] = typer.Option(
        None, help="The month-end runs' folder (history, warnings, reports, workflow); default <data>/monthly."
    ),
    records: Optional[Path] = typer.Option(
        None, help="The ingested records (objections, the records behind reasons); default <data>/clean."
    ),
) -> None:
    """Start the scoring service (BentoML): lookups, explanations, API keys, audit log (启动服务).

    Runs from any working directory and from an installed wheel: the service is imported as
    `creditgrade.serving.service`, and every place it reads comes to its workers as settings."""
    from creditgrade.features.errors import NotFound
    from creditgrade.serving.graded import served_folder

    given = {
        "graded": graded,
        "api_keys_file": keys,
        "audit_log": audit_log,
        "inspectors": inspectors,
        "checks": checks,
        "falsereg": falsereg,
        "monthly": monthly,
        "records": records,
    }
    s = dataclasses.replace(
        settings(), workers=workers, **{k: Path(v).resolve() for k, v in given.items() if v is not None}
    )
    if monthly is not None and not os.environ.get("CREDITGRADE_DATABASE_URL"):  # the workflow follows its folder
        s = dataclasses.replace(s, database_url=f"sqlite:///{s.monthly / 'workflow.db'}")
    if s.lookups == "database":  # the newest month in the team database (serving/database.py)
        from creditgrade.serving.database import DatabaseStore

        store = DatabaseStore(s.database_url)
        where = f"{store.as_of} from the team database ({len(store):,} enterprises)"
    else:
        where = served_folder(s.graded, s.monthly)
    if s.tracking_uri is None and not (s.mlruns / "mlflow.db").exists():
        raise NotFound(
            f"no model store at {s.mlruns / 'mlflow.db'}: run `creditgrade train` (or `make demo`), or point "
            "CREDITGRADE_MLRUNS at the store",
            f"{s.mlruns / 'mlflow.db'} 处没有模型库：请先运行 `creditgrade train`（或 `make demo`），"
            "或设置 CREDITGRADE_MLRUNS",
        )
    try:  # the records sorted by enterprise, for recourse: written here once per ingested city, not on a request
        from creditgrade.features.by_enterprise import copy_for

        with console.status("sorting the records by enterprise for recourse (once per ingested city)"):
            copy_for(s.records)
    except NotFound:
        console.print(
            f"[yellow]warning:[/] no ingested records at {s.records}: recourse and objections will answer 404"
        )
    if not s.api_keys_file.exists() and not s.api_keys:
        console.print(
            f"[yellow]warning:[/] no API keys ({s.api_keys_file} missing): every request will get 401; "
            "add one with `creditgrade keys add`"
        )
    env = {**os.environ, **s.to_env(), "OMP_NUM_THREADS": "1", "BENTOML_DO_NOT_TRACK": "true"}
    console.print(f"serving {where} on http://{host}:{port} with {workers} worker(s) (服务启动)")
    console.print(f"web console (网页控制台): http://{host}:{port}/console/")
    s.home.mkdir(parents=True, exist_ok=True)
    bentoml = Path(sys.executable).parent / "bentoml"
    argv = [str(bentoml), "serve", SERVICE, "--host", host, "--port", str(port), "--working-dir", str(s.home)]
    # The server starts now and the champion is checked beside it: the check (MLflow's registry, the model parsed
    # and smoke-tested in a child process) took ~4.5 s that the start used to wait for. The workers check the
    # model they load themselves (in a child process, as a reload does), so nothing is served from a model that
    # fails; the check here is for the reason, said where the command was typed, and it stops the server.
    server = Supervised(argv, env)
    try:
        check_champion()
    except BaseException:
        server.stop()
        raise
    raise typer.Exit(server.wait())


def check_champion() -> None:
    """The registered champion loads and passes its checks; NotFound or ModelRejected with the reason."""
    from creditgrade.features.errors import NotFound
    from creditgrade.training import tracking

    tracking.configure()
    if tracking.alias_version(tracking.CHAMPION) is None:
        raise NotFound(
            "no champion model is registered: run `creditgrade train` (or `make demo`)",
            "没有已注册的冠军模型：请先运行 `creditgrade train`（或 `make demo`）",
        )
    tracking.load(tracking.CHAMPION, isolated=True)  # a champion that cannot load stops here, with the reason
