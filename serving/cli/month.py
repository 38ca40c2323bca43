"""The monthly cycle: the month-end run, an enterprise's grade history, the month's early warnings."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from creditgrade.serving.cli import render
from creditgrade.serving.cli.app import Commands, app, progress_bar

ROOT_HELP = "Where months and history live; default CREDITGRADE_MONTHLY."


def _root(root: Optional[Path]) -> Path:
    from creditgrade.features.settings import settings

    return root or settings().monthly


@app.command()
def month(
    data: Path = typer.Option(..., help="The ingested city folder (clean raw tables)."),
    as_of: str = typer.Option(..., help="The month-end to grade, YYYY-MM-DD."),
    root: Optional[Path] = typer.Option(None, help=ROOT_HELP + " With --engine spark: storage the executors see."),
    alias: str = typer.Option("champion", help="Registered model alias to grade with."),
    dry_run: bool = typer.Option(False, help="Do everything in a scratch folder, print it, publish nothing."),
    correction: bool = typer.Option(False, help="Republish a month earlier than the last published one."),
    accept_drift: bool = typer.Option(False, help="Grade even though a feed fell by more than --max-drop."),
    max_drop: float = typer.Option(
        0.5, help="A feed that fell by more than this share of its usual month stops the run."
    ),
    watch: float = typer.Option(0.10, help="Stability index from which an indicator or the score is watched."),
    act: float = typer.Option(0.25, help="Stability index from which it calls for action."),
    engine: str = typer.Option(
        "duckdb", help="duckdb (one machine) or spark (partitioned jobs; CREDITGRADE_SPARK_MASTER, default local)."
    ),
    plan: Optional[Path] = typer.Option(
        None, help="PLAN.yaml whose inspection rates the equal-treatment tables use; default 3% risk-weighted."
    ),
    tolerance: float = typer.Option(
        0.25, help="Flag a group whose risk or inspection lies beyond this share of its due (equal treatment)."
    ),
) -> None:
    """The month-end run: feeds checked, indicators, grades, comparisons with last month, early warnings,
    drift, the month report, history appended (月度分级)."""
    from creditgrade.features.pipeline import parse_dates
    from creditgrade.serving import objections
    from creditgrade.serving.month import run_month
    from creditgrade.serving.planner.plan import load_plan
    from creditgrade.training import tracking

    day = parse_dates([as_of])[0]
    scoring = tracking.load(alias)
    corrections = objections.corrections(objections.engine(), until=day)
    with progress_bar(f"month {day} with {scoring.label}") as update:
        run = run_month(
            data,
            day,
            _root(root),
            scoring,
            dry_run=dry_run,
            correction=correction,
            accept_drift=accept_drift,
            max_drop=max_drop,
            watch=watch,
            act=act,
            progress=update,
            corrections=corrections,
            engine=engine,
            plan=None if plan is None else load_plan(plan),
            tolerance=tolerance,
        )
    render.month(run)


@app.command("sync-database")
def sync_database(
    root: Optional[Path] = typer.Option(None, help=ROOT_HELP),
) -> None:
    """Copy into the team database (CREDITGRADE_DATABASE_URL, PostgreSQL) the published months, corrections
    and the newest month's grades it does not hold yet, for a service with CREDITGRADE_LOOKUPS=database
    (同步到团队数据库)."""
    from creditgrade.features.settings import settings
    from creditgrade.serving.database import describe, sync

    url = settings().database_url
    with progress_bar("team database") as update:
        loaded = sync(url, _root(root), progress=update)
    render.database_sync(loaded, describe(url))


@app.command()
def history(
    uscc: str = typer.Argument(..., help="The enterprise's USCC."),
    root: Optional[Path] = typer.Option(None, help=ROOT_HELP),
) -> None:
    """An enterprise's published grades month by month (信用等级历史)."""
    from creditgrade.serving.history import History, enterprise_history

    render.history(uscc, enterprise_history(History(_root(root) / "history"), uscc))


@app.command()
def warnings(
    as_of: Optional[str] = typer.Option(None, help="The month; default the last published."),
    root: Optional[Path] = typer.Option(None, help=ROOT_HELP),
    district: Optional[str] = typer.Option(None, help="Only this district (region code, or its zh/en name)."),
    industry: Optional[str] = typer.Option(None, help="Only this industry (its zh/en name)."),
    out: Optional[Path] = typer.Option(None, help="Also write the list: .csv or .parquet."),
    limit: int = typer.Option(20, help="Rows to print."),
) -> None:
    """The month's early warnings: whose risk rose sharply and what changed in their record (风险预警)."""
    from creditgrade.features.pipeline import parse_dates
    from creditgrade.serving.month import export_warnings, month_warnings

    day = parse_dates([as_of])[0] if as_of else None
    day, frame = month_warnings(_root(root), day, district=district, industry=industry)
    if out is not None:
        export_warnings(frame, out)
    render.warnings(day, frame, limit, out)


