"""`creditgrade month`: the month-end run a regulator repeats every month.

    feeds checked → indicators as of the month-end → graded with the champion → compared with the
    previous published month (migration, score PSI, indicator CSI, early warnings) and with the model's
    training city (PSI, CSI) → the month report → the month appended to the grade history

Everything is built in a temporary folder beside `<root>/months/<as-of>` and renamed into place when
complete, then the month's history file is written (also renamed into place), so a killed run leaves the
published months as they were; a rerun of the same month writes the same files. A dry run does all the
work in a scratch folder, prints what it found and publishes nothing.

Refused, with the reason in both languages and nothing written: an as-of date that is not a month-end; a
month earlier than the last published one (unless `correction`); a raw table missing or empty; a feed that
fell by more than `max_drop` of its usual month (unless `accept_drift`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from creditgrade.features import catalog
from creditgrade.features.corrections import Correction
from creditgrade.features.errors import CreditgradeError, NotFound
from creditgrade.features.feeds import MAX_DROP, FeedCheck, check_feeds, month_end
from creditgrade.features.pipeline import build_features, connect
from creditgrade.features.store import atomic_file, atomic_folder
from creditgrade.models import equity
from creditgrade.models import monitoring as M
from creditgrade.models.cutpoints import TARGET_SHARES
from creditgrade.models.evaluation import psi_of
from creditgrade.models.planning.plan import Plan
from creditgrade.models.plots import drift_plot, grade_shares_plot, migration_plot, score_shift_plot
from creditgrade.models.report import Section, html_page, markdown_page
from creditgrade.models.scoring import ScoringModel
from creditgrade.serving import comparisons
from creditgrade.serving.batch import GRADED, grade_city
from creditgrade.serving.equity import flagged as flagged_groups
from creditgrade.serving.equity import month_treatment
from creditgrade.serving.equity import sections as equal_treatment_sections
from creditgrade.serving.history import COLUMNS as HISTORY_COLUMNS
from creditgrade.serving.history import History

Progress = Callable[[str, int, int], None]
FEATURES = "features.parquet"
WARNINGS = "warnings.parquet"
EQUAL_TREATMENT = "equal_treatment.json"
SUMMARY = "month.json"
REPORT = "report"
HEADLINE = "shenzhen"
TOP_DRIFT = 15
ENGINES = ("duckdb", "spark")


class MonthError(CreditgradeError):
    """A month that cannot be run as asked; the message names why and what to pass to go ahead."""

    code = "month"


@dataclass(frozen=True)
class MonthRun:
    """What a month-end run found (and, unless a dry run, published)."""

    as_of: str
    previous: str | None
    model_version: str
    folder: str | None  # None for a dry run
    enterprises: int
    operating: int
    grades: dict[str, int]  # the headline scheme's grades of operating enterprises
    migration: dict | None
    psi_month: float | None
    psi_training: float | None
    drift_alerts: list[dict]  # indicators at 'watch' or 'act', against the previous month or the training city
    drift: list[dict]  # every indicator's index and level against each (column, against, index, level)
    warnings: int
    warnings_by_rule: dict[str, int]
    feeds_flagged: list[dict]
    accepted_drift: bool
    explanations_reused: int  # enterprises the model saw unchanged since the previous month: explanation kept
    equal_treatment: dict  # the plan, tolerance and every flagged group (the whole report: equal_treatment.json)
    correction: bool
    dry_run: bool

    def to_dict(self) -> dict:
        return asdict(self)


def run_month(
    data: Path,
    as_of: dt.date,
    root: Path,
    scoring: ScoringModel,
    *,
    dry_run: bool = False,
    correction: bool = False,
    accept_drift: bool = False,
    max_drop: float = MAX_DROP,
    watch: float = M.WATCH,
    act: float = M.ACT,
    progress: Progress | None = None,
    corrections: Sequence[Correction] = (),
    engine: str = "duckdb",
    spark=None,
    plan: Plan | None = None,
    tolerance: float = equity.TOLERANCE,
) -> MonthRun:
    """Run the month ending `as_of` on the ingested city `data`; months and history live under `root`.
    `corrections` (upheld objections and repairs) change the records from their dates on. `engine`: 'duckdb'
    (one machine) or 'spark' (indicators and grading as partitioned Spark jobs, `serving.spark`, on the
    session `spark` or one from the settings): the same files either way. The month report's equal-treatment
    tables use `plan`'s inclusion probabilities (default: `serving.equity.DEFAULT_PLAN`) and flag groups beyond
    `tolerance`."""
    if engine not in ENGINES:
        raise MonthError(
            f"engine must be one of {', '.join(ENGINES)}; got {engine!r}",
            f"计算引擎须为 {'、'.join(ENGINES)} 之一，当前为 {engine!r}",
        )
    progress = progress or (lambda step, done, total: None)
    equity.check_tolerance(tolerance)
    root, history = Path(root), History(Path(root) / "history")
    if as_of != month_end(as_of):
        raise MonthError(
            f"{as_of} is not a month-end: grades are published as of the last day of a month (e.g. {month_end(as_of)})",
            f"{as_of} 不是月末：分级按每月最后一天发布（如 {month_end(as_of)}）",
        )
    latest = history.latest()
    if latest is not None and as_of < latest and not correction:
        raise MonthError(
            f"{as_of} is earlier than the last published month {latest}; pass --correction to republish it",
            f"{as_of} 早于最近已发布的月份 {latest}；如需更正重发请加 --correction",
        )
    progress("feeds", 0, 1)
    feeds = check_feeds(Path(data), as_of, max_drop)
    flagged = [f for f in feeds if f.flagged]
    _refuse_feeds(flagged, accept_drift, max_drop)
    previous = max((m for m in history.months() if m < as_of), default=None)
    owned = False  # a Spark session this run starts, it also stops (with its JVM)
    if engine == "spark":
        from creditgrade.serving.spark import running, spark_session, stop

        owned = spark is None and not running()
        spark = spark or spark_session()
    con = connect("pyspark", spark) if engine == "spark" else connect("duckdb")
    try:
        with _workspace(root / "months" / str(as_of), dry_run, shared=engine == "spark") as tmp:
            kept = root / "months" / str(previous) / "graded" if previous is not None else None
            kept = kept if kept is not None and (kept / GRADED).exists() else None  # its explanations are reused
            if engine == "spark":
                from creditgrade.serving.spark import grade_month

                graded = grade_month(
                    Path(data),
                    as_of,
                    tmp,
                    scoring,
                    tmp / FEATURES,
                    tmp / "graded",
                    spark=spark,
                    previous=kept,
                    corrections=corrections,
                    progress=_prefixed(progress, "spark"),
                )
            else:
                build_features(
                    Path(data),
                    [as_of],
                    tmp / FEATURES,
                    progress=_prefixed(progress, "indicators"),
                    corrections=corrections,
                )
                graded = grade_city(
                    tmp / FEATURES,
                    tmp / "graded",
                    scoring,
                    as_of=as_of,
                    previous=kept,
                    progress=_prefixed(progress, "grade"),
                )
            progress("compare", 0, 1)
            now = comparisons.Month.read(con, tmp / "graded" / GRADED, tmp / FEATURES)
            before = _previous_month(con, root, history, previous, scoring)
            run = _compare(con, now, before, scoring, as_of, previous, feeds, history, tmp, watch, act)
            if owned:  # the rest runs on the driver: the JVM's memory is returned first
                stop(spark)
            fairness = month_treatment(tmp / "graded" / GRADED, Path(data), scoring, plan, tolerance)
            (tmp / EQUAL_TREATMENT).write_text(json.dumps(fairness, ensure_ascii=False, indent=2, default=_plain))
            _report(run, fairness, tmp / REPORT)
            run = MonthRun(
                **{
                    **run["summary"],
                    "equal_treatment": _fairness_summary(fairness),
                    "folder": None if dry_run else str(root / "months" / str(as_of)),
                    "accepted_drift": bool(flagged) and accept_drift,
                    "explanations_reused": graded.explanations_reused,
                    "correction": correction,
                    "dry_run": dry_run,
                }
            )
            (tmp / SUMMARY).write_text(json.dumps(run.to_dict(), ensure_ascii=False, indent=2, default=_plain))
            graded_file = tmp / "graded" / GRADED
            kept_columns = [c for c in HISTORY_COLUMNS if c in pq.read_schema(graded_file).names]
            rows = History.rows(pq.read_table(graded_file, columns=kept_columns), as_of)
            progress("compare", 1, 1)
    finally:
        if engine == "duckdb":
            con.disconnect()
        elif owned:
            stop(spark)
    if not dry_run:
        history.write(rows, as_of)
        progress("history", 0, 1)
        history.write_lookup()
        progress("history", 1, 1)
        from creditgrade.serving.database import sync_when_served

        sync_when_served(root, f"month {as_of} was published", f"{as_of} 月度结果已发布")
    return run


@contextlib.contextmanager
def _workspace(out: Path, dry_run: bool, shared: bool = False) -> Iterator[Path]:
    """Where the month is written: its folder, whole or not at all; a dry run's, removed after. On Spark the
    executors write part files there, so a dry run's folder is beside the months (storage they all see)."""
    if dry_run:
        beside = out.parent if shared else None
        if beside is not None:
            beside.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".creditgrade-dry-run-", dir=beside) as tmp:
            yield Path(tmp)
    else:
        with atomic_folder(out, overwrite=True) as tmp:
            yield tmp


