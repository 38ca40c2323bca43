"""How the command line shows results: one place for every rich table and summary line.

Renderers only format what a job returned (its result object or report); they compute nothing.
"""

from __future__ import annotations

from pathlib import Path

from rich.markup import escape
from rich.table import Table

from creditgrade.serving.cli.app import console


def grades(title: str, rows: list[dict]) -> None:
    t = Table(title=title)
    for col in ("grade 等级", "share 占比", "problem rate 问题发现率"):
        t.add_column(col)
    for g in rows:
        t.add_row(g["grade"], f"{g['share']:.1%}", "—" if g["problem_rate"] is None else f"{g['problem_rate']:.1%}")
    console.print(t)


def training(result) -> None:
    """A `TrainResult`: the periods, the test figures, the problem rate per grade in every scheme on the test
    period (and whether it rises), and the calibration table."""
    m, p = result.metrics, result.periods
    console.print(
        f"fitted on {', '.join(p.fit)} ({m['fit_rows']:,} inspections), tuned on {p.tune} ({m['tune_rows']:,}), "
        f"tested on {p.test} ({m['test_rows']:,}) — every figure below is from the test period (测试期)"
    )
    head = (
        f"test AUC {m['test_auc']:.4f}, KS {m['test_ks']:.3f}, Brier {m['test_brier']:.4f}, PSI {m['psi_fit_test']:.4f}"
    )
    if "bayes_auc" in m:
        head += f"; the truth's AUC on the same rows {m['bayes_auc']:.4f} (gap {m['auc_gap_to_bayes']:.4f})"
    console.print(head)
    for name, r in result.report.items():
        rise = "rise" if r["rates_strictly_rise"] else "[red]do NOT rise[/]"
        if r.get("empty_grades"):
            rise += f" ({', '.join(r['empty_grades'])}: no test inspections)"
        grades(
            f"{name}: problem rate per grade on the test period (测试期各等级问题发现率), city "
            f"{r['city_problem_rate']:.1%}; rates {rise}",
            r["grades"],
        )
    for name, note in result.scheme_notes.items():
        console.print(f"[yellow]{name}:[/] {escape(note['en'])}")
    calibration(result.calibration_table)
    fair = result.equal_treatment
    flagged = [g for g in fair.get("groups", []) if g["flag"]]
    console.print(
        f"equal treatment (公平性): calibration of {len(fair.get('groups', [])):,} groups on the test period, "
        f"{len(flagged):,} flagged beyond ±{fair.get('tolerance', 0):.0%}"
        + "".join(
            f"\n  {escape(g['en'])} ({g['zh']}): observed {g['observed']:.1%} vs predicted {g['predicted']:.1%}, "
            f"{g['flag']}"
            for g in flagged[:10]
        )
        + (f"\n  [yellow]{escape(fair['note'])}[/]" if fair.get("note") else "")
    )
    if result.registered_version is not None:
        console.print(
            f"registered enterprise-credit-risk version {result.registered_version} "
            "(alias challenger; champion if it is the first)"
        )


def calibration(rows: list[dict], where: str = "test period") -> None:
    """Predicted against observed problem rate per grade, with the observed rate's 95% interval."""
    t = Table(title=f"Calibration per grade, {where} (各等级校准：预测与实际，95%区间)")
    for col in ("grade 等级", "inspections 检查", "predicted 预测", "observed 实际", "95% interval 区间"):
        t.add_column(col, justify="right")
    for c in rows:
        t.add_row(
            c["grade"],
            f"{c['rows']:,}",
            "—" if c["predicted"] is None else f"{c['predicted']:.1%}",
            "—" if c["observed"] is None else f"{c['observed']:.1%}",
            "—" if c["low"] is None else f"{c['low']:.1%}–{c['high']:.1%}",
        )
    console.print(t)


