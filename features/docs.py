"""Documents rendered from code: the data contract (and, later, the indicator catalog).

`creditgrade docs` writes them; a test checks the committed copies are in step.
"""

from __future__ import annotations

from pathlib import Path

from features.contract import TABLES, Column, Table

GENERATED = ("data-contract.md",)


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
    lines = [f"## `{t.name}` — {t.en} / {t.zh}", "",
             f"Key: {', '.join(f'`{k}`' for k in t.key)}."
             + (f" Point-in-time date: `{t.event_date}`." if t.event_date else ""), "",
             "| column | type | required | meaning | 含义 | rules | codes |", "|---|---|---|---|---|---|---|"]
    for c in t.columns:
        lines.append(f"| `{c.name}` | {c.type} | {'yes' if c.required else 'no'} | {c.en} | {c.zh} | {_rules(c)} "
                     f"| {_codes(c)} |")
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


RENDERERS = {"data-contract.md": render_data_contract}


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
