"""Who is in the simulated city: enterprises, the people, addresses, phones and
agents behind them, group structures and false-registration rings.

Everything here is drawn once, before the yearly history is simulated; the
latent risk components that do not change over time are drawn here too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from stdnum.cn import uscc as stdnum_uscc

from creditgrade.features.city.calendar import days, year_start
from creditgrade.features.contract import DISTRICTS, INDUSTRY_SECTIONS, LEGAL_FORMS

# Shares are rough figures for Shenzhen's enterprise register (most firms in
# trade and business services; Bao'an and Longgang the largest districts).
DISTRICT_SHARES = {
    "440306": 0.21,
    "440307": 0.18,
    "440305": 0.13,
    "440304": 0.13,
    "440309": 0.13,
    "440303": 0.09,
    "440311": 0.06,
    "440310": 0.04,
    "440308": 0.03,
}
INDUSTRY_SHARES = {
    "F": 0.33,
    "L": 0.15,
    "I": 0.10,
    "M": 0.10,
    "C": 0.08,
    "E": 0.04,
    "K": 0.03,
    "H": 0.03,
    "G": 0.03,
    "O": 0.03,
    "R": 0.02,
    "J": 0.015,
    "P": 0.01,
    "Q": 0.005,
    "A": 0.005,
    "N": 0.005,
    "D": 0.003,
    "B": 0.001,
    "S": 0.001,
    "T": 0.0,
}
LEGAL_FORM_SHARES = {
    "llc": 0.60,
    "llc_natural_sole": 0.16,
    "branch": 0.08,
    "sole_proprietorship": 0.06,
    "partnership": 0.05,
    "foreign_invested": 0.04,
    "joint_stock": 0.01,
}
# Risk effects (log-odds) per category: trade, catering and resident services
# carry more consumer-facing violations; finance, IT and R&D fewer.
INDUSTRY_RISK = {
    "F": 0.35,
    "L": 0.25,
    "H": 0.55,
    "O": 0.35,
    "E": 0.30,
    "K": 0.25,
    "G": 0.15,
    "C": 0.10,
    "R": 0.10,
    "J": 0.20,
    "I": -0.30,
    "M": -0.35,
    "P": 0.00,
    "Q": -0.10,
    "A": 0.0,
    "N": -0.2,
    "D": -0.4,
    "B": 0.1,
    "S": -0.5,
    "T": 0.0,
}
LEGAL_FORM_RISK = {
    "llc": 0.0,
    "llc_natural_sole": 0.25,
    "branch": -0.10,
    "sole_proprietorship": 0.30,
    "partnership": 0.20,
    "foreign_invested": -0.35,
    "joint_stock": -0.45,
}
DISTRICT_RISK = {
    "440306": 0.15,
    "440307": 0.10,
    "440305": -0.15,
    "440304": -0.05,
    "440309": 0.10,
    "440303": 0.05,
    "440311": 0.05,
    "440310": 0.0,
    "440308": -0.05,
}

# Unobserved parts of the latent risk (log-odds sd): the enterprise's own character and its legal
# representative's, shared by all their enterprises (seen only through what those enterprises do).
UNOBSERVED_SD = 0.45
PERSON_SD = 0.45

_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_NAME_CHARS = list(
    "华信达恒泰安盛鑫源博创联成宏兴海瑞鼎丰嘉和德润祥福金通天宇明辉星光智云科新启航远中凯峰"
    "立诚合聚隆锦绿康美乐家百利佳众益发展昌旺顺东南西北一品尚优享万千荣耀晨阳志诺腾飞卓越"
)
_INDUSTRY_WORDS = {
    "A": "农业",
    "B": "矿业",
    "C": "实业",
    "D": "能源",
    "E": "建设工程",
    "F": "贸易",
    "G": "物流",
    "H": "餐饮管理",
    "I": "信息技术",
    "J": "投资",
    "K": "置业",
    "L": "商务咨询",
    "M": "科技",
    "N": "环境工程",
    "O": "家政服务",
    "P": "教育咨询",
    "Q": "健康管理",
    "R": "文化传播",
    "S": "服务中心",
    "T": "代表处",
}
_FORM_SUFFIX = {
    "llc": "有限公司",
    "llc_natural_sole": "有限公司",
    "branch": "有限公司分公司",
    "sole_proprietorship": "商行（个人独资）",
    "partnership": "企业（有限合伙）",
    "foreign_invested": "有限公司",
    "joint_stock": "股份有限公司",
}


@dataclass
class Population:
    """Static attributes of every enterprise that ever exists in the simulation (arrays of length n)."""

    uscc: np.ndarray
    name: np.ndarray
    region: np.ndarray  # index into DISTRICT codes
    industry: np.ndarray  # index into INDUSTRY codes
    legal_form: np.ndarray
    scope: np.ndarray  # ';'-joined industry sections
    scope_breadth: np.ndarray
    established: np.ndarray  # day numbers
    size: np.ndarray  # latent size z ~ N(0, 1)
    registered_capital: np.ndarray
    paid_in_capital: np.ndarray  # NaN when not disclosed
    legal_rep: np.ndarray  # person index
    address: np.ndarray
    phone: np.ndarray
    agent: np.ndarray  # -1 when filed in person
    parent: np.ndarray  # enterprise index of a parent company, -1 if none
    false_reg: np.ndarray  # bool: the registration is false (truth only)
    base_risk: np.ndarray  # time-invariant part of the latent risk
    n_persons: int
    n_addresses: int

    @property
    def n(self) -> int:
        return len(self.uscc)


def _pick(rng: np.random.Generator, shares: dict[str, float], codes: list[str], n: int) -> np.ndarray:
    p = np.array([shares.get(c, 0.0) for c in codes], dtype=float)
    return rng.choice(len(codes), size=n, p=p / p.sum())


def _heavy_tail_groups(rng: np.random.Generator, n: int, solo_share: float, mean_group: float) -> np.ndarray:
    """Assign n members to groups: a share alone, the rest in Pareto-sized groups. Returns group ids 0..G-1."""
    solo = rng.random(n) < solo_share
    n_shared = int((~solo).sum())
    sizes = np.maximum(2, np.floor((rng.pareto(1.6, size=max(1, n_shared // 2)) + 1) * (mean_group / 2.6))).astype(int)
    slots = np.repeat(np.arange(len(sizes)), sizes)[:n_shared]
    rng.shuffle(slots)
    group = np.empty(n, dtype=np.int64)
    n_groups_shared = int(slots.max()) + 1 if n_shared else 0
    group[~solo] = slots
    group[solo] = n_groups_shared + np.arange(int(solo.sum()))
    return group


def _usccs(rng: np.random.Generator, region_codes: np.ndarray, established: np.ndarray) -> np.ndarray:
    """Unique, checksum-valid codes: 'MA'-style organisation codes after 2015, numeric ones before."""
    n = len(region_codes)
    serial = rng.choice(31**7, size=n, replace=False)
    digits = np.empty((n, 7), dtype=np.int64)
    rest = serial.copy()
    for i in range(6, -1, -1):
        digits[:, i] = rest % 31
        rest //= 31
    alphabet = np.array(list(_ALPHABET))
    modern = established >= days("2015-10-01")
    old_num = rng.choice(10**9, size=n, replace=False)
    codes = np.empty(n, dtype=object)
    tails = ["".join(r) for r in alphabet[digits]]
    for i in range(n):
        org = ("MA" + tails[i]) if modern[i] else f"{old_num[i]:09d}"
        partial = "91" + region_codes[i] + org
        codes[i] = partial + stdnum_uscc.calc_check_digit(partial)
    return codes.astype("U18")


def _names(rng: np.random.Generator, industry_codes: np.ndarray, form_codes: np.ndarray) -> np.ndarray:
    chars = np.array(_NAME_CHARS)
    n = len(industry_codes)
    first = chars[rng.integers(0, len(chars), n)]
    second = chars[rng.integers(0, len(chars), n)]
    third = np.where(rng.random(n) < 0.4, chars[rng.integers(0, len(chars), n)], "")
    word = np.array([_INDUSTRY_WORDS[c] for c in INDUSTRY_SECTIONS])[industry_codes]
    suffix = np.array([_FORM_SUFFIX[c] for c in LEGAL_FORMS])[form_codes]
    return np.char.add(np.char.add(np.char.add(np.char.add(np.char.add("深圳市", first), second), third), word), suffix)


def draw_population(
    rng: np.random.Generator, n: int, start_year: int, end_year: int, false_share: float = 0.022
) -> Population:
    """Draw n enterprises that exist at some time between start_year and end_year."""
    # Long (138 lines): one seeded sequence of draws defines the city; split, its order would be easy to break.
    district_codes = list(DISTRICTS)
    industry_codes = list(INDUSTRY_SECTIONS)
    form_codes = list(LEGAL_FORMS)
    start, end = year_start(start_year), year_start(end_year + 1) - 1

    # Establishment: about 45% registered during the window (Shenzhen registers
    # several hundred thousand a year), the rest older survivors.
    new = rng.random(n) < 0.45
    established = np.where(
        new,
        rng.integers(start, end + 1, n),
        start - 1 - np.minimum(np.floor(rng.exponential(6.5 * 365, n)), 40 * 365).astype(np.int64),
    )
    false_reg = np.zeros(n, dtype=bool)

    region = _pick(rng, DISTRICT_SHARES, district_codes, n)
    industry = _pick(rng, INDUSTRY_SHARES, industry_codes, n)
    legal_form = _pick(rng, LEGAL_FORM_SHARES, form_codes, n)
    size = rng.normal(0.0, 1.0, n)
    capital = 10 ** rng.normal(2.0 + 0.45 * size, 0.55)
    capital = np.round(np.clip(capital, 1.0, 5e6), 2)

    # People, addresses, phones and agents.
    legal_rep = _heavy_tail_groups(rng, n, solo_share=0.78, mean_group=3.0)
    address = _heavy_tail_groups(rng, n, solo_share=0.86, mean_group=4.0)
    n_agents = max(5, n // 250)
    agent_weights = rng.pareto(1.3, n_agents) + 1
    agent = np.where(rng.random(n) < 0.4, rng.choice(n_agents, n, p=agent_weights / agent_weights.sum()), -1)
    phone_kind = rng.random(n)
    phone = np.where(phone_kind < 0.72, legal_rep, np.where((phone_kind < 0.85) & (agent >= 0), -2 - agent, -1))

    # Group companies: 4% are subsidiaries of an older enterprise, usually with the same legal representative.
    parent = np.full(n, -1, dtype=np.int64)
    is_sub = rng.random(n) < 0.04
    sub_idx = np.flatnonzero(is_sub)
    candidates = rng.integers(0, n, len(sub_idx))
    ok = established[candidates] < established[sub_idx]
    parent[sub_idx[ok]] = candidates[ok]
    share_rep = ok & (rng.random(len(sub_idx)) < 0.6)
    legal_rep[sub_idx[share_rep]] = legal_rep[candidates[share_rep]]

    # False-registration rings: an agent, a cluster address, a few borrowed identities and a shared
    # phone. Rings differ in how visible they are (`visible`, uniform 0–1): a careless ring files within
    # weeks at one cluster address through one agent and one phone; a careful one spreads its filings
    # over up to 20 months, mostly borrows ordinary addresses and uses other agents and its members'
    # own phones. A ring is at most 0.1% of the register (8 to 200 enterprises): one agent's filings,
    # so a small city is not dominated by one ring.
    n_false = int(round(false_share * n))
    new_idx = np.flatnonzero(new & ~is_sub)
    rng.shuffle(new_idx)
    false_idx = new_idx[:n_false]
    false_reg[false_idx] = True
    n_persons = int(legal_rep.max()) + 1
    n_addresses = int(address.max()) + 1
    max_ring = int(np.clip(n // 1000, 8, 200))
    pos = 0
    ring = 0
    while pos < len(false_idx):
        k = int(min(len(false_idx) - pos, max(3, rng.pareto(1.2) * 6), max_ring))
        members = false_idx[pos : pos + k]
        pos += k
        visible = rng.random()
        spread = int(rng.choice([30, 60, 90]) + (1.0 - visible) * 540)
        t0 = rng.integers(start, max(start + 1, end - spread))
        established[members] = np.minimum(t0 + rng.integers(0, spread, k), end)
        ring_agent = rng.integers(0, n_agents)
        agent[members] = np.where(rng.random(k) < 0.45 + 0.4 * visible, ring_agent, agent[members])
        cluster = n_addresses + ring
        address[members] = np.where(rng.random(k) < 0.2 + 0.6 * visible, cluster, address[members])
        persons = n_persons + rng.integers(0, max(1, k // 4), k)
        legal_rep[members] = persons
        n_persons_added = int(persons.max()) + 1 - n_persons
        phone[members] = np.where(rng.random(k) < 0.2 + 0.5 * visible, -2 - ring_agent, persons)
        capital[members] = np.where(
            rng.random(k) < 0.5, rng.choice([10.0, 50.0, 100.0], k), rng.choice([500.0, 1000.0, 5000.0], k)
        )
        size[members] = rng.normal(-1.2, 0.5, k)
        industry[members] = rng.choice([industry_codes.index(c) for c in "FLMI"], k)
        n_persons += n_persons_added
        ring += 1
    n_addresses += ring

    # Genuine enterprises at business-secretary (cluster) addresses too: many
    # start-ups legally register at one, so the address alone is no proof.
    virtual = rng.random(n) < 0.05
    address[virtual & ~false_reg] = n_addresses - 1 - rng.integers(0, max(1, ring), int((virtual & ~false_reg).sum()))

    paid_kind = rng.random(n)
    paid_in = np.where(
        paid_kind < 0.42,
        0.0,
        np.where(
            paid_kind < 0.67,
            capital,
            np.where(paid_kind < 0.85, np.round(capital * rng.uniform(0.05, 0.95, n), 2), np.nan),
        ),
    )
    paid_in[false_reg] = np.where(rng.random(n_false) < 0.9, 0.0, np.nan)

    breadth = 1 + rng.poisson(np.where(false_reg, 4.0, 0.7))
    breadth = np.minimum(breadth, 12)
    scope = _scopes(rng, industry, breadth, industry_codes)

    base = (
        np.array([INDUSTRY_RISK[c] for c in industry_codes])[industry]
        + np.array([LEGAL_FORM_RISK[c] for c in form_codes])[legal_form]
        + np.array([DISTRICT_RISK[c] for c in district_codes])[region]
        - 0.30 * np.tanh(size)
        + 0.25 * (np.log10(capital) < 1.2)
        + rng.normal(0.0, UNOBSERVED_SD, n)  # the enterprise's own character, never on record
    )
    person_effect = rng.normal(0.0, PERSON_SD, n_persons)
    base = base + person_effect[legal_rep]
    has_parent = parent >= 0
    base[has_parent] = 0.6 * base[has_parent] + 0.4 * base[parent[has_parent]]

    region_code_str = np.array(district_codes)[region]
    uscc = _usccs(rng, region_code_str, established)
    names = _names(rng, industry, legal_form)
    return Population(
        uscc=uscc,
        name=names,
        region=region,
        industry=industry,
        legal_form=legal_form,
        scope=scope,
        scope_breadth=breadth,
        established=established.astype(np.int64),
        size=size,
        registered_capital=capital,
        paid_in_capital=paid_in,
        legal_rep=legal_rep,
        address=address,
        phone=phone,
        agent=agent,
        parent=parent,
        false_reg=false_reg,
        base_risk=base,
        n_persons=n_persons,
        n_addresses=n_addresses,
    )


def _scopes(rng: np.random.Generator, industry: np.ndarray, breadth: np.ndarray, codes: list[str]) -> np.ndarray:
    """Business scope as ';'-joined sections: the main section plus breadth-1 others."""
    n = len(industry)
    k = int(breadth.max())
    extra = rng.integers(0, len(codes) - 1, size=(n, k))
    table = np.array(codes)
    parts = np.empty((n, k), dtype="U1")
    parts[:, 0] = table[industry]
    for j in range(1, k):
        parts[:, j] = np.where(j < breadth, table[(industry + 1 + extra[:, j]) % len(codes)], "")
    joined = parts[:, 0].astype(object)
    for j in range(1, k):
        joined = np.where(parts[:, j] != "", joined + ";" + parts[:, j].astype(object), joined)
    # Duplicate sections can appear when draws collide; keep each once, in order.
    return np.array([";".join(dict.fromkeys(s.split(";"))) for s in joined], dtype=object)
