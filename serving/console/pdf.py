"""The one-page credit report as PDF (fpdf2, pure Python), with the same content as the printable page:
identity, grade, probability and score, the five dimensions, the top reasons with their records, the override,
the grade history and open objections. The Chinese font the plots use is embedded (subset), so the text can be
selected, searched and extracted."""

from __future__ import annotations

import functools
import hashlib
import logging
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from creditgrade.serving.console.charts import grade_colour
from creditgrade.serving.objections import KINDS


@functools.cache
def font_file() -> str:
    from matplotlib import font_manager as fm

    from creditgrade.models.plots import chinese_font

    return fm.findfont(fm.FontProperties(family=chinese_font()), fallback_to_default=False)


# Parsing the whole Chinese font (30,000 glyphs) costs fpdf2 ~400 ms a report; a subset holding the characters
# reports use parses in ~20 ms. The subset starts from every character of the domain's texts and grows (is
# rebuilt with the union) when a report needs one it lacks, so no report ever loses a glyph.
_FONT: dict = {"chars": frozenset(), "path": None}
_FONT_LOCK = threading.Lock()
_TEXTS = ("features/catalog.py", "features/contract.py", "models/grades.py", "serving/console/messages.yaml")


def _domain_chars() -> set[str]:
    root = Path(__file__).resolve().parents[2]
    chars = {chr(c) for c in range(32, 127)} | set("，。：；（）“”、·—→×％ ")
    for relative in _TEXTS:
        path = root / relative
        if path.exists():
            chars |= set(path.read_text(encoding="utf-8"))
    return chars


def font_for(text: str) -> str:
    """A font file holding every character of `text`: the worker's subset of the Chinese font, rebuilt with
    the new characters when `text` has one it lacks."""
    from fontTools import subset, ttLib

    logging.getLogger("fontTools.subset").setLevel(logging.ERROR)  # "FFTM NOT subset": a timestamp table
    needed = set(text)
    with _FONT_LOCK:
        if _FONT["path"] is not None and needed <= _FONT["chars"]:
            return _FONT["path"]
        chars = frozenset(needed | _FONT["chars"] | _domain_chars())
        options = subset.Options()
        options.notdef_outline = True
        options.name_IDs = ["*"]
        font = ttLib.TTFont(font_file(), fontNumber=0, lazy=True)
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=[ord(c) for c in chars])
        subsetter.subset(font)
        folder = Path(tempfile.mkdtemp(prefix="creditgrade-font-"))
        path = folder / f"cjk-{hashlib.sha256(''.join(sorted(chars)).encode()).hexdigest()[:12]}.ttf"
        font.save(path)
        _FONT.update(chars=chars, path=str(path))
        return str(path)


def credit_report(data: dict[str, Any], t: Callable[..., str], lang: str) -> bytes:
    """The report as PDF bytes: drawn once without output to learn its characters, then for real."""
    drawn: list[str] = []
    _draw(FPDF(format="A4"), data, t, lang, drawn, font=None)
    return _draw(FPDF(format="A4"), data, t, lang, [], font=font_for("".join(drawn)))