def _prefixed(progress: Progress, prefix: str) -> Progress:
    return lambda step, done, total: progress(f"{prefix}: {step}", done, total)


def _refuse_feeds(flagged: list[FeedCheck], accept_drift: bool, max_drop: float) -> None:
    missing = [f for f in flagged if f.expected is None]
    dropped = [f for f in flagged if f.expected is not None]
    if missing:
        raise MonthError(
            "cannot grade without every raw table: "
            + "; ".join(f"{f.table} ({f.agency_en}): {f.reason_en}" for f in missing),
            "缺少原始数据表，无法分级：" + "；".join(f"{f.table_zh}（{f.agency_zh}）：{f.reason_zh}" for f in missing),
            code="feed_missing",
        )
    if dropped and not accept_drift:
        raise MonthError(
            f"feeds fell by more than {max_drop:.0%} this month: "
            + "; ".join(f"{f.table} from {f.agency_en}: {f.reason_en}" for f in dropped)
            + ". Check with the agency, or pass --accept-drift to grade anyway",
            f"本月数据源下降超过 {max_drop:.0%}："
            + "；".join(f"{f.table_zh}（{f.agency_zh}）：{f.reason_zh}" for f in dropped)
            + "。请与报送部门核实，或加 --accept-drift 继续分级",
            code="feed_drift",
        )