def table_training(path: Path, r) -> None:
    """A `TableTraining`: the periods (out of time), held-out AUC per fold, Brier, the grades of the held-out
    predictions and their calibration."""
    if r.periods:
        console.print(
            f"fitted on {', '.join(r.periods['fit'])}, tuned on {r.periods['tune'][0]}, tested on "
            f"{r.periods['test'][0]} (拟合/调参/测试期)"
        )
    console.print(
        f"{escape(str(path))}: {r.rows:,} rows, {r.positives:,} positive, {r.indicators} indicators; "
        f"{r.validation} AUC {r.auc_mean:.4f} ± {r.auc_std:.4f} (folds: {', '.join(f'{a:.3f}' for a in r.fold_auc)}); "
        f"Brier {r.brier:.4f}; {r.seconds:.1f} s — on held-out rows only"
    )
    rise = "rise" if r.evaluation["rates_strictly_rise"] else "[red]do NOT rise[/]"
    grades(
        f"Grades on held-out predictions (national four classes), KS {r.evaluation['ks']:.3f}; rates {rise}",
        r.evaluation["grades"],
    )
    calibration(r.calibration_table, "held-out rows")


def model_versions(model: str, versions: list[dict]) -> None:
    t = Table(title=f"{model} versions")
    for col in ("version", "aliases", "as of", "valid AUC", "catalog"):
        t.add_column(col)
    for v in versions:
        t.add_row(
            str(v["version"]),
            ", ".join(v["aliases"]),
            str(v["as_of"]),
            f"{v['auc']:.4f}" if v["auc"] is not None else "—",
            str(v["catalog_version"]),
        )
    console.print(t)


def falsereg_training(r) -> None:
    """A `FalseRegResult`."""
    console.print(
        f"confirmed cases: {r.confirmed_false:,} false, {r.confirmed_genuine:,} genuine; out-of-fold "
        f"AUC {r.out_of_fold_auc:.4f}; registered false-registration version {r.registered_version}"
    )
    if r.truth is not None:
        falsereg_evaluation(r.truth)


def falsereg_evaluation(e: dict) -> None:
    t = Table(
        title=f"Against the truth: {e['false_registrations']:,} false registrations among "
        f"{e['enterprises']:,} operating enterprises (对照真值)"
    )
    for col in ("method", f"precision, top {e['k']:,}", f"recall, top {e['share']:.0%}"):
        t.add_column(col, justify="right")
    for name, m in e["methods"].items():
        t.add_row(name, f"{m['precision_at_k']:.3f}", f"{m['recall_at_share']:.3f}")
    console.print(t)


def falsereg_list(rows: list[dict], lang: str = "en") -> None:
    for r in rows:
        console.print(
            f"{r['rank']:>4}. {r['uscc']} score {r['score']:.3f}, cluster of {r['cluster_size']}: "
            f"{escape(r['reasons_' + lang])}"
        )


def graded(summary, out: Path) -> None:
    """A `GradingSummary`: grade shares of operating enterprises per scheme, the closed ones apart,
    overrides, migration."""
    t = Table(
        title=f"Graded {summary.enterprises:,} enterprises as of {summary.as_of} with "
        f"{summary.model_version} (分级结果) → {escape(str(out))}; shares of the {summary.operating:,} "
        "operating (存续企业占比)"
    )
    t.add_column("scheme 方案")
    t.add_column("grades 等级分布")
    for name, counts in summary.grades.items():
        total = sum(counts.values())
        t.add_row(name, "  ".join(f"{g} {c / total:.1%}" for g, c in counts.items()))
    console.print(t)
    if summary.not_operating:
        closed = ", ".join(f"{status} {n:,}" for status, n in summary.not_operating.items())
        console.print(
            f"not operating, worst grade by the closed-state rule and counted apart (非存续企业，单列): "
            f"{sum(summary.not_operating.values()):,} ({closed})"
        )
    console.print(f"override rules moved {summary.overrides:,} operating enterprises (强制降级/直接评定)")
    if summary.migration is not None:
        m = summary.migration
        console.print(
            f"against last month: {m['moved']:,} moved grade, {m['entered']:,} new, {m['left']:,} left; "
            f"score PSI {m['psi_score']:.4f} (等级迁移)"
        )


def explained(r, label: str) -> None:
    """An `Explained` enterprise: grade, score and reasons."""
    console.print(f"{r.uscc} {escape(r.name)}: grade {r.grade}, score {r.score:.0f} ({label})")
    if r.override:
        console.print(
            f"  by score alone: grade {r.grade_by_score}; moved by an override rule (强制降级/直接评定): "
            f"{escape(r.override['en'])} / {escape(r.override['zh'])}; source record {escape(r.override['source'])}"
        )
    reasons(r.reasons)
    console.print(f"waterfall → {escape(r.png)}")


