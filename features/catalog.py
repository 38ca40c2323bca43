"""The indicator catalog — the single source of truth for what the model sees.

63 risk indicators in Shenzhen's five dimensions, and a second section of
false-registration features. Everything else is derived from these entries:
the feature pipeline's column order and the one-to-one check against the code
(`features/indicators/`), LightGBM monotone constraints (`direction`), the
service's schemas and valid ranges, reason-code wording, and
`docs/indicators.md`.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Literal

Direction = Literal[1, -1, 0]


@dataclass(frozen=True)
class Dimension:
    id: str
    en: str
    zh: str


DIMENSIONS: tuple[Dimension, ...] = (
    Dimension("D1", "Operation and changes", "经营与变更情况"),
    Dimension("D2", "Registration and licences", "登记与许可信息"),
    Dimension("D3", "Penalties and negative lists", "处罚与负面名单"),
    Dimension("D4", "Cases, complaints and reports", "案件与投诉举报"),
    Dimension("D5", "Evaluations and commendations", "评价与表彰记录"),
    Dimension("FR", "False-registration signals", "虚假登记特征"),
)
DIMENSION_IDS = tuple(d.id for d in DIMENSIONS)

UNITS = {
    "count": ("count", "次/个"),
    "flag": ("0/1 flag", "是/否"),
    "days": ("days", "天"),
    "years": ("years", "年"),
    "ratio": ("ratio", "比例"),
    "change": ("relative change", "变化率"),
    "log10_wan": ("log10(1 + amount in 10k CNY)", "log10(1 + 金额，万元)"),
    "log10_cny": ("log10(1 + amount in CNY)", "log10(1 + 金额，元)"),
    "people": ("people", "人"),
    "grade": ("tax credit grade, 1 (A) … 5 (D)", "纳税信用等级，1（A）至5（D）"),
    "level": ("award level, 0 none … 4 national", "表彰级别，0无至4国家级"),
}
TAX_GRADES = ("A", "B", "M", "C", "D")  # the codes 1..5 of the tax credit grade, best first
AWARD_LEVELS = (
    ("none", "无"),
    ("district", "区级"),
    ("municipal", "市级"),
    ("provincial", "省级"),
    ("national", "国家级"),
)
PLURAL = re.compile(r"\[([^|\]]*)\|([^\]]*)\]")


@dataclass(frozen=True)
class Indicator:
    """One indicator: what it is, why its direction, how it is computed, and how it is explained.

    Reasons read as a person would write them: `reason_*` when the enterprise has the condition (`{value}`
    is the value as a person reads it — money in 万元 or CNY, percentages, tax grade letters — and `[one|many]`
    picks the English singular or plural); `none_*` when it has none of it (the value equals `none_value`:
    0 for counts and flags, the window for a "days since" that found nothing); `missing_*` when the value is
    missing (no report, nothing disclosed).
    """

    id: str
    dimension: str
    en: str
    zh: str
    direction: Direction  # +1: higher means more risk; -1: higher means less risk; 0: no constraint
    rationale_en: str  # why this direction (or, for 0, why none is stated)
    rationale_zh: str
    unit: str
    sources: tuple[str, ...]
    window_days: int | None  # look-back window; None: the current state or all history
    formula: str
    reason_en: str
    reason_zh: str
    none_en: str | None = None
    none_zh: str | None = None
    missing_en: str | None = None
    missing_zh: str | None = None
    none_value: float | None = 0.0  # the value that means "none of it" (None: no such value)
    no_records: float | None = 0.0  # the value when the sources hold nothing for the enterprise (None: missing)
    minimum: float | None = 0.0
    maximum: float | None = None
    # Named thresholds the indicator's code reads (e.g. {"more_than": 20}); every one is stated in the formula.
    params: dict[str, float] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if self.dimension not in DIMENSION_IDS:
            raise ValueError(f"{self.id}: dimension must be one of {DIMENSION_IDS}; got {self.dimension!r}")
        if self.direction not in (1, -1, 0):
            raise ValueError(f"{self.id}: direction must be 1, -1 or 0; got {self.direction!r}")
        if not self.rationale_en.strip() or not self.rationale_zh.strip():
            raise ValueError(f"{self.id}: every direction (none included) needs its reason in English and Chinese")
        if self.unit not in UNITS:
            raise ValueError(f"{self.id}: unit must be one of {sorted(UNITS)}; got {self.unit!r}")
        if not self.id.lower().startswith(self.dimension.lower() + "_"):
            raise ValueError(f"{self.id}: id must start with its dimension ({self.dimension.lower()}_)")
        if self.window_days is not None and self.window_days < 1:
            raise ValueError(f"{self.id}: window_days must be a positive number of days; got {self.window_days!r}")
        if (self.none_en is None) != (self.none_zh is None) or (self.missing_en is None) != (self.missing_zh is None):
            raise ValueError(f"{self.id}: a reason must exist in both languages or in neither")

    def reason(self, value: float | None, lang: str = "en") -> str:
        """The reason text for this enterprise's value, e.g. '3 administrative penalties in the last 12 months'.

        >>> BY_ID["d4_complaints_12m"].reason(1.0), BY_ID["d4_complaints_12m"].reason(0.0, "zh")
        ('1 complaint in the last 12 months', '近12个月无投诉举报')
        >>> BY_ID["d3_penalty_amount_36m_log"].reason(math.log10(1 + 12_000), "zh")
        '近36个月罚没金额1.2万元'
        """
        if value is None or (isinstance(value, float) and math.isnan(value)):
            text = self.missing_en if lang == "en" else self.missing_zh
            if text is None:
                return f"{self.en}: not reported" if lang == "en" else f"{self.zh}：未报告"
            return text
        if self.none_value is not None and value == self.none_value:
            text = self.none_en if lang == "en" else self.none_zh
            if text is not None:
                return text
        template = self.reason_en if lang == "en" else self.reason_zh
        if lang == "en":
            one = self._one(value)
            template = PLURAL.sub(lambda m: m.group(1) if one else m.group(2), template)
        return template.format(value=shown(value, self.unit, lang))

    @property
    def valid_range(self) -> tuple[float, float]:
        """The values the indicator can take: its own bounds, else its unit's (`UNIT_RANGE`). The service
        refuses anything outside (and anything not finite) in a what-if."""
        low, high = UNIT_RANGE[self.unit]
        return (low if self.minimum is None else self.minimum, high if self.maximum is None else self.maximum)

    def _one(self, value: float) -> bool:
        """Whether the English text takes the singular ('1 complaint', '1.0 year')."""
        return self.unit in ("count", "people", "days") and round(value) == 1 or self.unit == "years" and value < 1.05

    def reasons(self, values: Iterable[float], lang: str = "en") -> list[str]:
        """`reason` of each value, rendered once per distinct way a value reads: a text depends on the value
        only through whether it is missing or the 'none' value, its singular or plural, and the value as
        shown (a city's millions of distinct capitals read as a few thousand amounts).

        >>> BY_ID["d1_age_years"].reasons([3.01, 3.02, float("nan")])
        ['Established 3.0 years ago', 'Established 3.0 years ago', 'Years since establishment: not reported']
        """
        rendered: dict[tuple | None, str] = {}
        out = []
        for v in values:
            if v is None or math.isnan(v):
                key = None
            else:
                key = (shown(v, self.unit, lang), self._one(v), v == self.none_value)
            text = rendered.get(key)
            if text is None:
                text = rendered[key] = self.reason(None if key is None else v, lang)
            out.append(text)
        return out


# Where an indicator states no bound of its own, its unit's: wider than any real enterprise (a century and a
# half of age, 10^12 万元 of capital, a million records), so they only keep out what cannot be a value.
UNIT_RANGE: dict[str, tuple[float, float]] = {
    "count": (0.0, 1e6),
    "people": (0.0, 1e7),
    "days": (0.0, 36_500.0),
    "years": (0.0, 150.0),
    "ratio": (-1e3, 1e3),
    "change": (-1.0, 1e4),
    "log10_wan": (-4.0, 12.0),
    "log10_cny": (0.0, 16.0),
    "grade": (1.0, 5.0),
    "level": (0.0, 4.0),
    "flag": (0.0, 1.0),
}


def shown(value: float, unit: str, lang: str = "en") -> str:
    """A value as a person reads it: counts as whole numbers, money in 万元 or CNY (not logs), percentages, tax
    grades as letters, award levels as words.

    >>> shown(math.log10(1 + 500), "log10_wan"), shown(math.log10(1 + 500), "log10_wan", "zh")
    ('CNY 5 million', '500万元')
    >>> shown(4, "grade"), shown(0.125, "change"), shown(2, "level", "zh")
    ('C', '+12%', '市级')
    """
    if unit in ("count", "people", "days"):
        return f"{round(value):,}"
    if unit == "years":
        return f"{value:.1f}"
    if unit == "ratio":
        return f"{value:.0%}"
    if unit == "change":
        return f"{value:+.0%}"
    if unit in ("log10_wan", "log10_cny"):
        amount = 10**value - 1
        return money(amount * (10_000 if unit == "log10_wan" else 1), lang)
    if unit == "grade":
        return TAX_GRADES[min(max(round(value), 1), 5) - 1]
    if unit == "level":
        return AWARD_LEVELS[min(max(round(value), 0), 4)][0 if lang == "en" else 1]
    return f"{value:g}"


def money(cny: float, lang: str = "en") -> str:
    """An amount of CNY as a person writes it: 'CNY 1.2 million', '120万元', '3.4亿元'."""
    if lang == "en":
        if cny >= 1e6:
            return f"CNY {_sig(cny / 1e6)} million"
        return f"CNY {round(cny, -2 if cny >= 10_000 else 0):,.0f}"
    wan = cny / 10_000
    if wan >= 10_000:
        return f"{_sig(wan / 10_000)}亿元"
    if wan >= 1:
        return f"{_sig(wan)}万元"
    return f"{round(cny):,}元"


def _sig(x: float) -> str:
    """Two significant figures, without a trailing .0: 1.2, 12, 120, 1,200."""
    digits = max(0, 1 - int(math.floor(math.log10(x)))) if x > 0 else 0
    return f"{round(x, digits):,.{digits}f}".rstrip("0").rstrip(".") if digits else f"{round(x):,}"


def _i(*, id: str, sources: str, **fields) -> Indicator:
    """A catalog entry: its dimension is the id's prefix, its sources a space-separated list of raw tables."""
    return Indicator(id=id, dimension=id.split("_")[0].upper(), sources=tuple(sources.split()), **fields)


_M = None  # "missing" for no_records / no bound

INDICATORS: tuple[Indicator, ...] = (
    # -- D1 operation and changes (经营与变更情况) -----------------------------------------------------
    _i(
        id="d1_age_years",
        en="Years since establishment",
        zh="成立年限",
        direction=-1,
        rationale_en="Older enterprises have a longer record behind them; shells and fly-by-night firms are young (DOMAIN §3), and the simulated and published problem rates fall with age.",
        rationale_zh="成立时间越长，经营记录越充分；空壳和“打一枪换一个地方”的企业多为新设企业，问题发现率随成立年限下降。",
        unit="years",
        sources="enterprises",
        window_days=None,
        formula="(as_of − established_date) / 365.25",
        reason_en="Established {value} [year|years] ago",
        reason_zh="成立{value}年",
    ),
    _i(
        id="d1_registered_capital_log",
        en="Registered capital",
        zh="注册资本",
        direction=-1,
        rationale_en="More capital committed by the owners means more at stake in complying; empty shells register little.",
        rationale_zh="股东认缴资本越多，合规经营的利害越大；空壳企业注册资本通常很少。",
        unit="log10_wan",
        sources="enterprises",
        window_days=None,
        formula="log10(1 + registered_capital)",
        reason_en="Registered capital {value}",
        reason_zh="注册资本{value}",
        none_en="No registered capital",
        none_zh="注册资本为零",
        minimum=_M,
    ),
    _i(
        id="d1_paid_in_ratio",
        en="Paid-in share of registered capital",
        zh="实缴资本占比",
        direction=-1,
        rationale_en="Capital actually paid in shows real backing; zero paid-in capital is a false-registration signal.",
        rationale_zh="实缴到位说明有真实出资；实缴为零是虚假登记信号之一。",
        unit="ratio",
        sources="enterprises",
        window_days=None,
        formula="paid_in_capital / registered_capital; missing when not disclosed",
        reason_en="Paid-in capital is {value} of registered capital",
        reason_zh="实缴资本占注册资本的{value}",
        none_en="No capital paid in",
        none_zh="实缴资本为零",
        missing_en="Paid-in capital not disclosed",
        missing_zh="未公示实缴资本",
        no_records=_M,
        maximum=1.0,
    ),
    _i(
        id="d1_legal_rep_changes_24m",
        en="Changes of legal representative, 24 months",
        zh="近24个月法定代表人变更次数",
        direction=1,
        rationale_en="Frequent changes of the legal representative go with nominee and shell operation (DOMAIN §3).",
        rationale_zh="频繁变更法定代表人常见于挂名和空壳经营。",
        unit="count",
        sources="registration_changes",
        window_days=730,
        formula="count(change_type = legal_rep, change_date in (as_of−730d, as_of])",
        reason_en="{value} [change|changes] of legal representative in the last 24 months",
        reason_zh="近24个月变更法定代表人{value}次",
        none_en="No change of legal representative in the last 24 months",
        none_zh="近24个月未变更法定代表人",
    ),
    _i(
        id="d1_address_changes_24m",
        en="Changes of registered address, 24 months",
        zh="近24个月住所变更次数",
        direction=1,
        rationale_en="Frequent moves make an enterprise hard to reach and supervise.",
        rationale_zh="频繁变更住所使企业难以联系和监管。",
        unit="count",
        sources="registration_changes",
        window_days=730,
        formula="count(change_type = address, last 730 days)",
        reason_en="{value} [change|changes] of registered address in the last 24 months",
        reason_zh="近24个月变更住所{value}次",
        none_en="No change of registered address in the last 24 months",
        none_zh="近24个月未变更住所",
    ),
    _i(
        id="d1_scope_changes_24m",
        en="Changes of business scope, 24 months",
        zh="近24个月经营范围变更次数",
        direction=1,
        rationale_en="Frequent changes of business scope go with enterprises repurposed for other uses.",
        rationale_zh="频繁变更经营范围常见于被挪作他用的企业。",
        unit="count",
        sources="registration_changes",
        window_days=730,
        formula="count(change_type = scope, last 730 days)",
        reason_en="{value} [change|changes] of business scope in the last 24 months",
        reason_zh="近24个月变更经营范围{value}次",
        none_en="No change of business scope in the last 24 months",
        none_zh="近24个月未变更经营范围",
    ),
    _i(
        id="d1_shareholder_changes_24m",
        en="Changes of shareholders, 24 months",
        zh="近24个月股东变更次数",
        direction=1,
        rationale_en="Frequent changes of owners go with shells being traded.",
        rationale_zh="频繁变更股东常见于空壳企业被转卖。",
        unit="count",
        sources="registration_changes",
        window_days=730,
        formula="count(change_type = shareholder, last 730 days)",
        reason_en="{value} [change|changes] of shareholders in the last 24 months",
        reason_zh="近24个月变更股东{value}次",
        none_en="No change of shareholders in the last 24 months",
        none_zh="近24个月未变更股东",
    ),
    _i(
        id="d1_changes_12m",
        en="All registration changes, 12 months",
        zh="近12个月变更登记总次数",
        direction=1,
        rationale_en="Many registration changes in a year mark an unstable enterprise.",
        rationale_zh="一年内多次变更登记说明经营不稳定。",
        unit="count",
        sources="registration_changes",
        window_days=365,
        formula="count(any change, last 365 days)",
        reason_en="{value} registration [change|changes] in the last 12 months",
        reason_zh="近12个月变更登记{value}次",
        none_en="No registration change in the last 12 months",
        none_zh="近12个月无变更登记",
    ),
    _i(
        id="d1_employees",
        en="Employees (latest annual report)",
        zh="从业人数（最近年报）",
        direction=-1,
        rationale_en="A real workforce shows real operation; shells report none.",
        rationale_zh="有实际用工说明有真实经营；空壳企业通常无从业人员。",
        unit="people",
        sources="annual_reports",
        window_days=None,
        formula="employees in the latest report filed by as_of",
        reason_en="{value} [employee|employees] in the latest annual report",
        reason_zh="最近年报从业人数{value}人",
        none_en="No employees in the latest annual report",
        none_zh="最近年报从业人数为零",
        missing_en="No annual report with a headcount",
        missing_zh="无报送从业人数的年报",
        no_records=_M,
    ),
    _i(
        id="d1_insured_ratio",
        en="Insured share of employees (latest report)",
        zh="参保人数占从业人数比例",
        direction=-1,
        rationale_en="Staff covered by social insurance show lawful employment; none insured is a shell signal.",
        rationale_zh="参保比例高说明依法用工；无人参保是空壳信号。",
        unit="ratio",
        sources="annual_reports",
        window_days=None,
        formula="insured_headcount / employees in the latest filed report; missing if no employees",
        reason_en="{value} of employees covered by social insurance",
        reason_zh="参保人数占从业人数的{value}",
        none_en="No employee covered by social insurance",
        none_zh="无员工参保",
        missing_en="No employees reported, so no insured share",
        missing_zh="未报告从业人数，无参保比例",
        no_records=_M,
        maximum=_M,
    ),
    _i(
        id="d1_revenue_log",
        en="Operating revenue (latest report)",
        zh="营业收入（最近年报）",
        direction=-1,
        rationale_en="Real revenue shows real business; shells have none.",
        rationale_zh="有实际营业收入说明真实经营；空壳企业没有收入。",
        unit="log10_wan",
        sources="annual_reports",
        window_days=None,
        formula="log10(1 + revenue) in the latest filed report",
        reason_en="Revenue of {value} in the latest annual report",
        reason_zh="最近年报营业收入{value}",
        none_en="No revenue in the latest annual report",
        none_zh="最近年报营业收入为零",
        missing_en="No revenue figure reported",
        missing_zh="未报告营业收入",
        no_records=_M,
    ),
    _i(
        id="d1_profit_margin",
        en="Net profit margin (latest report)",
        zh="净利润率（最近年报）",
        direction=-1,
        rationale_en="Losses raise the pressure to cut corners; profitable firms have more to lose from sanctions.",
        rationale_zh="亏损会增加违规的压力；盈利企业受处罚的损失更大。",
        unit="ratio",
        sources="annual_reports",
        window_days=None,
        formula="profit / revenue in the latest filed report; missing if no revenue",
        reason_en="Net profit margin of {value} in the latest annual report",
        reason_zh="最近年报净利润率{value}",
        missing_en="No profit margin reported (no revenue)",
        missing_zh="无营业收入，未能计算净利润率",
        no_records=_M,
        minimum=_M,
        maximum=_M,
    ),
    _i(
        id="d1_debt_ratio",
        en="Liabilities / assets (latest report)",
        zh="资产负债率（最近年报）",
        direction=1,
        rationale_en="Liabilities above assets signal financial distress, which goes with unpaid debts and disputes.",
        rationale_zh="资不抵债说明财务困难，常伴随欠债和纠纷。",
        unit="ratio",
        sources="annual_reports",
        window_days=None,
        formula="total_liabilities / total_assets in the latest filed report; missing if no assets",
        reason_en="Liabilities are {value} of assets",
        reason_zh="资产负债率{value}",
        none_en="No liabilities reported",
        none_zh="无负债",
        missing_en="No assets reported, so no debt ratio",
        missing_zh="未报告资产，无法计算资产负债率",
        no_records=_M,
        maximum=_M,
    ),
    _i(
        id="d1_revenue_growth",
        en="Revenue growth over the previous report",
        zh="营业收入增长率",
        direction=0,
        rationale_en="Both a collapse and a sudden jump go with trouble (a failing firm's slump, a shell's first invoices): no direction is stated, the model may learn either side.",
        rationale_zh="营业收入骤降和骤增都可能预示问题（经营失败或空壳突然开票），因此不设方向，由模型学习。",
        unit="change",
        sources="annual_reports",
        window_days=None,
        formula="revenue_latest / revenue_previous − 1; missing if either is missing or zero",
        reason_en="Revenue changed {value} on the previous year",
        reason_zh="营业收入较上年变化{value}",
        missing_en="No revenue for both of the last two years",
        missing_zh="最近两年未都报告营业收入",
        no_records=_M,
        minimum=-1.0,
        maximum=_M,
    ),
    # -- D2 registration and licences (登记与许可信息) --------------------------------------------------
    _i(
        id="d2_reports_filed_3y",
        en="Annual reports filed, last 3 due",
        zh="近3个应报年度年报报送数",
        direction=-1,
        rationale_en="Filing annual reports is a legal duty; an enterprise that files is one the register can follow.",
        rationale_zh="报送年报是法定义务，按期报送的企业可被持续跟踪。",
        unit="count",
        sources="annual_reports",
        window_days=1095,
        formula="count(filed by as_of) among reports for the 3 latest report years due by as_of",
        reason_en="{value} of the last 3 annual reports filed",
        reason_zh="近3个应报年度报送年报{value}份",
        none_en="None of the last 3 annual reports filed",
        none_zh="近3个应报年度均未报送年报",
        maximum=3.0,
        params={"report_years": 3},
    ),
    _i(
        id="d2_reports_missed_3y",
        en="Annual reports not filed, last 3 due",
        zh="近3个应报年度未报年报数",
        direction=1,
        rationale_en="Not filing is a breach in itself and puts the enterprise on the abnormal list (DOMAIN §2).",
        rationale_zh="未报年报本身违法，并会被列入经营异常名录。",
        unit="count",
        sources="annual_reports",
        window_days=1095,
        formula="count(not filed by as_of) among reports for the 3 latest report years due",
        reason_en="{value} of the last 3 annual reports not filed",
        reason_zh="近3个应报年度未报送年报{value}份",
        none_en="Every annual report due in the last 3 years filed",
        none_zh="近3个应报年度年报均已报送",
        maximum=3.0,
        params={"report_years": 3},
    ),
    _i(
        id="d2_reports_late_3y",
        en="Annual reports filed late, last 3 due",
        zh="近3个应报年度逾期报送数",
        direction=1,
        rationale_en="Filing late is a lesser breach of the same duty.",
        rationale_zh="逾期报送是对同一义务的较轻违反。",
        unit="count",
        sources="annual_reports",
        window_days=1095,
        formula="count(filed by as_of but after 30 June) among reports for the 3 latest years due",
        reason_en="{value} of the last 3 annual reports filed late",
        reason_zh="近3个应报年度逾期报送年报{value}份",
        none_en="No annual report filed late in the last 3 years",
        none_zh="近3个应报年度无逾期报送",
        maximum=3.0,
        params={"report_years": 3},
    ),
    _i(
        id="d2_last_report_on_time",
        en="Latest due annual report filed on time",
        zh="最近一期年报按时报送",
        direction=-1,
        rationale_en="Meeting the latest deadline shows current compliance.",
        rationale_zh="按时报送最近一期年报说明当前守法。",
        unit="flag",
        sources="annual_reports",
        window_days=None,
        formula="1 if the report for the latest year due by as_of was filed by 30 June; missing if none",
        reason_en="Latest annual report filed on time",
        reason_zh="最近一期年报按时报送",
        none_en="Latest annual report not filed on time",
        none_zh="最近一期年报未按时报送",
        missing_en="No annual report due yet",
        missing_zh="尚无应报年报",
        no_records=_M,
        maximum=1.0,
    ),
    _i(
        id="d2_financials_undisclosed",
        en="Latest report withholds its financials",
        zh="最近年报未公示财务数据",
        direction=1,
        rationale_en="Withholding the financial figures hides what the report is meant to show (DOMAIN: concealed disclosure).",
        rationale_zh="不公示财务数据掩盖了年报应披露的内容（隐瞒真实情况）。",
        unit="flag",
        sources="annual_reports",
        window_days=None,
        formula="1 if the latest filed report has no revenue, assets or liabilities",
        reason_en="Latest annual report withholds its financial figures",
        reason_zh="最近年报未公示资产状况信息",
        none_en="Latest annual report discloses its financial figures",
        none_zh="最近年报已公示资产状况信息",
        maximum=1.0,
    ),
    _i(
        id="d2_licences_valid",
        en="Licences valid at the as-of date",
        zh="有效行政许可数",
        direction=0,
        rationale_en="More licences mean more regulated activity both to get wrong and to be supervised in; no direction is stated.",
        rationale_zh="许可越多，受监管的业务越多，出错和受监督的机会都更多，因此不设方向。",
        unit="count",
        sources="licences",
        window_days=None,
        formula="count(issue_date ≤ as_of < expiry_date and not revoked by as_of)",
        reason_en="{value} valid [licence|licences]",
        reason_zh="持有有效许可{value}项",
        none_en="No valid licence",
        none_zh="无有效许可",
    ),
    _i(
        id="d2_licences_expired_unrenewed",
        en="Licences lapsed without renewal, 24 months",
        zh="近24个月许可过期未续",
        direction=1,
        rationale_en="Operating after a licence lapses is unlicensed operation.",
        rationale_zh="许可过期未续仍经营属于无证经营。",
        unit="count",
        sources="licences",
        window_days=730,
        formula="count(licence types with a licence expired in the last 730 days and none of that type valid at as_of)",
        reason_en="{value} [licence|licences] lapsed without renewal in the last 24 months",
        reason_zh="近24个月许可过期未续{value}项",
        none_en="No licence lapsed without renewal in the last 24 months",
        none_zh="近24个月无许可过期未续",
    ),
    _i(
        id="d2_licences_revoked_36m",
        en="Licences revoked, 36 months",
        zh="近36个月许可被吊销/撤销数",
        direction=1,
        rationale_en="A revoked licence is a sanction for serious breaches.",
        rationale_zh="许可被吊销或撤销是对严重违法的处罚。",
        unit="count",
        sources="licences",
        window_days=1095,
        formula="count(revoked_date in the last 1095 days)",
        reason_en="{value} [licence|licences] revoked in the last 36 months",
        reason_zh="近36个月许可被吊销或撤销{value}项",
        none_en="No licence revoked in the last 36 months",
        none_zh="近36个月无许可被吊销或撤销",
    ),
    _i(
        id="d2_enterprises_at_address",
        en="Enterprises on the register at the same address",
        zh="同一住所登记企业数",
        direction=1,
        rationale_en="Many enterprises at one address is the 一址多照 signal of false registration (DOMAIN §3).",
        rationale_zh="同一住所登记企业多是“一址多照”虚假登记信号。",
        unit="count",
        sources="enterprises",
        window_days=None,
        formula="count(enterprises on the register, not deregistered, with this address_id) including itself",
        reason_en="{value} [enterprise|enterprises] registered at the same address",
        reason_zh="同一住所登记企业{value}户",
        minimum=1.0,
        none_en="The only enterprise registered at its address",
        none_zh="该住所仅登记本企业一户",
        none_value=1.0,
    ),
    _i(
        id="d2_cluster_address",
        en="Registered at a cluster address (> 20 enterprises)",
        zh="集群注册地址",
        direction=1,
        rationale_en="Cluster (virtual) addresses are where unreachable and false registrations concentrate (DOMAIN §3).",
        rationale_zh="集群（虚拟）注册地址是无法联系和虚假登记企业的集中地。",
        unit="flag",
        sources="enterprises",
        window_days=None,
        formula="1 if more than 20 enterprises on the register share the address",
        reason_en="Registered at a cluster address",
        reason_zh="使用集群注册地址",
        none_en="Not registered at a cluster address",
        none_zh="未使用集群注册地址",
        maximum=1.0,
        params={"more_than": 20},
    ),
    _i(
        id="d2_agent_registered",
        en="Registered through an agent",
        zh="通过代理机构登记",
        direction=0,
        rationale_en="Most lawful enterprises also register through an agent; only agents filing in bursts signal risk (fr_agent_registered_*), so no direction is stated.",
        rationale_zh="多数合法企业也通过代理机构登记；只有短期内集中代理登记才是风险信号，因此不设方向。",
        unit="flag",
        sources="enterprises",
        window_days=None,
        formula="1 if agent_id is present",
        reason_en="Registered through an agent",
        reason_zh="通过代理机构办理登记",
        none_en="Registered in person, not through an agent",
        none_zh="自行办理登记",
        maximum=1.0,
    ),
    _i(
        id="d2_scope_breadth",
        en="Industry sections in the business scope",
        zh="经营范围涉及行业门类数",
        direction=0,
        rationale_en="A broad scope is common for trading firms and also for shells; alone it points neither way, so no direction is stated.",
        rationale_zh="经营范围宽在贸易类企业中很常见，空壳企业也常见；单独看无明确方向，因此不设方向。",
        unit="count",
        sources="enterprises",
        window_days=None,
        formula="number of ';'-separated sections in business_scope",
        reason_en="Business scope spans {value} industry [section|sections]",
        reason_zh="经营范围涉及{value}个行业门类",
        minimum=1.0,
        none_value=None,
    ),
    # -- D3 penalties and negative lists (处罚与负面名单) ------------------------------------------------
    _i(
        id="d3_penalties_12m",
        en="Administrative penalties, 12 months",
        zh="近12个月行政处罚次数",
        direction=1,
        rationale_en="A recent administrative penalty is a proven breach; unrepaired ones count (repaired ones stop counting, DOMAIN §2).",
        rationale_zh="近期行政处罚是已查实的违法；已完成信用修复的不再计入。",
        unit="count",
        sources="penalties",
        window_days=365,
        formula="count(decision_date in the last 365 days, not repaired by as_of)",
        reason_en="{value} administrative [penalty|penalties] in the last 12 months",
        reason_zh="近12个月行政处罚{value}次",
        none_en="No administrative penalty in the last 12 months",
        none_zh="近12个月无行政处罚",
    ),
    _i(
        id="d3_penalties_36m",
        en="Administrative penalties, 36 months",
        zh="近36个月行政处罚次数",
        direction=1,
        rationale_en="Repeated penalties over three years show a pattern of breaches.",
        rationale_zh="三年内多次受罚说明违法具有持续性。",
        unit="count",
        sources="penalties",
        window_days=1095,
        formula="count(decision_date in the last 1095 days, not repaired)",
        reason_en="{value} administrative [penalty|penalties] in the last 36 months",
        reason_zh="近36个月行政处罚{value}次",
        none_en="No administrative penalty in the last 36 months",
        none_zh="近36个月无行政处罚",
    ),
    _i(
        id="d3_penalty_amount_36m_log",
        en="Fines and confiscations, 36 months",
        zh="近36个月罚没金额",
        direction=1,
        rationale_en="Larger fines go with graver breaches.",
        rationale_zh="罚没金额越大，违法情节越重。",
        unit="log10_cny",
        sources="penalties",
        window_days=1095,
        formula="log10(1 + sum(amount)) over unrepaired penalties of the last 1095 days",
        reason_en="Fines and confiscations of {value} in the last 36 months",
        reason_zh="近36个月罚没金额{value}",
        none_en="No fine or confiscation in the last 36 months",
        none_zh="近36个月无罚没",
    ),
    _i(
        id="d3_serious_penalties_36m",
        en="Serious penalties, 36 months",
        zh="近36个月严重违法处罚次数",
        direction=1,
        rationale_en="Penalties for serious circumstances are the gravest proven breaches.",
        rationale_zh="情节严重的处罚是最严重的已查实违法。",
        unit="count",
        sources="penalties",
        window_days=1095,
        formula="count(severity = serious, last 1095 days)",
        reason_en="{value} [penalty|penalties] for serious violations in the last 36 months",
        reason_zh="近36个月情节严重的行政处罚{value}次",
        none_en="No penalty for a serious violation in the last 36 months",
        none_zh="近36个月无情节严重的行政处罚",
    ),
    _i(
        id="d3_days_since_penalty",
        en="Days since the latest penalty (5 years at most)",
        zh="距最近一次行政处罚天数（最多5年）",
        direction=-1,
        rationale_en="The longer since the latest unrepaired penalty, the less it says about today; with none in five years the enterprise counts as the longest clean (removing or repairing a penalty can only raise this).",
        rationale_zh="距最近一次未修复处罚越久，其对当前风险的指示越弱；五年内无处罚按最长计（删除或修复处罚只会使其增大）。",
        unit="days",
        sources="penalties",
        window_days=1826,
        formula="min(as_of − the latest unrepaired decision_date within 1826 days, 1826); 1826 (the longest) when there is none",
        reason_en="Latest administrative penalty {value} [day|days] ago",
        reason_zh="最近一次行政处罚在{value}天前",
        none_en="No administrative penalty in the last 5 years",
        none_zh="近5年无行政处罚",
        none_value=1826.0,
        no_records=1826.0,
        maximum=1826.0,
    ),
    _i(
        id="d3_repairs_36m",
        en="Credit repairs completed, 36 months",
        zh="近36个月完成信用修复次数",
        direction=-1,
        rationale_en="A completed credit repair means the enterprise corrected the breach, and the repaired record stops counting (DOMAIN §2): repairing must never cost points, so this may only lower the risk.",
        rationale_zh="完成信用修复说明企业已纠正违法，被修复记录不再计入；修复绝不能导致扣分，因此只允许降低风险。",
        unit="count",
        sources="credit_repairs",
        window_days=1095,
        formula="count(repair_date in the last 1095 days)",
        reason_en="{value} credit [repair|repairs] completed in the last 36 months",
        reason_zh="近36个月完成信用修复{value}次",
        none_en="No credit repair in the last 36 months",
        none_zh="近36个月无信用修复",
    ),
    _i(
        id="d3_abnormal_current",
        en="On the abnormal-operation list",
        zh="当前列入经营异常名录",
        direction=1,
        rationale_en="Being on the abnormal-operation list now means an unmet duty now (no report, unreachable, false disclosure).",
        rationale_zh="当前列入经营异常名录说明当前存在未履行的义务。",
        unit="flag",
        sources="abnormal_list",
        window_days=None,
        formula="1 if a listing with entry_date ≤ as_of has no exit by as_of and is not repaired",
        reason_en="Currently on the abnormal-operation list",
        reason_zh="当前列入经营异常名录",
        none_en="Not on the abnormal-operation list",
        none_zh="未列入经营异常名录",
        maximum=1.0,
    ),
    _i(
        id="d3_unreachable_current",
        en="Listed as unreachable at its address",
        zh="当前因无法联系被列入异常名录",
        direction=1,
        rationale_en="Unreachable at the registered address is the commonest sign of a shell (DOMAIN: 7.3% in a 2015 sample).",
        rationale_zh="通过登记住所无法联系是空壳企业最常见的特征。",
        unit="flag",
        sources="abnormal_list",
        window_days=None,
        formula="as d3_abnormal_current, entry_reason = unreachable",
        reason_en="Currently listed as unreachable at its registered address",
        reason_zh="当前因通过登记住所无法联系被列入经营异常名录",
        none_en="Not listed as unreachable",
        none_zh="未因无法联系被列入经营异常名录",
        maximum=1.0,
    ),
    _i(
        id="d3_abnormal_entries_36m",
        en="Abnormal-list entries, 36 months",
        zh="近36个月列入经营异常名录次数",
        direction=1,
        rationale_en="Repeated listings show the duties are missed again and again.",
        rationale_zh="多次被列入异常名录说明屡次未履行义务。",
        unit="count",
        sources="abnormal_list",
        window_days=1095,
        formula="count(entry_date in the last 1095 days, not repaired)",
        reason_en="Put on the abnormal-operation list {value} [time|times] in the last 36 months",
        reason_zh="近36个月被列入经营异常名录{value}次",
        none_en="Not put on the abnormal-operation list in the last 36 months",
        none_zh="近36个月未被列入经营异常名录",
    ),
    _i(
        id="d3_abnormal_days_current",
        en="Days on the abnormal list (current listing)",
        zh="当前异常名录持续天数",
        direction=1,
        rationale_en="The longer on the list, the nearer the three years that move an enterprise to the serious list (DOMAIN §2).",
        rationale_zh="列入时间越长，越接近转入严重违法失信名单的三年期限。",
        unit="days",
        sources="abnormal_list",
        window_days=None,
        formula="as_of − min(entry_date) over current listings; 0 if not listed",
        reason_en="On the abnormal-operation list for {value} [day|days]",
        reason_zh="已列入经营异常名录{value}天",
        none_en="Not on the abnormal-operation list",
        none_zh="未列入经营异常名录",
    ),
    _i(
        id="d3_serious_current",
        en="On the serious illegal-and-dishonest list",
        zh="当前列入严重违法失信名单",
        direction=1,
        rationale_en="The serious illegal-and-dishonest list is the regulator's gravest standing finding.",
        rationale_zh="严重违法失信名单是监管部门最严重的现行认定。",
        unit="flag",
        sources="serious_violations",
        window_days=None,
        formula="1 if listed by as_of, not removed or repaired by as_of",
        reason_en="Currently on the serious illegal-and-dishonest list",
        reason_zh="当前列入严重违法失信名单",
        none_en="Not on the serious illegal-and-dishonest list",
        none_zh="未列入严重违法失信名单",
        maximum=1.0,
    ),
    _i(
        id="d3_serious_5y",
        en="Serious-list entries, 5 years",
        zh="近5年列入严重违法失信名单次数",
        direction=1,
        rationale_en="Past serious listings show a history of the gravest findings.",
        rationale_zh="曾被列入严重违法失信名单说明有严重失信历史。",
        unit="count",
        sources="serious_violations",
        window_days=1826,
        formula="count(entry_date in the last 1826 days)",
        reason_en="Put on the serious illegal-and-dishonest list {value} [time|times] in the last 5 years",
        reason_zh="近5年被列入严重违法失信名单{value}次",
        none_en="Not put on the serious illegal-and-dishonest list in the last 5 years",
        none_zh="近5年未被列入严重违法失信名单",
    ),
    _i(
        id="d3_defaulter_current",
        en="Judgment defaulter (失信被执行人)",
        zh="当前为失信被执行人",
        direction=1,
        rationale_en="A judgment defaulter refuses to comply with a court ruling.",
        rationale_zh="失信被执行人拒不履行生效判决。",
        unit="flag",
        sources="judgment_defaulters",
        window_days=None,
        formula="1 if listed by as_of and not removed by as_of",
        reason_en="Currently a judgment defaulter",
        reason_zh="当前为失信被执行人",
        none_en="Not a judgment defaulter",
        none_zh="不是失信被执行人",
        maximum=1.0,
    ),
    _i(
        id="d3_severe_events_24m",
        en="Major accidents and special lists, 24 months",
        zh="近24个月重大事故或专项失信",
        direction=1,
        rationale_en="Major accidents and special dishonesty lists are grave events in their own right (Shenzhen's override rules).",
        rationale_zh="重大事故和专项失信名单本身就是严重事件（深圳规则中的降级情形）。",
        unit="count",
        sources="severe_events",
        window_days=730,
        formula="count(event_date in the last 730 days)",
        reason_en="{value} major [accident or special-list entry|accidents or special-list entries] in the last 24 months",
        reason_zh="近24个月发生重大事故或列入专项失信名单{value}次",
        none_en="No major accident or special-list entry in the last 24 months",
        none_zh="近24个月无重大事故或专项失信名单记录",
    ),
    _i(
        id="d3_special_list_current",
        en="On a special dishonesty list",
        zh="当前在专项失信名单",
        direction=1,
        rationale_en="A current special dishonesty listing (quality, e-commerce, prepaid flight) is a standing grave finding.",
        rationale_zh="当前列入专项失信名单（质量、电子商务、预付式消费跑路）是现行的严重认定。",
        unit="flag",
        sources="severe_events",
        window_days=None,
        formula="1 if on a quality, e-commerce or prepaid-flight list at as_of",
        reason_en="Currently on a special dishonesty list",
        reason_zh="当前列入专项失信名单",
        none_en="Not on a special dishonesty list",
        none_zh="未列入专项失信名单",
        maximum=1.0,
    ),
    _i(
        id="d3_related_negative_rep",
        en="Listed enterprises sharing the legal representative",
        zh="同一法定代表人关联企业失信数",
        direction=1,
        rationale_en="Enterprises run by the same person share that person's conduct (DOMAIN: related parties).",
        rationale_zh="同一法定代表人名下的企业受同一人经营行为影响（关联关系）。",
        unit="count",
        sources="enterprises abnormal_list serious_violations judgment_defaulters",
        window_days=None,
        formula="count(other enterprises on the register with the same legal representative that are on the abnormal, "
        "serious or defaulter list at as_of)",
        reason_en="{value} related [enterprise|enterprises] (same legal representative) on negative lists",
        reason_zh="同一法定代表人的关联企业中{value}户在失信或异常名单",
        none_en="No related enterprise (same legal representative) on a negative list",
        none_zh="同一法定代表人的关联企业均不在失信或异常名单",
    ),
    _i(
        id="d3_related_negative_holder",
        en="Listed enterprises linked through shareholders",
        zh="股东关联企业失信数",
        direction=1,
        rationale_en="Enterprises sharing owners with listed enterprises share their owners' conduct.",
        rationale_zh="与失信企业有共同股东的企业受同一股东行为影响。",
        unit="count",
        sources="shareholdings abnormal_list serious_violations judgment_defaulters",
        window_days=None,
        formula="count(other enterprises on the register sharing a shareholder with it, or its enterprise shareholders, "
        "on a negative list at as_of)",
        reason_en="{value} [enterprise|enterprises] linked through shareholders on negative lists",
        reason_zh="股东关联企业中{value}户在失信或异常名单",
        none_en="No enterprise linked through shareholders on a negative list",
        none_zh="股东关联企业均不在失信或异常名单",
    ),
    # -- D4 cases, complaints and reports (案件与投诉举报) -----------------------------------------------
    _i(
        id="d4_complaints_12m",
        en="Complaints and reports, 12 months",
        zh="近12个月投诉举报数",
        direction=1,
        rationale_en="Complaints and reports from the public point at problems an inspection can find.",
        rationale_zh="群众投诉举报指向检查可能发现的问题。",
        unit="count",
        sources="complaints",
        window_days=365,
        formula="count(received_date in the last 365 days)",
        reason_en="{value} [complaint|complaints] in the last 12 months",
        reason_zh="近12个月被投诉举报{value}次",
        none_en="No complaint in the last 12 months",
        none_zh="近12个月无投诉举报",
    ),
    _i(
        id="d4_complaints_36m",
        en="Complaints and reports, 36 months",
        zh="近36个月投诉举报数",
        direction=1,
        rationale_en="Complaints over three years show whether problems persist.",
        rationale_zh="三年内的投诉举报反映问题是否持续。",
        unit="count",
        sources="complaints",
        window_days=1095,
        formula="count(received_date in the last 1095 days)",
        reason_en="{value} [complaint|complaints] in the last 36 months",
        reason_zh="近36个月被投诉举报{value}次",
        none_en="No complaint in the last 36 months",
        none_zh="近36个月无投诉举报",
    ),
    _i(
        id="d4_substantiated_12m",
        en="Substantiated complaints, 12 months",
        zh="近12个月属实投诉数",
        direction=1,
        rationale_en="A substantiated complaint is a confirmed problem.",
        rationale_zh="查实的投诉是已确认的问题。",
        unit="count",
        sources="complaints",
        window_days=365,
        formula="count(received in the last 365 days, resolved substantiated by as_of)",
        reason_en="{value} substantiated [complaint|complaints] in the last 12 months",
        reason_zh="近12个月属实投诉举报{value}次",
        none_en="No substantiated complaint in the last 12 months",
        none_zh="近12个月无属实投诉举报",
    ),
    _i(
        id="d4_substantiated_share_36m",
        en="Share of resolved complaints substantiated, 36 months",
        zh="近36个月投诉属实率",
        direction=1,
        rationale_en="A high share of complaints found true means the complaints are to be believed; with none resolved the share counts as 0 (removing a substantiated complaint can only lower it).",
        rationale_zh="查实比例高说明投诉可信；无已办结投诉时按0计（删除查实投诉只会使其降低）。",
        unit="ratio",
        sources="complaints",
        window_days=1095,
        formula="substantiated / resolved among complaints received in the last 1095 days and resolved by as_of; 0 when none resolved",
        reason_en="{value} of resolved complaints substantiated in the last 36 months",
        reason_zh="近36个月已办结投诉中{value}属实",
        none_en="No resolved complaint substantiated in the last 36 months",
        none_zh="近36个月无属实的已办结投诉",
        no_records=0.0,
        maximum=1.0,
    ),
    _i(
        id="d4_defendant_cases_24m",
        en="Court cases as defendant, 24 months",
        zh="近24个月作为被告的案件数",
        direction=1,
        rationale_en="Being sued goes with unpaid debts and broken contracts.",
        rationale_zh="作为被告涉诉常伴随欠债和违约。",
        unit="count",
        sources="court_cases",
        window_days=730,
        formula="count(role = defendant, filing_date in the last 730 days)",
        reason_en="{value} court [case|cases] as defendant in the last 24 months",
        reason_zh="近24个月作为被告涉诉{value}件",
        none_en="No court case as defendant in the last 24 months",
        none_zh="近24个月无被告涉诉",
    ),
    _i(
        id="d4_cases_lost_24m",
        en="Court cases lost, 24 months",
        zh="近24个月败诉案件数",
        direction=1,
        rationale_en="Losing a case means a court found against the enterprise.",
        rationale_zh="败诉说明法院认定企业有责。",
        unit="count",
        sources="court_cases",
        window_days=730,
        formula="count(role = defendant, lost, judgment_date in the last 730 days)",
        reason_en="{value} court [case|cases] lost in the last 24 months",
        reason_zh="近24个月败诉{value}件",
        none_en="No court case lost in the last 24 months",
        none_zh="近24个月无败诉",
    ),
    _i(
        id="d4_case_amount_24m_log",
        en="Amount in dispute as defendant, 24 months",
        zh="近24个月被诉金额",
        direction=1,
        rationale_en="Larger amounts in dispute mean larger obligations at stake.",
        rationale_zh="涉诉金额越大，涉及的义务越重。",
        unit="log10_wan",
        sources="court_cases",
        window_days=730,
        formula="log10(1 + sum(amount)) over defendant cases filed in the last 730 days",
        reason_en="Sued for {value} in the last 24 months",
        reason_zh="近24个月被诉金额{value}",
        none_en="Not sued for any amount in the last 24 months",
        none_zh="近24个月无被诉金额",
    ),
    _i(
        id="d4_checks_36m",
        en="Inspections, 36 months",
        zh="近36个月被检查次数",
        direction=0,
        rationale_en="Being inspected is not a fault: checks are drawn at random or follow complaints, and what they found is counted elsewhere (d4_check_problems_36m); no direction is stated.",
        rationale_zh="被检查本身不是过错：检查或随机抽取或因投诉而来，检查结果另行计入，因此不设方向。",
        unit="count",
        sources="spot_checks",
        window_days=1095,
        formula="count(check_date in the last 1095 days)",
        reason_en="Inspected {value} [time|times] in the last 36 months",
        reason_zh="近36个月被检查{value}次",
        none_en="Not inspected in the last 36 months",
        none_zh="近36个月未被检查",
    ),
    _i(
        id="d4_check_problems_36m",
        en="Inspections finding problems, 36 months",
        zh="近36个月检查发现问题次数",
        direction=1,
        rationale_en="An inspection that found a problem is direct evidence of the thing being predicted.",
        rationale_zh="检查发现问题是所预测事项的直接证据。",
        unit="count",
        sources="spot_checks",
        window_days=1095,
        formula="count(problem_found, check_date in the last 1095 days)",
        reason_en="Inspections found problems {value} [time|times] in the last 36 months",
        reason_zh="近36个月检查发现问题{value}次",
        none_en="No inspection found a problem in the last 36 months",
        none_zh="近36个月检查未发现问题",
    ),
    _i(
        id="d4_days_since_problem_check",
        en="Days since an inspection last found a problem (5 years at most)",
        zh="距检查最近一次发现问题天数（最多5年）",
        direction=-1,
        rationale_en="The longer since an inspection last found a problem, the less it says about today; with none in five years the enterprise counts as the longest clean.",
        rationale_zh="距检查最近一次发现问题越久，其指示越弱；五年内未发现问题按最长计。",
        unit="days",
        sources="spot_checks",
        window_days=1826,
        formula="min(as_of − the latest check_date that found a problem within 1826 days, 1826); 1826 when there is none",
        reason_en="An inspection found a problem {value} [day|days] ago",
        reason_zh="{value}天前检查发现问题",
        none_en="No inspection found a problem in the last 5 years",
        none_zh="近5年检查未发现问题",
        none_value=1826.0,
        no_records=1826.0,
        maximum=1826.0,
    ),
    _i(
        id="d4_equity_frozen",
        en="Equity under judicial freeze",
        zh="股权被冻结",
        direction=1,
        rationale_en="A judicial freeze means creditors or courts are acting against the owners.",
        rationale_zh="股权被司法冻结说明债权人或法院正在对股东采取措施。",
        unit="flag",
        sources="equity_pledges",
        window_days=None,
        formula="1 if a freeze registered by as_of is not released by as_of",
        reason_en="Equity currently under judicial freeze",
        reason_zh="股权当前被司法冻结",
        none_en="No equity under judicial freeze",
        none_zh="股权未被冻结",
        maximum=1.0,
    ),
    _i(
        id="d4_equity_pledged",
        en="Equity pledged",
        zh="股权出质",
        direction=0,
        rationale_en="Pledging equity is ordinary financing; it signals stress only with other records, so no direction is stated.",
        rationale_zh="股权出质是正常融资手段，只有与其他记录结合才提示风险，因此不设方向。",
        unit="flag",
        sources="equity_pledges",
        window_days=None,
        formula="1 if a pledge registered by as_of is not released by as_of",
        reason_en="Equity currently pledged",
        reason_zh="股权当前已出质",
        none_en="No equity pledged",
        none_zh="股权未出质",
        maximum=1.0,
    ),
    _i(
        id="d4_mortgage_enforced_24m",
        en="Chattel mortgages enforced, 24 months",
        zh="近24个月动产抵押被实现",
        direction=1,
        rationale_en="A creditor enforcing a mortgage means a debt went unpaid.",
        rationale_zh="抵押权人实现抵押说明有债务未清偿。",
        unit="count",
        sources="chattel_mortgages",
        window_days=730,
        formula="count(enforced_date in the last 730 days)",
        reason_en="{value} chattel [mortgage|mortgages] enforced by creditors in the last 24 months",
        reason_zh="近24个月动产抵押被实现{value}次",
        none_en="No chattel mortgage enforced in the last 24 months",
        none_zh="近24个月无动产抵押被实现",
    ),
    # -- D5 evaluations and commendations (评价与表彰记录) ----------------------------------------------
    _i(
        id="d5_awards_36m",
        en="Awards and honours, 36 months",
        zh="近36个月表彰奖励数",
        direction=-1,
        rationale_en="Honours are given after vetting of the enterprise's record.",
        rationale_zh="表彰奖励在审核企业记录后授予。",
        unit="count",
        sources="awards",
        window_days=1095,
        formula="count(award_date in the last 1095 days)",
        reason_en="{value} [award|awards] in the last 36 months",
        reason_zh="近36个月获得表彰{value}次",
        none_en="No award in the last 36 months",
        none_zh="近36个月未获表彰",
    ),
    _i(
        id="d5_best_award_level",
        en="Highest award level, 5 years",
        zh="近5年最高表彰级别",
        direction=-1,
        rationale_en="Higher-level honours follow stricter vetting.",
        rationale_zh="级别越高的表彰审核越严格。",
        unit="level",
        sources="awards",
        window_days=1826,
        formula="max(level: district 1, municipal 2, provincial 3, national 4) over 1826 days; 0 if none",
        reason_en="Honoured at {value} level in the last 5 years",
        reason_zh="近5年获{value}表彰",
        none_en="No honour in the last 5 years",
        none_zh="近5年未获表彰",
        maximum=4.0,
    ),
    _i(
        id="d5_contract_abiding",
        en="Contract-abiding and trustworthy (守合同重信用)",
        zh="守合同重信用企业",
        direction=-1,
        rationale_en="The contract-abiding title (守合同重信用) is awarded for a vetted record of keeping contracts.",
        rationale_zh="“守合同重信用”称号授予经审核守约记录良好的企业。",
        unit="flag",
        sources="awards",
        window_days=1826,
        formula="1 if a contract_abiding award in the last 1826 days",
        reason_en="Honoured as contract-abiding and trustworthy",
        reason_zh="获评守合同重信用企业",
        none_en="Not honoured as contract-abiding and trustworthy",
        none_zh="未获评守合同重信用企业",
        maximum=1.0,
    ),
    _i(
        id="d5_tax_grade",
        en="Latest tax credit grade",
        zh="最近纳税信用等级",
        direction=1,
        rationale_en="The tax authority's grade runs A (best) to D (worst); a worse grade is a worse record.",
        rationale_zh="纳税信用等级从A（最好）到D（最差），等级越差记录越差。",
        unit="grade",
        sources="tax_credit",
        window_days=None,
        formula="A 1, B 2, M 3, C 4, D 5 for the latest grade published by as_of; missing if none",
        reason_en="Latest tax credit grade {value}",
        reason_zh="最近纳税信用等级为{value}级",
        missing_en="No tax credit grade published",
        missing_zh="尚无纳税信用等级",
        no_records=_M,
        minimum=1.0,
        maximum=5.0,
    ),
    _i(
        id="d5_tax_grade_worst_3y",
        en="Worst tax credit grade, 3 years",
        zh="近3年最差纳税信用等级",
        direction=1,
        rationale_en="The worst recent tax grade shows whether a lapse is recent.",
        rationale_zh="近三年最差纳税信用等级反映近期是否有失信。",
        unit="grade",
        sources="tax_credit",
        window_days=1095,
        formula="max of the grade codes published in the last 1095 days; missing if none",
        reason_en="Worst tax credit grade in the last 3 years: {value}",
        reason_zh="近3年最差纳税信用等级为{value}级",
        missing_en="No tax credit grade published in the last 3 years",
        missing_zh="近3年无纳税信用等级",
        no_records=_M,
        minimum=1.0,
        maximum=5.0,
    ),
    _i(
        id="d5_commitments_kept_36m",
        en="Credit commitments kept, 36 months",
        zh="近36个月信用承诺履约数",
        direction=-1,
        rationale_en="Kept credit commitments (信用承诺) show promises honoured when checked.",
        rationale_zh="履行信用承诺说明经核查守信。",
        unit="count",
        sources="credit_commitments",
        window_days=1095,
        formula="count(kept, verified_date in the last 1095 days)",
        reason_en="{value} credit [commitment|commitments] kept in the last 36 months",
        reason_zh="近36个月履行信用承诺{value}项",
        none_en="No credit commitment kept in the last 36 months",
        none_zh="近36个月无已履行的信用承诺",
    ),
    _i(
        id="d5_commitments_broken_36m",
        en="Credit commitments broken, 36 months",
        zh="近36个月信用承诺违约数",
        direction=1,
        rationale_en="A broken credit commitment is a promise to the regulator not kept.",
        rationale_zh="未履行信用承诺是对监管部门的失信。",
        unit="count",
        sources="credit_commitments",
        window_days=1095,
        formula="count(not kept, verified_date in the last 1095 days)",
        reason_en="{value} credit [commitment|commitments] broken in the last 36 months",
        reason_zh="近36个月未履行信用承诺{value}项",
        none_en="No credit commitment broken in the last 36 months",
        none_zh="近36个月无未履行的信用承诺",
    ),
)

FALSE_REGISTRATION: tuple[Indicator, ...] = (
    _i(
        id="fr_address_registered_30d",
        en="Enterprises registered at the address within 30 days",
        zh="同一住所30天内登记企业数",
        direction=1,
        rationale_en="Many registrations at one address within a month is the burst pattern of false registration (DOMAIN §3).",
        rationale_zh="同一住所一个月内集中登记多户是虚假登记的典型模式。",
        unit="count",
        sources="enterprises",
        window_days=30,
        formula="count(enterprises at the same address established within ±30 days of this one, by as_of)",
        reason_en="{value} [enterprise|enterprises] registered at the same address within 30 days",
        reason_zh="同一住所30天内登记{value}户",
        minimum=1.0,
        none_en="No other enterprise registered at the same address within 30 days",
        none_zh="同一住所30天内无其他企业登记",
        none_value=1.0,
    ),
    _i(
        id="fr_address_registered_90d",
        en="Enterprises registered at the address within 90 days",
        zh="同一住所90天内登记企业数",
        direction=1,
        rationale_en="The same burst over three months.",
        rationale_zh="同一模式的三个月口径。",
        unit="count",
        sources="enterprises",
        window_days=90,
        formula="as above, ±90 days",
        reason_en="{value} [enterprise|enterprises] registered at the same address within 90 days",
        reason_zh="同一住所90天内登记{value}户",
        minimum=1.0,
        none_en="No other enterprise registered at the same address within 90 days",
        none_zh="同一住所90天内无其他企业登记",
        none_value=1.0,
    ),
    _i(
        id="fr_enterprises_per_rep",
        en="Enterprises on the register with the same legal representative",
        zh="同一法定代表人登记企业数",
        direction=1,
        rationale_en="One person behind many enterprises (一人多企) is a false-registration signal (DOMAIN §3).",
        rationale_zh="一人多企是虚假登记信号。",
        unit="count",
        sources="enterprises",
        window_days=None,
        formula="count(enterprises on the register with this legal_rep_id)",
        reason_en="The legal representative heads {value} registered [enterprise|enterprises]",
        reason_zh="法定代表人名下登记企业{value}户",
        minimum=1.0,
        none_en="The legal representative heads no other registered enterprise",
        none_zh="法定代表人名下无其他登记企业",
        none_value=1.0,
    ),
    _i(
        id="fr_rep_registered_90d",
        en="Enterprises of the same legal representative registered within 90 days",
        zh="同一法定代表人90天内登记企业数",
        direction=1,
        rationale_en="One person registering many enterprises within three months is a burst.",
        rationale_zh="同一人三个月内登记多户属于集中登记。",
        unit="count",
        sources="enterprises",
        window_days=90,
        formula="count(enterprises with the same legal representative established within ±90 days)",
        reason_en="{value} [enterprise|enterprises] of the same representative registered within 90 days",
        reason_zh="同一法定代表人90天内登记{value}户",
        minimum=1.0,
        none_en="No other enterprise of the same representative registered within 90 days",
        none_zh="同一法定代表人90天内未登记其他企业",
        none_value=1.0,
    ),
    _i(
        id="fr_enterprises_per_phone",
        en="Enterprises on the register with the same phone",
        zh="同一联系电话登记企业数",
        direction=1,
        rationale_en="One phone for many enterprises shows a common operator behind them.",
        rationale_zh="多户企业使用同一电话说明背后是同一经办人。",
        unit="count",
        sources="enterprises",
        window_days=None,
        formula="count(enterprises on the register with this phone_id)",
        reason_en="{value} registered [enterprise uses|enterprises use] the same phone",
        reason_zh="同一联系电话登记企业{value}户",
        minimum=1.0,
        none_en="No other registered enterprise uses the same phone",
        none_zh="无其他登记企业使用同一联系电话",
        none_value=1.0,
    ),
    _i(
        id="fr_phone_registered_30d",
        en="Enterprises with the same phone registered within 30 days",
        zh="同一电话30天内登记企业数",
        direction=1,
        rationale_en="One phone registering many enterprises within a month is a burst.",
        rationale_zh="同一电话一个月内登记多户属于集中登记。",
        unit="count",
        sources="enterprises",
        window_days=30,
        formula="count(enterprises with the same phone established within ±30 days)",
        reason_en="{value} [enterprise|enterprises] with the same phone registered within 30 days",
        reason_zh="同一电话30天内登记{value}户",
        minimum=1.0,
        none_en="No other enterprise with the same phone registered within 30 days",
        none_zh="同一电话30天内未登记其他企业",
        none_value=1.0,
    ),
    _i(
        id="fr_enterprises_per_agent",
        en="Enterprises registered by the same agent",
        zh="同一代理机构登记企业数",
        direction=0,
        rationale_en="Large agencies file for many lawful enterprises; only bursts signal risk, so no direction is stated.",
        rationale_zh="大型代理机构为大量合法企业办理登记；只有集中登记才是风险信号，因此不设方向。",
        unit="count",
        sources="enterprises",
        window_days=None,
        formula="count(enterprises registered by this agent by as_of); 0 when filed in person",
        reason_en="The registering agent filed {value} [enterprise|enterprises]",
        reason_zh="登记代理机构共办理{value}户",
        none_en="Registered in person, not through an agent",
        none_zh="自行办理登记",
    ),
    _i(
        id="fr_agent_registered_30d",
        en="Enterprises filed by the same agent within 30 days",
        zh="同一代理机构30天内登记企业数",
        direction=1,
        rationale_en="An agent filing many enterprises within a month is a burst (DOMAIN §3).",
        rationale_zh="代理机构一个月内集中办理多户登记属于集中登记。",
        unit="count",
        sources="enterprises",
        window_days=30,
        formula="count(same agent, established within ±30 days); 0 when filed in person",
        reason_en="The agent filed {value} [enterprise|enterprises] within 30 days",
        reason_zh="同一代理机构30天内办理登记{value}户",
        none_en="Not filed by an agent",
        none_zh="非代理机构办理",
    ),
    _i(
        id="fr_agent_registered_90d",
        en="Enterprises filed by the same agent within 90 days",
        zh="同一代理机构90天内登记企业数",
        direction=1,
        rationale_en="The same burst over three months.",
        rationale_zh="同一模式的三个月口径。",
        unit="count",
        sources="enterprises",
        window_days=90,
        formula="as above, ±90 days",
        reason_en="The agent filed {value} [enterprise|enterprises] within 90 days",
        reason_zh="同一代理机构90天内办理登记{value}户",
        none_en="Not filed by an agent",
        none_zh="非代理机构办理",
    ),
    _i(
        id="fr_cluster_size",
        en="Size of the connected registration cluster",
        zh="关联登记集群规模",
        direction=1,
        rationale_en="Enterprises linked by shared people, addresses, phones and agents form the rings false registrations come in.",
        rationale_zh="通过共同人员、住所、电话和代理机构关联的企业构成虚假登记团伙。",
        unit="count",
        sources="enterprises",
        window_days=None,
        formula="enterprises in its connected component of the enterprise–person–address–phone–agent graph (links "
        "through hubs shared by more than 20 enterprises left out), by as_of",
        reason_en="Part of a registration cluster of {value} [enterprise|enterprises]",
        reason_zh="所在关联登记集群共{value}户",
        minimum=1.0,
        params={"hub_more_than": 20},
        none_en="Not linked to other enterprises through people, addresses, phones or agents",
        none_zh="未通过人员、住所、电话或代理机构与其他企业关联",
        none_value=1.0,
    ),
    _i(
        id="fr_zero_insured",
        en="No insured staff in the latest report",
        zh="最近年报参保人数为零",
        direction=1,
        rationale_en="No insured staff is an empty-shell signal (DOMAIN §3).",
        rationale_zh="无社保缴纳人员是空壳信号。",
        unit="flag",
        sources="annual_reports",
        window_days=None,
        formula="1 if the latest filed report shows 0 insured staff; missing if no report filed",
        reason_en="No staff covered by social insurance",
        reason_zh="无社保缴纳人员",
        none_en="Staff covered by social insurance",
        none_zh="有社保缴纳人员",
        missing_en="No annual report with an insured headcount",
        missing_zh="无报送参保人数的年报",
        no_records=_M,
        maximum=1.0,
    ),
    _i(
        id="fr_zero_paid_in",
        en="Zero paid-in capital",
        zh="实缴资本为零",
        direction=1,
        rationale_en="Zero paid-in capital is an empty-shell signal (DOMAIN §3).",
        rationale_zh="实缴资本为零是空壳信号。",
        unit="flag",
        sources="enterprises",
        window_days=None,
        formula="1 if paid_in_capital = 0; missing if not disclosed",
        reason_en="No capital paid in",
        reason_zh="实缴资本为零",
        none_en="Capital paid in",
        none_zh="已实缴出资",
        missing_en="Paid-in capital not disclosed",
        missing_zh="未公示实缴资本",
        no_records=_M,
        maximum=1.0,
    ),
    _i(
        id="fr_no_report_ever",
        en="No annual report ever filed although due",
        zh="应报未报（从未报送年报）",
        direction=1,
        rationale_en="Never filing although due is how shells behave (DOMAIN §3).",
        rationale_zh="应报从未报送是空壳企业的典型行为。",
        unit="flag",
        sources="annual_reports",
        window_days=None,
        formula="1 if at least one report was due by as_of and none was filed by then",
        reason_en="Never filed an annual report although due",
        reason_zh="应报送年报但从未报送",
        none_en="Has filed annual reports",
        none_zh="已报送年报",
        maximum=1.0,
    ),
    _i(
        id="fr_duplicate_report",
        en="Latest report identical to another enterprise's",
        zh="年报与他户雷同",
        direction=1,
        rationale_en="Reports identical to another enterprise's are copied, not real (DOMAIN §3).",
        rationale_zh="与他户雷同的年报是抄袭而非真实数据。",
        unit="flag",
        sources="annual_reports",
        window_days=None,
        formula="1 if another enterprise filed the same employees, insured, revenue, profit, assets "
        "and liabilities for the same year (all disclosed)",
        reason_en="Annual report identical to another enterprise's",
        reason_zh="年报数据与其他企业雷同",
        none_en="Annual report not identical to another enterprise's",
        none_zh="年报数据未见雷同",
        maximum=1.0,
    ),
    _i(
        id="fr_early_change",
        en="Representative or address changed within 90 days of registration",
        zh="成立90天内变更法定代表人或住所",
        direction=1,
        rationale_en="Changing representative or address right after registration is how registered shells are handed over.",
        rationale_zh="成立后立即变更法定代表人或住所是空壳转手的常见方式。",
        unit="flag",
        sources="registration_changes",
        window_days=90,
        formula="1 if a legal_rep or address change by as_of is dated within 90 days of establishment",
        reason_en="Changed representative or address within 90 days of registration",
        reason_zh="成立90天内即变更法定代表人或住所",
        none_en="No change of representative or address within 90 days of registration",
        none_zh="成立90天内未变更法定代表人或住所",
        maximum=1.0,
    ),
    _i(
        id="fr_days_to_unreachable",
        en="Days from registration to first unreachable listing",
        zh="成立至首次无法联系天数",
        direction=-1,
        rationale_en="The sooner an enterprise becomes unreachable after registration, the likelier it never operated.",
        rationale_zh="成立后越快无法联系，越可能从未实际经营。",
        unit="days",
        sources="abnormal_list",
        window_days=None,
        formula="min(entry_date where reason = unreachable) − established_date; missing if never",
        reason_en="Listed as unreachable {value} [day|days] after registration",
        reason_zh="成立{value}天后即因无法联系被列入异常名录",
        missing_en="Never listed as unreachable",
        none_en="Listed as unreachable on the day it was registered",
        none_zh="成立当天即因无法联系被列入异常名录",
        missing_zh="从未因无法联系被列入异常名录",
        no_records=_M,
    ),
)

# Risk indicators the false-registration model uses as well (declared once, above).
FALSE_REGISTRATION_SHARED: tuple[str, ...] = (
    "d1_age_years",
    "d1_paid_in_ratio",
    "d1_registered_capital_log",
    "d2_enterprises_at_address",
    "d2_cluster_address",
    "d2_scope_breadth",
    "d2_reports_missed_3y",
    "d3_unreachable_current",
    "d1_insured_ratio",
)

ALL: tuple[Indicator, ...] = INDICATORS + FALSE_REGISTRATION
BY_ID: dict[str, Indicator] = {i.id: i for i in ALL}
RISK_IDS: tuple[str, ...] = tuple(i.id for i in INDICATORS)
FALSE_REGISTRATION_IDS: tuple[str, ...] = tuple(i.id for i in FALSE_REGISTRATION) + FALSE_REGISTRATION_SHARED


def version() -> str:
    """A short hash of everything in the catalog; feature tables and models carry it."""
    payload = json.dumps([asdict(i) for i in ALL], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()[:12]


def monotone_constraints(ids: tuple[str, ...] = RISK_IDS) -> list[int]:
    """LightGBM monotone_constraints in the order of `ids` (+1 risk rises with the value)."""
    return [BY_ID[i].direction for i in ids]


def indicator(id_: str) -> Indicator:
    try:
        return BY_ID[id_]
    except KeyError:
        raise KeyError(f"no indicator {id_!r} in the catalog") from None