NAMED = ["uscc", "name", "district_zh", "district_en", "industry_zh", "industry_en"]  # who and where


def _previous_month(
    con, root: Path, history: History, previous: dt.date | None, scoring: ScoringModel
) -> comparisons.Month | None:
    """Last published month: its graded table and indicators when its folder is kept, else its history rows
    (grades and probabilities only: indicator drift month over month is then not measured)."""
    if previous is None:
        return None
    folder = root / "months" / str(previous)
    if (folder / "graded" / GRADED).exists() and (folder / FEATURES).exists():
        names = set(pq.read_schema(folder / FEATURES).names)
        features = folder / FEATURES if set(scoring.model.features) <= names else None
        return comparisons.Month.read(con, folder / "graded" / GRADED, features)
    return comparisons.Month.read(con, history.path(previous))


def _compare(
    con,
    now: comparisons.Month,
    before: comparisons.Month | None,
    scoring: ScoringModel,
    as_of: dt.date,
    previous: dt.date | None,
    feeds: list[FeedCheck],
    history: History,
    out: Path,
    watch: float,
    act: float,
) -> dict:
    """Every comparison of the month, as queries on the engine (`serving.comparisons`: counts come back, not
    rows); the warnings written to `out`; the summary fields and what the report shows."""
    h, features, scheme = f"grade_{HEADLINE}", list(scoring.model.features), scoring.schemes[HEADLINE]
    scores_now = comparisons.scores(now)
    x_now = comparisons.distributions(now, features)
    counted = comparisons.grade_counts(now, h)
    grades = {g: counted.get(g, 0) for g in scheme.grades}
    drift_frames, psi_month, psi_training, moved, scores_before = [], None, None, None, None
    warned = pd.DataFrame(columns=["uscc", "rules", "changes"])
    ref = scoring.reference
    if ref:
        train_drift = M.drift({k: M.Bins.from_dict(v) for k, v in ref["indicators"].items()}, x_now, watch, act)
        drift_frames.append(train_drift.assign(against="training"))
        psi_training = M.Bins.from_dict(ref["score"]).stability(scores_now["operating"])
    if before is not None:
        scores_before = comparisons.scores(before)
        psi_month = M.Bins.of(scores_before["operating"]).stability(scores_now["operating"])
        moved = comparisons.migration(before, now, h, psi_of(scores_before["all"], scores_now["all"]))
        if before.x is not None:
            x_before = comparisons.distributions(before, features)
            month_drift = M.drift(M.reference_bins(x_before, features), x_now, watch, act)
            drift_frames.append(month_drift.assign(against="previous month"))
        # Without last month's indicators (its folder not kept) the warnings stand, without what changed.
        warned = comparisons.warned(before, now, scheme, h)
        empty = pd.DataFrame(columns=features, index=pd.Index([], name="uscc"))
        was = comparisons.rows_of(before.x, warned.uscc, features) if before.x is not None else empty
        is_ = comparisons.rows_of(now.x, warned.uscc, features)
        warned["changes"] = [M.changes(was, is_, u) for u in warned.uscc]
    drift = pd.concat(drift_frames, ignore_index=True) if drift_frames else pd.DataFrame()
    _write_warnings(warned, comparisons.rows_of(now.graded, warned.uscc, NAMED[1:]), out / WARNINGS)
    alerts = [] if drift.empty else drift[drift.level.isin(["watch", "act"])].to_dict("records")
    by_rule = {r: int(sum(r in rules for rules in warned["rules"])) for r in M.WARNING_RULES}
    summary = {
        "as_of": str(as_of),
        "previous": None if previous is None else str(previous),
        "model_version": scoring.label,
        "enterprises": scores_now["all"].rows,
        "operating": scores_now["operating"].rows,
        "grades": grades,
        "migration": moved,
        "psi_month": None if psi_month is None else round(psi_month, 6),
        "psi_training": None if psi_training is None else round(psi_training, 6),
        "drift_alerts": [{k: _plain(v) for k, v in a.items()} for a in alerts],
        "drift": [] if drift.empty else drift[["column", "against", "index", "level"]].to_dict("records"),
        "warnings": len(warned),
        "warnings_by_rule": by_rule,
        "feeds_flagged": [f.to_dict() for f in feeds if f.flagged],
    }
    shares = _shares_over_months(con, history, counted, as_of, scheme)
    scored = (scores_before["operating"], scores_now["operating"]) if scores_before is not None else None
    return {
        "summary": summary,
        "drift": drift,
        "warned": warned,
        "feeds": feeds,
        "shares": shares,
        "scores": scored,
        "scheme": scheme,
        "watch": watch,
        "act": act,
    }


