"""`creditgrade`: the one command line of the project.

Each command is a thin wrapper: parse options, call the package that does the
work, show progress and a summary. Errors that name a bad input end the command
with exit code 2 and one clear message, never a traceback.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
from pathlib import Path
from typing import Iterator, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table as RichTable

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Enterprise credit-risk grading for market regulators (企业信用风险分类).")
console = Console()
DATA = Path("data")


@contextlib.contextmanager
def progress_bar(title: str) -> Iterator:
    with Progress(TextColumn(f"[bold]{title}[/] {{task.description}}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                  TimeElapsedColumn(), console=console, transient=False) as bar:
        task = bar.add_task("", total=1)

        def update(step: str, done: int, total: int) -> None:
            bar.update(task, description=step, completed=done, total=total)

        yield update


def fail(message: str) -> None:
    console.print(f"[red]error:[/] {message}")
    raise typer.Exit(code=2)


@app.command()
def simulate(
    enterprises: int = typer.Option(20_000, help="Enterprises in the city (Shenzhen 2021: 2,230,000)."),
    seed: int = typer.Option(0, help="Random seed; the same seed gives byte-identical files."),
    out: Path = typer.Option(DATA / "city", help="Output folder (written whole or not at all)."),
    start_year: int = typer.Option(2020), end_year: int = typer.Option(2025),
    dirty_rate: float = typer.Option(0.0, help="Share of rows per table given one injected fault (0–0.2)."),
    overwrite: bool = typer.Option(False, help="Replace an existing output folder."),
) -> None:
    """Simulate a city's raw registry and enforcement records (模拟城市), with its ground truth."""
    from features.city.calibration import city_statistics
    from features.city.simulate import CityConfig, describe, simulate_city

    try:
        config = CityConfig(enterprises, seed, start_year, end_year, dirty_rate)
        with progress_bar("simulate") as update:
            manifest = simulate_city(config, out, overwrite=overwrite, progress=update)
    except (ValueError, FileExistsError) as exc:
        fail(str(exc))
    console.print(f"Simulated {describe(manifest)} → {out}")
    if dirty_rate == 0:
        print_statistics(city_statistics(out))
    else:
        console.print("Statistics are printed after ingest (the raw tables hold injected faults).")


@app.command()
def ingest(
    src: Path = typer.Argument(..., help="Folder with one file per contract table (.parquet, folder, or .csv)."),
    out: Path = typer.Option(..., help="Folder for accepted tables, quarantine.parquet and ingest_report.json."),
    extraction_date: Optional[str] = typer.Option(None, help="YYYY-MM-DD; default: the source's manifest.json."),
    allow_uscc: Optional[Path] = typer.Option(None, help="File of legal USCCs that fail the checksum, one a line."),
    overwrite: bool = typer.Option(False, help="Replace an existing output folder."),
) -> None:
    """Validate raw tables against the data contract; bad rows go to quarantine (数据接入与隔离)."""
    from features.ingest import IngestError, ingest as run_ingest

    try:
        when = dt.date.fromisoformat(extraction_date) if extraction_date else None
    except ValueError:
        fail(f"extraction date must be YYYY-MM-DD; got {extraction_date!r}")
    allow: list[str] = []
    if allow_uscc is not None:
        if not allow_uscc.exists():
            fail(f"allow-list file {allow_uscc} does not exist")
        allow = [line.strip() for line in allow_uscc.read_text().splitlines() if line.strip()]
    try:
        with progress_bar("ingest") as update:
            report = run_ingest(src, out, extraction_date=when, allow_uscc=allow, overwrite=overwrite,
                                progress=update)
    except (IngestError, FileExistsError) as exc:
        fail(str(exc))
    print_ingest_report(report)
    if not report.reconciles:
        fail("rows read ≠ rows accepted + rows quarantined for some table; see the table above")


@app.command()
def stats(
    folder: Path = typer.Argument(..., help="A city folder (simulated or ingested)."),
    truth: Optional[Path] = typer.Option(None, help="Folder holding the simulator's truth/ (default: FOLDER)."),
    extraction_date: Optional[str] = typer.Option(None, help="YYYY-MM-DD; default: manifest.json."),
) -> None:
    """Print the city's statistics beside the published ranges (城市统计与公开范围对照)."""
    from features.city.calibration import city_statistics

    try:
        print_statistics(city_statistics(folder, extraction_date, truth_folder=truth))
    except (FileNotFoundError, ValueError) as exc:
        fail(str(exc))


@app.command()
def features(
    data: Path = typer.Option(..., help="An ingested city folder (one Parquet file per contract table)."),
    as_of: list[str] = typer.Option(..., help="YYYY-MM-DD; repeat for a panel of several dates."),
    out: Path = typer.Option(..., help="Parquet file for the indicator table."),
    backend: str = typer.Option("duckdb", help="duckdb (embedded) or pyspark."),
) -> None:
    """Compute the 63 indicators and the false-registration features as of each date (指标计算)."""
    from features.pipeline import FeatureError, build_features, parse_dates

    try:
        days = parse_dates(as_of)
        with progress_bar("features") as update:
            summary = build_features(data, days, out, backend=backend, progress=update)
    except (FeatureError, ValueError) as exc:
        fail(str(exc))
    rows = ", ".join(f"{d}: {n:,}" for d, n in summary["rows"].items())
    console.print(f"Indicator table → {out} (catalog {summary['catalog_version']}; enterprises {rows})")
    print_dimension_summary(out)


