"""Planner commands: commit to a spot-check plan, draw it with a public seed, verify a published list, and
bring inspection results back (the feedback loop)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from creditgrade.serving.cli import render
from creditgrade.serving.cli.app import Commands, app, console, data_dir

plan_app = typer.Typer(
    cls=Commands, help="Spot-check plans (双随机抽查计划): draw, commit, verify.", invoke_without_command=True
)
app.add_typer(plan_app, name="plan")


@plan_app.callback()
def plan(
    ctx: typer.Context,
    graded: Optional[Path] = typer.Option(
        None, help="Graded folder or graded.parquet (the newest folder under a root)."
    ),
    config: Optional[Path] = typer.Option(None, help="PLAN.yaml (see docs/spot-check-planner.md)."),
    seed: Optional[str] = typer.Option(None, help="The public seed, revealed after the commitment was published."),
    checks: Optional[Path] = typer.Option(
        None, help="Spot-check table (or the city folder), for recent-check exclusions."
    ),
    inspectors: Optional[Path] = typer.Option(None, help="Inspector directory CSV/Parquet: assign a random pair each."),
    out: Optional[Path] = typer.Option(None, help="Output folder; default <data>/plans/<plan id>."),
    overwrite: bool = typer.Option(False, help="Replace an existing output folder."),
) -> None:
    """Draw a risk-weighted, verifiable spot-check list with inspectors (生成抽查名单)."""
    if ctx.invoked_subcommand is not None:
        return
    from creditgrade.models.planning.plan import PlanError
    from creditgrade.serving.planner.plan import load_plan, preview, write_plan

    if graded is None or config is None or seed is None:
        raise PlanError(
            "creditgrade plan needs --graded, --config and --seed (or a subcommand: commit, verify)",
            "creditgrade plan 须给出 --graded、--config 与 --seed（或使用子命令 commit、verify）",
            code="usage",
        )
    pv = preview(graded, load_plan(config), checks=checks, inspectors=inspectors)
    render.plan_preview(pv.summary())
    target = out or data_dir() / "plans" / pv.config.plan_id
    drawn = write_plan(pv, seed, target, overwrite=overwrite)
    console.print(
        f"drew {drawn.drawn:,} enterprises (expected {drawn.summary.expected_inspections:,.0f} ± "
        f"{drawn.summary.size_sd:.0f}) with seed {seed!r} → {target} (list.csv, list.parquet, "
        "probabilities.parquet, plan.json, expected_problems.png)"
    )


@plan_app.command("commit")
def plan_commit(
    graded: Path = typer.Option(..., help="Graded folder or graded.parquet."),
    config: Path = typer.Option(..., help="PLAN.yaml."),
    checks: Optional[Path] = typer.Option(None),
    inspectors: Optional[Path] = typer.Option(None),
    plot: Optional[Path] = typer.Option(
        None, help="PNG of the expected problems; default <data>/plans/<plan id>-expected.png."
    ),
) -> None:
    """Before the draw: expected problems, and the commitment to publish before the seed is known (承诺值)."""
    from creditgrade.models.plots import expected_problems_plot
    from creditgrade.serving.planner.plan import load_plan, preview

    s = preview(graded, load_plan(config), checks=checks, inspectors=inspectors).summary()
    render.plan_preview(s)
    plot = plot or data_dir() / "plans" / f"{s.plan_id}-expected.png"
    plot.parent.mkdir(parents=True, exist_ok=True)
    expected_problems_plot(
        [g.model_dump() for g in s.per_grade], plot, f"Plan {s.plan_id}: {s.ratio_to_uniform:.2f}x a uniform draw"
    )
    console.print(f"expected problems per grade, this plan beside a uniform draw → {plot}")
    console.print("publish this commitment before the seed is drawn (抽签前公布承诺值):")
    print(s.commitment)


@plan_app.command("verify")
def plan_verify(
    published: Path = typer.Argument(..., help="The published list (list.csv, list.parquet or its folder)."),
    graded: Path = typer.Option(...),
    config: Path = typer.Option(...),
    seed: str = typer.Option(...),
    checks: Optional[Path] = typer.Option(None),
    inspectors: Optional[Path] = typer.Option(None),
    commitment: Optional[str] = typer.Option(None, help="The commitment published before the draw, to check too."),
) -> None:
    """Re-derive a published list from the plan, the inputs and the seed; say whether it matches (核验名单)."""
    from creditgrade.models.planning.plan import PlanError
    from creditgrade.serving.planner.plan import load_plan, preview, verify

    pv = preview(graded, load_plan(config), checks=checks, inspectors=inspectors)
    problems = verify(published, pv, seed)
    if commitment is not None and commitment.strip() != pv.commitment:
        problems.insert(
            0,
            (
                f"the commitment {commitment.strip()[:16]}… does not match the plan and inputs ({pv.commitment[:16]}…)",
                f"承诺值 {commitment.strip()[:16]}… 与计划及输入不符",
            ),
        )
    if problems:
        raise PlanError(
            "the published list does NOT match:\n  " + "\n  ".join(en for en, _ in problems),
            "名单与重算结果不符：\n  " + "\n  ".join(zh for _, zh in problems),
            code="plan_mismatch",
        )
    console.print(
        f"{published}: matches the list re-derived from plan {pv.plan_hash[:12]}…, inputs "
        f"{pv.inputs_hash[:12]}… and seed {seed!r} (名单核验一致)"
    )


inspections_app = typer.Typer(
    cls=Commands, help="Inspection results (检查结果): the feedback loop.", no_args_is_help=True
)
app.add_typer(inspections_app, name="inspections")


@inspections_app.command("ingest")
def inspections_ingest(
    results: Path = typer.Argument(..., help="CSV/Parquet: uscc, check_date, problem_found, finding[, plan_id]."),
    plan_folders: list[Path] = typer.Option(..., "--plan", help="Plan folder(s) that drew the enterprises."),
    data: Path = typer.Option(..., help="The ingested city folder whose spot_checks.parquet receives them."),
) -> None:
    """Append inspection results with their plan's inclusion probability; the next train weighs them (结果回流)."""
    from creditgrade.features.inspections import ingest_results

    r = ingest_results(results, plan_folders, data)
    console.print(
        f"ingested {r.ingested:,} inspections ({r.problems_found:,} found a problem) of plan(s) "
        f"{', '.join(r.plans)} → {data / 'spot_checks.parquet'} ({r.table_rows:,} rows)"
    )