def _fairness_summary(fairness: dict) -> dict:
    return {
        "plan": fairness["plan"],
        "tolerance": fairness["tolerance"],
        "test_period": fairness["test_period"],
        "flagged": [
            {k: f[k] for k in ("kind", "grouping", "group", "en", "zh", "flag")} for f in flagged_groups(fairness)
        ],
    }


def _plain(v):
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    return v


CHANGE_TYPE = pa.list_(
    pa.struct(
        [
            ("indicator", pa.string()),
            ("before", pa.float64()),
            ("after", pa.float64()),
            ("zh", pa.string()),
            ("en", pa.string()),
        ]
    )
)


def _write_warnings(warned: pd.DataFrame, names: pd.DataFrame, path: Path) -> None:
    """The early-warning list as Parquet: who, where, what rule, and what changed (zh/en)."""
    rows = warned.merge(names, left_on="uscc", right_index=True, how="left") if len(warned) else warned
    h = f"grade_{HEADLINE}"
    table = pa.table(
        {
            **{c: pa.array(rows.get(c, []), pa.string()) for c in NAMED},
            f"{h}_before": pa.array(rows.get(f"{h}_before", []), pa.string()),
            f"{h}_after": pa.array(rows.get(f"{h}_after", []), pa.string()),
            "probability_before": pa.array(rows.get("probability_before", []), pa.float64()),
            "probability_after": pa.array(rows.get("probability_after", []), pa.float64()),
            "rules": pa.array(list(rows.get("rules", [])), pa.list_(pa.string())),
            "changes": pa.array(list(rows.get("changes", [])), CHANGE_TYPE),
        }
    )
    pq.write_table(table, path, compression="zstd")