def whatif(r, label: str) -> None:
    """A `RecordWhatIf`: the grade before and after, the override rules, the indicators that moved."""
    console.print(f"{r.uscc} as of {r.as_of} ({label}): {', '.join(map(escape, r.changes))}")
    for when, s in (("before 之前", r.before), ("after 之后", r.after)):
        rule = f"; override {escape(s['override_en'])} / {escape(s['override_zh'])}" if s["override_rule"] else ""
        console.print(
            f"  {when}: grade {s['grades']['shenzhen']} (by score {s['grades_by_score']['shenzhen']}), "
            f"score {s['score']:.0f}{rule}"
        )
    if not r.indicators:
        console.print("  no indicator moved (指标未变)")
    for m in r.indicators:
        console.print(
            f"  {escape(m['zh'])} / {escape(m['en'])}: {escape(m['before_en'])} → {escape(m['after_en'])} "
            f"({escape(m['before_zh'])} → {escape(m['after_zh'])})"
        )
    reasons(r.reasons)


def recourse(r) -> None:
    """A `Recourse`: the grade now, the actions that would change it, the fewest that reach the next grade."""
    now = r.now
    console.print(
        f"{r.uscc} as of {r.as_of} ({r.model_version}): grade {now['grade']} ({r.scheme}), score {now['score']:.1f}"
        + (f"; override {escape(now['override_en'])} / {escape(now['override_zh'])}" if now["override_rule"] else "")
    )
    if r.message_en:
        console.print(f"  {escape(r.message_en)}\n  {escape(r.message_zh)}")
        return
    t = Table(title="What the rules allow, and what it would reach (可采取的操作及效果)")
    for col in ("action 操作", "record 记录", "possible from 可申请日期", "grade 等级", "points 分值"):
        t.add_column(col)
    for s in r.actions:
        when = s.possible_from + ("" if s.possible_now else " (not yet 尚未)")
        t.add_row(f"{escape(s.en)}\n{escape(s.zh)}", s.record, when, s.grade, f"{s.gain:+.1f}")
    console.print(t)
    if r.smallest:
        m = r.smallest
        console.print(
            f"  fewest actions to reach {r.next_grade} (达到 {r.next_grade} 的最少操作): {', '.join(m['actions'])} → "
            f"{m['grade']}, score {m['score']:.1f}, possible from {m['possible_from']}"
        )
    elif r.next_grade:
        console.print(
            f"  no set of the allowed actions reaches {r.next_grade} (规则允许的操作均不能达到 {r.next_grade})"
        )
    if r.not_offered:
        console.print(
            f"  {r.not_offered} more allowed action(s) would not change the grade (另有 {r.not_offered} 项不改变等级)"
        )


def reasons(rows: list[dict]) -> None:
    for x in rows:
        console.print(f"  {x['points']:+6.1f}  {escape(x['zh'])} / {escape(x['en'])}")


def example(row: dict) -> None:
    console.print(
        f"Example (示例): {row['uscc']} {escape(row['name'])} — score {row['score']:.0f}, grade "
        f"{row['grade_shenzhen']}; dimension points D1 {row['points_d1']:+.0f}, D2 {row['points_d2']:+.0f}, "
        f"D3 {row['points_d3']:+.0f}, D4 {row['points_d4']:+.0f}, D5 {row['points_d5']:+.0f}"
    )
    reasons(row["reasons"])


def dimensions(rows: int, profiles) -> None:
    """Per dimension (`DimensionProfile`): adverse signals, missing values, the commonest signal."""
    t = Table(title=f"Indicators per dimension (各维度指标概况), {rows:,} enterprise-dates")
    for col in (
        "dimension 维度",
        "n",
        "any adverse 有不良信号",
        "missing 缺失",
        "commonest adverse signal 最常见不良信号",
    ):
        t.add_column(col)
    for p in profiles:
        t.add_row(
            f"{p.dimension.id} {p.dimension.en}\n{p.dimension.zh}",
            str(p.indicators),
            f"{p.any_adverse:.1%}" if p.any_adverse is not None else "—",
            f"{p.missing:.1%}",
            f"{p.commonest.en}: {p.commonest_share:.1%}\n{p.commonest.zh}" if p.commonest else "—",
        )
    console.print(t)