def _draw(pdf: FPDF, data: dict[str, Any], t: Callable[..., str], lang: str, drawn: list[str], font: str | None):
    """Lay the report out on `pdf` with `font`; with no font, only collect the text it would draw."""
    row, scheme = data["row"], data["scheme"]
    if font is None:
        pdf = _Collector(drawn)  # type: ignore[assignment]
    pdf.set_auto_page_break(auto=True, margin=12)
    pdf.set_margins(14, 12, 14)
    pdf.add_font("cjk", fname=font)
    pdf.set_title(f"{t('report.title')} {data['code']}")
    pdf.set_creator("creditgrade")
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin

    def line(text: str, size: float = 9, h: float = 5) -> None:
        pdf.set_font("cjk", size=size)
        pdf.multi_cell(width, h, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def heading(text: str) -> None:
        pdf.ln(1.5)
        pdf.set_font("cjk", size=11)
        pdf.cell(width, 6, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_draw_color(180, 180, 180)
        pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + width, pdf.get_y())
        pdf.ln(1)

    line(t("report.title"), 16, 9)
    line(row["name"], 12, 7)
    line(f"{t('field.uscc')}: {data['code']}    {t('field.district')}: {row['district'][lang]}    "
         f"{t('field.industry')}: {row['industry'][lang]}")  # fmt: skip
    line(f"{t('field.as_of')}: {row['as_of']}    {t('field.printed')}: {data['printed']}")

    heading(t("enterprise.grade"))
    rank = scheme.grades.index(data["grade"])
    colour = grade_colour(rank, len(scheme.grades))
    pdf.set_fill_color(*(int(colour[i : i + 2], 16) for i in (1, 3, 5)))
    pdf.set_text_color(255, 255, 255)
    pdf.set_font("cjk", size=18)
    pdf.cell(20, 11, data["grade"], align="C", fill=True)
    pdf.set_text_color(0, 0, 0)
    pdf.set_font("cjk", size=9)
    pdf.cell(4, 11, "")
    pdf.multi_cell(
        width - 24, 5.5,
        f"{t('field.scheme')}: {scheme.zh if lang == 'zh' else scheme.en}\n"
        f"{t('field.probability')}: {100 * row['probability']:.1f}%    {t('field.score')}: {row['score']:.1f}",
        new_x=XPos.LMARGIN, new_y=YPos.NEXT,
    )  # fmt: skip
    if row["override"]:
        o = row["override"]
        line(f"{t('enterprise.override')}: {o[lang]} ({o['rule']}); {t('field.source')}: {o['source']}")

    heading(t("enterprise.dimensions"))
    line("    ".join(f"{d[lang]}: {d['points']:+.1f}" for d in row["dimensions"]))

    heading(t("enterprise.reasons"))
    for i, r in enumerate(data["reasons"], 1):
        line(f"{i}. {r[lang]} ({r['points']:+.1f})")
        for rec in r["records"][:2]:
            line(f"      {rec.id}  {rec.day or ''}  {rec.text(lang)}", 8, 4.2)

    heading(t("recourse.title"))
    r = data["recourse"]
    if r is None:
        line(t("recourse.unavailable", error=data["recourse_error"]))
    elif r.message_en:
        line(r.message_zh if lang == "zh" else r.message_en)
    else:
        for s in r.actions:
            later = "" if s.possible_now else f" ({t('recourse.not_yet')})"
            line(f"{s.zh if lang == 'zh' else s.en}: {s.record} → {s.grade} ({s.gain:+.1f}); "
                 f"{t('recourse.possible_from')} {s.possible_from}{later}", 8, 4.2)  # fmt: skip
        if r.smallest:
            m = r.smallest
            line(t("recourse.smallest", grade=m["grade"], actions=", ".join(m["actions"]), on=m["possible_from"],
                   score=f"{m['score']:.1f}"), 8, 4.2)  # fmt: skip

    heading(t("enterprise.history"))
    column = data["column"]
    line("    ".join(f"{m['month'][:7]}{'*' if m.get('correction') else ''}: {m[column]} ({m['score']:.0f})"
                     for m in data["history"][-12:]) or t("enterprise.no_history"))  # fmt: skip

    heading(t("enterprise.objections"))
    open_ = [o for o in data["disputes"] if o.status == "open"]
    if not open_:
        line(t("enterprise.no_objections"))
    for o in open_:
        kind = KINDS[o.kind][1 if lang == "zh" else 0]
        line(f"{o.id}  {kind}  {o.record}  {t('field.deadline')}: {o.deadline}")

    pdf.ln(2)
    line(t("report.footer", model=row["model_version"], catalog=row["catalog_version"]), 7, 4)
    return bytes(pdf.output())


class _Collector:
    """Stands in for FPDF on the first pass: keeps the text, draws nothing."""

    w, l_margin, r_margin = 210.0, 14.0, 14.0

    def __init__(self, drawn: list[str]):
        self.drawn = drawn

    def cell(self, w, h, text="", *args, **kwargs) -> None:
        self.drawn.append(str(text))

    def multi_cell(self, w, h, text="", *args, **kwargs) -> None:
        self.drawn.append(str(text))

    def set_title(self, title: str) -> None:
        self.drawn.append(title)

    def get_y(self) -> float:
        return 0.0

    def output(self) -> bytes:
        return b""

    def __getattr__(self, name: str):
        return lambda *args, **kwargs: None
