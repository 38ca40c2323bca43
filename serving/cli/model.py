"""Model commands: train the risk model, train on any table, the registry, the false-registration model, and
the simulated feedback loop."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from creditgrade.serving.cli import render
from creditgrade.serving.cli.app import Commands, app, console, data_dir, progress_bar


@app.command()
def train(
    features_file: Path = typer.Option(
        ..., "--features", help="Feature panel holding T and at least two year-ends before it."
    ),
    data: Path = typer.Option(..., help="The ingested city folder (its spot checks give the labels)."),
    as_of: str = typer.Option(
        ..., help="Test date T: the panel's year-end before T tunes, the earlier ones fit the trees."
    ),
    truth: Optional[Path] = typer.Option(None, help="Simulated city folder with truth/, for the Bayes limit."),
    tolerance: float = typer.Option(
        0.25, help="Equal treatment: flag a group whose observed problem rate lies beyond this share of the predicted."
    ),
) -> None:
    """Train, calibrate, grade and evaluate the risk model out of time; register it in MLflow (模型训练)."""
    from creditgrade.features.pipeline import parse_dates
    from creditgrade.training.train import train as run_train

    day = parse_dates([as_of])[0]
    with console.status("training LightGBM (monotone), calibrating, fitting cut-points, logging to MLflow"):
        result = run_train(features_file, data, day, truth_dir=truth, tolerance=tolerance)
    render.training(result)


@app.command("train-table")
def train_table(
    table: Path = typer.Argument(..., help="A CSV or Parquet indicator table."),
    label: str = typer.Option(..., help="0/1 label column."),
    id_col: Optional[str] = typer.Option(None, "--id", help="Id column (not an indicator)."),
    weight: Optional[str] = typer.Option(None, help="Row weight column (e.g. 1 / inclusion probability)."),
    time_col: Optional[str] = typer.Option(
        None, "--time", help="Time column: fit on the early periods, tune on the one before the last, test on the last."
    ),
    time_format: Optional[str] = typer.Option(
        None, help="How the time column is written, e.g. %d/%m/%Y (default: ISO dates, years or quarters like 2024Q1)."
    ),
    group: Optional[str] = typer.Option(None, help="Group column (e.g. company id): a group never spans two folds."),
    catalog_yaml: Optional[Path] = typer.Option(
        None, "--catalog", help="YAML naming indicator columns and directions."
    ),
    folds: int = typer.Option(10, help="k for k-fold validation (when no --time)."),
) -> None:
    """Train, calibrate, grade and evaluate on any indicator table, every figure on held-out rows (自带数据训练)."""
    from creditgrade.training.table import TableSpec
    from creditgrade.training.table import train_table as run

    spec = TableSpec(label, id_col, weight, time_col, catalog_yaml, group=group, time_format=time_format)
    with progress_bar(f"training on {table.name}") as update:
        result = run(table, spec, folds=folds, progress=update)
    render.table_training(table, result)


models_app = typer.Typer(
    cls=Commands, help="Registered models: list, promote, roll back, seal (模型管理).", no_args_is_help=True
)
app.add_typer(models_app, name="models")
MODEL_OPTION = typer.Option("enterprise-credit-risk", "--model", help="enterprise-credit-risk or false-registration.")


@models_app.command("list")
def models_list(model: str = MODEL_OPTION) -> None:
    """Every registered version with its aliases and validation AUC."""
    from creditgrade.training import tracking

    tracking.configure()
    render.model_versions(model, tracking.versions(model))


@models_app.command("promote")
def models_promote(
    version: Optional[int] = typer.Argument(None, help="Version; default: the challenger."), model: str = MODEL_OPTION
) -> None:
    """Make a version the champion (the previous one is kept for rollback)."""
    from creditgrade.training import tracking

    tracking.configure()
    render.worse_for_groups(tracking.worse_for_groups(version, model))
    console.print(f"{model} champion → version {tracking.promote(version, model)}")


@models_app.command("rollback")
def models_rollback(model: str = MODEL_OPTION) -> None:
    """Give the champion alias back to the previous champion."""
    from creditgrade.training import tracking

    tracking.configure()
    console.print(f"{model} champion → version {tracking.rollback(model)}")


@models_app.command("seal")
def models_seal(
    version: int = typer.Argument(..., help="The version whose files you vouch for."), model: str = MODEL_OPTION
) -> None:
    """Record the SHA-256 of a version's files as they are now (a version registered before hashes were
    recorded): only for files you know to be the ones trained; every load then checks them (模型文件封存)."""
    from creditgrade.training import tracking

    tracking.configure()
    for relative, digest in tracking.seal(version, model).items():
        console.print(f"{model} v{version} {relative}  sha256 {digest}")


falsereg_app = typer.Typer(
    cls=Commands, help="False registrations (虚假登记): model and targeted-check list.", no_args_is_help=True
)
app.add_typer(falsereg_app, name="falsereg")


@falsereg_app.command("train")
def falsereg_train(
    features_file: Path = typer.Option(
        ..., "--features", help="Feature panel holding the as-of date and a year before."
    ),
    data: Path = typer.Option(..., help="The ingested city folder (its spot checks confirm the cases)."),
    as_of: str = typer.Option(..., help="Date T: cases confirmed in the year before T, the city scored at T."),
    truth: Optional[Path] = typer.Option(None, help="Simulated city folder with truth/: precision and recall."),
) -> None:
    """Train the false-registration model on confirmed cases plus an anomaly score; register it (虚假登记模型)."""
    from creditgrade.features.pipeline import parse_dates
    from creditgrade.training.falsereg import train_falsereg

    day = parse_dates([as_of])[0]
    with console.status("training LightGBM on confirmed cases, growing the anomaly forest, logging to MLflow"):
        result = train_falsereg(features_file, data, day, truth_dir=truth)
    render.falsereg_training(result)


@app.command("simulate-cycles")
def simulate_cycles(
    months: int = typer.Option(6, help="Monthly cycles (1–12) in the city's last simulated year."),
    city: Optional[Path] = typer.Option(None, help="A simulated city folder (with truth/); default: simulate one."),
    data: Optional[Path] = typer.Option(None, help="The city ingested; default: ingest CITY into OUT/clean."),
    enterprises: int = typer.Option(20_000, help="Size of the city simulated when --city is not given."),
    config: Optional[Path] = typer.Option(None, help="PLAN.yaml for every cycle; default: budget 3%, floor 0.5%."),
    seed: str = typer.Option("0", help="Seed of the draws and the outcomes (shared by both runs)."),
    out: Optional[Path] = typer.Option(None, help="Working folder (default <data>/cycles); cycles.json, cycles.png."),
    schedule: str = typer.Option(
        "warm", help="warm: each refit starts from the last cycle's fold models; full: every refit from nothing."
    ),
) -> None:
    """The feedback loop on the simulated city, weighted and unweighted side by side (抽查—结果—再训练闭环)."""
    from creditgrade.features.city.simulate import CityConfig, simulate_city
    from creditgrade.features.ingest import ingest as run_ingest
    from creditgrade.serving.planner.plan import load_plan
    from creditgrade.training.cycles import DEFAULT_PLAN
    from creditgrade.training.cycles import simulate_cycles as run

    out = out or data_dir() / "cycles"
    plan = load_plan(config) if config else DEFAULT_PLAN
    if city is None:
        city = out / "raw"
        with progress_bar("simulate") as update:
            simulate_city(CityConfig(enterprises, 0), city, overwrite=True, progress=update)
    if data is None:
        data = out / "clean"
        with progress_bar("ingest") as update:
            run_ingest(city, data, overwrite=True, progress=update)
    with progress_bar("cycles") as update:
        report = run(data, city, out, months=months, plan=plan, seed=seed, progress=update, schedule=schedule)
    render.cycles(report, out)
