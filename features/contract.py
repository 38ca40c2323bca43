"""The raw-data contract: every raw table a regulator loads, declared once.

Column names, types, keys, what each date means and the allowed codes live here
and nowhere else. `docs/data-contract.md` is rendered from these objects
(`creditgrade.features.docs.render_data_contract`), the ingest validates against them and the
simulated city writes them. Identifiers of people (legal representatives,
phones) appear only as opaque ids and never leave the data layer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

ColumnType = Literal["string", "int", "float", "bool", "date"]
COLUMN_TYPES: tuple[ColumnType, ...] = ("string", "int", "float", "bool", "date")


@dataclass(frozen=True)
class Code:
    """One allowed value of a coded column, with its names in both languages."""

    en: str
    zh: str


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType
    en: str
    zh: str
    required: bool = True
    codes: Mapping[str, Code] | None = None
    minimum: float | None = None
    maximum: float | None = None
    date_meaning: str | None = None
    references: str | None = None  # "table.column" this column must point at
    person_identifier: bool = False  # never shown in responses, logs or reports
    future_allowed: bool = False  # a date that may lie after the extraction date (expiry, deadline)

    def __post_init__(self) -> None:
        if self.type not in COLUMN_TYPES:
            raise ValueError(f"column {self.name!r}: type must be one of {COLUMN_TYPES}; got {self.type!r}")
        if self.type == "date" and not self.date_meaning:
            raise ValueError(f"date column {self.name!r} must say what its date means")


# The agencies that send the raw tables (Shenzhen's credit platform collects from 73; these are the kinds).
AGENCIES: dict[str, Code] = {
    "market_regulator": Code("Market regulator (registration, lists, inspections, 12315)", "市场监督管理局"),
    "licensing": Code("Licensing departments", "各行政许可部门"),
    "enforcement": Code("Law-enforcement departments (双公示)", "各行政执法部门"),
    "courts": Code("People's courts", "人民法院"),
    "tax": Code("Tax bureau", "税务局"),
    "credit_platform": Code("Public credit platform (commitments, awards)", "公共信用信息平台"),
    "safety": Code("Emergency management and list-keeping departments", "应急管理及名单认定部门"),
}


@dataclass(frozen=True)
class Table:
    name: str
    en: str
    zh: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    event_date: str | None = None  # the date a record becomes known (point-in-time)
    agency: str = "market_regulator"  # the source agency that sends it (a key of AGENCIES)
    row_checks: tuple[tuple[str, str, str], ...] = field(default=())  # (SQL condition that must hold, reason en, zh)

    def __post_init__(self) -> None:
        names = [c.name for c in self.columns]
        if len(set(names)) != len(names):
            raise ValueError(f"table {self.name!r} declares a column twice")
        for k in self.key:
            if k not in names:
                raise ValueError(f"table {self.name!r}: key column {k!r} is not declared")
        if self.event_date is not None and self.event_date not in names:
            raise ValueError(f"table {self.name!r}: event date {self.event_date!r} is not declared")
        if self.agency not in AGENCIES:
            raise ValueError(f"table {self.name!r}: agency {self.agency!r} is not one of {sorted(AGENCIES)}")

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"table {self.name!r} has no column {name!r}")

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


def _codes(**pairs: tuple[str, str]) -> dict[str, Code]:
    return {k: Code(en, zh) for k, (en, zh) in pairs.items()}


# --- code lists -------------------------------------------------------------

DISTRICTS: dict[str, Code] = {
    "440303": Code("Luohu", "罗湖区"),
    "440304": Code("Futian", "福田区"),
    "440305": Code("Nanshan", "南山区"),
    "440306": Code("Bao'an", "宝安区"),
    "440307": Code("Longgang", "龙岗区"),
    "440308": Code("Yantian", "盐田区"),
    "440309": Code("Longhua", "龙华区"),
    "440310": Code("Pingshan", "坪山区"),
    "440311": Code("Guangming", "光明区"),
}

# GB/T 4754-2017 industry sections.
INDUSTRY_SECTIONS: dict[str, Code] = {
    "A": Code("Agriculture, forestry, animal husbandry and fishery", "农、林、牧、渔业"),
    "B": Code("Mining", "采矿业"),
    "C": Code("Manufacturing", "制造业"),
    "D": Code("Electricity, heat, gas and water supply", "电力、热力、燃气及水生产和供应业"),
    "E": Code("Construction", "建筑业"),
    "F": Code("Wholesale and retail trade", "批发和零售业"),
    "G": Code("Transport, storage and post", "交通运输、仓储和邮政业"),
    "H": Code("Accommodation and catering", "住宿和餐饮业"),
    "I": Code("Information transmission, software and IT services", "信息传输、软件和信息技术服务业"),
    "J": Code("Finance", "金融业"),
    "K": Code("Real estate", "房地产业"),
    "L": Code("Leasing and business services", "租赁和商务服务业"),
    "M": Code("Scientific research and technical services", "科学研究和技术服务业"),
    "N": Code("Water conservancy, environment and public facilities", "水利、环境和公共设施管理业"),
    "O": Code("Resident services, repair and other services", "居民服务、修理和其他服务业"),
    "P": Code("Education", "教育"),
    "Q": Code("Health and social work", "卫生和社会工作"),
    "R": Code("Culture, sports and entertainment", "文化、体育和娱乐业"),
    "S": Code("Public administration and social organisations", "公共管理、社会保障和社会组织"),
    "T": Code("International organisations", "国际组织"),
}

LEGAL_FORMS = _codes(
    llc=("Limited liability company", "有限责任公司"),
    llc_natural_sole=("One-person limited liability company", "有限责任公司（自然人独资）"),
    joint_stock=("Joint-stock company", "股份有限公司"),
    sole_proprietorship=("Sole proprietorship enterprise", "个人独资企业"),
    partnership=("Partnership enterprise", "合伙企业"),
    branch=("Branch", "分公司"),
    foreign_invested=("Foreign-invested enterprise", "外商投资企业"),
)

ENTERPRISE_STATUSES = _codes(
    active=("Active", "存续"),
    deregistered=("Deregistered", "注销"),
    revoked=("Business licence revoked", "吊销营业执照"),
    struck_off=("Struck off", "除名"),
    ordered_closed=("Ordered to close", "责令关闭"),
    suspended=("Ordered to stop business", "责令停业"),
)

CHANGE_TYPES = _codes(
    legal_rep=("Legal representative", "法定代表人变更"),
    address=("Registered address", "住所变更"),
    scope=("Business scope", "经营范围变更"),
    registered_capital=("Registered capital", "注册资本变更"),
    name=("Name", "名称变更"),
    shareholder=("Shareholders", "股东变更"),
)

LICENCE_TYPES = _codes(
    food_business=("Food business", "食品经营许可"),
    food_production=("Food production", "食品生产许可"),
    medical_device=("Medical device business", "医疗器械经营许可"),
    drug_retail=("Drug retail", "药品经营许可"),
    special_equipment=("Special equipment", "特种设备许可"),
    industrial_product=("Industrial product production", "工业产品生产许可"),
    construction=("Construction qualification", "建筑业企业资质"),
    transport=("Road transport", "道路运输经营许可"),
    hazardous_chemicals=("Hazardous chemicals", "危险化学品经营许可"),
    other=("Other", "其他许可"),
)

ABNORMAL_REASONS = _codes(
    no_annual_report=("Annual report not filed", "未按规定报送年度报告"),
    unreachable=("Unreachable at registered address", "通过登记的住所或经营场所无法联系"),
    false_disclosure=("False or concealed public disclosure", "公示信息隐瞒真实情况、弄虚作假"),
    no_disclosure_on_order=("Disclosure not made when ordered", "未按责令期限公示有关企业信息"),
)

ABNORMAL_EXIT_REASONS = _codes(
    remedied=("Remedied and removed", "已改正移出"),
    moved_to_serious=("Moved to the serious violation list after 3 years", "满三年列入严重违法失信名单"),
    deregistered=("Enterprise deregistered", "企业注销"),
)

SERIOUS_REASONS = _codes(
    abnormal_three_years=("On the abnormal list for 3 years", "列入经营异常名录届满3年"),
    false_registration=("Registration obtained by fraud", "提交虚假材料取得登记"),
    major_violation=("Major illegal act", "重大违法行为"),
)

PENALTY_TYPES = _codes(
    warning=("Warning", "警告"),
    fine=("Fine", "罚款"),
    confiscation=("Confiscation of illegal gains", "没收违法所得"),
    licence_suspension=("Licence suspension", "暂扣许可证件"),
    licence_revocation=("Licence revocation", "吊销许可证件"),
    business_suspension=("Order to suspend business", "责令停产停业"),
)

SEVERITIES = _codes(
    minor=("Minor", "轻微"),
    general=("General", "一般"),
    serious=("Serious", "严重"),
)

CHECK_KINDS = _codes(
    random=("Random (双随机)", "双随机抽查"),
    targeted=("Targeted", "定向检查"),
    complaint=("Complaint or referral", "投诉举报转办"),
)

FINDINGS = _codes(
    none=("No problem found", "未发现问题"),
    unreachable=("Unreachable at registered address", "通过登记住所无法联系"),
    false_disclosure=("False public disclosure", "公示信息隐瞒真实情况"),
    licence_breach=("Operating outside licence", "超范围或无证经营"),
    product_quality=("Product quality", "产品质量问题"),
    false_registration=("False registration", "虚假登记"),
    other_violation=("Other violation", "其他违法行为"),
)

COMPLAINT_CHANNELS = _codes(
    hotline_12315=("12315 hotline", "12315热线"),
    hotline_12345=("12345 hotline", "12345热线"),
    online=("Online platform", "网络平台"),
    letter=("Letter or visit", "来信来访"),
)

COMPLAINT_CATEGORIES = _codes(
    quality=("Product or service quality", "商品或服务质量"),
    contract=("Contract dispute", "合同纠纷"),
    advertising=("False advertising", "虚假宣传"),
    price=("Pricing", "价格"),
    food_safety=("Food safety", "食品安全"),
    prepaid=("Prepaid cards", "预付式消费"),
)

CASE_ROLES = _codes(
    defendant=("Defendant", "被告"),
    plaintiff=("Plaintiff", "原告"),
)

CASE_TYPES = _codes(
    contract=("Contract", "合同纠纷"),
    labour=("Labour", "劳动争议"),
    loan=("Loan", "借款纠纷"),
    ip=("Intellectual property", "知识产权"),
    other=("Other", "其他"),
)

TAX_GRADES = _codes(
    A=("A (score ≥ 90)", "A级（90分以上）"),
    B=("B (70–90)", "B级（70-90分）"),
    M=("M (new or no revenue)", "M级（新设或无营业收入）"),
    C=("C (40–70)", "C级（40-70分）"),
    D=("D (< 40)", "D级（40分以下）"),
)

PLEDGE_KINDS = _codes(
    pledge=("Equity pledge", "股权出质"),
    freeze=("Equity freeze", "股权冻结"),
)

CREDITOR_TYPES = _codes(
    bank=("Bank", "银行"),
    other=("Other creditor", "其他债权人"),
)

AWARD_LEVELS = _codes(
    national=("National", "国家级"),
    provincial=("Provincial", "省级"),
    municipal=("Municipal", "市级"),
    district=("District", "区级"),
)

AWARD_KINDS = _codes(
    contract_abiding=("Contract-abiding and trustworthy", "守合同重信用"),
    quality=("Quality award", "质量奖"),
    brand=("Well-known brand", "知名品牌"),
    innovation=("High-tech or innovation", "高新技术/创新"),
    other=("Other honour", "其他荣誉"),
)

COMMITMENT_MATTERS = _codes(
    licence_application=("Licence application (承诺制)", "告知承诺审批"),
    credit_repair=("Credit repair", "信用修复承诺"),
    industry_self_discipline=("Industry self-discipline", "行业自律承诺"),
)

REPAIRABLE_TABLES = _codes(
    penalties=("Administrative penalty", "行政处罚"),
    abnormal_list=("Abnormal-operation listing", "经营异常名录"),
    serious_violations=("Serious violation listing", "严重违法失信名单"),
    judgment_defaulters=("Judgment-defaulter listing", "失信被执行人"),
)

SEVERE_EVENT_KINDS = _codes(
    major_safety_accident=("Major safety accident", "重大安全事故"),
    quality_dishonesty_list=("Serious quality-dishonesty list", "严重质量失信名单"),
    ecommerce_dishonesty_list=("E-commerce dishonesty list", "电子商务失信名单"),
    prepaid_flight_list=("Prepaid-consumption flight list", "预付式消费跑路名单"),
)

HOLDER_KINDS = _codes(
    person=("Natural person", "自然人"),
    enterprise=("Enterprise", "企业"),
)

# --- the tables -------------------------------------------------------------

_USCC = "enterprises.uscc"


def _uscc_ref() -> Column:
    return Column(
        "uscc", "string", "Unified Social Credit Code of the enterprise", "统一社会信用代码", references=_USCC
    )


def _money(name: str, en: str, zh: str, required: bool = False, minimum: float | None = 0.0) -> Column:
    return Column(name, "float", en + " (10k CNY)", zh + "（万元）", required=required, minimum=minimum)


TABLES: tuple[Table, ...] = (
    Table(
        "enterprises",
        "Enterprises (registration register)",
        "企业登记信息",
        (
            Column("uscc", "string", "Unified Social Credit Code (GB 32100-2015)", "统一社会信用代码"),
            Column("name", "string", "Registered name", "企业名称"),
            Column(
                "region_code",
                "string",
                "Registering district (administrative division code)",
                "登记机关区划代码",
                codes=DISTRICTS,
            ),
            Column(
                "industry_section",
                "string",
                "Industry section (GB/T 4754-2017)",
                "国民经济行业门类",
                codes=INDUSTRY_SECTIONS,
            ),
            Column("legal_form", "string", "Legal form", "企业类型", codes=LEGAL_FORMS),
            Column(
                "business_scope",
                "string",
                "Industry sections in the business scope, ';'-separated",
                "经营范围涉及的行业门类（以;分隔）",
            ),
            Column(
                "established_date",
                "date",
                "Date of establishment",
                "成立日期",
                date_meaning="day the business licence was first issued",
            ),
            Column(
                "closed_date",
                "date",
                "Date the enterprise ceased (deregistered, revoked, struck off, closed)",
                "终止日期",
                required=False,
                date_meaning="day the closing decision took effect; empty while active",
            ),
            Column("status", "string", "Registration status at extraction", "登记状态", codes=ENTERPRISE_STATUSES),
            _money("registered_capital", "Registered (subscribed) capital", "注册资本", required=True),
            _money("paid_in_capital", "Paid-in capital; empty when not disclosed", "实缴资本"),
            Column(
                "legal_rep_id",
                "string",
                "Pseudonymous id of the legal representative",
                "法定代表人标识",
                person_identifier=True,
            ),
            Column("address_id", "string", "Id of the registered address", "住所标识"),
            Column(
                "phone_id", "string", "Pseudonymous id of the contact phone", "联系电话标识", person_identifier=True
            ),
            Column(
                "agent_id",
                "string",
                "Id of the registering agent; empty when filed in person",
                "登记代理机构标识",
                required=False,
            ),
        ),
        key=("uscc",),
        event_date="established_date",
        row_checks=(
            (
                "closed_date IS NULL OR closed_date >= established_date",
                "closed before established",
                "终止日期早于成立日期",
            ),
            (
                "(status = 'active') = (closed_date IS NULL)",
                "status and closed_date disagree",
                "登记状态与终止日期不一致",
            ),
            (
                "paid_in_capital IS NULL OR paid_in_capital <= registered_capital",
                "paid-in capital exceeds registered capital",
                "实缴资本超过注册资本",
            ),
        ),
    ),
    Table(
        "registration_changes",
        "Registration changes",
        "变更登记",
        (
            Column("change_id", "string", "Change record id", "变更记录编号"),
            _uscc_ref(),
            Column(
                "change_date", "date", "Date of the change", "变更日期", date_meaning="day the change was registered"
            ),
            Column("change_type", "string", "What changed", "变更事项", codes=CHANGE_TYPES),
        ),
        key=("change_id",),
        event_date="change_date",
    ),
    Table(
        "shareholdings",
        "Shareholdings",
        "股东及出资",
        (
            _uscc_ref(),
            Column("holder_kind", "string", "Kind of shareholder", "股东类型", codes=HOLDER_KINDS),
            Column(
                "holder_id",
                "string",
                "Shareholder: a person id or an enterprise USCC",
                "股东标识",
                person_identifier=True,
            ),
            Column("share_ratio", "float", "Share of capital held", "持股比例", minimum=0.0, maximum=1.0),
            Column(
                "start_date",
                "date",
                "Date the holding was registered",
                "登记日期",
                date_meaning="day the shareholding was registered",
            ),
            Column(
                "end_date",
                "date",
                "Date the holding ended",
                "退出日期",
                required=False,
                date_meaning="day the shareholder left; empty while held",
            ),
        ),
        key=("uscc", "holder_kind", "holder_id", "start_date"),
        event_date="start_date",
        row_checks=(("end_date IS NULL OR end_date >= start_date", "ended before it started", "退出日期早于登记日期"),),
    ),
    Table(
        "annual_reports",
        "Annual reports",
        "企业年度报告",
        (
            _uscc_ref(),
            Column(
                "report_year",
                "int",
                "Business year reported on (due by 30 June of the next year)",
                "报告年度",
                minimum=1990,
                maximum=2100,
            ),
            Column("filed", "bool", "Report filed", "是否报送"),
            Column(
                "filed_date",
                "date",
                "Date filed",
                "报送日期",
                required=False,
                date_meaning="day the report was published; empty when not filed",
            ),
            Column("filed_on_time", "bool", "Filed by the 30 June deadline", "是否按时报送"),
            Column("employees", "int", "Employees", "从业人数", required=False, minimum=0),
            Column(
                "insured_headcount",
                "int",
                "Staff covered by social insurance",
                "社保缴纳人数",
                required=False,
                minimum=0,
            ),
            _money("revenue", "Operating revenue", "营业总收入"),
            _money("profit", "Net profit", "净利润", minimum=None),
            _money("total_assets", "Total assets", "资产总额"),
            _money("total_liabilities", "Total liabilities", "负债总额"),
        ),
        key=("uscc", "report_year"),
        event_date="filed_date",
        row_checks=(
            ("filed = (filed_date IS NOT NULL)", "filed flag and filed_date disagree", "是否报送与报送日期不一致"),
            ("NOT filed_on_time OR filed", "on time but not filed", "标记按时报送但未报送"),
        ),
    ),
    Table(
        "licences",
        "Administrative licences",
        "行政许可",
        (
            Column("licence_id", "string", "Licence number", "许可证编号"),
            _uscc_ref(),
            Column("licence_type", "string", "Kind of licence", "许可类别", codes=LICENCE_TYPES),
            Column("issue_date", "date", "Date issued", "发证日期", date_meaning="day the licence took effect"),
            Column(
                "expiry_date",
                "date",
                "Date it expires",
                "有效期至",
                date_meaning="last day of validity (may lie after the extraction date)",
                future_allowed=True,
            ),
            Column(
                "revoked_date",
                "date",
                "Date revoked",
                "吊销/撤销日期",
                required=False,
                date_meaning="day the licence was revoked; empty otherwise",
            ),
        ),
        key=("licence_id",),
        event_date="issue_date",
        agency="licensing",
        row_checks=(("expiry_date > issue_date", "expires before it was issued", "有效期早于发证日期"),),
    ),
    Table(
        "abnormal_list",
        "Abnormal-operation list",
        "经营异常名录",
        (
            Column("record_id", "string", "Listing id", "列入记录编号"),
            _uscc_ref(),
            Column("entry_date", "date", "Date listed", "列入日期", date_meaning="day the listing decision was made"),
            Column("entry_reason", "string", "Reason listed", "列入原因", codes=ABNORMAL_REASONS),
            Column(
                "exit_date",
                "date",
                "Date removed",
                "移出日期",
                required=False,
                date_meaning="day removed from the list; empty while listed",
            ),
            Column("exit_reason", "string", "Reason removed", "移出原因", required=False, codes=ABNORMAL_EXIT_REASONS),
        ),
        key=("record_id",),
        event_date="entry_date",
        row_checks=(
            ("exit_date IS NULL OR exit_date >= entry_date", "removed before listed", "移出日期早于列入日期"),
            (
                "(exit_date IS NULL) = (exit_reason IS NULL)",
                "exit_date and exit_reason disagree",
                "移出日期与移出原因不一致",
            ),
        ),
    ),
    Table(
        "serious_violations",
        "Serious illegal-and-dishonest list",
        "严重违法失信名单",
        (
            Column("record_id", "string", "Listing id", "列入记录编号"),
            _uscc_ref(),
            Column("entry_date", "date", "Date listed", "列入日期", date_meaning="day the listing decision was made"),
            Column("reason", "string", "Reason listed", "列入原因", codes=SERIOUS_REASONS),
            Column(
                "exit_date",
                "date",
                "Date removed",
                "移出日期",
                required=False,
                date_meaning="day removed from the list; empty while listed",
            ),
        ),
        key=("record_id",),
        event_date="entry_date",
        row_checks=(("exit_date IS NULL OR exit_date >= entry_date", "removed before listed", "移出日期早于列入日期"),),
    ),
    Table(
        "penalties",
        "Administrative penalties (双公示)",
        "行政处罚",
        (
            Column("penalty_id", "string", "Penalty decision number", "处罚决定书文号"),
            _uscc_ref(),
            Column(
                "decision_date",
                "date",
                "Date of the decision",
                "处罚决定日期",
                date_meaning="day the decision was made",
            ),
            Column("penalty_type", "string", "Kind of penalty", "处罚种类", codes=PENALTY_TYPES),
            Column("severity", "string", "Severity of the violation", "违法情节", codes=SEVERITIES),
            Column(
                "amount", "float", "Fine or confiscation amount (CNY)", "罚没金额（元）", required=False, minimum=0.0
            ),
        ),
        key=("penalty_id",),
        event_date="decision_date",
        agency="enforcement",
    ),
    Table(
        "spot_checks",
        "Spot checks and inspections",
        "抽查检查结果",
        (
            Column("check_id", "string", "Inspection record id", "检查记录编号"),
            _uscc_ref(),
            Column(
                "check_date", "date", "Date inspected", "检查日期", date_meaning="day the inspection was carried out"
            ),
            Column("kind", "string", "How the enterprise came to be inspected", "检查方式", codes=CHECK_KINDS),
            Column("plan_id", "string", "Inspection plan that drew it", "抽查计划编号"),
            Column(
                "inclusion_prob",
                "float",
                "Probability the plan's draw selected this enterprise",
                "入选概率",
                minimum=1e-9,
                maximum=1.0,
            ),
            Column("problem_found", "bool", "A problem was found", "是否发现问题"),
            Column("finding", "string", "Main finding", "检查结果", codes=FINDINGS),
        ),
        key=("check_id",),
        event_date="check_date",
        row_checks=(
            (
                "problem_found = (finding <> 'none')",
                "problem_found and finding disagree",
                "是否发现问题与检查结果不一致",
            ),
        ),
    ),
    Table(
        "complaints",
        "Complaints and reports (12315/12345)",
        "投诉举报",
        (
            Column("complaint_id", "string", "Complaint id", "投诉举报编号"),
            _uscc_ref(),
            Column("received_date", "date", "Date received", "受理日期", date_meaning="day the complaint was received"),
            Column("channel", "string", "Channel", "来源渠道", codes=COMPLAINT_CHANNELS),
            Column("category", "string", "Subject", "投诉类别", codes=COMPLAINT_CATEGORIES),
            Column(
                "resolved_date",
                "date",
                "Date handling concluded",
                "办结日期",
                required=False,
                date_meaning="day the complaint was concluded; empty while open",
            ),
            Column("substantiated", "bool", "Found to be substantiated; empty while open", "是否属实", required=False),
        ),
        key=("complaint_id",),
        event_date="received_date",
        row_checks=(
            (
                "(resolved_date IS NULL) = (substantiated IS NULL)",
                "substantiated and resolved_date disagree",
                "是否属实与办结日期不一致",
            ),
            (
                "resolved_date IS NULL OR resolved_date >= received_date",
                "resolved before received",
                "办结日期早于受理日期",
            ),
        ),
    ),
    Table(
        "court_cases",
        "Court cases",
        "司法案件",
        (
            Column("case_id", "string", "Case number", "案号"),
            _uscc_ref(),
            Column(
                "filing_date",
                "date",
                "Date the case was filed",
                "立案日期",
                date_meaning="day the court accepted the case",
            ),
            Column("role", "string", "Enterprise's role", "诉讼地位", codes=CASE_ROLES),
            Column("case_type", "string", "Kind of case", "案由", codes=CASE_TYPES),
            _money("amount", "Amount in dispute", "涉案金额"),
            Column(
                "judgment_date",
                "date",
                "Date judged",
                "判决日期",
                required=False,
                date_meaning="day of judgment; empty while pending",
            ),
            Column("lost", "bool", "Enterprise lost the case; empty while pending", "是否败诉", required=False),
        ),
        key=("case_id", "uscc"),
        event_date="filing_date",
        agency="courts",
        row_checks=(
            ("judgment_date IS NULL OR judgment_date >= filing_date", "judged before filed", "判决日期早于立案日期"),
        ),
    ),
    Table(
        "judgment_defaulters",
        "Judgment defaulters",
        "失信被执行人",
        (
            Column("record_id", "string", "Listing id", "失信记录编号"),
            _uscc_ref(),
            Column(
                "listed_date", "date", "Date listed", "发布日期", date_meaning="day the court published the listing"
            ),
            Column(
                "removed_date",
                "date",
                "Date removed",
                "移除日期",
                required=False,
                date_meaning="day removed; empty while listed",
            ),
            _money("amount", "Amount owed", "执行标的"),
        ),
        key=("record_id",),
        event_date="listed_date",
        agency="courts",
        row_checks=(
            ("removed_date IS NULL OR removed_date >= listed_date", "removed before listed", "移出日期早于列入日期"),
        ),
    ),
    Table(
        "tax_credit",
        "Tax credit grades",
        "纳税信用等级",
        (
            _uscc_ref(),
            Column("tax_year", "int", "Tax year assessed", "评价年度", minimum=1990, maximum=2100),
            Column("grade", "string", "Tax credit grade", "纳税信用等级", codes=TAX_GRADES),
            Column(
                "published_date",
                "date",
                "Date published",
                "发布日期",
                date_meaning="day the tax bureau published the grade (April of the next year)",
            ),
        ),
        key=("uscc", "tax_year"),
        event_date="published_date",
        agency="tax",
    ),
    Table(
        "equity_pledges",
        "Equity pledges and freezes",
        "股权出质与冻结",
        (
            Column("record_id", "string", "Registration id", "登记编号"),
            _uscc_ref(),
            Column("kind", "string", "Pledge or judicial freeze", "类型", codes=PLEDGE_KINDS),
            Column("registered_date", "date", "Date registered", "登记日期", date_meaning="day registered"),
            Column(
                "released_date",
                "date",
                "Date released",
                "解除日期",
                required=False,
                date_meaning="day released; empty while in force",
            ),
            _money("amount", "Amount of equity", "出质/冻结数额"),
        ),
        key=("record_id",),
        event_date="registered_date",
        row_checks=(
            (
                "released_date IS NULL OR released_date >= registered_date",
                "released before registered",
                "解除日期早于登记日期",
            ),
        ),
    ),
    Table(
        "chattel_mortgages",
        "Chattel mortgages",
        "动产抵押",
        (
            Column("record_id", "string", "Registration id", "登记编号"),
            _uscc_ref(),
            Column("registered_date", "date", "Date registered", "登记日期", date_meaning="day registered"),
            Column("creditor_type", "string", "Creditor", "抵押权人类型", codes=CREDITOR_TYPES),
            _money("secured_amount", "Secured debt", "被担保债权数额"),
            Column(
                "released_date",
                "date",
                "Date released",
                "注销日期",
                required=False,
                date_meaning="day the mortgage was released; empty while in force",
            ),
            Column(
                "enforced_date",
                "date",
                "Date the creditor enforced the mortgage (unpaid loan)",
                "实现抵押权日期",
                required=False,
                date_meaning="day enforcement was registered; empty otherwise",
            ),
        ),
        key=("record_id",),
        event_date="registered_date",
    ),
    Table(
        "awards",
        "Awards and honours",
        "表彰奖励",
        (
            Column("record_id", "string", "Award id", "表彰记录编号"),
            _uscc_ref(),
            Column("award_date", "date", "Date awarded", "表彰日期", date_meaning="day the honour was granted"),
            Column("level", "string", "Level of the awarding body", "表彰级别", codes=AWARD_LEVELS),
            Column("kind", "string", "Kind of honour", "表彰类别", codes=AWARD_KINDS),
        ),
        key=("record_id",),
        event_date="award_date",
        agency="credit_platform",
    ),
    Table(
        "credit_commitments",
        "Credit commitments",
        "信用承诺",
        (
            Column("commitment_id", "string", "Commitment id", "承诺编号"),
            _uscc_ref(),
            Column("commitment_date", "date", "Date committed", "承诺日期", date_meaning="day the commitment was made"),
            Column("matter", "string", "What was committed to", "承诺事项", codes=COMMITMENT_MATTERS),
            Column(
                "due_date",
                "date",
                "Date by which it must be met",
                "履约期限",
                date_meaning="deadline of the commitment (may lie after the extraction date)",
                future_allowed=True,
            ),
            Column(
                "verified_date",
                "date",
                "Date kept/broken was verified",
                "核查日期",
                required=False,
                date_meaning="day the regulator verified it; empty until verified",
            ),
            Column("kept", "bool", "Commitment kept; empty until verified", "是否履约", required=False),
        ),
        key=("commitment_id",),
        event_date="commitment_date",
        agency="credit_platform",
        row_checks=(
            ("(verified_date IS NULL) = (kept IS NULL)", "kept and verified_date disagree", "是否履约与核查日期不一致"),
        ),
    ),
    Table(
        "credit_repairs",
        "Credit repairs",
        "信用修复",
        (
            Column("repair_id", "string", "Repair decision id", "修复记录编号"),
            _uscc_ref(),
            Column("repaired_table", "string", "Table of the repaired record", "修复记录类别", codes=REPAIRABLE_TABLES),
            Column("repaired_record_id", "string", "Id of the repaired record in that table", "被修复记录编号"),
            Column(
                "repair_date",
                "date",
                "Date the repair took effect",
                "修复日期",
                date_meaning="day from which the record stops counting against the enterprise",
            ),
        ),
        key=("repair_id",),
        event_date="repair_date",
    ),
    Table(
        "severe_events",
        "Severe events and special dishonesty lists",
        "重大事故与专项失信名单",
        (
            Column("event_id", "string", "Record id", "记录编号"),
            _uscc_ref(),
            Column(
                "event_date",
                "date",
                "Date of the accident or listing",
                "发生/列入日期",
                date_meaning="day the accident happened or the listing was published",
            ),
            Column("kind", "string", "Kind of event", "类别", codes=SEVERE_EVENT_KINDS),
            Column(
                "end_date",
                "date",
                "Date the listing ended",
                "移出日期",
                required=False,
                date_meaning="day removed from the list; empty while listed or for accidents",
            ),
        ),
        key=("event_id",),
        event_date="event_date",
        agency="safety",
    ),
)

TABLES_BY_NAME: dict[str, Table] = {t.name: t for t in TABLES}


def table(name: str) -> Table:
    """The declared table of that name; a clear error for any other name."""
    try:
        return TABLES_BY_NAME[name]
    except KeyError:
        raise KeyError(f"no raw table named {name!r}; the contract has: {', '.join(TABLES_BY_NAME)}") from None
