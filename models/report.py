"""The model report: Markdown and HTML from a training summary, with the plots beside it.

Both are built from the same sections (`_sections`): the periods, the test figures, the problem rate per
grade of every scheme on the test period with whether it rises, the calibration table per grade, and the
override rules that move a grade after the score (each graded enterprise's rule, source record and date
are in the graded table, `creditgrade explain` and its waterfall).
"""

from __future__ import annotations

import html
from pathlib import Path

from creditgrade.features.overrides import RULES
from creditgrade.models import equity

EFFECT_TEXT = {
    "worst": ("the worst grade (E; D in four or eight tiers)", "直接评为最差等级"),
    "down2": ("two grades down, no worse than the last scored grade", "降两级，最低至最差评分等级"),
}

METRIC_NAMES = {
    "test_auc": ("AUC on the untouched test period (weighted)", "未参与训练与调参的测试期AUC（加权）"),
    "test_gini": ("Gini", "基尼系数"),
    "test_ks": ("KS", "KS值"),
    "test_brier": ("Brier score", "Brier分数"),
    "psi_fit_test": ("PSI, fitting vs test scores", "拟合期与测试期分数PSI"),
    "bayes_auc": ("Bayes limit (truth AUC, simulated city)", "贝叶斯上限（模拟真值AUC）"),
    "auc_gap_to_bayes": ("Gap to the Bayes limit", "与贝叶斯上限差距"),
    "worst_grade_rate_vs_oracle": ("Worst-grade discovery vs oracle", "最差等级发现率/理想分级"),
    "fit_rows": ("Fitting inspections", "拟合样本（检查）"),
    "tune_rows": ("Tuning inspections", "调参样本"),
    "test_rows": ("Test inspections", "测试样本"),
}


Section = tuple[str, tuple[str, ...], list[tuple]]  # (heading, column names, rows)


def _pct(v) -> str:
    return "—" if v is None else f"{v:.1%}"


def _sections(summary: dict) -> list[Section]:
    """(heading, column names, rows) of every table in the report."""
    m, p = summary["metrics"], summary.get("periods") or {}
    metrics = [
        (en, zh, f"{m[k]:,.0f}" if k.endswith("_rows") else f"{m[k]:.4f}")
        for k, (en, zh) in METRIC_NAMES.items()
        if k in m
    ]
    out: list[Section] = [("Test figures (测试期指标)", ("metric", "指标", "value"), metrics)]
    if p:
        out.append(
            (
                "Periods (样本期)",
                ("role", "角色", "year-ends"),
                [
                    ("fit the trees", "拟合", ", ".join(p["fit"])),
                    ("tune", "调参", p["tune"]),
                    ("test", "测试", p["test"]),
                ],
            )
        )
    for name, r in summary["report"].items():
        rise = "rise strictly" if r["rates_strictly_rise"] else "do NOT rise strictly"
        if r.get("empty_grades"):
            rise += f" ({', '.join(r['empty_grades'])} without test inspections)"
        out.append(
            (
                f"{name}: problem rate per grade on the test period (city {r['city_problem_rate']:.1%}); rates {rise}",
                ("grade", "share", "problem rate"),
                [(g["grade"], f"{g['share']:.1%}", _pct(g["problem_rate"])) for g in r["grades"]],
            )
        )
    if summary.get("calibration_table"):
        out.append(
            (
                "Calibration per grade on the test period, 95% interval (各等级校准，测试期)",
                ("grade", "inspections", "predicted", "observed", "95% interval"),
                [
                    (
                        c["grade"],
                        f"{c['rows']:,}",
                        _pct(c["predicted"]),
                        _pct(c["observed"]),
                        "—" if c["low"] is None else f"{c['low']:.1%}–{c['high']:.1%}",
                    )
                    for c in summary["calibration_table"]
                ],
            )
        )
    fair = summary.get("equal_treatment") or {}
    if fair.get("groups"):
        out.append(equity.calibration_section(fair["groups"], fair["tolerance"]))
    out.append(
        (
            "Override rules applied after the score, Shenzhen's rules (DOMAIN §1) (评分后适用的强制规则)",
            ("rule", "规则", "effect", "效果"),
            [(r.en, r.zh, *EFFECT_TEXT[r.effect]) for r in RULES.values()],
        )
    )
    return out


def markdown_page(title: str, sections: list[Section], images: dict[str, str]) -> str:
    lines = [f"# {title}"]
    for heading, head, rows in sections:
        lines += ["", f"## {heading}", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(map(str, r)) + " |" for r in rows]
    lines += [""] + [f"![{title}]({path})" for title, path in images.items()]
    return "\n".join(lines) + "\n"


def html_page(title: str, sections: list[Section], images: dict[str, str], lang: str = "en") -> str:
    def table(head, rows):
        h = "".join(f"<th>{html.escape(x)}</th>" for x in head)
        b = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
        return f"<table><thead><tr>{h}</tr></thead><tbody>{b}</tbody></table>"

    parts = [f"<h1>{html.escape(title)}</h1>"]
    for heading, head, rows in sections:
        parts += [f"<h2>{html.escape(heading)}</h2>", table(head, rows)]
    parts += [
        f'<figure><img src="{html.escape(p)}" alt="{html.escape(t)}"><figcaption>{html.escape(t)}</figcaption></figure>'
        for t, p in images.items()
    ]
    style = (
        "body{font-family:sans-serif;max-width:60em;margin:auto}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:2px 8px}img{max-width:100%}"
    )
    meta = f'<meta charset="utf-8"><title>{html.escape(title)}</title><style>{style}</style>'
    page = f'<!doctype html><html lang="{lang}">{meta}'
    return f"{page}<body>{''.join(parts)}</body></html>\n"


def to_markdown(summary: dict, images: dict[str, str]) -> str:
    return markdown_page(f"Risk model report — test date {summary['as_of']}", _sections(summary), images)


def to_html(summary: dict, images: dict[str, str]) -> str:
    return html_page(f"Risk model report — test date {summary['as_of']}", _sections(summary), images)


def write_report(summary: dict, folder: Path, images: dict[str, str]) -> tuple[Path, Path]:
    folder = Path(folder)
    md, page = folder / "model_report.md", folder / "model_report.html"
    md.write_text(to_markdown(summary, images), encoding="utf-8")
    page.write_text(to_html(summary, images), encoding="utf-8")
    return md, page