@app.command("equal-treatment")
def equal_treatment(
    graded: Path = typer.Option(..., help="A graded folder (or its graded.parquet), e.g. a month's graded/."),
    data: Path = typer.Option(..., help="The ingested city folder (its enterprise register gives the groups)."),
    plan: Optional[Path] = typer.Option(
        None, help="PLAN.yaml whose inclusion probabilities give the inspection rates; default 3% risk-weighted."
    ),
    tolerance: float = typer.Option(0.25, help="Flag a group beyond this share of its due (±)."),
    alias: str = typer.Option("champion", help="The registered model whose test-period calibration is used."),
    out: Optional[Path] = typer.Option(None, help="Folder to write equal_treatment.json/.md/.html to."),
) -> None:
    """Equal treatment: calibration per district, industry, legal form and size band on the model's test
    period beside this month's grade shares and inspection per group (公平性报告)."""
    from creditgrade.serving import equity
    from creditgrade.serving.planner.plan import load_plan
    from creditgrade.training import tracking

    report = equity.month_treatment(
        graded, data, tracking.load(alias), None if plan is None else load_plan(plan), tolerance
    )
    if out is not None:
        equity.write(report, out)
    render.equal_treatment(report, equity.flagged(report), out)


objection_app = typer.Typer(
    cls=Commands, help="Objections (异议) and credit repairs (信用修复): file, decide, list.", no_args_is_help=True
)
app.add_typer(objection_app, name="objection")


@objection_app.command("file")
def objection_file(
    uscc: str = typer.Argument(..., help="The enterprise's USCC."),
    record: str = typer.Option(..., help="The disputed record, TABLE:ID (e.g. penalties:PEN2024000123)."),
    claim: str = typer.Option(..., help="What is disputed, or why the record should be repaired."),
    by: str = typer.Option(..., help="Who files it (the regulator's staff id; recorded in the workflow)."),
    data: Path = typer.Option(..., help="The ingested city folder (the record must exist and be the enterprise's)."),
    repair: bool = typer.Option(False, help="A credit-repair application instead of an objection."),
) -> None:
    """File an objection against a record, or a credit-repair application (提出异议/申请信用修复)."""
    from creditgrade.serving import objections

    o = objections.file(objections.engine(), data, uscc, record, claim, by, kind="repair" if repair else "objection")
    render.objection(o)


@objection_app.command("decide")
def objection_decide(
    objection_id: str = typer.Argument(..., help="The objection's or repair's id."),
    uphold: bool = typer.Option(..., "--uphold/--reject", help="Uphold (correct the record) or reject."),
    reason: str = typer.Option(..., help="Why."),
    by: str = typer.Option(..., help="Who decides (the regulator's staff id)."),
    data: Path = typer.Option(..., help="The ingested city folder, to regrade from the corrected records."),
    root: Optional[Path] = typer.Option(None, help=ROOT_HELP),
    alias: str = typer.Option("champion", help="Registered model alias to regrade with."),
) -> None:
    """Decide an objection or repair: an upheld one corrects the record and regrades at once (异议决定)."""
    from creditgrade.serving import objections
    from creditgrade.training import tracking

    eng = objections.engine()
    still_open = objections.get(eng, objection_id).status == "open"  # refuse at once, before loading a model
    scoring = tracking.load(alias) if uphold and still_open else None
    d = objections.decide(eng, objection_id, uphold, reason, by, data=data, root=_root(root), scoring=scoring)
    render.decision(d)


@objection_app.command("list")
def objection_list(
    status: Optional[str] = typer.Option(None, help="open, upheld or rejected."),
    overdue: bool = typer.Option(False, help="Only those past their deadline."),
    uscc: Optional[str] = typer.Option(None, help="Only this enterprise's."),
) -> None:
    """Objections and repair applications, with their deadlines (异议与修复清单)."""
    from creditgrade.serving import objections

    render.objections(objections.objections(objections.engine(), status=status, overdue=overdue, uscc=uscc))
