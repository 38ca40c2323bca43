"""Grading commands: grade the city with the champion, explain one enterprise, the false-registration list."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from creditgrade.serving.cli import render
from creditgrade.serving.cli.app import app, console, data_dir, progress_bar
from creditgrade.serving.cli.model import falsereg_app


@app.command()
def grade(
    features_file: Path = typer.Option(..., "--features", help="Feature table holding the month to grade."),
    as_of: Optional[str] = typer.Option(None, help="Date to grade; default: the latest in the feature table."),
    previous: Optional[Path] = typer.Option(
        None, help="Last month's graded folder or graded.parquet: migration and PSI."
    ),
    out: Optional[Path] = typer.Option(None, help="Output folder; default <data>/graded/<as-of>."),
    alias: str = typer.Option("champion", help="Registered model alias to grade with."),
    overwrite: bool = typer.Option(False, help="Replace an existing output folder."),
) -> None:
    """Grade the whole city with the champion model: grades, overrides, sub-scores, reasons (全市分级)."""
    from creditgrade.features.pipeline import parse_dates
    from creditgrade.serving.batch import feature_dates, grade_city
    from creditgrade.training import tracking

    day = parse_dates([as_of])[0] if as_of else None
    tracking.configure()
    scoring = tracking.load(alias)
    day = day or (feature_dates(features_file)[-1] if features_file.exists() else None)
    target = out or data_dir() / "graded" / str(day)
    with progress_bar(f"grade with {scoring.label}") as update:
        summary = grade_city(
            features_file, target, scoring, as_of=day, previous=previous, overwrite=overwrite, progress=update
        )
    render.graded(summary, target)


@app.command()
def explain(
    uscc: str = typer.Argument(..., help="The enterprise's USCC."),
    graded: Optional[Path] = typer.Option(
        None, help="Graded folder, or a folder of them (the newest is used); default <data>/graded."
    ),
    out: Optional[Path] = typer.Option(None, help="Waterfall PNG; default <graded folder>/plots/<USCC>.png."),
    alias: str = typer.Option("champion"),
    lang: str = typer.Option("en", help="Language of the waterfall PNG: en or zh."),
) -> None:
    """Why an enterprise has its grade: top reasons and a SHAP waterfall PNG in score points for a report (企业画像)."""
    from creditgrade.serving.batch import explain_one
    from creditgrade.serving.graded import latest_folder
    from creditgrade.training import tracking

    folder = latest_folder(graded or data_dir() / "graded")
    tracking.configure()
    scoring = tracking.load(alias)
    code = uscc.strip().upper()
    render.explained(
        explain_one(folder, code, scoring, out or folder / "plots" / f"{code}.{lang}.png", lang), scoring.label
    )


@app.command()
def whatif(
    uscc: str = typer.Argument(..., help="The enterprise's USCC."),
    data: Path = typer.Option(..., help="The ingested city folder the grades were computed from."),
    remove: list[str] = typer.Option([], help="A record to remove, TABLE:RECORD_ID (repeatable)."),
    repair: list[str] = typer.Option([], help="A record to repair (信用修复), TABLE:RECORD_ID (repeatable)."),
    graded: Optional[Path] = typer.Option(
        None, help="Graded folder, or a folder of them (the newest is used); default <data>/graded."
    ),
    alias: str = typer.Option("champion"),
) -> None:
    """What if a record were removed or repaired: indicators and override rules recomputed from the records,
    then the grade before and after (按记录模拟：删除或信用修复)."""
    from creditgrade.features.whatif import RecordChange
    from creditgrade.serving.batch import whatif_by_record
    from creditgrade.serving.graded import latest_folder
    from creditgrade.training import tracking

    changes = [RecordChange.parse("remove", r) for r in remove] + [RecordChange.parse("repair", r) for r in repair]
    folder = latest_folder(graded or data_dir() / "graded")
    tracking.configure()
    scoring = tracking.load(alias)
    with console.status(f"recomputing {uscc}'s indicators from the records"):
        result = whatif_by_record(data, folder, uscc.strip().upper(), changes, scoring)
    render.whatif(result, scoring.label)


@app.command()
def recourse(
    uscc: str = typer.Argument(..., help="The enterprise's USCC."),
    data: Path = typer.Option(..., help="The ingested city folder the grades were computed from."),
    graded: Optional[Path] = typer.Option(
        None, help="Graded folder, or a folder of them (the newest is used); default <data>/graded."
    ),
    scheme: str = typer.Option("shenzhen", help="Grade scheme: shenzhen, shenzhen_fixed, pingshan or national."),
    alias: str = typer.Option("champion"),
) -> None:
    """What the enterprise can do under the rules to lift its grade: each action, the grade it reaches and when
    it becomes possible, and the fewest actions that reach the next grade up (信用修复指引)."""
    from creditgrade.features.settings import settings
    from creditgrade.serving import objections
    from creditgrade.serving.batch import graded_as_of
    from creditgrade.serving.graded import latest_folder
    from creditgrade.serving.recourse import recourse as find
    from creditgrade.training import tracking

    code = uscc.strip().upper()
    folder = latest_folder(graded or data_dir() / "graded")
    day = graded_as_of(folder, code)
    tracking.configure()
    scoring = tracking.load(alias)
    in_force = objections.corrections(objections.engine(settings().database_url), until=day)
    with console.status(f"recomputing {code}'s indicators under each action the rules allow"):
        result = find(data, day, code, scoring, corrections=in_force, scheme=scheme)
    render.recourse(result)


@falsereg_app.command("list")
def falsereg_list(
    features_file: Path = typer.Option(..., "--features", help="Feature table holding the date."),
    data: Path = typer.Option(..., help="The ingested city folder (registration clusters)."),
    as_of: Optional[str] = typer.Option(None, help="Date; default: the latest in the feature table."),
    top: int = typer.Option(1000, help="Enterprises on the list."),
    clusters: bool = typer.Option(False, "--clusters", help="List whole registration clusters together."),
    anomaly_only: bool = typer.Option(False, help="Rank by the anomaly score alone (no model, no labels)."),
    out: Optional[Path] = typer.Option(None, help="Output folder; default <data>/falsereg/<date>."),
    alias: str = typer.Option("champion"),
) -> None:
    """The ranked targeted-check list with clusters and reasons (虚假登记核查名单)."""
    from creditgrade.features.pipeline import parse_dates
    from creditgrade.serving.batch import feature_dates
    from creditgrade.serving.falsereg import ranked, write
    from creditgrade.training import tracking
    from creditgrade.training.falsereg import load

    day = parse_dates([as_of])[0] if as_of else feature_dates(features_file)[-1]
    model, label = None, "the anomaly score alone"
    if not anomaly_only:
        tracking.configure()
        version, model = load(alias)
        label = f"{tracking.FALSE_REGISTRATION}/{version}"
    with console.status(f"scoring the city as of {day} with {label}"):
        table = ranked(features_file, data, day, model, top=top, by_cluster=clusters)
    target = write(table, out or data_dir() / "falsereg" / str(day))
    render.falsereg_list(table.slice(0, 5).to_pylist())
    console.print(f"{table.num_rows:,} enterprises ranked by {label} → {target} (list.csv, list.parquet)")