def ingest_report(report) -> None:
    t = Table(title=f"Ingest of {escape(str(report.source))} (extraction date {report.extraction_date})")
    for col in ("table 表", "read 读入", "accepted 接收", "quarantined 隔离", "ok 平衡", "main rules 主要规则"):
        t.add_column(col, justify="right" if col.split()[0] in ("read", "accepted", "quarantined") else "left")
    for r in report.tables:
        main = ", ".join(f"{k} {v}" for k, v in list(r.reasons.items())[:3])
        t.add_row(
            r.table, f"{r.read:,}", f"{r.accepted:,}", f"{r.quarantined:,}", "✓" if r.reconciles else "[red]✗[/]", main
        )
    console.print(t)


def statistics(stats) -> None:
    t = Table(title="City statistics vs published ranges (城市统计 vs 公开范围)")
    for col in ("statistic 统计项", "value 数值", "range 范围", "ok"):
        t.add_column(col)
    for s in stats:
        t.add_row(
            f"{s.en}\n{s.zh}",
            _fmt(s, s.value),
            _range(s),
            {None: "", True: "[green]✓[/]", False: "[red]✗[/]"}[s.in_range],
        )
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


def plan_preview(s) -> None:
    """A `PlanSummary`: expected inspections and problems per grade, this plan beside a uniform draw."""
    t = Table(
        title=f"Plan {escape(s.plan_id)} ({s.scheme} grades, as of {s.as_of}; {s.coverage}): "
        "expected problems found (预计发现问题数)"
    )
    for col in ("grade", "firms", "eligible", "ratio", "checks", "problems", "uniform: checks", "problems"):
        t.add_column(col, justify="right")
    for g in s.per_grade:
        t.add_row(
            g.grade,
            f"{g.enterprises:,}",
            f"{g.eligible:,}",
            f"{g.sampling_ratio:.2%}",
            f"{g.expected_inspections:,.1f}",
            f"{g.expected_problems:,.1f}",
            f"{g.uniform_inspections:,.1f}",
            f"{g.uniform_problems:,.1f}",
        )
    t.add_row(
        "total",
        f"{s.enterprises:,}",
        f"{s.eligible:,}",
        "",
        f"{s.expected_inspections:,.1f}",
        f"{s.expected_problems:,.1f}",
        f"{s.expected_inspections:,.1f}",
        f"{s.uniform_problems:,.1f}",
    )
    console.print(t)
    console.print(
        f"expected {s.problems_per_1000:.0f} problems per 1,000 checks, {s.ratio_to_uniform:.2f}× a uniform "
        f"random draw of the same size (预计为等量随机抽查的 {s.ratio_to_uniform:.2f} 倍)"
    )
    for why, n in s.excluded.items():
        console.print(f"  not drawn: {n:,} — {escape(why)}")


def cycles(report, out: Path) -> None:
    """A `CycleReport`."""
    t = Table(
        title=f"Feedback loop, {report.months} monthly cycles of {report.year} "
        f"({report.enterprises_at_t0:,} enterprises; 闭环模拟)"
    )
    for col in ("cycle", "run", "checks", "per 1,000", "uniform", "× uniform", "calib. error", "mean p̂ / true"):
        t.add_column(col, justify="right")
    for r in report.cycles:
        t.add_row(
            str(r["cycle"]),
            r["run"],
            f"{r['drawn']:,}",
            f"{r['per_1000']:.0f}",
            f"{r['uniform_per_1000']:.0f}",
            f"{r['ratio_to_uniform']:.2f}",
            f"{r['calibration_error']:.4f}",
            f"{r['mean_predicted']:.3f} / {r['mean_true']:.3f}",
        )
    console.print(t)
    e = report.final_calibration_error
    console.print(
        f"after {report.months} cycles the calibration error is {e['weighted']:.4f} weighted and "
        f"{e['unweighted']:.4f} unweighted ({report.weighted_over_unweighted:.2f}×); "
        f"weighted plans found {report.weighted_ratio_to_uniform_mean:.2f}× a uniform draw's problems "
        f"on average → {escape(str(out / 'cycles.json'))}, {escape(str(out / 'cycles.png'))}"
    )