@app.command()
def train(
    features_file: Path = typer.Option(..., "--features", help="Feature panel holding the as-of date and a year before."),
    data: Path = typer.Option(..., help="The ingested city folder (its spot checks give the labels)."),
    as_of: str = typer.Option(..., help="Validation as-of date T (training uses T − 12 months)."),
    truth: Optional[Path] = typer.Option(None, help="Simulated city folder with truth/, for the Bayes limit."),
) -> None:
    """Train, calibrate, grade and evaluate the risk model out of time; register it in MLflow (模型训练)."""
    from features.pipeline import FeatureError, parse_dates
    from training.dataset import DatasetError
    from training.train import train as run_train

    try:
        day = parse_dates([as_of])[0]
        with console.status("training LightGBM (monotone), calibrating, fitting cut-points, logging to MLflow"):
            summary = run_train(features_file, data, day, truth_dir=truth)
    except (FeatureError, DatasetError, ValueError, FileNotFoundError) as exc:
        fail(str(exc))
    print_training_summary(summary)


@app.command()
def grade(
    features_file: Path = typer.Option(..., "--features", help="Feature table holding the month to grade."),
    data: Path = typer.Option(..., help="The ingested city folder (source records of the override rules)."),
    as_of: Optional[str] = typer.Option(None, help="Date to grade; default: the latest in the feature table."),
    previous: Optional[Path] = typer.Option(None, help="Last month's graded folder or graded.parquet: migration and PSI."),
    out: Optional[Path] = typer.Option(None, help="Output folder; default data/graded/<as-of>."),
    alias: str = typer.Option("champion", help="Registered model alias to grade with."),
    overwrite: bool = typer.Option(False, help="Replace an existing output folder."),
) -> None:
    """Grade the whole city with the champion model: grades, overrides, sub-scores, reasons (全市分级)."""
    from features.pipeline import FeatureError, parse_dates
    from serving.batch import GradingError, feature_dates, grade_city
    from training import tracking

    try:
        day = parse_dates([as_of])[0] if as_of else None
        tracking.configure()
        loaded = tracking.load(alias)
        day = day or (feature_dates(features_file)[-1] if features_file.exists() else None)
        target = out or DATA / "graded" / str(day)
        with progress_bar(f"grade with {loaded.label}") as update:
            summary = grade_city(features_file, data, target, loaded, as_of=day, previous=previous,
                                 overwrite=overwrite, progress=update)
    except (FeatureError, GradingError, LookupError, ValueError, FileNotFoundError, FileExistsError) as exc:
        fail(str(exc))
    print_graded_summary(summary, target)


@app.command()
def explain(
    uscc: str = typer.Argument(..., help="The enterprise's USCC."),
    graded: Path = typer.Option(DATA / "graded", help="Graded folder, or a folder of them (the newest is used)."),
    out: Optional[Path] = typer.Option(None, help="Waterfall PNG; default <graded folder>/plots/<USCC>.png."),
    alias: str = typer.Option("champion"),
) -> None:
    """Why an enterprise has its grade: top reasons and a SHAP waterfall PNG for a report (企业画像)."""
    from serving.batch import GradingError, explain_one
    from serving.graded import latest_folder
    from training import tracking

    try:
        folder = latest_folder(graded)
        tracking.configure()
        loaded = tracking.load(alias)
        r = explain_one(folder, uscc.strip().upper(), loaded, out or folder / "plots" / f"{uscc.strip().upper()}.png")
    except (GradingError, LookupError, FileNotFoundError) as exc:
        fail(str(exc))
    console.print(f"{r['uscc']} {r['name']}: grade {r['grade']}, score {r['score']:.0f} ({loaded.label})")
    for x in r["reasons"]:
        console.print(f"  {x['points']:+6.1f}  {x['zh']} / {x['en']}")
    console.print(f"waterfall → {r['png']}")


@app.command("train-table")
def train_table(
    table: Path = typer.Argument(..., help="A CSV or Parquet indicator table."),
    label: str = typer.Option(..., help="0/1 label column."),
    id_col: Optional[str] = typer.Option(None, "--id", help="Id column (not an indicator)."),
    weight: Optional[str] = typer.Option(None, help="Row weight column (e.g. 1 / inclusion probability)."),
    time_col: Optional[str] = typer.Option(None, "--time", help="Time column: validate out of time on its last value."),
    catalog_yaml: Optional[Path] = typer.Option(None, "--catalog", help="YAML naming indicator columns and directions."),
    folds: int = typer.Option(10, help="k for k-fold validation (when no --time)."),
) -> None:
    """Train, calibrate, grade and evaluate on any indicator table (自带数据训练)."""
    from training.table import TableError, TableSpec, train_table as run

    try:
        with console.status(f"training on {table} ({folds}-fold)" if not time_col else f"training on {table}"):
            r = run(table, TableSpec(label, id_col, weight, time_col, catalog_yaml), folds=folds)
    except TableError as exc:
        fail(str(exc))
    console.print(f"{table}: {r['rows']:,} rows, {r['positives']:,} positive, {r['indicators']} indicators; "
                  f"{r['validation']} AUC {r['auc_mean']:.4f} ± {r['auc_std']:.4f} "
                  f"(folds: {', '.join(f'{a:.3f}' for a in r['fold_auc'])})")
    ev = r["evaluation"]
    print_grades(f"Grades on held-out predictions (national four classes), KS {ev['ks']:.3f}", ev["grades"])


models_app = typer.Typer(help="Registered risk models: list, promote, roll back (模型管理).", no_args_is_help=True)
app.add_typer(models_app, name="models")


MODEL_OPTION = typer.Option("enterprise-credit-risk", "--model", help="enterprise-credit-risk or false-registration.")


