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
from dataclasses import asdict, dataclass
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
    "count": ("count", "次/个"), "flag": ("0/1 flag", "是/否"), "days": ("days", "天"), "years": ("years", "年"),
    "ratio": ("ratio", "比例"), "log10": ("log10 of 10k CNY", "万元取常用对数"), "people": ("people", "人"),
    "grade": ("grade 1 (A) … 5 (D)", "等级1（A）至5（D）"), "level": ("level 0 none … 4 national", "级别0无至4国家级"),
}


@dataclass(frozen=True)
class Indicator:
    """One indicator: what it is, how it is computed, and how it is explained."""

    id: str
    dimension: str
    en: str
    zh: str
    direction: Direction  # +1: higher means more risk; -1: higher means less risk; 0: no constraint
    unit: str
    sources: tuple[str, ...]
    window_days: int | None  # look-back window; None: the current state or all history
    formula: str
    reason_en: str  # rendered with {value}
    reason_zh: str
    no_records: float | None = 0.0  # the value when the sources hold nothing for the enterprise (None: missing)
    minimum: float | None = 0.0
    maximum: float | None = None

    def __post_init__(self) -> None:
        if self.dimension not in DIMENSION_IDS:
            raise ValueError(f"{self.id}: dimension must be one of {DIMENSION_IDS}; got {self.dimension!r}")
        if self.direction not in (1, -1, 0):
            raise ValueError(f"{self.id}: direction must be 1, -1 or 0; got {self.direction!r}")
        if self.unit not in UNITS:
            raise ValueError(f"{self.id}: unit must be one of {sorted(UNITS)}; got {self.unit!r}")
        if not self.id.lower().startswith(self.dimension.lower() + "_"):
            raise ValueError(f"{self.id}: id must start with its dimension ({self.dimension.lower()}_)")

    def reason(self, value: float | None, lang: str = "en") -> str:
        """The reason text for this enterprise's value, e.g. '3 administrative penalties in the last 12 months'."""
        template = self.reason_en if lang == "en" else self.reason_zh
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return f"{self.en}: no data" if lang == "en" else f"{self.zh}：无数据"
        return template.format(value=value)


def _i(id_, en, zh, direction, unit, sources, window, formula, reason_en, reason_zh, **kw) -> Indicator:
    return Indicator(id_, id_.split("_")[0].upper(), en, zh, direction, unit,
                     tuple(sources.split()), window, formula, reason_en, reason_zh, **kw)


_M = None  # "missing" for no_records / no bound