def _shares_over_months(con, history: History, counted: dict, as_of: dt.date, scheme) -> dict[str, dict[str, float]]:
    """The headline grades' shares of operating enterprises in every published month before `as_of` (counted
    on the engine from its history file), and now (`counted`)."""
    out = {}
    for month in history.months():
        if month < as_of:
            past = comparisons.Month.read(con, history.path(month))
            out[str(month)] = _shares(comparisons.grade_counts(past, f"grade_{HEADLINE}"), scheme)
    out[str(as_of)] = _shares(counted, scheme)
    return out


def _shares(counted: dict, scheme) -> dict[str, float]:
    """Each grade's share of the operating enterprises, from their counts by grade."""
    total = sum(counted.values())
    return {g: float(counted.get(g, 0)) / max(total, 1) for g in scheme.grades}


def _report(run: dict, fairness: dict, folder: Path) -> None:
    """The month report: Markdown and HTML from the same sections, the plots beside them."""
    summary, drift, warned, scheme = run["summary"], run["drift"], run["warned"], run["scheme"]
    shares, watch, act = run["shares"], run["watch"], run["act"]
    folder.mkdir(parents=True, exist_ok=True)
    images: dict[str, str] = {}
    published = dict(zip(scheme.scored_grades, TARGET_SHARES[HEADLINE]))
    grade_shares_plot(
        {m: {g: v for g, v in s.items() if g in published} for m, s in shares.items()},
        published,
        folder / "grade_shares.png",
        "Grade shares of operating enterprises by month (经营中企业等级占比)",
    )
    images["Grade shares by month against the published shares (各月等级占比与公开占比)"] = "grade_shares.png"
    if summary["migration"]:
        matrix = pd.DataFrame(summary["migration"]["matrix"]).T.fillna(0).astype(int)
        order = [g for g in (*scheme.grades, "new", "gone") if g in matrix.index or g in matrix.columns]
        matrix = matrix.reindex(
            index=[g for g in order if g in matrix.index],
            columns=[g for g in order if g in matrix.columns],
            fill_value=0,
        )
        matrix.index.name, matrix.columns.name = summary["previous"], summary["as_of"]
        migration_plot(matrix, folder / "migration.png", "Grade migration (等级迁移)")
        images["Grade migration (等级迁移)"] = "migration.png"
        was, live = run["scores"]
        score_shift_plot(
            was, live, (summary["previous"], summary["as_of"]), folder / "score_shift.png", "Scores (分数分布)"
        )
        images["Score distribution, previous month and this (分数分布变化)"] = "score_shift.png"
    if not drift.empty:
        against = "previous month" if (drift.against == "previous month").any() else "training"
        top = drift[drift.against == against]
        drift_plot(top, folder / "drift.png", f"Indicator drift against the {against} (指标漂移)", watch, act)
        images[f"Indicators drifting most against the {against} (漂移最大的指标)"] = "drift.png"
    summary = {**summary, "equal_treatment": _fairness_summary(fairness)}
    sections = _sections(summary, drift, warned, run["feeds"], shares, published) + equal_treatment_sections(fairness)
    title = f"Month report {summary['as_of']} (月度报告)"
    (folder / "month_report.md").write_text(markdown_page(title, sections, images), encoding="utf-8")
    (folder / "month_report.html").write_text(html_page(title, sections, images, lang="zh"), encoding="utf-8")


