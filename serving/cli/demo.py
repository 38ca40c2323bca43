"""`creditgrade demo` (what `make demo` runs): the main job end to end on embedded defaults.

simulate → ingest → statistics → features → train and register → two month-end runs (grades, migration,
early warnings, drift, the month report, grade history) → a spot-check plan committed, drawn and
verified → the false-registration model and list → the service asked over HTTP. Each step calls the
same packages as its own command and shows its result with the same renderer.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Optional

import typer
import yaml

from creditgrade.models.planning.plan import Plan
from creditgrade.serving.cli import render
from creditgrade.serving.cli.app import app, console, data_dir, progress_bar

DEMO_PLAN = Plan(
    plan_id="demo-public-info",
    purpose="public_information",
    scheme="shenzhen",
    budget=0.03,
    floor=0.005,
    strata=["district"],
    inspectors={"load_cap": 40},
)
DEMO_SEED = "demo lottery 07 19 23 31"


@app.command()
def demo(
    enterprises: int = typer.Option(20_000, help="Size of the demo city."),
    out: Optional[Path] = typer.Option(None, help="Working folder of the demo; default <data>/demo."),
    seed: int = typer.Option(7),
) -> None:
    """The main job end to end on embedded defaults: simulate → ingest → features → train → grade → plan →
    false registrations → serve."""
    from creditgrade.features.city.calibration import city_statistics
    from creditgrade.features.city.simulate import CityConfig, describe, simulate_city
    from creditgrade.features.feeds import months_back
    from creditgrade.features.ingest import ingest
    from creditgrade.features.pipeline import build_features
    from creditgrade.features.profile import dimension_profiles
    from creditgrade.serving.batch import GradingSummary, riskiest_without_override
    from creditgrade.serving.month import run_month
    from creditgrade.training import tracking
    from creditgrade.training.train import train

    out = out or data_dir() / "demo"
    raw, clean = out / "raw", out / "clean"
    console.rule("1. Simulate a city (模拟城市)")
    with progress_bar("simulate") as update:
        manifest = simulate_city(CityConfig(enterprises, seed, dirty_rate=0.002), raw, overwrite=True, progress=update)
    console.print(f"{describe(manifest)}, 0.2% of rows given a fault → {raw}")
    console.rule("2. Ingest with quarantine (接入与隔离)")
    with progress_bar("ingest") as update:
        render.ingest_report(ingest(raw, clean, overwrite=True, progress=update))
    console.rule("3. City statistics against published ranges (统计校准)")
    render.statistics(city_statistics(clean, manifest["extraction_date"], truth_folder=raw))
    console.rule("4. The 63 indicators as of the extraction date (指标计算)")
    table_path = out / "features.parquet"
    extraction = dt.date.fromisoformat(manifest["extraction_date"])
    test_day = dt.date(extraction.year - 1, 12, 31)  # the latest year-end whose next year of inspections is known
    year_ends = [dt.date(y, 12, 31) for y in range(int(manifest["start_year"]), extraction.year)]
    with progress_bar("features") as update:
        build_features(clean, [*year_ends, extraction], table_path, progress=update)
    render.dimensions(*dimension_profiles(table_path))
    console.rule(
        f"5. Risk model: fit on {year_ends[0].year}–{test_day.year - 2}, tune on {test_day.year - 1}, "
        f"test on {test_day.year} (风险模型)"
    )
    with console.status("training LightGBM (monotone), calibrating, fitting cut-points, logging to MLflow"):
        trained = train(table_path, clean, test_day, truth_dir=raw)
    render.training(trained)
    version = tracking.promote(trained.registered_version)
    console.print(f"registered {tracking.MODEL_NAME} version {version} as champion (注册为冠军模型)")
    previous_month = months_back(extraction, 1)
    console.rule(
        f"6. The monthly cycle: month-ends {previous_month} and {extraction}, then an objection upheld (月度分级与异议)"
    )
    scoring = tracking.load()
    monthly = out / "monthly"
    shutil.rmtree(monthly, ignore_errors=True)
    for day in (previous_month, extraction):
        with progress_bar(f"month {day} with {scoring.label}") as update:
            run = run_month(clean, day, monthly, scoring, progress=update, plan=DEMO_PLAN)
        render.month(run)
    graded = monthly / "months" / str(extraction) / "graded"
    render.graded(GradingSummary(**json.loads((graded / "summary.json").read_text(encoding="utf-8"))), graded)
    console.print(f"month report → {monthly / 'months' / str(extraction) / 'report' / 'month_report.html'}")
    example = riskiest_without_override(graded)
    if example is not None:
        render.example(example)
    demo_objection(clean, monthly, graded, scoring)
    console.rule("7. A spot-check plan: commit, draw, verify (双随机抽查计划)")
    demo_plan(out, graded, raw / "inspectors.csv")
    console.rule(f"8. False registrations: model and targeted-check list as of {extraction} (虚假登记)")
    demo_falsereg(table_path, clean, raw, extraction, out)
    console.rule("9. The scoring service: one request over HTTP (评分服务)")
    demo_service(out, graded, example["uscc"] if example is not None else None)


def demo_objection(clean: Path, monthly: Path, graded: Path, scoring) -> None:
    """File an objection against the record behind an override, uphold it, show the regraded history."""
    import duckdb

    from creditgrade.serving import objections
    from creditgrade.serving.history import History, enterprise_history

    found = duckdb.sql(
        f"SELECT uscc, override_source FROM read_parquet('{graded / 'graded.parquet'}') WHERE register_status = "
        "'active' AND override_effect = 'down2' AND grade_shenzhen <> grade_shenzhen_by_score ORDER BY uscc LIMIT 1"
    ).fetchall()
    if not found:
        return
    uscc, record = found[0][0], found[0][1].split("@")[0]
    eng = objections.engine(f"sqlite:///{monthly / 'workflow.db'}")
    o = objections.file(eng, clean, uscc, record, "Listed in error: the entry is another enterprise's", "demo-staff-1")
    render.objection(o)
    decided = objections.decide(
        eng, o.id, True, "The listing department confirmed the error", "demo-staff-2",
        data=clean, root=monthly, scoring=scoring,
    )  # fmt: skip
    render.decision(decided)
    render.history(uscc, enterprise_history(History(monthly / "history"), uscc))


def demo_falsereg(features: Path, clean: Path, raw: Path, day: dt.date, out: Path) -> None:
    """Train and register the false-registration model, print its figures and the top of its list."""
    from creditgrade.serving.falsereg import ranked, write
    from creditgrade.training.falsereg import train_falsereg

    with console.status("training the false-registration model, growing the anomaly forest"):
        result = train_falsereg(features, clean, day, truth_dir=raw)
    render.falsereg_training(result)
    table = ranked(features, clean, day, result.model, top=200, by_cluster=True)
    write(table, out / "falsereg" / str(day))
    render.falsereg_list(table.slice(0, 3).to_pylist(), lang="zh")
    console.print(f"{table.num_rows} enterprises in whole clusters → {out / 'falsereg' / str(day)}")


def demo_plan(out: Path, graded: Path, inspectors: Path) -> None:
    """Commit to a plan, draw it with a seed, verify the published list."""
    from creditgrade.serving.planner.plan import load_plan, preview, verify, write_plan

    config_path = out / "plan.yaml"
    config_path.write_text(yaml.safe_dump(DEMO_PLAN.to_dict(), allow_unicode=True, sort_keys=False), encoding="utf-8")
    pv = preview(graded, load_plan(config_path), inspectors=inspectors)
    render.plan_preview(pv.summary())
    console.print(f"commitment published before the seed (承诺值): {pv.commitment}")
    drawn = write_plan(pv, DEMO_SEED, out / "plan", overwrite=True)
    problems = verify(out / "plan" / "list.csv", pv, DEMO_SEED)
    console.print(
        f"drew {drawn.drawn:,} enterprises with seed {DEMO_SEED!r}, a pair of inspectors each → "
        f"{out / 'plan'}; re-derived from plan, inputs and seed: "
        f"{'matches (核验一致)' if not problems else [en for en, _ in problems]}"
    )
    print(
        f"  .venv/bin/creditgrade plan verify {out / 'plan' / 'list.csv'} --graded {graded} "
        f"--config {config_path} --inspectors {inspectors} --seed '{DEMO_SEED}'"
    )


def demo_service(out: Path, graded: Path, uscc: str | None) -> None:
    """Start the service on the demo's graded table, ask it for one enterprise and open its console page, stop
    it; print how to run it, the console's address and the keys to log in with."""
    import httpx

    from creditgrade.serving.auth import add_key
    from creditgrade.serving.launch import running_server

    keys = out / "api_keys.json"
    keys.unlink(missing_ok=True)
    made = {role: add_key(keys, f"demo-{role}", role) for role in ("regulator", "planner", "admin")}
    key = made["regulator"]
    args = [
        "--graded", str(graded),
        "--monthly", str(out / "monthly"),
        "--records", str(out / "clean"),
        "--keys", str(keys),
        "--audit-log", str(out / "audit.log"),
        "--falsereg", str(out / "falsereg"),
        "--checks", str(out / "clean"),  # the planner's "checked within N months" exclusion
    ]  # fmt: skip
    body = {"uscc": uscc}
    with console.status("starting `creditgrade serve` (BentoML)"), running_server(*args, "--workers", "1") as base:
        r = httpx.post(f"{base}/v1/grade", json=body, headers={"X-API-Key": key}, timeout=30)
        page = _console_page(base, made["admin"], uscc)
    reply = r.json()
    console.print(
        f"POST /v1/grade → HTTP {r.status_code}: {reply.get('uscc')} grade {reply.get('grades')}, "
        f"score {reply.get('score')}, top reason: {(reply.get('reasons') or [{}])[0].get('en')}"
    )
    console.print(f"web console: logged in as demo-admin, GET /console/enterprise/{uscc} → HTTP {page}")
    console.print(f"Keys were written to {keys} (hashes only); the keys themselves (shown once):")
    for role, value in made.items():
        print(f"  demo-{role:<9} {value}")
    console.print("Start the service (启动服务):")
    print(f"  .venv/bin/creditgrade serve {' '.join(args)}")
    console.print("and ask it (查询示例):")
    print(
        f"  curl -s -X POST http://127.0.0.1:3000/v1/grade -H 'X-API-Key: {key}' "
        f"-H 'Content-Type: application/json' -d '{json.dumps(body)}'"
    )
    console.print("or open the web console in a browser and log in with a key above (网页控制台，用上面的密钥登录):")
    print("  http://127.0.0.1:3000/console/")
    print(f"  admin key: {made['admin']}")


