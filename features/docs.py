"""Documents rendered from code: the data contract (and, later, the indicator catalog).

`creditgrade docs` writes them; a test checks the committed copies are in step.
"""

from __future__ import annotations

from pathlib import Path

from creditgrade.features.contract import AGENCIES, TABLES, Column, Table

GENERATED = ("data-contract.md", "indicators.md")


def _codes(c: Column) -> str:
    if not c.codes:
        return ""
    return "<br>".join(f"`{k}` {v.en} / {v.zh}" for k, v in c.codes.items())


def _rules(c: Column) -> str:
    parts = []
    if c.minimum is not None:
        parts.append(f"≥ {c.minimum:g}")
    if c.maximum is not None:
        parts.append(f"≤ {c.maximum:g}")
    if c.references:
        parts.append(f"→ `{c.references}`")
    if c.person_identifier:
        parts.append("person identifier: never shown")
    if c.type == "date":
        parts.append(c.date_meaning + ("" if c.future_allowed else "; not after extraction"))
    return "; ".join(parts)


def _table(t: Table) -> str:
    lines = [
        f"## `{t.name}` — {t.en} / {t.zh}",
        "",
        f"Key: {', '.join(f'`{k}`' for k in t.key)}."
        + (f" Point-in-time date: `{t.event_date}`." if t.event_date else "")
        + f" Sent by: {AGENCIES[t.agency].en} / {AGENCIES[t.agency].zh}.",
        "",
        "| column | type | required | meaning | 含义 | rules | codes |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in t.columns:
        lines.append(
            f"| `{c.name}` | {c.type} | {'yes' if c.required else 'no'} | {c.en} | {c.zh} | {_rules(c)} | {_codes(c)} |"
        )
    if t.row_checks:
        lines += ["", "Row rules (a row breaking one is quarantined):", ""]
        lines += [f"- `{cond}` — else *{en}* / {zh}" for cond, en, zh in t.row_checks]
    return "\n".join(lines)


def render_data_contract() -> str:
    head = [
        "# Raw-data contract (原始数据规范)",
        "",
        "<!-- Generated from features/contract.py by `creditgrade docs`; do not edit by hand. -->",
        "",
        "One Parquet file (or a folder of Parquet files, or a CSV file) per table, named after the table.",
        "`creditgrade ingest SRC --out DIR` checks every value against this page: required values, types",
        "(dates as `YYYY-MM-DD`, booleans as `true`/`false`), allowed codes, ranges, dates not after the",
        "extraction date, USCC check characters (GB 32100-2015, via python-stdnum, with an allow-list),",
        "the row rules, duplicate keys, and that every record points at an accepted enterprise.",
        "Money is in 10k CNY (万元) unless a column says CNY. Ids of people are pseudonymous and never shown.",
        "",
        "Tables: " + ", ".join(f"`{t.name}` ({t.zh})" for t in TABLES) + ".",
        "",
    ]
    return "\n".join(head) + "\n" + "\n\n".join(_table(t) for t in TABLES) + "\n"


def _direction(d: int) -> str:
    return {1: "↑ risk", -1: "↓ risk", 0: "—"}[d]


def render_indicators() -> str:
    from creditgrade.features import catalog

    lines = [
        "# Indicator catalog (指标目录)",
        "",
        "<!-- Generated from features/catalog.py by `creditgrade docs`; do not edit by hand. -->",
        "",
        f"Catalog version `{catalog.version()}`: {len(catalog.INDICATORS)} risk indicators in five dimensions and "
        f"{len(catalog.FALSE_REGISTRATION)} false-registration features. Direction ↑ risk: a higher value never",
        "lowers the risk the model gives (a LightGBM monotone constraint); ↓ risk the opposite; — unconstrained,",
        "and each direction (or its absence) is given with the reason for it.",
        "'No records' is the value when the source holds nothing for the enterprise; 'missing' stays missing.",
        "Every indicator is computed as of a date from records dated on or before it; repaired records",
        "(信用修复) stop counting from the repair date. Code: `features/indicators/`, one function per id.",
        "",
    ]
    for dim in catalog.DIMENSIONS:
        members = [i for i in catalog.ALL if i.dimension == dim.id]
        lines += [
            f"## {dim.id} {dim.en} / {dim.zh} ({len(members)})",
            "",
            "| id | indicator | 指标 | direction | why (en / 中文) | unit | sources | window | formula | no records "
            "| reason, e.g. (en / 中文) |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for i in members:
            window = f"{i.window_days} d" if i.window_days else "—"
            none = "—" if i.sources == ("enterprises",) else "missing" if i.no_records is None else f"{i.no_records:g}"
            example = 1.0 if i.unit in ("count", "flag", "people", "days", "grade", "level") else 0.5
            lines.append(
                f"| `{i.id}` | {i.en} | {i.zh} | {_direction(i.direction)} | {i.rationale_en} / {i.rationale_zh} | "
                f"{catalog.UNITS[i.unit][0]} | {', '.join(i.sources)} | {window} | {i.formula} | {none} | "
                f"{i.reason(example)} / {i.reason(example, 'zh')} |"
            )
        lines.append("")
    lines += [
        "The false-registration model also uses these risk indicators: "
        + ", ".join(f"`{x}`" for x in catalog.FALSE_REGISTRATION_SHARED)
        + "."
    ]
    return "\n".join(lines) + "\n"


RENDERERS = {"data-contract.md": render_data_contract, "indicators.md": render_indicators}


def write_docs(folder: Path, check: bool = False) -> list[str]:
    """Write (or with check=True only compare) every generated document; returns the stale ones."""
    folder.mkdir(parents=True, exist_ok=True)
    stale = []
    for name, render in RENDERERS.items():
        text = render()
        path = folder / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            stale.append(name)
            if not check:
                path.write_text(text, encoding="utf-8")
    return stale