def _sections(summary, drift, warned, feeds, shares, published) -> list[Section]:
    def pct(v):
        return "—" if v is None else f"{v:.1%}"

    def idx(v):
        return "—" if v is None else f"{v:.4f} ({M.level(v)})"

    moved = summary["migration"]
    out: list[Section] = [
        (
            "The month (本月概况)",
            ("item", "项目", "value"),
            [
                ("as of", "基准日", summary["as_of"]),
                ("previous month", "上月", summary["previous"] or "—"),
                ("model", "模型", summary["model_version"]),
                ("enterprises on the register", "登记企业", f"{summary['enterprises']:,}"),
                ("operating (in the shares)", "经营中（计入占比）", f"{summary['operating']:,}"),
                ("grades changed", "等级变动", "—" if not moved else f"{moved['moved']:,}"),
                (
                    "entered / left the register",
                    "新增/退出",
                    "—" if not moved else f"{moved['entered']:,} / {moved['left']:,}",
                ),
                ("score PSI vs previous month", "分数PSI（对上月）", idx(summary["psi_month"])),
                ("score PSI vs training city", "分数PSI（对训练期）", idx(summary["psi_training"])),
                ("indicator drift alerts", "指标漂移警报", f"{len(summary['drift_alerts']):,}"),
                ("early warnings", "预警企业", f"{summary['warnings']:,}"),
                (
                    "groups flagged for equal treatment",
                    "公平性标记分组",
                    f"{len(summary['equal_treatment']['flagged']):,}",
                ),
                ("feeds flagged", "异常数据源", f"{len(summary['feeds_flagged']):,}"),
            ],
        )
    ]
    months = list(shares)
    prev = shares[months[-2]] if len(months) > 1 else None
    out.append(
        (
            "Grade shares of operating enterprises (经营中企业等级占比)",
            ("grade", "this month", "previous month", "published (Pingshan 2024)"),
            [
                (g, pct(shares[months[-1]].get(g)), pct(prev.get(g)) if prev else "—", pct(published.get(g)))
                for g in shares[months[-1]]
            ],
        )
    )
    if moved:
        grades = [g for g in moved["matrix"]]
        columns = sorted({c for row in moved["matrix"].values() for c in row}, key=lambda c: (c in ("new", "gone"), c))
        out.append(
            (
                "Grade migration, rows last month, columns this month (等级迁移)",
                ("from \\ to", *columns),
                [(g, *(f"{moved['matrix'][g].get(c, 0):,}" for c in columns)) for g in grades],
            )
        )
    if not drift.empty:
        rows = []
        for against in ("previous month", "training"):
            part = drift[drift.against == against].head(TOP_DRIFT)
            rows += [
                (
                    against,
                    r.column,
                    catalog.indicator(r.column).zh,
                    f"{r.index:.4f}",
                    r.level,
                    pct(r.missing_before),
                    pct(r.missing_after),
                )
                for r in part.itertuples()
            ]
        out.append(
            (
                f"Indicator drift, top {TOP_DRIFT} (CSI; watch ≥ {M.WATCH}, act ≥ {M.ACT}) (指标漂移)",
                ("against", "indicator", "指标", "CSI", "level", "missing before", "missing now"),
                rows,
            )
        )
    out.append(
        (
            "Feeds this month (本月数据源检查)",
            ("table", "agency", "报送部门", "records", "expected", "status", "状态"),
            [
                (
                    f.table,
                    f.agency_en,
                    f.agency_zh,
                    f"{f.rows:,}",
                    "—" if f.expected is None else f"{f.expected:,.0f}",
                    f.reason_en,
                    f.reason_zh,
                )
                for f in feeds
            ],
        )
    )
    out.append(
        (
            "Early warnings by rule (预警规则)",
            ("rule", "规则", "enterprises"),
            [(en, zh, f"{summary['warnings_by_rule'][r]:,}") for r, (en, zh) in M.WARNING_RULES.items()],
        )
    )
    if len(warned):
        h = f"grade_{HEADLINE}"
        out.append(
            (
                "Largest rises in risk (风险上升最多的企业)",
                ("USCC", "grade", "probability", "what changed", "变化"),
                [
                    (
                        r["uscc"],
                        f"{r[h + '_before']} → {r[h + '_after']}",
                        f"{r['probability_before']:.1%} → {r['probability_after']:.1%}",
                        "; ".join(c["en"] for c in r["changes"]) or "—",
                        "；".join(c["zh"] for c in r["changes"]) or "—",
                    )
                    for r in warned.head(20).to_dict("records")
                ],
            )
        )
    return out