def _console_page(base: str, key: str, uscc: str | None) -> int:
    """Log in to the console as a browser would (login form, CSRF token, session cookie) and open a page."""
    import re

    import httpx

    with httpx.Client(base_url=base, timeout=30) as client:
        form = client.get("/console/login").text
        token = re.search(r'name="csrf" value="([^"]+)"', form)
        if token is None:
            return 0
        client.post("/console/login", data={"csrf": token.group(1), "key": key, "next": "/console/"})
        return client.get(f"/console/enterprise/{uscc}").status_code


@app.command()
def bench(
    enterprises: int = typer.Option(100_000, help="Size of the benchmark city (2230000: the full city, hours)."),
    out: Optional[Path] = typer.Option(None, help="Working folder; default <data>/bench-suite-<N>."),
    soak_seconds: float = typer.Option(600.0, help="Length of the soak of the real server."),
    only: str = typer.Option("", help="Comma-separated steps to run (default: all)."),
) -> None:
    """Every benchmark at one scale, comparisons side by side; writes docs/benchmarks.md and .json (性能基准).
    Needs the project's checkout (the benchmarks and their baselines live beside the package)."""
    import subprocess
    import sys

    from creditgrade.features.errors import NotFound
    from creditgrade.features.settings import checkout

    root = checkout()
    if root is None or not (root / "benchmarks" / "suite.py").exists():
        raise NotFound(
            "the benchmarks live in the project's checkout, which this installation is not: run "
            "`make bench` in a checkout",
            "基准测试位于项目源码目录中，当前安装不含它们：请在源码目录中运行 `make bench`",
        )
    argv = [sys.executable, str(root / "benchmarks" / "suite.py"), "--enterprises", str(enterprises)]
    argv += ["--soak-seconds", str(soak_seconds)] + (["--out", str(out)] if out else [])
    argv += ["--only", only] if only else []
    raise typer.Exit(subprocess.run(argv, cwd=root).returncode)
