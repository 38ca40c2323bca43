"""The model report: Markdown and HTML from a training summary, with the plots beside it."""

from __future__ import annotations

import html
from pathlib import Path

METRIC_NAMES = {
    "valid_auc": ("Out-of-time AUC (weighted)", "跨期AUC（加权）"),
    "valid_gini": ("Gini", "基尼系数"),
    "valid_ks": ("KS", "KS值"),
    "valid_brier": ("Brier score", "Brier分数"),
    "psi_train_valid": ("PSI, training vs validation scores", "训练与验证分数PSI"),
    "bayes_auc": ("Bayes limit (truth AUC, simulated city)", "贝叶斯上限（模拟真值AUC）"),
    "auc_gap_to_bayes": ("Gap to the Bayes limit", "与贝叶斯上限差距"),
    "worst_grade_rate_vs_oracle": ("Worst-grade discovery vs oracle", "最差等级发现率/理想分级"),
    "train_rows": ("Training inspections", "训练样本（检查）"),
    "valid_rows": ("Validation inspections", "验证样本"),
}


def _rows(summary: dict) -> list[tuple[str, str, str]]:
    m = summary["metrics"]
    out = []
    for key, (en, zh) in METRIC_NAMES.items():
        if key in m:
            v = m[key]
            out.append((en, zh, f"{v:,.0f}" if key.endswith("_rows") else f"{v:.4f}"))
    return out


def to_markdown(summary: dict, images: dict[str, str]) -> str:
    lines = [f"# Risk model report — as of {summary['as_of']}", "", "| metric | 指标 | value |", "|---|---|---|"]
    lines += [f"| {en} | {zh} | {v} |" for en, zh, v in _rows(summary)]
    for name, r in summary["report"].items():
        lines += [
            "",
            f"## {name}: problem rate per grade (city {r['city_problem_rate']:.1%})",
            "",
            "| grade | share | problem rate |",
            "|---|---|---|",
        ]
        lines += [
            f"| {g['grade']} | {g['share']:.1%} | "
            f"{'—' if g['problem_rate'] is None else format(g['problem_rate'], '.1%')} |"
            for g in r["grades"]
        ]
    lines += [""] + [f"![{title}]({path})" for title, path in images.items()]
    return "\n".join(lines) + "\n"


def to_html(summary: dict, images: dict[str, str]) -> str:
    def table(head, rows):
        h = "".join(f"<th>{html.escape(x)}</th>" for x in head)
        b = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
        return f"<table><thead><tr>{h}</tr></thead><tbody>{b}</tbody></table>"

    parts = [
        f"<h1>Risk model report — as of {html.escape(summary['as_of'])}</h1>",
        table(("metric", "指标", "value"), _rows(summary)),
    ]
    for name, r in summary["report"].items():
        parts.append(f"<h2>{html.escape(name)}: problem rate per grade (city {r['city_problem_rate']:.1%})</h2>")
        parts.append(
            table(
                ("grade", "share", "problem rate"),
                [
                    (g["grade"], f"{g['share']:.1%}", "—" if g["problem_rate"] is None else f"{g['problem_rate']:.1%}")
                    for g in r["grades"]
                ],
            )
        )
    parts += [
        f'<figure><img src="{html.escape(p)}" alt="{html.escape(t)}"><figcaption>{html.escape(t)}</figcaption></figure>'
        for t, p in images.items()
    ]
    style = (
        "body{font-family:sans-serif;max-width:60em;margin:auto}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:2px 8px}"
    )
    head = f'<!doctype html><html lang="en"><meta charset="utf-8"><style>{style}</style>'
    return f"{head}<body>{''.join(parts)}</body></html>\n"


def write_report(summary: dict, folder: Path, images: dict[str, str]) -> tuple[Path, Path]:
    folder = Path(folder)
    md, page = folder / "model_report.md", folder / "model_report.html"
    md.write_text(to_markdown(summary, images), encoding="utf-8")
    page.write_text(to_html(summary, images), encoding="utf-8")
    return md, page