INDICATORS: tuple[Indicator, ...] = (
    # -- D1 operation and changes (经营与变更情况) -----------------------------------------------------
    _i("d1_age_years", "Years since establishment", "成立年限", 0, "years", "enterprises", None,
       "(as_of − established_date) / 365.25", "Established {value:.1f} years ago", "成立{value:.1f}年"),
    _i("d1_registered_capital_log", "Registered capital (log10, 10k CNY)", "注册资本（对数）", -1, "log10",
       "enterprises", None, "log10(1 + registered_capital)", "Registered capital 10^{value:.1f} ×10k CNY",
       "注册资本约10^{value:.1f}万元", minimum=_M),
    _i("d1_paid_in_ratio", "Paid-in share of registered capital", "实缴资本占比", -1, "ratio", "enterprises", None,
       "paid_in_capital / registered_capital; missing when not disclosed", "Paid-in capital is {value:.0%} of registered",
       "实缴资本占注册资本{value:.0%}", no_records=_M, maximum=1.0),
    _i("d1_legal_rep_changes_24m", "Changes of legal representative, 24 months", "近24个月法定代表人变更次数", 1,
       "count", "registration_changes", 730, "count(change_type = legal_rep, change_date in (as_of−730d, as_of])",
       "{value:.0f} changes of legal representative in the last 24 months", "近24个月变更法定代表人{value:.0f}次"),
    _i("d1_address_changes_24m", "Changes of registered address, 24 months", "近24个月住所变更次数", 1, "count",
       "registration_changes", 730, "count(change_type = address, last 730 days)",
       "{value:.0f} changes of registered address in the last 24 months", "近24个月变更住所{value:.0f}次"),
    _i("d1_scope_changes_24m", "Changes of business scope, 24 months", "近24个月经营范围变更次数", 1, "count",
       "registration_changes", 730, "count(change_type = scope, last 730 days)",
       "{value:.0f} changes of business scope in the last 24 months", "近24个月变更经营范围{value:.0f}次"),
    _i("d1_shareholder_changes_24m", "Changes of shareholders, 24 months", "近24个月股东变更次数", 1, "count",
       "registration_changes", 730, "count(change_type = shareholder, last 730 days)",
       "{value:.0f} changes of shareholders in the last 24 months", "近24个月变更股东{value:.0f}次"),
    _i("d1_changes_12m", "All registration changes, 12 months", "近12个月变更登记总次数", 1, "count",
       "registration_changes", 365, "count(any change, last 365 days)",
       "{value:.0f} registration changes in the last 12 months", "近12个月变更登记{value:.0f}次"),
    _i("d1_employees", "Employees (latest annual report)", "从业人数（最近年报）", -1, "people", "annual_reports",
       None, "employees in the latest report filed by as_of", "{value:.0f} employees in the latest annual report",
       "最近年报从业人数{value:.0f}人", no_records=_M),
    _i("d1_insured_ratio", "Insured share of employees (latest report)", "参保人数占从业人数比例", -1, "ratio",
       "annual_reports", None, "insured_headcount / employees in the latest filed report; missing if no employees",
       "{value:.0%} of employees covered by social insurance", "参保人数占从业人数{value:.0%}", no_records=_M,
       maximum=_M),
    _i("d1_revenue_log", "Operating revenue (log10, latest report)", "营业收入（对数）", -1, "log10",
       "annual_reports", None, "log10(1 + revenue) in the latest filed report",
       "Revenue 10^{value:.1f} ×10k CNY in the latest report", "最近年报营业收入约10^{value:.1f}万元", no_records=_M),
    _i("d1_profit_margin", "Net profit margin (latest report)", "净利润率（最近年报）", -1, "ratio", "annual_reports",
       None, "profit / revenue in the latest filed report; missing if no revenue",
       "Net profit margin {value:.0%} in the latest report", "最近年报净利润率{value:.0%}", no_records=_M,
       minimum=_M, maximum=_M),
    _i("d1_debt_ratio", "Liabilities / assets (latest report)", "资产负债率（最近年报）", 1, "ratio", "annual_reports",
       None, "total_liabilities / total_assets in the latest filed report; missing if no assets",
       "Liabilities are {value:.0%} of assets", "资产负债率{value:.0%}", no_records=_M, maximum=_M),
    _i("d1_revenue_growth", "Revenue growth over the previous report", "营业收入增长率", 0, "ratio", "annual_reports",
       None, "revenue_latest / revenue_previous − 1; missing if either is missing or zero",
       "Revenue changed {value:+.0%} on the previous year", "营业收入较上年变化{value:+.0%}", no_records=_M,
       minimum=-1.0, maximum=_M),
    # -- D2 registration and licences (登记与许可信息) --------------------------------------------------
    _i("d2_reports_filed_3y", "Annual reports filed, last 3 due", "近3个应报年度年报报送数", -1, "count",
       "annual_reports", 1095, "count(filed by as_of) among reports for the 3 latest report years due by as_of",
       "{value:.0f} of the last 3 annual reports filed", "近3个年度报送年报{value:.0f}份", maximum=3.0),
    _i("d2_reports_missed_3y", "Annual reports not filed, last 3 due", "近3个应报年度未报年报数", 1, "count",
       "annual_reports", 1095, "count(not filed by as_of) among reports for the 3 latest report years due",
       "{value:.0f} of the last 3 annual reports not filed", "近3个年度未报送年报{value:.0f}份", maximum=3.0),
    _i("d2_reports_late_3y", "Annual reports filed late, last 3 due", "近3个应报年度逾期报送数", 1, "count",
       "annual_reports", 1095, "count(filed by as_of but after 30 June) among reports for the 3 latest years due",
       "{value:.0f} of the last 3 annual reports filed late", "近3个年度逾期报送年报{value:.0f}份", maximum=3.0),
    _i("d2_last_report_on_time", "Latest due annual report filed on time", "最近一期年报按时报送", -1, "flag",
       "annual_reports", None, "1 if the report for the latest year due by as_of was filed by 30 June; missing if none",
       "Latest annual report filed on time: {value:.0f}", "最近一期年报按时报送：{value:.0f}", no_records=_M,
       maximum=1.0),
    _i("d2_financials_undisclosed", "Latest report withholds its financials", "最近年报未公示财务数据", 1, "flag",
       "annual_reports", None, "1 if the latest filed report has no revenue, assets or liabilities",
       "Latest annual report withholds its financial figures", "最近年报未公示资产状况信息", maximum=1.0),
    _i("d2_licences_valid", "Licences valid at the as-of date", "有效行政许可数", 0, "count", "licences", None,
       "count(issue_date ≤ as_of < expiry_date and not revoked by as_of)", "{value:.0f} valid licences",
       "持有有效许可{value:.0f}项"),
    _i("d2_licences_expired_unrenewed", "Licences lapsed without renewal, 24 months", "近24个月许可过期未续", 1,
       "count", "licences", 730,
       "count(licence types with a licence expired in the last 730 days and none of that type valid at as_of)",
       "{value:.0f} licences lapsed without renewal in the last 24 months", "近24个月许可过期未续{value:.0f}项"),
    _i("d2_licences_revoked_36m", "Licences revoked, 36 months", "近36个月许可被吊销/撤销数", 1, "count", "licences",
       1095, "count(revoked_date in the last 1095 days)", "{value:.0f} licences revoked in the last 36 months",
       "近36个月许可被吊销或撤销{value:.0f}项"),
    _i("d2_enterprises_at_address", "Enterprises on the register at the same address", "同一住所登记企业数", 1,
       "count", "enterprises", None, "count(enterprises on the register, not deregistered, with this address_id) "
       "including itself", "{value:.0f} enterprises registered at the same address", "同一住所登记企业{value:.0f}户",
       minimum=1.0),
    _i("d2_cluster_address", "Registered at a cluster address (> 20 enterprises)", "集群注册地址", 1, "flag",
       "enterprises", None, "1 if more than 20 enterprises on the register share the address",
       "Registered at a cluster address", "使用集群注册地址", maximum=1.0),
    _i("d2_agent_registered", "Registered through an agent", "通过代理机构登记", 0, "flag", "enterprises", None,
       "1 if agent_id is present", "Registered through an agent", "通过代理机构办理登记", maximum=1.0),
    _i("d2_scope_breadth", "Industry sections in the business scope", "经营范围涉及行业门类数", 0, "count",
       "enterprises", None, "number of ';'-separated sections in business_scope",
       "Business scope spans {value:.0f} industry sections", "经营范围涉及{value:.0f}个行业门类", minimum=1.0),
    # -- D3 penalties and negative lists (处罚与负面名单) ------------------------------------------------
    _i("d3_penalties_12m", "Administrative penalties, 12 months", "近12个月行政处罚次数", 1, "count", "penalties",
       365, "count(decision_date in the last 365 days, not repaired by as_of)",
       "{value:.0f} administrative penalties in the last 12 months", "近12个月行政处罚{value:.0f}次"),
    _i("d3_penalties_36m", "Administrative penalties, 36 months", "近36个月行政处罚次数", 1, "count", "penalties",
       1095, "count(decision_date in the last 1095 days, not repaired)",
       "{value:.0f} administrative penalties in the last 36 months", "近36个月行政处罚{value:.0f}次"),
    _i("d3_penalty_amount_36m_log", "Fines and confiscations, 36 months (log10 CNY)", "近36个月罚没金额（对数）", 1,
       "log10", "penalties", 1095, "log10(1 + sum(amount)) over unrepaired penalties of the last 1095 days",
       "Fines of 10^{value:.1f} CNY in the last 36 months", "近36个月罚没金额约10^{value:.1f}元"),
    _i("d3_serious_penalties_36m", "Serious penalties, 36 months", "近36个月严重违法处罚次数", 1, "count", "penalties",
       1095, "count(severity = serious, last 1095 days)", "{value:.0f} serious penalties in the last 36 months",
       "近36个月情节严重的行政处罚{value:.0f}次"),
    _i("d3_days_since_penalty", "Days since the latest penalty", "距最近一次行政处罚天数", -1, "days", "penalties",
       None, "as_of − max(decision_date) over unrepaired penalties; missing if none",
       "Latest administrative penalty {value:.0f} days ago", "最近一次行政处罚在{value:.0f}天前", no_records=_M),
    _i("d3_repairs_36m", "Credit repairs completed, 36 months", "近36个月完成信用修复次数", 0, "count",
       "credit_repairs", 1095, "count(repair_date in the last 1095 days)",
       "{value:.0f} credit repairs in the last 36 months", "近36个月完成信用修复{value:.0f}次"),
    _i("d3_abnormal_current", "On the abnormal-operation list", "当前列入经营异常名录", 1, "flag", "abnormal_list",
       None, "1 if a listing with entry_date ≤ as_of has no exit by as_of and is not repaired",
       "Currently on the abnormal-operation list", "当前列入经营异常名录", maximum=1.0),
    _i("d3_unreachable_current", "Listed as unreachable at its address", "当前因无法联系被列入异常名录", 1, "flag",
       "abnormal_list", None, "as d3_abnormal_current, entry_reason = unreachable",
       "Currently listed as unreachable at its registered address", "当前因通过登记住所无法联系被列入经营异常名录",
       maximum=1.0),
    _i("d3_abnormal_entries_36m", "Abnormal-list entries, 36 months", "近36个月列入经营异常名录次数", 1, "count",
       "abnormal_list", 1095, "count(entry_date in the last 1095 days, not repaired)",
       "Listed as abnormal {value:.0f} times in the last 36 months", "近36个月被列入经营异常名录{value:.0f}次"),
    _i("d3_abnormal_days_current", "Days on the abnormal list (current listing)", "当前异常名录持续天数", 1, "days",
       "abnormal_list", None, "as_of − min(entry_date) over current listings; 0 if not listed",
       "On the abnormal list for {value:.0f} days", "已列入经营异常名录{value:.0f}天"),
    _i("d3_serious_current", "On the serious illegal-and-dishonest list", "当前列入严重违法失信名单", 1, "flag",
       "serious_violations", None, "1 if listed by as_of, not removed or repaired by as_of",
       "Currently on the serious illegal-and-dishonest list", "当前列入严重违法失信名单", maximum=1.0),
    _i("d3_serious_5y", "Serious-list entries, 5 years", "近5年列入严重违法失信名单次数", 1, "count",
       "serious_violations", 1826, "count(entry_date in the last 1826 days)",
       "Put on the serious illegal-and-dishonest list {value:.0f} times in 5 years",
       "近5年被列入严重违法失信名单{value:.0f}次"),
    _i("d3_defaulter_current", "Judgment defaulter (失信被执行人)", "当前为失信被执行人", 1, "flag",
       "judgment_defaulters", None, "1 if listed by as_of and not removed by as_of",
       "Currently a judgment defaulter", "当前为失信被执行人", maximum=1.0),
    _i("d3_severe_events_24m", "Major accidents and special lists, 24 months", "近24个月重大事故或专项失信", 1, "count",
       "severe_events", 730, "count(event_date in the last 730 days)",
       "{value:.0f} major accidents or special-list entries in the last 24 months",
       "近24个月发生重大事故或列入专项失信名单{value:.0f}次"),
    _i("d3_special_list_current", "On a special dishonesty list", "当前在专项失信名单", 1, "flag", "severe_events",
       None, "1 if on a quality, e-commerce or prepaid-flight list at as_of",
       "Currently on a special dishonesty list", "当前列入专项失信名单", maximum=1.0),
    _i("d3_related_negative_rep", "Listed enterprises sharing the legal representative", "同一法定代表人关联企业失信数",
       1, "count", "enterprises abnormal_list serious_violations judgment_defaulters", None,
       "count(other enterprises on the register with the same legal representative that are on the abnormal, serious or "
       "defaulter list at as_of)", "{value:.0f} related enterprises (same legal representative) on negative lists",
       "同一法定代表人的关联企业中{value:.0f}户在失信或异常名单"),
    _i("d3_related_negative_holder", "Listed enterprises linked through shareholders", "股东关联企业失信数", 1, "count",
       "shareholdings abnormal_list serious_violations judgment_defaulters", None,
       "count(other enterprises on the register sharing a shareholder with it, or its enterprise shareholders, on a "
       "negative list at as_of)", "{value:.0f} enterprises linked through shareholders on negative lists",
       "股东关联企业中{value:.0f}户在失信或异常名单"),
    # -- D4 cases, complaints and reports (案件与投诉举报) -----------------------------------------------
    _i("d4_complaints_12m", "Complaints and reports, 12 months", "近12个月投诉举报数", 1, "count", "complaints", 365,
       "count(received_date in the last 365 days)", "{value:.0f} complaints in the last 12 months",
       "近12个月被投诉举报{value:.0f}次"),
    _i("d4_complaints_36m", "Complaints and reports, 36 months", "近36个月投诉举报数", 1, "count", "complaints", 1095,
       "count(received_date in the last 1095 days)", "{value:.0f} complaints in the last 36 months",
       "近36个月被投诉举报{value:.0f}次"),
    _i("d4_substantiated_12m", "Substantiated complaints, 12 months", "近12个月属实投诉数", 1, "count", "complaints",
       365, "count(received in the last 365 days, resolved substantiated by as_of)",
       "{value:.0f} substantiated complaints in the last 12 months", "近12个月属实投诉举报{value:.0f}次"),
    _i("d4_substantiated_share_36m", "Share of resolved complaints substantiated, 36 months", "近36个月投诉属实率", 1,
       "ratio", "complaints", 1095, "substantiated / resolved by as_of, received in the last 1095 days; missing if none",
       "{value:.0%} of resolved complaints substantiated", "已办结投诉中{value:.0%}属实", no_records=_M, maximum=1.0),
    _i("d4_defendant_cases_24m", "Court cases as defendant, 24 months", "近24个月作为被告的案件数", 1, "count",
       "court_cases", 730, "count(role = defendant, filing_date in the last 730 days)",
       "{value:.0f} court cases as defendant in the last 24 months", "近24个月作为被告涉诉{value:.0f}件"),
    _i("d4_cases_lost_24m", "Court cases lost, 24 months", "近24个月败诉案件数", 1, "count", "court_cases", 730,
       "count(role = defendant, lost, judgment_date in the last 730 days)",
       "{value:.0f} court cases lost in the last 24 months", "近24个月败诉{value:.0f}件"),
    _i("d4_case_amount_24m_log", "Amount in dispute as defendant, 24 months (log10)", "近24个月被诉金额（对数）", 1,
       "log10", "court_cases", 730, "log10(1 + sum(amount)) over defendant cases filed in the last 730 days",
       "Sued for 10^{value:.1f} ×10k CNY in the last 24 months", "近24个月被诉金额约10^{value:.1f}万元"),
    _i("d4_checks_36m", "Inspections, 36 months", "近36个月被检查次数", 0, "count", "spot_checks", 1095,
       "count(check_date in the last 1095 days)", "Inspected {value:.0f} times in the last 36 months",
       "近36个月被检查{value:.0f}次"),
    _i("d4_check_problems_36m", "Inspections finding problems, 36 months", "近36个月检查发现问题次数", 1, "count",
       "spot_checks", 1095, "count(problem_found, check_date in the last 1095 days)",
       "Inspections found problems {value:.0f} times in the last 36 months", "近36个月检查发现问题{value:.0f}次"),
    _i("d4_days_since_problem_check", "Days since an inspection last found a problem", "距最近一次检查发现问题天数",
       -1, "days", "spot_checks", None, "as_of − max(check_date where problem_found); missing if never",
       "An inspection found a problem {value:.0f} days ago", "{value:.0f}天前检查发现问题", no_records=_M),
    _i("d4_equity_frozen", "Equity under judicial freeze", "股权被冻结", 1, "flag", "equity_pledges", None,
       "1 if a freeze registered by as_of is not released by as_of", "Equity currently under judicial freeze",
       "股权当前被司法冻结", maximum=1.0),
    _i("d4_equity_pledged", "Equity pledged", "股权出质", 0, "flag", "equity_pledges", None,
       "1 if a pledge registered by as_of is not released by as_of", "Equity currently pledged", "股权当前已出质",
       maximum=1.0),
    _i("d4_mortgage_enforced_24m", "Chattel mortgages enforced, 24 months", "近24个月动产抵押被实现", 1, "count",
       "chattel_mortgages", 730, "count(enforced_date in the last 730 days)",
       "{value:.0f} chattel mortgages enforced by creditors in the last 24 months", "近24个月动产抵押被实现{value:.0f}次"),
    # -- D5 evaluations and commendations (评价与表彰记录) ----------------------------------------------
    _i("d5_awards_36m", "Awards and honours, 36 months", "近36个月表彰奖励数", -1, "count", "awards", 1095,
       "count(award_date in the last 1095 days)", "{value:.0f} awards in the last 36 months",
       "近36个月获得表彰{value:.0f}次"),
    _i("d5_best_award_level", "Highest award level, 5 years", "近5年最高表彰级别", -1, "level", "awards", 1826,
       "max(level: district 1, municipal 2, provincial 3, national 4) over 1826 days; 0 if none",
       "Honoured at level {value:.0f} (4 = national)", "获得表彰最高级别{value:.0f}（4为国家级）", maximum=4.0),
    _i("d5_contract_abiding", "Contract-abiding and trustworthy (守合同重信用)", "守合同重信用企业", -1, "flag",
       "awards", 1826, "1 if a contract_abiding award in the last 1826 days",
       "Honoured as contract-abiding and trustworthy", "获评守合同重信用企业", maximum=1.0),
    _i("d5_tax_grade", "Latest tax credit grade", "最近纳税信用等级", 1, "grade", "tax_credit", None,
       "A 1, B 2, M 3, C 4, D 5 for the latest grade published by as_of; missing if none",
       "Latest tax credit grade {value:.0f} (1 = A, 5 = D)", "最近纳税信用等级为{value:.0f}（1为A，5为D）",
       no_records=_M, minimum=1.0, maximum=5.0),
    _i("d5_tax_grade_worst_3y", "Worst tax credit grade, 3 years", "近3年最差纳税信用等级", 1, "grade", "tax_credit",
       1095, "max of the grade codes published in the last 1095 days; missing if none",
       "Worst tax credit grade {value:.0f} in 3 years", "近3年最差纳税信用等级为{value:.0f}", no_records=_M,
       minimum=1.0, maximum=5.0),
    _i("d5_commitments_kept_36m", "Credit commitments kept, 36 months", "近36个月信用承诺履约数", -1, "count",
       "credit_commitments", 1095, "count(kept, verified_date in the last 1095 days)",
       "{value:.0f} credit commitments kept in the last 36 months", "近36个月履行信用承诺{value:.0f}项"),
    _i("d5_commitments_broken_36m", "Credit commitments broken, 36 months", "近36个月信用承诺违约数", 1, "count",
       "credit_commitments", 1095, "count(not kept, verified_date in the last 1095 days)",
       "{value:.0f} credit commitments broken in the last 36 months", "近36个月未履行信用承诺{value:.0f}项"),
)

