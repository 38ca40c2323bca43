"""Every benchmark the project has, in one run, at one scale: `make bench` (and `creditgrade bench`).

    make bench                                   # ≈ a 100,000-enterprise city (the default)
    make bench BENCH_ENTERPRISES=2230000         # the full city (hours)
    .venv/bin/python benchmarks/suite.py --enterprises 100000 --out data/bench-suite

Runs, in order, each benchmark script on the same simulated city, each in its own processes (so their peak
memory is their own), the comparisons side by side in the same run — simulate and ingest; the 63 indicators
(and the pandas and Polars baselines); training with the model's quality against the simulator's Bayes limit; TreeSHAP
against `shap.TreeExplainer`; grading; two month-end runs; a month-end on Spark (one worker and two) against
DuckDB; false-registration scoring; the service under load against a plain per-request SHAP endpoint; its
raised goals (cold start, 64 clients, batches of 1,000 after 60,000 requests); a service worker's memory
serving 20 k, the suite's city and 10 M enterprises (synthesised from its graded month); the planner against
a uniform draw; the Polish bankruptcy data
against its published figures; and the ten-minute soak — then writes `docs/benchmarks.md` (measure, this
project, comparison, ratio, goal, met) and `docs/benchmarks.json`. Time goals set for the full city
(2,230,000 enterprises) are scaled in proportion at a smaller city and marked so. A step that fails is
reported as failed, with its reason: nothing is left out silently.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
FULL_CITY = 2_230_000


class Suite:
    def __init__(self, enterprises: int, out: Path, seconds: float, soak_seconds: float):
        self.n, self.out, self.seconds, self.soak_seconds = enterprises, out, seconds, soak_seconds
        self.rows: list[dict] = []
        self.steps: list[dict] = []
        self.current = ""
        self.scale = enterprises / FULL_CITY

    def script(self, name: str, *args, timeout: float = 6 * 3600) -> str:
        """Run benchmarks/<name>.py; its output is kept under <out>/logs and returned."""
        (self.out / "logs").mkdir(parents=True, exist_ok=True)
        argv = [sys.executable, str(ROOT / "benchmarks" / f"{name}.py"), *map(str, args)]
        start = time.perf_counter()
        done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=_env())
        took = time.perf_counter() - start
        (self.out / "logs" / f"{name}.log").write_text(done.stdout + done.stderr)
        self.steps.append(
            {
                "step": self.current,
                "script": name,
                "seconds": round(took, 1),
                "command": " ".join(argv[1:]),
                "rc": done.returncode,
            }
        )
        if done.returncode != 0:
            raise RuntimeError(f"{name} exited with {done.returncode}: {(done.stdout + done.stderr)[-600:]}")
        return done.stdout

    def row(self, measure: str, ours, comparison=None, ratio=None, goal: str = "", met=None, command: str = ""):
        self.rows.append(
            {
                "step": self.current,
                "measure": measure,
                "this project": ours,
                "comparison": comparison,
                "ratio": None if ratio is None else round(float(ratio), 2),
                "goal": goal,
                "met": met,
                "command": command,
            }
        )

    def pro_rata(self, seconds_for_full_city: float) -> float:
        return seconds_for_full_city * self.scale

    def goal_time(self, seconds_for_full_city: float) -> str:
        full = f"≤ {seconds_for_full_city:.0f} s for the full city"
        return full if self.scale >= 1 else f"{full} (≤ {self.pro_rata(seconds_for_full_city):.0f} s pro rata)"

    def step(self, name: str, run) -> None:
        self.current = name
        try:
            run()
        except Exception as exc:  # a failed step is reported, not hidden
            self.row(f"{name}: FAILED", str(exc).strip().splitlines()[-1][:300], met=False)
            (self.out / "logs").mkdir(parents=True, exist_ok=True)
            (self.out / "logs" / f"{name}.traceback").write_text(traceback.format_exc())

    # -- the benchmarks -------------------------------------------------------------------------------------
    def city(self) -> None:
        self.script("city_scale", "--enterprises", self.n, "--out", self.out, "--start-year", 2020)
        r = json.loads((self.out / "benchmark.json").read_text())
        for stage, full in (("simulate", 600), ("ingest", 300)):
            wall = r[stage]["wall_s"]
            self.row(
                f"{stage} {self.n:,} enterprises",
                f"{wall:.1f} s, {r[stage]['peak_rss_gb']:.2f} GB",
                goal=self.goal_time(full) + ("; ≤ 12 GB" if stage == "simulate" else ""),
                met=wall <= self.pro_rata(full) and (stage != "simulate" or r[stage]["peak_rss_gb"] <= 12),
                command=self.steps[-1]["command"],
            )

    def features(self) -> None:
        self.script("features_scale", "--data", self.out / "clean", "--out", self.out)
        r = json.loads((self.out / "features_benchmark.json").read_text())
        cmd = self.steps[-1]["command"]
        self.row(
            "63 indicators + false-registration set",
            f"{r['full_s']:.1f} s, {r['full_rss_gb']:.2f} GB",
            goal=self.goal_time(180) + "; ≤ 6 GB",
            met=r["full_s"] <= self.pro_rata(180) and r["full_rss_gb"] <= 6,
            command=cmd,
        )
        self.row(
            "indicator subset vs pandas (same values)",
            f"{r['subset_pipeline_s']:.1f} s",
            f"pandas {r['subset_pandas_s']:.1f} s",
            r["ratio"],
            "≥ 5× faster; identical values",
            r["ratio"] >= 5 and r["identical"],
            cmd,
        )
        if "subset_polars_s" in r:
            self.row(
                "indicator subset vs Polars (lazy, streamed; same values)",
                f"{r['subset_pipeline_s']:.1f} s",
                f"Polars {r['subset_polars_s']:.1f} s",
                r["ratio_polars"],
                "at least as fast; identical values",
                r["ratio_polars"] >= 1 and r["identical"],
                cmd,
            )

    def train(self) -> None:
        said = self.script(
            "train_scale", "--data", self.out / "clean", "--truth", self.out / "raw", "--first-year", 2021,
            "--out", self.out,
        )  # fmt: skip
        m = json.loads((self.out / "train_result.json").read_text())["metrics"]
        panel, fit = (_seconds(said, start) for start in ("feature panel", "training incl. calibration"))
        cmd = self.steps[-1]["command"]
        self.row(
            "train (fit, early stopping, calibration, cut-points, evaluation, MLflow)",
            f"{fit:.0f} s (the feature panel before it {panel:.0f} s)",
            goal=self.goal_time(300) + " (issue #4; the panel not counted)",
            met=fit <= self.pro_rata(300),
            command=cmd,
        )
        self.row(
            "model quality: test AUC vs the simulator's Bayes limit",
            f"{m['test_auc']:.3f}",
            f"Bayes {m['bayes_auc']:.3f}",
            m["test_auc"] / m["bayes_auc"],
            "gap ≤ 0.05 AUC",
            m["auc_gap_to_bayes"] <= 0.05,
            cmd,
        )
        self.row(
            "worst Shenzhen grade's problem rate vs the oracle's",
            f"{m['worst_grade_rate_vs_oracle']:.2f} of the oracle's",
            f"oracle {m['oracle_worst_grade_rate']:.2f}",
            m["worst_grade_rate_vs_oracle"],
            "≥ 0.9 of the oracle",
            m["worst_grade_rate_vs_oracle"] >= 0.9,
            cmd,
        )

    def explain(self) -> None:
        rows = min(self.n, 500_000)
        self.script(
            "explain_scale", "--mlruns", self.out / "mlruns", "--full", self.out / "features_full.parquet",
            "--panel", self.out / "train_panel.parquet", "--rows", rows, "--out", self.out / "explain",
        )  # fmt: skip
        r = json.loads((self.out / "explain" / "explain_benchmark.json").read_text())
        self.row(
            f"explain {r['rows']:,} enterprises (TreeSHAP, explaining only)",
            f"{r['ours_explain_s']:.1f} s",
            f"shap.TreeExplainer {r['shap_explain_s']:.1f} s",
            r["speedup_explaining"],
            f"≥ 30× faster (raised from 20×, issue #18); equal to 1e-9 (max difference {r['max_abs_difference']:.1e})",
            r["speedup_explaining"] >= 30 and r["max_abs_difference"] <= 1e-9,
            self.steps[-1]["command"],
        )
        for name, o in r.get("others", {}).items():
            self.row(
                f"explain {r['rows']:,} enterprises vs {name.upper()} (another TreeSHAP, explaining only)",
                f"{r['ours_explain_s']:.1f} s",
                f"{name.upper()} {o['explain_s']:.1f} s (max difference to shap {o['max_abs_difference_to_shap']:.1e})",
                o["speedup_explaining"],
                "faster than the fastest other exact CPU TreeSHAP installed (issue #18)",
                o["speedup_explaining"] > 1,
                self.steps[-1]["command"],
            )

    def grade(self) -> None:
        self.script(
            "grade_scale", "--mlruns", self.out / "mlruns", "--features", self.out / "features_full.parquet",
            "--out", self.out / "graded" / "2025-12-31",
        )  # fmt: skip
        r = json.loads((self.out / "graded" / "grade_benchmark.json").read_text())
        self.row(
            "grade the city (scores, grades, reasons, DuckDB, plots)",
            f"{r['grade_s']:.1f} s, {r['grade_gb']:.2f} GB",
            f"reusing last month's explanations {r['grade_previous_s']:.1f} s",
            r["grade_s"] / r["grade_previous_s"],
            self.goal_time(300),
            r["grade_s"] <= self.pro_rata(300),
            self.steps[-1]["command"],
        )

    def month(self) -> None:
        said = self.script("month_scale", "--out", self.out)
        walls = [float(line.split(":")[1].split(" s")[0]) for line in said.splitlines() if line.startswith("month-end")]
        self.row(
            "month-end run (feeds, indicators, grades, comparisons, warnings, drift, report, history)",
            " / ".join(f"{w:.1f} s" for w in walls) + " (first / next month)",
            goal=self.goal_time(300),
            met=bool(walls) and max(walls) <= self.pro_rata(300),
            command=self.steps[-1]["command"],
        )

    def spark(self) -> None:
        day = "2025-11-30"
        self.script(
            "month_spark", "--data", self.out / "clean", "--mlruns", self.out / "mlruns", "--out", self.out / "spark",
            "--engines", "duckdb,spark:local[1],spark:local[2]", "--months", day, "--discard",
        )  # fmt: skip
        r = {spec: runs[0] for spec, runs in json.loads((self.out / "spark" / "month_spark.json").read_text()).items()}
        one, two, duck = r["spark:local[1]"], r["spark:local[2]"], r["duckdb"]
        same = len({x["graded"] for x in r.values()}) == 1
        cmd = self.steps[-1]["command"]
        self.row(
            f"month-end on Spark local[2] ({two['enterprises']:,} graded, {day}; partitioned jobs)",
            f"{two['wall']:.0f} s, peak {two['peak_gb']:.2f} GB (process tree)",
            f"DuckDB on one machine {duck['wall']:.0f} s, {duck['peak_gb']:.2f} GB",
            two["wall"] / duck["wall"],
            "graded table byte-identical to DuckDB's; peak ≤ 16 GB (the goal is set at 10 M: docs/scale-out.md)",
            same and two["peak_gb"] <= 16,
            cmd,
        )
        self.row(
            "month-end on Spark: one worker against two",
            f"local[2] {two['wall']:.0f} s",
            f"local[1] {one['wall']:.0f} s",
            one["wall"] / two["wall"],
            "measured (issue #18, part 3); two faster than one",
            one["wall"] > two["wall"],
            cmd,
        )
        self.row(
            "month-end on Spark local[2]: cost per million enterprises, by stage",
            f"{two['wall'] * 1e6 / two['enterprises']:.0f} s/M ("
            + ", ".join(f"{k} {v * 1e6 / two['enterprises']:.0f}" for k, v in two["stages"].items())
            + ")",
            goal="measured: the national sizing is computed from it (docs/scale-out.md)",
            command=cmd,
        )

    def falsereg(self) -> None:
        said = self.script(
            "falsereg_scale", "--panel", self.out / "train_panel.parquet", "--data", self.out / "clean",
            "--truth", self.out / "raw", "--out", self.out,
        )  # fmt: skip
        m = json.loads((self.out / "falsereg_metrics.json").read_text())
        s = json.loads((self.out / "falsereg_scoring.json").read_text())
        cmd = self.steps[-1]["command"]
        self.row(
            f"false-registration scoring of {s['rows']:,} enterprises",
            f"{s['seconds']:.1f} s",
            goal=self.goal_time(120),
            met=s["seconds"] <= self.pro_rata(120),
            command=cmd,
        )
        t = m["truth"]
        rules, combined = t["methods"]["rules"], t["methods"]["combined"]
        self.row(
            f"false registrations: precision among the top {t['k']:,} (simulator's truth)",
            f"{combined['precision_at_k']:.3f}",
            f"rules {rules['precision_at_k']:.3f}",
            combined["precision_at_k"] / rules["precision_at_k"],
            "≥ 1.5× the rules",
            combined["precision_at_k"] >= 1.5 * rules["precision_at_k"],
            cmd,
        )
        self.row(
            f"false registrations: recall in the top {t['share']:.0%}",
            f"{combined['recall_at_share']:.3f}",
            f"rules {rules['recall_at_share']:.3f}",
            combined["recall_at_share"] / rules["recall_at_share"],
            "≥ 0.70",
            combined["recall_at_share"] >= 0.7,
            cmd,
        )
        (self.out / "logs" / "falsereg_summary.txt").write_text(said)

    def service(self) -> None:
        self.script(
            "service_load", "--mlruns", self.out / "mlruns", "--graded", self.out / "graded", "--out",
            self.out / "service", "--seconds", self.seconds,
        )  # fmt: skip
        r = json.loads((self.out / "service" / "service_benchmark.json").read_text())
        cmd = self.steps[-1]["command"]
        for name, goal, ok in (
            ("lookup_c32", "≥ 400 req/s, p99 ≤ 100 ms, 0 errors", lambda x: x["rps"] >= 400 and x["p99_ms"] <= 100),
            ("lookup_c1", "p99 ≤ 15 ms", lambda x: x["p99_ms"] <= 15),
        ):
            if name in r:
                x = r[name]
                self.row(
                    f"service {name}",
                    f"{x['rps']:.0f} req/s, p50 {x['p50_ms']:.1f} ms, p99 {x['p99_ms']:.1f} ms, errors {x['errors']}",
                    goal=goal,
                    met=ok(x) and x["errors"] == 0,
                    command=cmd,
                )
        if "explain_plain_c32" in r and "shap_c32" in r:
            ours, theirs = r["explain_plain_c32"], r["shap_c32"]
            self.row(
                "service explain at 32 clients vs a plain per-request SHAP endpoint",
                f"{ours['rps']:.0f} req/s",
                f"{theirs['rps']:.0f} req/s",
                ours["rps"] / theirs["rps"],
                "≥ 300 req/s",
                ours["rps"] >= 300 and ours["errors"] == 0,
                cmd,
            )

    def service_goals(self) -> None:
        day = sorted(p.name for p in (self.out / "graded").iterdir() if p.is_dir())[-1]
        self.script(
            "service_goals", "--graded", self.out / "graded" / day, "--mlruns", self.out / "mlruns", "--out",
            self.out / "service",
        )  # fmt: skip
        r = json.loads((self.out / "service" / "service_goals.json").read_text())
        cmd = self.steps[-1]["command"]
        cold = ", ".join(f"{s['ready_s']:.1f}" for s in r["starts"] if s["page_cache_dropped"]) or "—"
        warm = ", ".join(f"{s['ready_s']:.1f}" for s in r["starts"] if not s["page_cache_dropped"]) or "—"
        self.row(
            "service cold start to ready",
            f"page cache dropped first: {cold} s; as the last start left it: {warm} s",
            goal="≤ 15 s",
            met=r["worst_start_s"] <= 15,
            command=cmd,
        )
        x = r["lookup@64"]
        self.row(
            "service lookup at 64 clients",
            f"{x['rps']:.0f} req/s, p50 {x['p50']:.1f} ms, p99 {x['p99']:.1f} ms, errors {x['errors']}",
            goal="p99 ≤ 150 ms",
            met=x["p99"] <= 150 and x["errors"] == 0,
            command=cmd,
        )
        runs = [r[f"batch1000 run {i}"] for i in (1, 2, 3)]
        self.row(
            f"service batch of 1,000 after {r['answered_before_batches']:,} requests, three runs",
            "p99 " + " / ".join(f"{b['p99']:.0f}" for b in runs) + " ms",
            goal="p99 ≤ 200 ms in each run",
            met=all(b["p99"] <= 200 and b["errors"] == 0 for b in runs),
            command=cmd,
        )

    def memory(self) -> None:
        ten = 10_000_000
        self.script(
            "service_memory", "--out", self.out / "memory", "--demo", self.out, "--mlruns", self.out / "mlruns",
            "--cities", f"20000,{ten}", "--seconds", self.seconds,
        )  # fmt: skip
        r = {int(n): x for n, x in json.loads((self.out / "memory" / "service_memory.json").read_text()).items()}
        cmd = self.steps[-1]["command"]
        anon = {n: max(w["anon"] for w in x["workers"]) for n, x in sorted(r.items())}
        spread = max(anon.values()) / min(anon.values()) - 1
        self.row(
            "service worker's own memory across cities (largest worker's anonymous memory)",
            ", ".join(f"{n:,}: {mb:.0f} MB" for n, mb in anon.items()),
            f"spread {spread:.1%}",
            goal="within 20% of each other (issue #18, part 4)",
            met=spread <= 0.2,
            command=cmd,
        )
        small, big = r[min(r)], r[ten]
        x, cached = big["lookup@1"], big.get("cached_share")
        self.row(
            "service lookup at 1 client, 10 M city (the mapped lookup file "
            + ("" if cached is None else f"{cached:.0%} in the page cache ")
            + "at the start)",
            f"p50 {x['p50']:.2f} ms, p99 {x['p99']:.2f} ms, errors {x['errors']}",
            f"{min(r):,}: p99 {small['lookup@1']['p99']:.2f} ms",
            goal="p99 ≤ 15 ms",
            met=x["p99"] <= 15 and x["errors"] == 0,
            command=cmd,
        )
        x, y = big["lookup@32"], small["lookup@32"]
        self.row(
            "service lookup at 32 clients, 10 M city",
            f"{x['rps']:.0f} req/s, p99 {x['p99']:.0f} ms, errors {x['errors']}",
            f"{min(r):,}: {y['rps']:.0f} req/s, p99 {y['p99']:.0f} ms",
            x["rps"] / y["rps"],
            "no worse than the issue's 20 k figures: ≥ 1,000 req/s, p99 ≤ 70 ms",
            x["rps"] >= 1000 and x["p99"] <= 70 and x["errors"] == 0,
            cmd,
        )

    def planner(self) -> None:
        n = self.n  # the suite's city (planner_targets finds it ingested under --out and does not simulate)
        self.script(
            "planner_targets",
            *("--enterprises", n, "--out", self.out, "--seeds", 0, "--schedules", "warm", "full", "--fresh-panel"),
        )
        r = json.loads((self.out / "seed0" / "cycles.json").read_text())
        warm, full = (json.loads((self.out / f / "timing.json").read_text()) for f in ("seed0", "seed0-full"))
        took = warm["panel_s"] + warm["loop_s"]
        first = next(c for c in r["cycles"] if c["cycle"] == 1 and c["run"] == "weighted")
        cmd = self.steps[-1]["command"]
        self.row(
            f"planner: problems found per 1,000 checks ({n:,} enterprises)",
            f"{first['per_1000']:.0f}",
            f"uniform draw {first['uniform_per_1000']:.0f}",
            first["ratio_to_uniform"],
            "≥ 3× uniform",
            first["ratio_to_uniform"] >= 3,
            cmd,
        )
        self.row(
            "six-cycle feedback loop (feature panel + 6 cycles, weighted and unweighted; warm-started refits)",
            f"{took:.0f} s (panel {warm['panel_s']:.0f} s, loop {warm['loop_s']:.0f} s)",
            f"full refits {full['loop_s']:.0f} s (loop)",
            full["loop_s"] / warm["loop_s"],
            self.goal_time(1800),
            took <= self.pro_rata(1800),
            cmd,
        )
        self.row(
            "planner: calibration error after the cycles, weighted / unweighted",
            f"{r['final_calibration_error']['weighted']:.4f}",
            f"unweighted {r['final_calibration_error']['unweighted']:.4f}",
            r["weighted_over_unweighted"],
            "≤ 0.5",
            r["weighted_over_unweighted"] <= 0.5,
            cmd,
        )

    def polish(self) -> None:
        said = self.script("polish_cv")
        for line in said.splitlines()[1:]:
            parts = line.split()
            if len(parts) >= 6 and parts[0].endswith("year.csv"):
                auc = float(parts[3])
                self.row(
                    f"Polish bankruptcy {parts[0]}: 10-fold AUC",
                    f"{auc:.3f} ± {float(parts[4]):.3f}",
                    "published boosted trees 0.93–0.96",
                    auc / 0.93,
                    "≥ 0.93",
                    auc >= 0.93,
                    self.steps[-1]["command"],
                )

    def soak(self) -> None:
        start = time.perf_counter()
        argv = [
            str(BIN / "pytest"),
            "-q",
            "-s",
            "-p",
            "no:cacheprovider",
            "tests/serving/test_live.py",
            "-k",
            "clients",
        ]
        env = {**_env(), "CREDITGRADE_SOAK_SECONDS": str(self.soak_seconds)}
        done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, env=env, timeout=3 * 3600)
        (self.out / "logs").mkdir(parents=True, exist_ok=True)
        (self.out / "logs" / "soak.log").write_text(done.stdout + done.stderr)
        self.steps.append(
            {
                "step": self.current,
                "seconds": round(time.perf_counter() - start, 1),
                "command": " ".join(argv),
                "rc": done.returncode,
            }
        )
        lines = [line.strip() for line in done.stdout.splitlines() if "requests from" in line or "worker" in line]
        self.row(
            f"soak: 64 clients, mixed endpoints, {self.soak_seconds / 60:.0f} min (test city)",
            "; ".join(lines)[:400] or (done.stdout + done.stderr)[-300:],
            goal="0 errors; worker memory within 10% of after warm-up",
            met=_passed(done.stdout),
            command=f"CREDITGRADE_SOAK_SECONDS={self.soak_seconds:.0f} " + " ".join(argv),
        )


def _seconds(said: str, start: str) -> float:
    """The seconds a script printed on its line beginning `start` ("<start> …: 12.3 s, …")."""
    line = next(line for line in said.splitlines() if line.startswith(start))
    return float(line.split(": ", 1)[1].split(" s")[0])


def _passed(said: str) -> bool:
    """The soak test passed (pytest's summary line): judged by it rather than the exit code, which also fails
    when the checkout changed while the test ran (tests/conftest.py), a rule about the tree, not the soak."""
    last = [line for line in said.splitlines() if " in " in line and ("passed" in line or "failed" in line)]
    return bool(last) and "passed" in last[-1] and "failed" not in last[-1] and "error" not in last[-1]


def _env() -> dict:
    return {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", str(os.cpu_count() or 1))}


def machine() -> str:
    import psutil

    return (
        f"{platform.platform()}, {os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GB RAM, "
        f"Python {platform.python_version()}"
    )


def markdown(suite: Suite, started: str, took: float) -> str:
    def cell(v) -> str:
        if v is None:
            return "—"
        if v is True:
            return "yes"
        if v is False:
            return "**no**"
        return str(v).replace("|", "\\|")

    lines = [
        "# Benchmarks (性能基准)",
        "",
        f"Produced by `make bench` (`benchmarks/suite.py --enterprises {suite.n}`) on {started}, in "
        f"{took / 60:.0f} min. Machine: {machine()}. Every comparison ran side by side in this run; the "
        "commands are below each table row's measure, the logs under the run's `logs/` folder. Goals set for "
        "the full city (2,230,000 enterprises) are scaled pro rata at a smaller city, where each step's fixed "
        "costs (starting Python, imports, loading the model) weigh more: a pro-rata miss there is a miss at "
        "this scale, not a measurement of the full city (`make bench BENCH_ENTERPRISES=2230000`; the full-city "
        "figures recorded so far are in the docs of each capability). **no** in *met* is a goal missed: the "
        "figure says by how much.",
        "",
        "| measure | this project | comparison | ratio | goal | met |",
        "|---|---|---|---|---|---|",
    ]
    for r in suite.rows:
        lines.append(
            f"| {cell(r['measure'])} | {cell(r['this project'])} | {cell(r['comparison'])} | {cell(r['ratio'])} | "
            f"{cell(r['goal'])} | {cell(r['met'])} |"
        )
    lines += ["", "## Commands", ""]
    lines += [
        f"- `{s['command'].replace(str(ROOT) + '/', '')}` — {s['seconds']:.0f} s, exit {s['rc']}" for s in suite.steps
    ]
    lines += [
        "",
        "The soak is judged by its test's result line (`logs/soak.log`), not pytest's exit code, which also "
        "fails when the checkout changed while the test ran (the suite's tree check).",
    ]
    missed = [r["measure"] for r in suite.rows if r["met"] is False]
    lines += ["", f"Goals missed: {len(missed)}" + (": " + "; ".join(missed) if missed else ".")]
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--enterprises", type=int, default=100_000)
    p.add_argument("--out", type=Path, default=None, help="working folder; default data/bench-suite-<N>")
    p.add_argument("--seconds", type=float, default=20.0, help="time bound of each service load scenario")
    p.add_argument("--soak-seconds", type=float, default=600.0)
    p.add_argument("--doc", type=Path, default=ROOT / "docs" / "benchmarks.md")
    p.add_argument("--only", default="", help="comma-separated steps (default: all)")
    a = p.parse_args()
    out = (a.out or ROOT / "data" / f"bench-suite-{a.enterprises}").resolve()
    out.mkdir(parents=True, exist_ok=True)
    suite = Suite(a.enterprises, out, a.seconds, a.soak_seconds)
    started, t0 = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"), time.perf_counter()
    steps = [
        "city",
        "features",
        "train",
        "explain",
        "grade",
        "month",
        "spark",
        "falsereg",
        "service",
        "service_goals",
        "memory",
        "planner",
        "polish",
        "soak",
    ]
    chosen = [s for s in steps if not a.only or s in a.only.split(",")]
    for name in chosen:
        print(f"== {name}", flush=True)
        before = len(suite.rows)
        suite.step(name, getattr(suite, name))
        for r in suite.rows[before:]:
            print(f"   {r['measure']}: {r['this project']}  (met: {r['met']})", flush=True)
    took = time.perf_counter() - t0
    if a.only and a.doc.with_suffix(".json").exists():  # steps rerun: their rows replace the earlier run's
        earlier = json.loads(a.doc.with_suffix(".json").read_text())
        if earlier.get("enterprises") == a.enterprises:
            kept_rows = [r for r in earlier["rows"] if r.get("step") not in chosen]
            kept_steps = [s for s in earlier["steps"] if s.get("step") not in chosen]
            order = {name: n for n, name in enumerate(steps)}
            suite.rows = sorted(kept_rows + suite.rows, key=lambda r: order.get(r.get("step"), len(order)))
            suite.steps = sorted(kept_steps + suite.steps, key=lambda r: order.get(r.get("step"), len(order)))
            took += earlier["seconds"]
            started = f"{earlier['started']} (then {', '.join(chosen)} on {started})"
    a.doc.write_text(markdown(suite, started, took), encoding="utf-8")
    a.doc.with_suffix(".json").write_text(
        json.dumps(
            {"enterprises": a.enterprises, "started": started, "seconds": round(took), "machine": machine(),
             "rows": suite.rows, "steps": suite.steps},
            indent=2, ensure_ascii=False,
        ) + "\n"
    )  # fmt: skip
    print(f"wrote {a.doc} and {a.doc.with_suffix('.json')} ({took / 60:.0f} min)")


if __name__ == "__main__":
    main()