@models_app.command("list")
def models_list(model: str = MODEL_OPTION) -> None:
    """Every registered version with its aliases and validation AUC."""
    from training import tracking

    tracking.configure()
    t = RichTable(title=f"{model} versions")
    for col in ("version", "aliases", "as of", "valid AUC", "catalog"):
        t.add_column(col)
    for v in tracking.versions(model):
        t.add_row(str(v["version"]), ", ".join(v["aliases"]), str(v["as_of"]),
                  f"{v['auc']:.4f}" if v["auc"] is not None else "—", str(v["catalog_version"]))
    console.print(t)


@models_app.command("promote")
def models_promote(version: Optional[int] = typer.Argument(None, help="Version; default: the challenger."),
                   model: str = MODEL_OPTION) -> None:
    """Make a version the champion (the previous one is kept for rollback)."""
    from training import tracking

    tracking.configure()
    try:
        console.print(f"{model} champion → version {tracking.promote(version, model)}")
    except ValueError as exc:
        fail(str(exc))


@models_app.command("rollback")
def models_rollback(model: str = MODEL_OPTION) -> None:
    """Give the champion alias back to the previous champion."""
    from training import tracking

    tracking.configure()
    try:
        console.print(f"{model} champion → version {tracking.rollback(model)}")
    except ValueError as exc:
        fail(str(exc))


falsereg_app = typer.Typer(help="False registrations (虚假登记): model and targeted-check list.", no_args_is_help=True)
app.add_typer(falsereg_app, name="falsereg")


@falsereg_app.command("train")
def falsereg_train(
    features_file: Path = typer.Option(..., "--features", help="Feature panel holding the as-of date and a year before."),
    data: Path = typer.Option(..., help="The ingested city folder (its spot checks confirm the cases)."),
    as_of: str = typer.Option(..., help="Date T: cases confirmed in the year before T, the city scored at T."),
    truth: Optional[Path] = typer.Option(None, help="Simulated city folder with truth/: precision and recall."),
) -> None:
    """Train the false-registration model on confirmed cases plus an anomaly score; register it (虚假登记模型)."""
    from features.pipeline import FeatureError, parse_dates
    from training.falsereg import FalseRegError, train_falsereg

    try:
        day = parse_dates([as_of])[0]
        with console.status("training LightGBM on confirmed cases, growing the anomaly forest, logging to MLflow"):
            s = train_falsereg(features_file, data, day, truth_dir=truth)
    except (FeatureError, FalseRegError, ValueError, FileNotFoundError) as exc:
        fail(str(exc))
    console.print(f"confirmed cases: {s['confirmed_false']:,} false, {s['confirmed_genuine']:,} genuine; out-of-fold "
                  f"AUC {s['out_of_fold_auc']:.4f}; registered false-registration version {s['registered_version']}")
    if "truth" in s:
        print_falsereg_evaluation(s["truth"])


def print_falsereg_evaluation(e: dict) -> None:
    t = RichTable(title=f"Against the truth: {e['false_registrations']:,} false registrations among "
                        f"{e['enterprises']:,} operating enterprises (对照真值)")
    for col in ("method", f"precision, top {e['k']:,}", f"recall, top {e['share']:.0%}"):
        t.add_column(col, justify="right")
    for name, m in e["methods"].items():
        t.add_row(name, f"{m['precision_at_k']:.3f}", f"{m['recall_at_share']:.3f}")
    console.print(t)


@falsereg_app.command("list")
def falsereg_list(
    features_file: Path = typer.Option(..., "--features", help="Feature table holding the date."),
    data: Path = typer.Option(..., help="The ingested city folder (registration clusters)."),
    as_of: Optional[str] = typer.Option(None, help="Date; default: the latest in the feature table."),
    top: int = typer.Option(1000, help="Enterprises on the list."),
    clusters: bool = typer.Option(False, "--clusters", help="List whole registration clusters together."),
    anomaly_only: bool = typer.Option(False, help="Rank by the anomaly score alone (no model, no labels)."),
    out: Optional[Path] = typer.Option(None, help="Output folder; default data/falsereg/<date>."),
    alias: str = typer.Option("champion"),
) -> None:
    """The ranked targeted-check list with clusters and reasons (虚假登记核查名单)."""
    from features.pipeline import FeatureError, parse_dates
    from serving.batch import feature_dates
    from serving.falsereg import ranked, write
    from training import tracking
    from training.falsereg import FalseRegError, load

    try:
        day = parse_dates([as_of])[0] if as_of else feature_dates(features_file)[-1]
        model, label = None, "the anomaly score alone"
        if not anomaly_only:
            tracking.configure()
            version, model = load(alias)
            label = f"{tracking.FALSE_REGISTRATION}/{version}"
        with console.status(f"scoring the city as of {day} with {label}"):
            table = ranked(features_file, data, day, model, top=top, by_cluster=clusters)
        target = write(table, out or DATA / "falsereg" / str(day))
    except (FeatureError, FalseRegError, LookupError, ValueError, FileNotFoundError) as exc:
        fail(str(exc))
    for r in table.slice(0, 5).to_pylist():
        console.print(f"{r['rank']:>4}. {r['uscc']} score {r['score']:.3f}, cluster of {r['cluster_size']}: "
                      f"{r['reasons_en']}")
    console.print(f"{table.num_rows:,} enterprises ranked by {label} → {target} (list.csv, list.parquet)")