def month_warnings(
    root: Path, month: dt.date | None = None, *, district: str | None = None, industry: str | None = None
) -> tuple[dt.date, pd.DataFrame]:
    """A published month's early warnings (default: the last month), optionally for one district or industry
    (matched on its code or its zh/en name)."""
    history = History(Path(root) / "history")
    months = history.months()
    month = month or (months[-1] if months else None)
    path = Path(root) / "months" / str(month) / WARNINGS
    if month is None or not path.exists():
        held = ", ".join(map(str, months)) or "none"
        raise NotFound(
            f"no early warnings published for {month or 'any month'} under {root}; published months: {held}",
            f"{root} 下没有 {month or '任何月份'} 的预警名单；已发布月份：{held}",
        )
    frame = pq.read_table(path).to_pandas()
    if district:
        frame = frame[(frame.district_zh == district) | (frame.district_en == district) | _region(frame, district)]
    if industry:
        frame = frame[(frame.industry_zh == industry) | (frame.industry_en == industry)]
    return month, frame.reset_index(drop=True)


def _region(frame: pd.DataFrame, code: str) -> pd.Series:
    from creditgrade.features import contract as C

    names = C.DISTRICTS.get(code)
    return frame.district_en == names.en if names else pd.Series(False, index=frame.index)


def export_warnings(frame: pd.DataFrame, out: Path) -> Path:
    """The warning list as CSV (rules and changes as text, both languages) or Parquet, written whole."""
    out = Path(out)
    if out.suffix.lower() not in (".csv", ".parquet"):
        raise MonthError(
            f"{out}: the list is written as .csv or .parquet", f"{out}：名单只能写为 .csv 或 .parquet 文件"
        )
    with atomic_file(out) as tmp:
        if out.suffix.lower() == ".parquet":
            pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp)
        else:
            flat = frame.drop(columns=["rules", "changes"]).assign(
                rules=[", ".join(r) for r in frame.rules],
                changes_en=["; ".join(c["en"] for c in cs) for cs in frame.changes],
                changes_zh=["；".join(c["zh"] for c in cs) for cs in frame.changes],
            )
            flat.to_csv(tmp, index=False, encoding="utf-8")
    return out