def month(run) -> None:
    """A `MonthRun`: what the month-end run found, and where it is."""
    where = "dry run, nothing published (试运行，未发布)" if run.dry_run else escape(str(run.folder))
    console.print(
        f"month {run.as_of} graded with {run.model_version}: {run.enterprises:,} enterprises, "
        f"{run.operating:,} operating (月度分级) → {where}"
    )
    total = max(sum(run.grades.values()), 1)
    console.print(
        "shares of operating (经营中企业占比): " + "  ".join(f"{g} {c / total:.1%}" for g, c in run.grades.items())
    )
    if run.migration:
        m = run.migration
        console.print(
            f"against {run.previous}: {m['moved']:,} moved grade, {m['entered']:,} new, {m['left']:,} left "
            f"(等级迁移); score PSI {run.psi_month:.4f}"
        )
    else:
        console.print("first published month: nothing to compare with (首个发布月份)")
    if run.psi_training is not None:
        console.print(f"score PSI against the training city (对训练期): {run.psi_training:.4f}")
    if run.explanations_reused:
        console.print(
            f"explanations (解释): {run.enterprises - run.explanations_reused:,} explained, "
            f"{run.explanations_reused:,} seen unchanged by the model and kept from {run.previous}"
        )
    acting = [a for a in run.drift_alerts if a["level"] == "act"]
    console.print(
        f"drift (指标漂移): {len(run.drift_alerts):,} indicator alerts, {len(acting):,} calling for action"
        + "".join(
            f"\n  {a['level']:5s} {a['column']} {a['index']:.3f} against the {a['against']}"
            for a in run.drift_alerts[:10]
        )
    )
    rules = ", ".join(f"{k} {v:,}" for k, v in run.warnings_by_rule.items())
    console.print(f"early warnings (风险预警): {run.warnings:,} enterprises ({rules})")
    for f in run.feeds_flagged:
        console.print(f"[yellow]feed flagged[/] {f['table']} ({escape(f['agency_en'])}): {escape(f['reason_en'])}")
    fair = run.equal_treatment
    console.print(
        f"equal treatment (公平性), plan {escape(fair['plan'])}, tolerance ±{fair['tolerance']:.0%}: "
        f"{len(fair['flagged']):,} groups flagged"
        + "".join(f"\n  {f['kind']:11s} {escape(f['en'])} ({f['zh']}): {f['flag']}" for f in fair["flagged"][:10])
    )


def equal_treatment(report: dict, flagged: list[dict], out) -> None:
    """The equal-treatment report: every flagged group (`serving.equity.flagged`), then where the report is."""
    console.print(
        f"equal treatment (公平性) with {report['model_version']} (test period {report['test_period'] or '—'}), "
        f"plan {escape(report['plan'])}, tolerance ±{report['tolerance']:.0%}: "
        f"{len(report['treatment']):,} groups, {len(flagged):,} flagged"
    )
    for r in flagged:
        kind = r["kind"]
        if kind == "calibration":
            what = f"observed {r['observed']:.1%} ({r['low']:.1%}–{r['high']:.1%}) vs predicted {r['predicted']:.1%}"
        else:
            what = f"index {r['index']:.2f}, inspection rate {r['inspection_rate']:.2%}"
        console.print(f"  {kind:11s} {escape(r['en'])} ({r['zh']}): {r['flag']} — {what}")
    if not report["calibration"]:
        console.print("the model has no calibration per group (trained before it was measured): treatment only")
    if out is not None:
        console.print(f"report → {escape(str(out))}")


def worse_for_groups(groups: list[dict]) -> None:
    """A promotion's warning: the groups the new champion is calibrated worse for (equal treatment)."""
    if not groups:
        return
    console.print(
        f"[yellow]warning[/]: the version promoted is calibrated worse than the champion for {len(groups)} "
        f"group(s) on its test period (公平性警告：新冠军模型在 {len(groups)} 个分组上校准更差):"
    )
    for g in groups:
        was = "—" if g["champion_ratio"] is None else f"{g['champion_ratio']:.2f}"
        console.print(
            f"  {escape(g['en'])} ({g['zh']}): observed/predicted {g['ratio']:.2f} (champion {was}), {g['flag']}"
        )