keys_app = typer.Typer(help="API keys of the service (服务密钥).", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
audit_app = typer.Typer(help="The service's audit log (审计日志).", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@keys_app.command("add")
def keys_add(
    key_id: str = typer.Option(..., "--id", help="A name for the key, e.g. the holder's staff unit."),
    role: str = typer.Option(..., help="regulator, planner or admin."),
    file: Path = typer.Option(DATA / "api_keys.json", help="Key file (only hashes are stored)."),
) -> None:
    """Create an API key; it is printed once and only its SHA-256 hash is kept."""
    from serving.auth import add_key

    try:
        key = add_key(file, key_id, role)
    except ValueError as exc:
        fail(str(exc))
    console.print(f"API key for {key_id} ({role}), shown once — store it safely (密钥仅显示一次):")
    print(key)


@audit_app.command("verify")
def audit_verify(path: Path = typer.Argument(DATA / "audit" / "audit.log")) -> None:
    """Check the audit log's hash chain: no entry altered, removed or reordered."""
    from serving.audit import verify

    try:
        n = verify(path)
    except (ValueError, FileNotFoundError) as exc:
        fail(str(exc))
    console.print(f"{path}: {n:,} entries, chain intact (审计链完整)")


plan_app = typer.Typer(help="Spot-check plans (双随机抽查计划): draw, commit, verify.", invoke_without_command=True)
app.add_typer(plan_app, name="plan")
PLAN_ERRORS: tuple = (ValueError, FileExistsError, FileNotFoundError)


@plan_app.callback()
def plan(
    ctx: typer.Context,
    graded: Optional[Path] = typer.Option(None, help="Graded folder or graded.parquet (the newest folder under a root)."),
    config: Optional[Path] = typer.Option(None, help="PLAN.yaml (see docs/spot-check-planner.md)."),
    seed: Optional[str] = typer.Option(None, help="The public seed, revealed after the commitment was published."),
    checks: Optional[Path] = typer.Option(None, help="Spot-check table (or the city folder), for recent-check exclusions."),
    inspectors: Optional[Path] = typer.Option(None, help="Inspector directory CSV/Parquet: assign a random pair each."),
    out: Optional[Path] = typer.Option(None, help="Output folder; default data/plans/<plan id>."),
    overwrite: bool = typer.Option(False, help="Replace an existing output folder."),
) -> None:
    """Draw a risk-weighted, verifiable spot-check list with inspectors (生成抽查名单)."""
    if ctx.invoked_subcommand is not None:
        return
    if graded is None or config is None or seed is None:
        fail("creditgrade plan needs --graded, --config and --seed (or a subcommand: commit, verify)")
    from serving.planner.config import load_plan
    from serving.planner.plan import preview, write_plan

    try:
        pv = preview(graded, load_plan(config), checks=checks, inspectors=inspectors)
        print_plan_preview(pv.summary())
        target = out or DATA / "plans" / pv.config.plan_id
        meta = write_plan(pv, seed, target, overwrite=overwrite)
    except PLAN_ERRORS as exc:
        fail(str(exc))
    console.print(f"drew {meta['drawn']:,} enterprises (expected {meta['expected_inspections']:,.0f} ± "
                  f"{meta['size_sd']:.0f}) with seed {seed!r} → {target} (list.csv, list.parquet, probabilities.parquet, "
                  "plan.json, expected_problems.png)")


@plan_app.command("commit")
def plan_commit(
    graded: Path = typer.Option(..., help="Graded folder or graded.parquet."),
    config: Path = typer.Option(..., help="PLAN.yaml."),
    checks: Optional[Path] = typer.Option(None), inspectors: Optional[Path] = typer.Option(None),
    plot: Optional[Path] = typer.Option(None, help="PNG of the expected problems; default data/plans/<plan id>-expected.png."),
) -> None:
    """Before the draw: expected problems, and the commitment to publish before the seed is known (承诺值)."""
    from models.plots import expected_problems_plot
    from serving.planner.config import load_plan
    from serving.planner.plan import preview

    try:
        s = preview(graded, load_plan(config), checks=checks, inspectors=inspectors).summary()
    except PLAN_ERRORS as exc:
        fail(str(exc))
    print_plan_preview(s)
    plot = plot or DATA / "plans" / f"{s['plan_id']}-expected.png"
    plot.parent.mkdir(parents=True, exist_ok=True)
    expected_problems_plot(s["per_grade"], plot, f"Plan {s['plan_id']}: {s['ratio_to_uniform']:.2f}x a uniform draw")
    console.print(f"expected problems per grade, this plan beside a uniform draw → {plot}")
    console.print("publish this commitment before the seed is drawn (抽签前公布承诺值):")
    print(s["commitment"])


@plan_app.command("verify")
def plan_verify(
    published: Path = typer.Argument(..., help="The published list (list.csv, list.parquet or its folder)."),
    graded: Path = typer.Option(...), config: Path = typer.Option(...), seed: str = typer.Option(...),
    checks: Optional[Path] = typer.Option(None), inspectors: Optional[Path] = typer.Option(None),
    commitment: Optional[str] = typer.Option(None, help="The commitment published before the draw, to check too."),
) -> None:
    """Re-derive a published list from the plan, the inputs and the seed; say whether it matches (核验名单)."""
    from serving.planner.config import load_plan
    from serving.planner.plan import preview, verify

    try:
        pv = preview(graded, load_plan(config), checks=checks, inspectors=inspectors)
        problems = verify(published, pv, seed)
    except PLAN_ERRORS as exc:
        fail(str(exc))
    if commitment is not None and commitment.strip() != pv.commitment:
        problems.insert(0, f"the commitment {commitment.strip()[:16]}… does not match the plan and inputs "
                           f"({pv.commitment[:16]}…) / 承诺值不符")
    if problems:
        fail("the published list does NOT match (名单与重算结果不符):\n  " + "\n  ".join(problems))
    console.print(f"{published}: matches the list re-derived from plan {pv.plan_hash[:12]}…, inputs "
                  f"{pv.inputs_hash[:12]}… and seed {seed!r} (名单核验一致)")


inspections_app = typer.Typer(help="Inspection results (检查结果): the feedback loop.", no_args_is_help=True)
app.add_typer(inspections_app, name="inspections")


@inspections_app.command("ingest")
def inspections_ingest(
    results: Path = typer.Argument(..., help="CSV/Parquet: uscc, check_date, problem_found, finding[, plan_id]."),
    plan_folders: list[Path] = typer.Option(..., "--plan", help="Plan folder(s) that drew the enterprises."),
    data: Path = typer.Option(..., help="The ingested city folder whose spot_checks.parquet receives them."),
) -> None:
    """Append inspection results with their plan's inclusion probability; the next train weighs them (结果回流)."""
    from features.inspections import InspectionError, ingest_results

    try:
        r = ingest_results(results, plan_folders, data)
    except (InspectionError, FileNotFoundError) as exc:
        fail(str(exc))
    console.print(f"ingested {r['ingested']:,} inspections ({r['problems_found']:,} found a problem) of plan(s) "
                  f"{', '.join(r['plans'])} → {data / 'spot_checks.parquet'} ({r['table_rows']:,} rows)")


@app.command("simulate-cycles")
def simulate_cycles_command(
    months: int = typer.Option(6, help="Monthly cycles (1–12) in the city's last simulated year."),
    city: Optional[Path] = typer.Option(None, help="A simulated city folder (with truth/); default: simulate one."),
    data: Optional[Path] = typer.Option(None, help="The city ingested; default: ingest CITY into OUT/clean."),
    enterprises: int = typer.Option(20_000, help="Size of the city simulated when --city is not given."),
    config: Optional[Path] = typer.Option(None, help="PLAN.yaml for every cycle; default: budget 3%, floor 0.5%."),
    seed: str = typer.Option("0", help="Seed of the draws and the outcomes (shared by both runs)."),
    out: Path = typer.Option(DATA / "cycles", help="Working folder; cycles.json and cycles.png are written there."),
) -> None:
    """The feedback loop on the simulated city, weighted and unweighted side by side (抽查—结果—再训练闭环)."""
    from features.city.simulate import CityConfig, simulate_city
    from features.ingest import ingest as run_ingest
    from serving.planner.config import load_plan
    from training.cycles import DEFAULT_PLAN, simulate_cycles

    try:
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
            report = simulate_cycles(data, city, out, months=months, plan=plan, seed=seed, progress=update)
    except PLAN_ERRORS as exc:
        fail(str(exc))
    print_cycles(report, out)


def print_cycles(report: dict, out: Path) -> None:
    t = RichTable(title=f"Feedback loop, {report['months']} monthly cycles of {report['year']} "
                        f"({report['enterprises_at_t0']:,} enterprises; 闭环模拟)")
    for col in ("cycle", "run", "checks", "per 1,000", "uniform", "× uniform", "calib. error", "mean p̂ / true"):
        t.add_column(col, justify="right")
    for r in report["cycles"]:
        t.add_row(str(r["cycle"]), r["run"], f"{r['drawn']:,}", f"{r['per_1000']:.0f}", f"{r['uniform_per_1000']:.0f}",
                  f"{r['ratio_to_uniform']:.2f}", f"{r['calibration_error']:.4f}",
                  f"{r['mean_predicted']:.3f} / {r['mean_true']:.3f}")
    console.print(t)
    e = report["final_calibration_error"]
    console.print(f"after {report['months']} cycles the calibration error is {e['weighted']:.4f} weighted and "
                  f"{e['unweighted']:.4f} unweighted ({report['weighted_over_unweighted']:.2f}×); "
                  f"weighted plans found {report['weighted_ratio_to_uniform_mean']:.2f}× a uniform draw's problems "
                  f"on average → {out / 'cycles.json'}, {out / 'cycles.png'}")


def print_plan_preview(s: dict) -> None:
    t = RichTable(title=f"Plan {s['plan_id']} ({s['scheme']} grades, as of {s['as_of']}; {s['coverage']}): "
                        "expected problems found (预计发现问题数)")
    for col in ("grade", "firms", "eligible", "ratio", "checks", "problems", "uniform: checks", "problems"):
        t.add_column(col, justify="right")
    for g in s["per_grade"]:
        t.add_row(g["grade"], f"{g['enterprises']:,}", f"{g['eligible']:,}", f"{g['sampling_ratio']:.2%}",
                  f"{g['expected_inspections']:,.1f}", f"{g['expected_problems']:,.1f}",
                  f"{g['uniform_inspections']:,.1f}", f"{g['uniform_problems']:,.1f}")
    t.add_row("total", f"{s['enterprises']:,}", f"{s['eligible']:,}", "", f"{s['expected_inspections']:,.1f}",
              f"{s['expected_problems']:,.1f}", f"{s['expected_inspections']:,.1f}", f"{s['uniform_problems']:,.1f}")
    console.print(t)
    per_1000 = 1000 * s["expected_problems"] / s["expected_inspections"] if s["expected_inspections"] else 0.0
    console.print(f"expected {per_1000:.0f} problems per 1,000 checks, {s['ratio_to_uniform']:.2f}× a uniform random "
                  f"draw of the same size (预计为等量随机抽查的 {s['ratio_to_uniform']:.2f} 倍)")
    for why, n in s["excluded"].items():
        console.print(f"  not drawn: {n:,} — {why}")


@app.command()
def serve(
    graded: Path = typer.Option(DATA / "graded", help="Graded folder, or a folder of them (the newest is served)."),
    port: int = typer.Option(3000), host: str = typer.Option("127.0.0.1"),
    workers: int = typer.Option(os.cpu_count() or 1, help="Worker processes (each holds the table in memory)."),
    keys: Path = typer.Option(DATA / "api_keys.json", help="API key file (see `creditgrade keys add`)."),
    audit_log: Path = typer.Option(DATA / "audit" / "audit.log", help="Append-only audit log."),
    inspectors: Optional[Path] = typer.Option(None, help="Inspector directory for /v1/plan's draws."),
    checks: Optional[Path] = typer.Option(None, help="Spot-check table for /v1/plan's recent-check exclusions."),
    falsereg: Path = typer.Option(DATA / "falsereg", help="Folder of false-registration lists for /v1/falsereg."),
) -> None:
    """Start the scoring service (BentoML): lookups, explanations, API keys, audit log (启动服务)."""
    from serving.graded import latest_folder
    from training import tracking

    try:
        folder = latest_folder(graded)
        tracking.configure()
        if tracking.alias_version(tracking.CHAMPION) is None:
            raise LookupError("no champion model is registered: run `creditgrade train` (or `make demo`)")
    except (FileNotFoundError, LookupError) as exc:
        fail(str(exc))
    if not keys.exists() and not os.environ.get("CREDITGRADE_API_KEYS"):
        console.print(f"[yellow]warning:[/] no API keys ({keys} missing): every request will get 401; "
                      "add one with `creditgrade keys add`")
    env = {**os.environ, "CREDITGRADE_GRADED": str(graded.resolve()), "CREDITGRADE_WORKERS": str(workers),
           "CREDITGRADE_API_KEYS_FILE": str(keys.resolve()), "CREDITGRADE_AUDIT_LOG": str(audit_log.resolve()),
           "CREDITGRADE_MLRUNS": str(Path(os.environ.get("CREDITGRADE_MLRUNS", "mlruns")).resolve()),
           "OMP_NUM_THREADS": "1", "BENTOML_DO_NOT_TRACK": "true",
           "CREDITGRADE_FALSEREG": str(falsereg.resolve()),
           **{k: str(v.resolve()) for k, v in (("CREDITGRADE_INSPECTORS", inspectors), ("CREDITGRADE_CHECKS", checks))
              if v is not None}}
    console.print(f"serving {folder} on http://{host}:{port} with {workers} worker(s) (服务启动)")
    bentoml = Path(os.sys.executable).parent / "bentoml"
    os.execve(str(bentoml), [str(bentoml), "serve", "serving.service:CreditGrade", "--host", host, "--port",
                             str(port), "--working-dir", str(Path(__file__).resolve().parents[1])], env)


@app.command()
def docs(check: bool = typer.Option(False, help="Only check that docs/ is in step with the code.")) -> None:
    """Regenerate the documents that are derived from code (docs/data-contract.md)."""
    from features.docs import GENERATED, write_docs

    stale = write_docs(Path("docs"), check=check)
    if check and stale:
        fail(f"out of step with the code: {', '.join(stale)}; run `creditgrade docs`")
    console.print(f"docs in step: {', '.join(GENERATED)}")


@app.command()
def demo(
    enterprises: int = typer.Option(20_000, help="Size of the demo city."),
    out: Path = typer.Option(DATA / "demo", help="Working folder of the demo."),
    seed: int = typer.Option(7),
) -> None:
    """The main job end to end on embedded defaults: simulate → ingest → features → train → grade → plan →
    false registrations → serve."""
    from features.city.calibration import city_statistics
    from features.city.simulate import CityConfig, describe, simulate_city
    from features.ingest import ingest as run_ingest

    raw, clean = out / "raw", out / "clean"
    console.rule("1. Simulate a city (模拟城市)")
    with progress_bar("simulate") as update:
        manifest = simulate_city(CityConfig(enterprises, seed, dirty_rate=0.002), raw, overwrite=True,
                                 progress=update)
    console.print(f"{describe(manifest)}, 0.2% of rows given a fault → {raw}")
    console.rule("2. Ingest with quarantine (接入与隔离)")
    with progress_bar("ingest") as update:
        report = run_ingest(raw, clean, overwrite=True, progress=update)
    print_ingest_report(report)
    console.rule("3. City statistics against published ranges (统计校准)")
    print_statistics(city_statistics(clean, manifest["extraction_date"], truth_folder=raw))
    console.rule("4. The 63 indicators as of the extraction date (指标计算)")
    from features.pipeline import build_features

    table_path = out / "features.parquet"
    extraction = dt.date.fromisoformat(manifest["extraction_date"])
    valid_day = dt.date(extraction.year - 1, 12, 31)
    train_day = dt.date(extraction.year - 2, 12, 31)
    with progress_bar("features") as update:
        build_features(clean, [train_day, valid_day, extraction], table_path, progress=update)
    print_dimension_summary(table_path)
    console.rule(f"5. Risk model: train as of {train_day}, validate as of {valid_day} (风险模型)")
    from training.train import train as run_train

    with console.status("training LightGBM (monotone), calibrating, fitting cut-points, logging to MLflow"):
        summary = run_train(table_path, clean, valid_day, truth_dir=raw)
    print_training_summary(summary)
    from training import tracking

    version = tracking.promote(summary["registered_version"])
    console.print(f"registered {tracking.MODEL_NAME} version {version} as champion (注册为冠军模型)")
    console.rule(f"6. Grade the city as of {extraction} with the champion (全市分级)")
    from serving.batch import grade_city

    loaded = tracking.load()
    with progress_bar(f"grade with {loaded.label}") as update:
        graded = grade_city(table_path, clean, out / "graded", loaded, as_of=extraction, overwrite=True,
                            progress=update)
    print_graded_summary(graded, out / "graded")
    example = print_example_reasons(out / "graded")
    console.rule("7. A spot-check plan: commit, draw, verify (双随机抽查计划)")
    demo_plan(out, raw / "inspectors.csv")
    console.rule(f"8. False registrations: model and targeted-check list as of {extraction} (虚假登记)")
    demo_falsereg(table_path, clean, raw, extraction, out)
    console.rule("9. The scoring service: one request over HTTP (评分服务)")
    demo_service(out, example)


def demo_falsereg(features: Path, clean: Path, raw: Path, day: dt.date, out: Path) -> None:
    """Train and register the false-registration model, print its figures and the top of its list."""
    from serving.falsereg import ranked, write
    from training.falsereg import train_falsereg

    with console.status("training the false-registration model, growing the anomaly forest"):
        s = train_falsereg(features, clean, day, truth_dir=raw)
    console.print(f"confirmed cases: {s['confirmed_false']:,} false, {s['confirmed_genuine']:,} genuine; registered "
                  f"false-registration version {s['registered_version']}")
    print_falsereg_evaluation(s["truth"])
    table = ranked(features, clean, day, s["model"], top=200, by_cluster=True)
    write(table, out / "falsereg" / str(day))
    for r in table.slice(0, 3).to_pylist():
        console.print(f"{r['rank']:>4}. {r['uscc']} score {r['score']:.3f}: {r['reasons_zh']}")
    console.print(f"{table.num_rows} enterprises in whole clusters → {out / 'falsereg' / str(day)}")


DEMO_PLAN = """\
plan_id: demo-public-info
purpose: public_information
scheme: shenzhen
budget: 0.03
floor: 0.005
strata: [district]
inspectors: {load_cap: 40}
"""


def demo_plan(out: Path, inspectors: Path) -> None:
    """Commit to a plan, draw it with a seed, verify the published list."""
    from serving.planner.config import load_plan
    from serving.planner.plan import preview, verify, write_plan

    config_path = out / "plan.yaml"
    config_path.write_text(DEMO_PLAN, encoding="utf-8")
    pv = preview(out / "graded", load_plan(config_path), inspectors=inspectors)
    print_plan_preview(pv.summary())
    console.print(f"commitment published before the seed (承诺值): {pv.commitment}")
    seed = "demo lottery 07 19 23 31"
    meta = write_plan(pv, seed, out / "plan", overwrite=True)
    problems = verify(out / "plan" / "list.csv", pv, seed)
    console.print(f"drew {meta['drawn']:,} enterprises with seed {seed!r}, a pair of inspectors each → {out / 'plan'}; "
                  f"re-derived from plan, inputs and seed: {'matches (核验一致)' if not problems else problems}")
    print(f"  .venv/bin/creditgrade plan verify {out / 'plan' / 'list.csv'} --graded {out / 'graded'} "
          f"--config {config_path} --inspectors {inspectors} --seed '{seed}'")


def demo_service(out: Path, uscc: str | None) -> None:
    """Start the service on the demo's graded table, ask it for one enterprise, stop it; print how to run it."""
    import httpx

    from serving.auth import add_key
    from serving.launch import running_server

    keys = out / "api_keys.json"
    keys.unlink(missing_ok=True)
    key = add_key(keys, "demo-regulator", "regulator")
    args = ["--graded", str(out / "graded"), "--keys", str(keys), "--audit-log", str(out / "audit.log"),
            "--falsereg", str(out / "falsereg")]
    body = {"uscc": uscc}
    with console.status("starting `creditgrade serve` (BentoML)"), running_server(*args, "--workers", "1") as base:
        r = httpx.post(f"{base}/v1/grade", json=body, headers={"X-API-Key": key}, timeout=30)
    reply = r.json()
    console.print(f"POST /v1/grade → HTTP {r.status_code}: {reply.get('uscc')} grade {reply.get('grades')}, "
                  f"score {reply.get('score')}, top reason: {(reply.get('reasons') or [{}])[0].get('en')}")
    console.print(f"A regulator key was written to {keys} (hash only); the key itself: {key}")
    console.print("Start the service (启动服务):")
    print(f"  .venv/bin/creditgrade serve {' '.join(args)}")
    console.print("and ask it (查询示例):")
    print(f"  curl -s -X POST http://127.0.0.1:3000/v1/grade -H 'X-API-Key: {key}' "
          f"-H 'Content-Type: application/json' -d '{json.dumps(body)}'")


def print_graded_summary(summary: dict, out: Path) -> None:
    t = RichTable(title=f"Graded {summary['enterprises']:,} enterprises as of {summary['as_of']} with "
                        f"{summary['model_version']} (分级结果) → {out}")
    t.add_column("scheme 方案")
    t.add_column("grades 等级分布")
    for name, counts in summary["grades"].items():
        total = sum(counts.values())
        t.add_row(name, "  ".join(f"{g} {c / total:.1%}" for g, c in counts.items()))
    console.print(t)
    console.print(f"override rules applied to {summary['overrides']:,} enterprises (强制降级/直接评定)")
    if "migration" in summary:
        m = summary["migration"]
        console.print(f"against last month: {m['moved']:,} moved grade, {m['entered']:,} new, {m['left']:,} left; "
                      f"score PSI {m['psi_score']:.4f} (等级迁移)")


def print_example_reasons(folder: Path) -> str | None:
    """The worst-scored enterprise without an override, with its sub-scores and reasons."""
    import duckdb

    from serving.batch import DATABASE

    with duckdb.connect(str(folder / DATABASE), read_only=True) as con:
        row = con.execute("SELECT uscc, name, score, grade_shenzhen, points_d1, points_d2, points_d3, points_d4, "
                          "points_d5, reasons FROM graded WHERE override_rule IS NULL ORDER BY score LIMIT 1").fetchone()
    if row is None:
        return None
    console.print(f"Example (示例): {row[0]} {row[1]} — score {row[2]:.0f}, grade {row[3]}; dimension points "
                  f"D1 {row[4]:+.0f}, D2 {row[5]:+.0f}, D3 {row[6]:+.0f}, D4 {row[7]:+.0f}, D5 {row[8]:+.0f}")
    for r in row[9]:
        console.print(f"  {r['points']:+6.1f}  {r['zh']} / {r['en']}")
    return row[0]


def print_dimension_summary(path: Path) -> None:
    """Per dimension: how many enterprises show any adverse signal, how much is missing, the commonest signal."""
    import pyarrow.parquet as pq

    from features import catalog

    frame = pq.read_table(path).to_pandas()
    t = RichTable(title=f"Indicators per dimension (各维度指标概况), {len(frame):,} enterprise-dates")
    for col in ("dimension 维度", "n", "any adverse 有不良信号", "missing 缺失", "commonest adverse signal 最常见不良信号"):
        t.add_column(col)
    for dim in catalog.DIMENSIONS:
        ids = [i.id for i in catalog.ALL if i.dimension == dim.id]
        adverse = [i for i in ids if catalog.BY_ID[i].direction == 1 and catalog.BY_ID[i].unit in ("flag", "count")
                   and catalog.BY_ID[i].minimum == 0 and not i.startswith("fr_enterprises")]
        shares = (frame[adverse].fillna(0) > 0).mean() if adverse else None
        top = shares.idxmax() if adverse else None
        t.add_row(f"{dim.id} {dim.en}\n{dim.zh}", str(len(ids)),
                  f"{(frame[adverse].fillna(0) > 0).any(axis=1).mean():.1%}" if adverse else "—",
                  f"{frame[ids].isna().mean().mean():.1%}",
                  f"{catalog.BY_ID[top].en}: {shares[top]:.1%}\n{catalog.BY_ID[top].zh}" if top else "—")
    console.print(t)


def print_grades(title: str, grades: list[dict]) -> None:
    t = RichTable(title=title)
    for col in ("grade 等级", "share 占比", "problem rate 问题发现率"):
        t.add_column(col)
    for g in grades:
        t.add_row(g["grade"], f"{g['share']:.1%}", "—" if g["problem_rate"] is None else f"{g['problem_rate']:.1%}")
    console.print(t)


def print_training_summary(summary: dict) -> None:
    m = summary["metrics"]
    head = (f"as of {summary['as_of']}: validation AUC {m['valid_auc']:.4f}, KS {m['valid_ks']:.3f}, "
            f"Brier {m['valid_brier']:.4f}, PSI {m['psi_train_valid']:.4f}; {m['train_rows']:,} training and "
            f"{m['valid_rows']:,} validation inspections")
    if "bayes_auc" in m:
        head += f"; Bayes limit {m['bayes_auc']:.4f} (gap {m['auc_gap_to_bayes']:.4f})"
    console.print(head)
    for name, r in summary["report"].items():
        print_grades(f"{name}: problem rate per grade (各等级问题发现率), city {r['city_problem_rate']:.1%}", r["grades"])
    for name, message in summary.get("scheme_errors", {}).items():
        console.print(f"[yellow]{name}: not graded[/] — {message}")
    if "registered_version" in summary:
        console.print(f"registered {summary.get('model_name', 'enterprise-credit-risk')} version "
                      f"{summary['registered_version']} (alias challenger; champion if it is the first)")


def print_ingest_report(report) -> None:
    t = RichTable(title=f"Ingest of {report.source} (extraction date {report.extraction_date})")
    for col in ("table 表", "read 读入", "accepted 接收", "quarantined 隔离", "ok 平衡", "main rules 主要规则"):
        t.add_column(col, justify="right" if col.split()[0] in ("read", "accepted", "quarantined") else "left")
    for r in report.tables:
        reasons = ", ".join(f"{k} {v}" for k, v in list(r.reasons.items())[:3])
        t.add_row(r.table, f"{r.read:,}", f"{r.accepted:,}", f"{r.quarantined:,}",
                  "✓" if r.reconciles else "[red]✗[/]", reasons)
    console.print(t)


def print_statistics(stats) -> None:
    t = RichTable(title="City statistics vs published ranges (城市统计 vs 公开范围)")
    for col in ("statistic 统计项", "value 数值", "range 范围", "ok"):
        t.add_column(col)
    for s in stats:
        t.add_row(f"{s.en}\n{s.zh}", _fmt(s, s.value), _range(s),
                  {None: "", True: "[green]✓[/]", False: "[red]✗[/]"}[s.in_range])
    console.print(t)


def _fmt(s, v: float) -> str:
    if s.key == "bayes_auc":
        return f"{v:.3f}"
    if s.high is not None and s.high <= 1.0 or (s.high is None and v < 1.0):
        return f"{v:.1%}"
    return f"{v:,.0f}"


def _range(s) -> str:
    if s.low is None and s.high is None:
        return "—"
    return f"{_fmt(s, s.low) if s.low is not None else ''}–{_fmt(s, s.high) if s.high is not None else ''}"


def main() -> None:  # pragma: no cover - console entry point
    os.environ.setdefault("OMP_NUM_THREADS", str(os.cpu_count() or 1))
    app()


if __name__ == "__main__":  # pragma: no cover
    main()