FALSE_REGISTRATION: tuple[Indicator, ...] = (
    _i("fr_address_registered_30d", "Enterprises registered at the address within 30 days",
       "同一住所30天内登记企业数", 1, "count", "enterprises", 30,
       "count(enterprises at the same address established within ±30 days of this one, by as_of)",
       "{value:.0f} enterprises registered at the same address within 30 days", "同一住所30天内登记{value:.0f}户",
       minimum=1.0),
    _i("fr_address_registered_90d", "Enterprises registered at the address within 90 days",
       "同一住所90天内登记企业数", 1, "count", "enterprises", 90, "as above, ±90 days",
       "{value:.0f} enterprises registered at the same address within 90 days", "同一住所90天内登记{value:.0f}户",
       minimum=1.0),
    _i("fr_enterprises_per_rep", "Enterprises on the register with the same legal representative", "同一法定代表人登记企业数",
       1, "count", "enterprises", None, "count(enterprises on the register with this legal_rep_id)",
       "The legal representative heads {value:.0f} registered enterprises", "法定代表人名下登记企业{value:.0f}户",
       minimum=1.0),
    _i("fr_rep_registered_90d", "Enterprises of the same legal representative registered within 90 days",
       "同一法定代表人90天内登记企业数", 1, "count", "enterprises", 90,
       "count(enterprises with the same legal representative established within ±90 days)",
       "{value:.0f} enterprises of the same representative registered within 90 days",
       "同一法定代表人90天内登记{value:.0f}户", minimum=1.0),
    _i("fr_enterprises_per_phone", "Enterprises on the register with the same phone", "同一联系电话登记企业数", 1,
       "count", "enterprises", None, "count(enterprises on the register with this phone_id)",
       "{value:.0f} registered enterprises use the same phone", "同一联系电话登记企业{value:.0f}户", minimum=1.0),
    _i("fr_phone_registered_30d", "Enterprises with the same phone registered within 30 days",
       "同一电话30天内登记企业数", 1, "count", "enterprises", 30,
       "count(enterprises with the same phone established within ±30 days)",
       "{value:.0f} enterprises with the same phone registered within 30 days", "同一电话30天内登记{value:.0f}户",
       minimum=1.0),
    _i("fr_enterprises_per_agent", "Enterprises registered by the same agent", "同一代理机构登记企业数", 0, "count",
       "enterprises", None, "count(enterprises registered by this agent by as_of); 0 when filed in person",
       "The registering agent filed {value:.0f} enterprises", "登记代理机构共办理{value:.0f}户"),
    _i("fr_agent_registered_30d", "Enterprises filed by the same agent within 30 days", "同一代理机构30天内登记企业数",
       1, "count", "enterprises", 30, "count(same agent, established within ±30 days); 0 when filed in person",
       "The agent filed {value:.0f} enterprises within 30 days", "同一代理机构30天内办理登记{value:.0f}户"),
    _i("fr_agent_registered_90d", "Enterprises filed by the same agent within 90 days", "同一代理机构90天内登记企业数",
       1, "count", "enterprises", 90, "as above, ±90 days", "The agent filed {value:.0f} enterprises within 90 days",
       "同一代理机构90天内办理登记{value:.0f}户"),
    _i("fr_cluster_size", "Size of the connected registration cluster", "关联登记集群规模", 1, "count", "enterprises",
       None, "enterprises in its connected component of the enterprise–person–address–phone–agent graph (links "
       "through hubs shared by more than 20 enterprises left out), by as_of",
       "Part of a registration cluster of {value:.0f} enterprises", "所在关联登记集群共{value:.0f}户", minimum=1.0),
    _i("fr_zero_insured", "No insured staff in the latest report", "最近年报参保人数为零", 1, "flag", "annual_reports",
       None, "1 if the latest filed report shows 0 insured staff; missing if no report filed",
       "No staff covered by social insurance", "无社保缴纳人员", no_records=_M, maximum=1.0),
    _i("fr_zero_paid_in", "Zero paid-in capital", "实缴资本为零", 1, "flag", "enterprises", None,
       "1 if paid_in_capital = 0; missing if not disclosed", "No capital paid in", "实缴资本为零", no_records=_M,
       maximum=1.0),
    _i("fr_no_report_ever", "No annual report ever filed although due", "应报未报（从未报送年报）", 1, "flag",
       "annual_reports", None, "1 if at least one report was due by as_of and none was filed by then",
       "Never filed an annual report although due", "应报送年报但从未报送", maximum=1.0),
    _i("fr_duplicate_report", "Latest report identical to another enterprise's", "年报与他户雷同", 1, "flag",
       "annual_reports", None, "1 if another enterprise filed the same employees, insured, revenue, profit, assets "
       "and liabilities for the same year (all disclosed)", "Annual report identical to another enterprise's",
       "年报数据与其他企业雷同", maximum=1.0),
    _i("fr_early_change", "Representative or address changed within 90 days of registration",
       "成立90天内变更法定代表人或住所", 1, "flag", "registration_changes", 90,
       "1 if a legal_rep or address change by as_of is dated within 90 days of establishment",
       "Changed representative or address within 90 days of registration", "成立90天内即变更法定代表人或住所",
       maximum=1.0),
    _i("fr_days_to_unreachable", "Days from registration to first unreachable listing", "成立至首次无法联系天数", -1,
       "days", "abnormal_list", None, "min(entry_date where reason = unreachable) − established_date; missing if never",
       "Listed unreachable {value:.0f} days after registration", "成立{value:.0f}天后即因无法联系被列入异常名录",
       no_records=_M),
)

# Risk indicators the false-registration model uses as well (declared once, above).
FALSE_REGISTRATION_SHARED: tuple[str, ...] = (
    "d1_age_years", "d1_paid_in_ratio", "d1_registered_capital_log", "d2_enterprises_at_address",
    "d2_cluster_address", "d2_scope_breadth", "d2_reports_missed_3y", "d3_unreachable_current", "d1_insured_ratio",
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