def history(uscc: str, frame) -> None:
    """An enterprise's published months (the models that graded them under the table)."""
    t = Table(title=f"{uscc}: grade history (信用等级历史)")
    t.add_column("month 月份", no_wrap=True, min_width=10)
    for c in (
        "grade 等级",
        "by score 评分等级",
        "score 分数",
        "probability 概率",
        "override 强制规则",
        "correction 更正",
    ):
        t.add_column(c)
    for r in frame.itertuples():
        t.add_row(
            str(r.month)[:10],
            r.grade_shenzhen,
            r.grade_shenzhen_by_score,
            f"{r.score:.1f}",
            f"{r.probability:.1%}",
            escape(r.override_rule if isinstance(r.override_rule, str) else "—"),
            escape(f"{r.correction} ({str(r.corrected_on)[:10]})" if isinstance(r.correction, str) else "—"),
        )
    console.print(t)
    console.print("graded by (评级模型): " + ", ".join(dict.fromkeys(frame.model_version)))


def database_sync(loaded: dict, held: dict) -> None:
    """What `sync-database` copied, and what the team database now holds."""
    console.print(
        f"loaded (已载入): {len(loaded['months'])} month(s) of history {', '.join(loaded['months']) or '—'}; "
        f"{len(loaded['corrections'])} correction(s); grades of {loaded['graded'] or '— (already there 已是最新)'}"
    )
    t = Table(title="Graded months in the team database (团队数据库中的分级月份)")
    for c in ("as of 截至", "enterprises 企业数", "model 模型", "loaded 载入时间"):
        t.add_column(c)
    for g in held["graded"]:
        t.add_row(g["as_of"], f"{g['enterprises']:,}", escape(str(g["model_version"])), g["loaded_at"][:19])
    console.print(t)
    months = [h for h in held["history"] if ":" not in h]
    fixed = [h for h in held["history"] if h.startswith("correction:")]
    console.print(f"history (历史): {len(months)} month(s), {len(fixed)} correction(s) (更正)")


def warnings(day, frame, limit: int, out) -> None:
    """A month's early warnings: the first `limit` rows."""
    t = Table(title=f"Early warnings {day}: {len(frame):,} enterprises (风险预警)")
    for c in ("USCC", "name 名称", "district 区", "grade 等级", "probability 概率", "rules 规则", "what changed 变化"):
        t.add_column(c)
    for r in frame.head(limit).to_dict("records"):
        t.add_row(
            r["uscc"],
            escape(r["name"] or ""),
            escape(r["district_en"] or ""),
            f"{r['grade_shenzhen_before']} → {r['grade_shenzhen_after']}",
            f"{r['probability_before']:.1%} → {r['probability_after']:.1%}",
            ", ".join(r["rules"]),
            escape("; ".join(c["en"] for c in r["changes"]) or "—"),
        )
    console.print(t)
    if out is not None:
        console.print(f"written → {escape(str(out))}")


def objection(o) -> None:
    """One objection or repair application."""
    kind = "objection (异议)" if o.kind == "objection" else "credit repair (信用修复)"
    console.print(
        f"{o.id}: {kind} against {escape(o.record)} of {o.uscc}, filed {o.filed_on} by {escape(o.filed_by)}; "
        f"answer due by {o.deadline} (答复期限); status {o.status}"
    )


def decision(d) -> None:
    """A decided objection and the enterprise regraded at once."""
    o = d.objection
    console.print(f"{o.id} {o.status} on {o.decided_on} by {escape(o.decided_by or '')}: {escape(o.reason or '')}")
    if d.after is not None:
        was = d.before or {}
        console.print(
            f"{o.uscc} regraded at once for {d.month} (立即重新评级): grade {was.get('grade', '—')} → "
            f"{d.after['grade']}, score {was.get('score', float('nan')):.1f} → {d.after['score']:.1f}; "
            f"the record is {'removed' if o.kind == 'objection' else 'repaired'} from {o.decided_on} on"
        )


def objections(rows) -> None:
    """Objections and repair applications."""
    t = Table(title=f"Objections and repairs: {len(rows):,} (异议与信用修复)")
    for c in ("id", "kind 类型", "USCC", "record 记录", "filed 受理", "due 期限", "status 状态", "decided 决定"):
        t.add_column(c, no_wrap=c == "id")
    for o in rows:
        due = f"[red]{o.deadline} overdue[/]" if o.overdue else o.deadline
        t.add_row(o.id, o.kind, o.uscc, escape(o.record), o.filed_on, due, o.status, o.decided_on or "—")
    console.print(t)
