"""The city's dated history, simulated one year at a time.

Each year starts from what is on record (penalties, listings, complaints, court
cases, reports...), turns it into every enterprise's latent risk for the year,
and draws the year's events from that risk. The true probability that an
inspection finds a problem is a function of the same latent risk, so the
record carries the signal — spread across many tables, with interactions,
noise and missing values — and part of the risk is never observed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from creditgrade.features import contract as C
from creditgrade.features.city.calendar import NO_DAY, days, year_start
from creditgrade.features.city.events import EventLog
from creditgrade.features.city.population import Population

STATUS_CODES = list(C.ENTERPRISE_STATUSES)
TAX_CODES = list(C.TAX_GRADES)
INDUSTRY_CODES = list(C.INDUSTRY_SECTIONS)
CONSUMER_FACING = np.array([c in "FHOPQRK" for c in INDUSTRY_CODES])
HAZARDOUS = np.array([c in "BCDEG" for c in INDUSTRY_CODES])

# Calibrated so that a uniform random draw finds problems in about 20% of
# enterprises (DOMAIN.md: one district's spot checks found about 20%).
PROBLEM_INTERCEPT = -2.6
PROBLEM_SCALE = 1.25
FALSE_REG_PROBLEM = 0.92
# How strongly last years' record feeds this year's risk, and its ceiling: the
# record is self-exciting (a listed firm gets checked, penalised, listed again)
# but must stay stationary, as a real city's rates are.
RECORD_GAIN = 0.6
RECORD_CAP = 2.0
REVOKE_RATE = 0.6  # a year, for enterprises long unreachable or on the serious list
# This year's shock to the latent risk: AR(1), never on record until it shows in events.
SHOCK_AR = 0.55
SHOCK_SD = 0.28


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


@dataclass
class YearBuffer:
    """Rows produced during one simulated year, per table, before the year is closed."""

    tables: dict[str, list[dict[str, np.ndarray]]] = field(default_factory=dict)

    def add(self, name: str, **columns: np.ndarray) -> None:
        self.tables.setdefault(name, []).append(columns)

    def merged(self, name: str) -> dict[str, np.ndarray] | None:
        parts = self.tables.get(name)
        if not parts:
            return None
        return {k: np.concatenate([np.asarray(p[k]) for p in parts]) for k in parts[0]}


class CitySimulator:
    """Holds the evolving state of every enterprise; `run_year` appends one year of records."""

    def __init__(self, pop: Population, rng: np.random.Generator, first_year: int, end_day: int):
        self.pop = pop
        self.first_year = first_year  # enterprises alive then are survivors: none closes during the burn-in
        self.rng = rng
        self.end = end_day
        n = pop.n
        self.n = n
        self.closed = np.full(n, NO_DAY, dtype=np.int64)
        self.status = np.zeros(n, dtype=np.int64)
        self.shock = rng.normal(0.0, SHOCK_SD / np.sqrt(1 - SHOCK_AR**2), n)
        self.logs = {
            k: EventLog()
            for k in (
                "penalty",
                "penalty_serious",
                "complaint",
                "case_lost",
                "change",
                "missed_report",
                "late_report",
                "defaulter",
                "abnormal",
                "abnormal_entry",
                "unreachable",
                "serious",
                "freeze",
                "pledge",
                "mortgage_enforced",
                "award",
                "broken_commitment",
                "severe",
                "check_problem",
            )
        }
        self.tax_last = np.full(n, -1, dtype=np.int64)
        self.leverage = np.full(n, np.nan)
        self.loss = np.zeros(n, dtype=bool)
        self.insured_zero = np.zeros(n, dtype=bool)
        self.licence_expiry = np.full(n, NO_DAY, dtype=np.int64)
        self.licence_kind = np.full(n, -1, dtype=np.int64)
        self._seq: dict[str, int] = {}
        self._year_risk = np.zeros(n)
        self.pending_serious: list[tuple[np.ndarray, np.ndarray]] = []
        self._pending_licence_revocations: list[tuple[np.ndarray, np.ndarray]] = []
        self._substantiated = (np.empty(0, np.int64), np.empty(0, np.int64))

    # -- helpers -------------------------------------------------------------

    def ids(self, prefix: str, k: int, year: int) -> np.ndarray:
        start = self._seq.get(prefix, 0)
        self._seq[prefix] = start + k
        if k == 0:
            return np.empty(0, dtype=object)
        seq = np.char.zfill(np.arange(start, start + k).astype(str), 8)
        return np.char.add(f"{prefix}{year}", seq).astype(object)

    def uscc(self, ent: np.ndarray) -> np.ndarray:
        return self.pop.uscc[ent]

    def sample_events(
        self, ent: np.ndarray, rate: np.ndarray, lo: np.ndarray, hi: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Poisson events at `rate` a year over each enterprise's window [lo, hi]; returns (enterprise, day)."""
        span = np.maximum(hi - lo + 1, 0)
        counts = self.rng.poisson(rate * span / 365.0)
        e = np.repeat(ent, counts)
        d = np.repeat(lo, counts) + np.floor(self.rng.random(e.size) * np.repeat(span, counts)).astype(np.int64)
        order = np.lexsort((e, d))
        return e[order], d[order]

    def window(self, ys: int, ye: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Enterprises alive at some time in [ys, ye] and their own window within it."""
        est = self.pop.established
        ent = np.flatnonzero((est <= ye) & (self.closed > ys))
        lo = np.maximum(est[ent], ys)
        hi = np.minimum(self.closed[ent] - 1, ye)
        return ent, lo, hi

    # -- the latent risk -----------------------------------------------------

    def observable_risk(self, ys: int) -> np.ndarray:
        """Log-odds contribution of the enterprise's record on 1 January (all of it public)."""
        # Long (73 lines): a simulator step; its random draws must stay in this order for the city to be reproducible.
        n, L, p = self.n, self.logs, self.pop
        y1, y2, y3 = ys - 365, ys - 730, ys - 1095
        pen2 = L["penalty"].count(n, y2, ys)
        serious3 = L["penalty_serious"].count(n, y3, ys) > 0
        abn = L["abnormal"].active(n, ys)
        abn_entries = L["abnormal_entry"].count(n, y3, ys)
        unreach = L["unreachable"].active(n, ys)
        serious = L["serious"].active(n, ys)
        compl1 = L["complaint"].count(n, y1, ys)
        compl3 = L["complaint"].count(n, y3, ys)
        missed = L["missed_report"].count(n, y2, ys)
        late = L["late_report"].count(n, y2, ys)
        lost = L["case_lost"].count(n, y2, ys)
        defaulter = L["defaulter"].active(n, ys)
        changes = L["change"].count(n, y2, ys)
        freeze = L["freeze"].active(n, ys)
        pledge = L["pledge"].active(n, ys)
        enforced = L["mortgage_enforced"].count(n, y2, ys) > 0
        awards = L["award"].count(n, y3, ys)
        broken = L["broken_commitment"].count(n, y3, ys) > 0
        severe = L["severe"].count(n, y2, ys) > 0
        problem = L["check_problem"].count(n, y2, ys) > 0
        tax_effect = np.array([-0.35, 0.0, 0.15, 0.45, 0.8, 0.0])[self.tax_last]  # A B M C D, -1 → none

        alive = (p.established < ys) & (self.closed > ys)
        negative = (abn | serious | defaulter) & alive
        by_person = np.bincount(p.legal_rep, weights=negative, minlength=p.n_persons)
        related = by_person[p.legal_rep] - negative
        has_parent = p.parent >= 0
        parent_negative = np.zeros(n, dtype=bool)
        parent_negative[has_parent] = negative[p.parent[has_parent]]
        per_address = np.bincount(p.address, weights=alive, minlength=p.n_addresses)[p.address]

        age = (ys - p.established) / 365.25
        young_zero_paid = (age < 2) & (p.paid_in_capital == 0)
        small = p.size < -0.5
        lev = np.nan_to_num(self.leverage, nan=0.6)
        return (
            0.55 * np.log1p(pen2)
            + 0.35 * serious3
            + 0.65 * abn
            + 0.25 * np.log1p(abn_entries)
            + 0.55 * unreach
            + 0.7 * serious
            + 0.35 * np.log1p(compl1)
            + 0.15 * np.log1p(compl3)
            + 0.25 * small * np.log1p(compl1)
            + 0.45 * np.minimum(missed, 2)
            + 0.2 * np.minimum(late, 2)
            + 0.35 * np.log1p(lost)
            + 0.55 * defaulter
            + tax_effect
            + 0.25 * np.log1p(changes)
            + 0.4 * freeze
            + 0.15 * pledge
            + 0.5 * enforced
            - 0.35 * np.log1p(awards)
            + 0.45 * broken
            + 0.6 * severe
            + 0.4 * problem
            + 0.3 * np.log1p(related)
            + 0.35 * parent_negative
            + 0.15 * (per_address > 20)
            + np.select([age < 1, age < 3, age > 15], [0.35, 0.15, -0.2], 0.0)
            + 0.2 * young_zero_paid
            + 0.4 * (lev > 1.0)
            + 0.15 * self.loss
            + 0.25 * (lev > 1.0) * (lost > 0)
            + 0.2 * self.insured_zero
            + 0.3 * ((self.licence_expiry < ys) & (self.licence_kind >= 0))
        )

    # -- one year ------------------------------------------------------------

    def run_year(self, year: int) -> tuple[YearBuffer, dict[str, np.ndarray]]:
        """Simulate one calendar year; returns its records and the truth for the enterprises alive in it."""
        ys, ye = year_start(year), min(year_start(year + 1) - 1, self.end)
        buf = YearBuffer()
        self.shock = SHOCK_AR * self.shock + self.rng.normal(0.0, SHOCK_SD, self.n)
        record = RECORD_CAP * np.tanh(RECORD_GAIN * self.observable_risk(ys) / RECORD_CAP)
        risk = self.pop.base_risk + record + self.shock
        self._year_risk = risk
        p_problem = sigmoid(PROBLEM_INTERCEPT + PROBLEM_SCALE * risk)
        p_problem[self.pop.false_reg] = FALSE_REG_PROBLEM

        if year >= self.first_year:
            self.closures(ys, ye, risk)
        ent, lo, hi = self.window(ys, ye)
        truth = {"ent": ent, "year": np.full(ent.size, year), "p_problem": p_problem[ent]}

        r = risk[ent]
        self.annual_reports(year, ent, r, buf)
        self.tax_grades(year, ent, r, buf)
        self.unreachable(ent, lo, hi, r, buf, year)
        self.penalties(ent, lo, hi, r, buf, year)
        self.complaints_and_cases(ent, lo, hi, r, buf, year)
        self.registration_changes(ent, lo, hi, r, buf, year)
        self.licences(ent, lo, hi, r, buf, year)
        self.finance_records(ent, lo, hi, r, buf, year)
        self.awards_and_severe(ent, lo, hi, r, buf, year)
        self.spot_checks(year, p_problem, buf)
        self.serious_transfers(ys, ye, buf, year)
        self.finish_year(buf, ys)
        return buf, truth

    def closures(self, ys: int, ye: int, risk: np.ndarray) -> None:
        """Deregistrations, and revocations of enterprises long unreachable or on the serious list."""
        p, rng, n = self.pop, self.rng, self.n
        alive = (p.established < ys) & (self.closed > ys)
        listed = self.logs["abnormal"].active(n, ys) | self.logs["serious"].active(n, ys)
        hazard = 0.045 * np.exp(-0.35 * p.size) * np.where((ys - p.established) < 730, 1.3, 1.0)
        dereg = alive & ~listed & ~p.false_reg & (rng.random(n) < hazard)
        long_unreach = self.logs["unreachable"].started_before(n, ys, ys - 730) < NO_DAY
        # Enterprises unreachable for two years or on the serious list (three years on the abnormal list
        # without remedy) have mostly stopped operating: most are revoked within a year or two.
        revoke = alive & (long_unreach | self.logs["serious"].active(n, ys)) & (rng.random(n) < REVOKE_RATE)
        struck = alive & ~dereg & ~revoke & (rng.random(n) < 0.001 * np.exp(risk))
        for mask, code in ((dereg, "deregistered"), (revoke & ~dereg, "revoked"), (struck, "struck_off")):
            idx = np.flatnonzero(mask & (self.closed == NO_DAY))
            self.closed[idx] = ys + rng.integers(0, ye - ys + 1, idx.size)
            self.status[idx] = STATUS_CODES.index(code)

    def annual_reports(self, year: int, ent: np.ndarray, r: np.ndarray, buf: YearBuffer) -> None:
        """Reports on year-1, due 30 June; a missing one puts the enterprise on the abnormal list."""
        # Long (62 lines): a simulator step; its random draws must stay in this order for the city to be reproducible.
        p, rng = self.pop, self.rng
        ys = year_start(year)
        due = days(f"{year}-06-30")
        m = (p.established[ent] < ys) & (self.closed[ent] > due)
        e, r = ent[m], r[m]
        k = e.size
        fr = p.false_reg[e]
        on_time = rng.random(k) < np.where(fr, 0.15, sigmoid(2.9 - 0.85 * r))
        late = ~on_time & (rng.random(k) < np.where(fr, 0.05, 0.35))
        filed_day = np.where(
            on_time,
            ys + rng.integers(0, 181, k),
            np.where(late, due + 1 + rng.exponential(80, k).astype(np.int64), NO_DAY),
        )
        filed_day = np.where(filed_day > self.end, NO_DAY, filed_day)
        filed = filed_day != NO_DAY

        z = p.size[e]
        employees = np.maximum(np.round(np.exp(0.9 + 1.25 * z + rng.normal(0, 0.45, k))) - 1, 0)
        insured = rng.binomial(employees.astype(np.int64), sigmoid(1.6 - 0.9 * r))
        revenue = np.where(rng.random(k) < 0.08, 0.0, np.round(10 ** (1.6 + 0.9 * z + rng.normal(0, 0.45, k)), 2))
        margin = rng.normal(0.04 - 0.05 * r, 0.12)
        profit = np.round(revenue * margin, 2)
        assets = np.round(np.maximum(revenue, 1.0) * 10 ** rng.normal(0.0, 0.35, k), 2)
        leverage = 1.7 * sigmoid(-0.6 + 0.55 * r + rng.normal(0, 0.9, k))
        liabilities = np.round(assets * leverage, 2)
        # A ring of false registrations files identical empty reports.
        employees[fr], insured[fr], revenue[fr], profit[fr], assets[fr], liabilities[fr] = 0, 0, 0.0, 0.0, 0.0, 0.0
        undisclosed = ~fr & (rng.random(k) < 0.18)
        f = lambda v: np.where(filed & ~undisclosed, v, np.nan)  # noqa: E731
        i = lambda v: np.where(filed & ~(rng.random(k) < 0.05), v, np.nan)  # noqa: E731
        buf.add(
            "annual_reports",
            uscc=self.uscc(e),
            report_year=np.full(k, year - 1),
            filed=filed.astype(np.int8),
            filed_date=filed_day,
            filed_on_time=on_time.astype(np.int8),
            employees=i(employees),
            insured_headcount=i(insured),
            revenue=f(revenue),
            profit=f(profit),
            total_assets=f(assets),
            total_liabilities=f(liabilities),
        )

        fe = e[filed]
        self.leverage[fe] = np.where(undisclosed[filed], np.nan, leverage[filed])
        self.loss[fe] = profit[filed] < 0
        self.insured_zero[fe] = (insured[filed] == 0) & (employees[filed] > 0)
        self.logs["missed_report"].add(e[~filed], due)
        self.logs["late_report"].add(e[late & filed], due)

        # Not filed by the deadline: listed in early July; removed when filed late.
        listed = ~on_time
        le = e[listed]
        entry = due + 1 + rng.integers(0, 15, le.size)
        exit_day = np.where(filed[listed], np.maximum(filed_day[listed], entry) + rng.integers(1, 10, le.size), NO_DAY)
        exit_day = np.where(exit_day > self.end, NO_DAY, exit_day)
        self.abnormal_entries(le, entry, "no_annual_report", exit_day, buf, year)

    def abnormal_entries(
        self, e: np.ndarray, entry: np.ndarray, reason: str, exit_day: np.ndarray, buf: YearBuffer, year: int
    ) -> None:
        """Listings on the abnormal-operation list.

        A listing still open after three years moves to the serious violation list
        (decided here, written in the year it happens); some remedied exits come
        with a credit-repair record.
        """
        keep = entry <= np.minimum(self.end, self.closed[e] - 1)
        e, entry, exit_day = e[keep], entry[keep], exit_day[keep]
        k = e.size
        moved_day = entry + 3 * 365
        moved = (exit_day == NO_DAY) & (moved_day <= self.end)
        exit_day = np.where(moved, moved_day, exit_day)
        exit_reason = np.where(moved, "moved_to_serious", np.where(exit_day == NO_DAY, None, "remedied")).astype(object)
        rid = self.ids("ABN", k, year)
        buf.add(
            "abnormal_list",
            record_id=rid,
            uscc=self.uscc(e),
            entry_date=entry,
            entry_reason=np.full(k, reason, dtype=object),
            exit_date=exit_day,
            exit_reason=exit_reason,
        )
        self.logs["abnormal"].add(e, entry, exit_day)
        self.logs["abnormal_entry"].add(e, entry, exit_day)
        if reason == "unreachable":
            self.logs["unreachable"].add(e, entry, exit_day)
        remedied = (exit_day != NO_DAY) & ~moved
        repaired = remedied & (self.rng.random(k) < 0.5)
        self.repairs("abnormal_list", e[repaired], rid[repaired], exit_day[repaired], buf, year)
        self.pending_serious.append((e[moved], moved_day[moved]))

    def repairs(
        self, table: str, e: np.ndarray, record_ids: np.ndarray, day: np.ndarray, buf: YearBuffer, year: int
    ) -> None:
        keep = day <= self.end
        e, record_ids, day = e[keep], record_ids[keep], day[keep]
        k = e.size
        buf.add(
            "credit_repairs",
            repair_id=self.ids("REP", k, year),
            uscc=self.uscc(e),
            repaired_table=np.full(k, table, dtype=object),
            repaired_record_id=record_ids,
            repair_date=day,
        )
        # A repair is usually preceded by a credit commitment (信用修复承诺).
        self.commitments(e, day - self.rng.integers(5, 30, k), "credit_repair", buf, year)

    def serious_transfers(self, ys: int, ye: int, buf: YearBuffer, year: int) -> None:
        """Abnormal listings that reach three years this year move to the serious list."""
        if not self.pending_serious:
            return
        e, due = (np.concatenate(a) for a in zip(*self.pending_serious))
        now = (due >= ys) & (due <= ye)
        self.pending_serious = [(e[due > ye], due[due > ye])]
        self.serious_entries(e[now], due[now], "abnormal_three_years", buf, year)

    def serious_entries(self, e: np.ndarray, day: np.ndarray, reason: str, buf: YearBuffer, year: int) -> None:
        k = e.size
        exit_day = np.where(self.rng.random(k) < 0.25, day + self.rng.integers(180, 900, k), NO_DAY)
        exit_day = np.where(exit_day > self.end, NO_DAY, exit_day)
        sid = self.ids("SER", k, year)
        buf.add(
            "serious_violations",
            record_id=sid,
            uscc=self.uscc(e),
            entry_date=day,
            reason=np.full(k, reason, dtype=object),
            exit_date=exit_day,
        )
        self.logs["serious"].add(e, day, exit_day)
        early = exit_day != NO_DAY
        self.repairs("serious_violations", e[early], sid[early], exit_day[early], buf, year)

    def tax_grades(self, year: int, ent: np.ndarray, r: np.ndarray, buf: YearBuffer) -> None:
        """Grades for year-1, published in April."""
        p, rng = self.pop, self.rng
        ys = year_start(year)
        pub = days(f"{year}-04-15")
        m = (p.established[ent] < ys) & (self.closed[ent] > pub)
        e, r = ent[m], r[m]
        k = e.size
        score = 86 - 9.0 * r + 3.0 * p.size[e] + rng.normal(0, 7, k)
        grade = np.select([score >= 90, score >= 70, score >= 40], [0, 1, 3], 4)
        new_or_idle = (p.established[e] >= ys - 365) | (rng.random(k) < 0.12 * (p.size[e] < -0.8))
        grade = np.where(new_or_idle, 2, grade)
        self.tax_last[e] = grade
        buf.add(
            "tax_credit",
            uscc=self.uscc(e),
            tax_year=np.full(k, year - 1),
            grade=np.array(TAX_CODES, dtype=object)[grade],
            published_date=np.full(k, pub),
        )

    def unreachable(self, ent, lo, hi, r, buf, year) -> None:
        p = self.pop
        rate = np.where(p.false_reg[ent], 0.55, 0.012 * np.exp(0.9 * r))
        e, d = self.sample_events(ent, rate, np.maximum(lo, p.established[ent] + 60), hi)
        e, first = np.unique(e, return_index=True)
        d = d[first]
        exit_day = np.where(
            self.rng.random(e.size) < 0.3, d + self.rng.exponential(200, e.size).astype(np.int64), NO_DAY
        )
        exit_day = np.where(exit_day > self.end, NO_DAY, exit_day)
        self.abnormal_entries(e, d, "unreachable", exit_day, buf, year)

    def penalties(self, ent, lo, hi, r, buf, year, forced: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        p, rng = self.pop, self.rng
        if forced is None:
            mult = np.where(CONSUMER_FACING[p.industry[ent]], 1.4, 0.8)
            e, d = self.sample_events(ent, 0.013 * mult * np.exp(0.9 * r), lo, hi)
            risk_e = self._risk_of(e)
        else:
            e, d = forced
            risk_e = self._risk_of(e)
        k = e.size
        u = rng.random(k)
        sev = np.where(u < sigmoid(-3.0 + 0.8 * risk_e), 2, np.where(u < 0.62, 1, 0))
        ptype = np.select(
            [sev == 0, sev == 1],
            [
                rng.choice(["warning", "fine"], k, p=[0.55, 0.45]),
                rng.choice(["fine", "confiscation", "licence_suspension"], k, p=[0.8, 0.15, 0.05]),
            ],
            rng.choice(["fine", "licence_revocation", "business_suspension"], k, p=[0.6, 0.25, 0.15]),
        )
        amount = np.where(ptype == "warning", np.nan, np.round(10 ** rng.normal(3.6 + 0.6 * sev, 0.6), 2))
        pid = self.ids("PEN", k, year)
        buf.add(
            "penalties",
            penalty_id=pid,
            uscc=self.uscc(e),
            decision_date=d,
            penalty_type=ptype.astype(object),
            severity=np.array(["minor", "general", "serious"], dtype=object)[sev],
            amount=amount,
        )
        # Credit repair after the minimum publicity period: 3 months (minor), 1 year (general).
        repair_p = np.array([0.45, 0.25, 0.0])[sev]
        delay = np.where(sev == 0, rng.integers(90, 400, k), rng.integers(365, 800, k))
        repaired = rng.random(k) < repair_p
        until = np.where(repaired, d + delay, NO_DAY)
        self.logs["penalty"].add(e, d, np.where(until > self.end, NO_DAY, until), np.array([0.5, 1.0, 2.0])[sev])
        self.logs["penalty_serious"].add(e[sev == 2], d[sev == 2])
        self.repairs("penalties", e[repaired], pid[repaired], until[repaired], buf, year)
        # Licence revocations and suspensions of business follow from the penalty.
        stop = (ptype == "business_suspension") & (rng.random(k) < 0.3) & (d < self.end)
        idx, day = e[stop], d[stop] + 1
        fresh = self.closed[idx] > day
        self.closed[idx[fresh]] = day[fresh]
        self.status[idx[fresh]] = STATUS_CODES.index("suspended")
        self._pending_licence_revocations.append((e[ptype == "licence_revocation"], d[ptype == "licence_revocation"]))

    def _risk_of(self, e: np.ndarray) -> np.ndarray:
        return self._year_risk[e]

    def complaints_and_cases(self, ent, lo, hi, r, buf, year) -> None:
        # Long (85 lines): a simulator step; its random draws must stay in this order for the city to be reproducible.
        p, rng = self.pop, self.rng
        z = p.size[ent]
        mult = np.where(CONSUMER_FACING[p.industry[ent]], 2.0, 0.5)
        e, d = self.sample_events(ent, 0.05 * mult * np.exp(0.6 * r + 0.5 * z), lo, hi)
        k = e.size
        subst = rng.random(k) < sigmoid(-0.7 + 0.5 * self._risk_of(e))
        resolved = d + rng.integers(15, 90, k)
        settled = resolved <= self.end
        category = np.where(
            CONSUMER_FACING[p.industry[e]],
            rng.choice(list(C.COMPLAINT_CATEGORIES), k, p=[0.3, 0.2, 0.1, 0.1, 0.15, 0.15]),
            rng.choice(["quality", "contract", "advertising", "price"], k, p=[0.3, 0.5, 0.1, 0.1]),
        )
        cid = self.ids("CMP", k, year)
        buf.add(
            "complaints",
            complaint_id=cid,
            uscc=self.uscc(e),
            received_date=d,
            channel=rng.choice(list(C.COMPLAINT_CHANNELS), k, p=[0.55, 0.25, 0.15, 0.05]).astype(object),
            category=category.astype(object),
            resolved_date=np.where(settled, resolved, NO_DAY),
            substantiated=np.where(settled, subst, -1).astype(np.int8),
        )
        self.logs["complaint"].add(e, d, weight=np.where(subst, 1.0, 0.3))
        self._substantiated = (e[subst & settled], resolved[subst & settled])

        # Court cases: as defendant (risk-driven) and as plaintiff (size-driven).
        ed, dd = self.sample_events(ent, 0.028 * np.exp(0.5 * r + 0.45 * z), lo, hi)
        ep, dp = self.sample_events(ent, 0.02 * np.exp(0.45 * z), lo, hi)
        e = np.concatenate([ed, ep])
        d = np.concatenate([dd, dp])
        defendant = np.arange(e.size) < ed.size
        k = e.size
        judged = d + rng.integers(90, 420, k)
        pending = judged > self.end
        lost = np.where(defendant, rng.random(k) < sigmoid(-0.2 + 0.6 * self._risk_of(e)), rng.random(k) < 0.3)
        case_id = self.ids("CASE", k, year)
        buf.add(
            "court_cases",
            case_id=case_id,
            uscc=self.uscc(e),
            filing_date=d,
            role=np.where(defendant, "defendant", "plaintiff").astype(object),
            case_type=rng.choice(list(C.CASE_TYPES), k, p=[0.5, 0.2, 0.15, 0.05, 0.1]).astype(object),
            amount=np.round(10 ** rng.normal(1.3 + 0.3 * p.size[e], 0.7), 2),
            judgment_date=np.where(pending, NO_DAY, judged),
            lost=np.where(pending, -1, lost).astype(np.int8),
        )
        dl = defendant & lost & ~pending
        self.logs["case_lost"].add(e[dl], judged[dl])
        # Judgment defaulters and judicial freezes follow some lost cases.
        de, dj = e[dl], judged[dl]
        listed = rng.random(de.size) < sigmoid(-2.0 + 0.8 * self._risk_of(de))
        le, ld = de[listed], dj[listed] + rng.integers(30, 180, int(listed.sum()))
        keep = ld <= self.end  # courts list defaulters even after the enterprise has closed
        le, ld = le[keep], ld[keep]
        removed = np.where(rng.random(le.size) < 0.6, ld + rng.exponential(300, le.size).astype(np.int64), NO_DAY)
        removed = np.where(removed > self.end, NO_DAY, removed)
        buf.add(
            "judgment_defaulters",
            record_id=self.ids("DEF", le.size, year),
            uscc=self.uscc(le),
            listed_date=ld,
            removed_date=removed,
            amount=np.round(10 ** rng.normal(1.2, 0.6, le.size), 2),
        )
        self.logs["defaulter"].add(le, ld, removed)
        fz = rng.random(de.size) < 0.2
        fe, fd = de[fz], dj[fz] + rng.integers(0, 60, int(fz.sum()))
        keep = fd <= self.end
        fe, fd = fe[keep], fd[keep]
        rel = np.where(rng.random(fe.size) < 0.5, fd + rng.exponential(365, fe.size).astype(np.int64), NO_DAY)
        rel = np.where(rel > self.end, NO_DAY, rel)
        buf.add(
            "equity_pledges",
            record_id=self.ids("FRZ", fe.size, year),
            uscc=self.uscc(fe),
            kind=np.full(fe.size, "freeze", dtype=object),
            registered_date=fd,
            released_date=rel,
            amount=np.round(10 ** rng.normal(1.5, 0.6, fe.size), 2),
        )
        self.logs["freeze"].add(fe, fd, rel)

    def registration_changes(self, ent, lo, hi, r, buf, year) -> None:
        p, rng = self.pop, self.rng
        rates = {
            "legal_rep": 0.05 * np.exp(0.35 * r),
            "address": 0.07 * np.exp(0.3 * r),
            "scope": np.full(r.shape, 0.06),
            "registered_capital": np.full(r.shape, 0.04),
            "name": np.full(r.shape, 0.015),
            "shareholder": 0.05 * np.exp(0.2 * r),
        }
        es, ds, ts = [], [], []
        for kind, rate in rates.items():
            e, d = self.sample_events(ent, rate, lo, hi)
            es.append(e), ds.append(d), ts.append(np.full(e.size, kind, dtype=object))
        # Shell companies change representative or address soon after registration.
        fr = ent[p.false_reg[ent] & (p.established[ent] >= lo)]
        quick = fr[rng.random(fr.size) < 0.45]
        qd = p.established[quick] + rng.integers(10, 90, quick.size)
        ok = qd <= np.minimum(self.end, year_start(year + 1) - 1)
        es.append(quick[ok]), ds.append(qd[ok])
        ts.append(rng.choice(["legal_rep", "address"], int(ok.sum())).astype(object))
        e, d, t = np.concatenate(es), np.concatenate(ds), np.concatenate(ts)
        buf.add(
            "registration_changes",
            change_id=self.ids("CHG", e.size, year),
            uscc=self.uscc(e),
            change_date=d,
            change_type=t,
        )
        m = (t == "legal_rep") | (t == "address")
        self.logs["change"].add(e[m], d[m])

    def licences(self, ent, lo, hi, r, buf, year) -> None:
        """Licences at registration (or, for older firms, already held in the first year) and renewals."""
        # Long (66 lines): a simulator step; its random draws must stay in this order for the city to be reproducible.
        p, rng = self.pop, self.rng
        ind = np.array(INDUSTRY_CODES)[p.industry[ent]]
        needs = np.isin(ind, list("HCEGQ")) | (np.isin(ind, ["F"]) & (rng.random(ent.size) < 0.35))
        first_year = (self.licence_kind[ent] < 0) & needs
        kind_by_industry = {
            "H": "food_business",
            "C": "industrial_product",
            "E": "construction",
            "G": "transport",
            "Q": "medical_device",
            "F": "food_business",
        }
        kinds = np.array([kind_by_industry.get(c, "other") for c in ind], dtype=object)
        alt = rng.random(ent.size)
        kinds = np.where((ind == "F") & (alt < 0.25), "drug_retail", kinds)
        kinds = np.where((ind == "C") & (alt < 0.3), "food_production", kinds)
        kinds = np.where((ind == "C") & (alt > 0.85), "special_equipment", kinds)
        kinds = np.where((ind == "F") & (alt > 0.92), "hazardous_chemicals", kinds)
        issue = np.where(
            p.established[ent] >= year_start(year),
            p.established[ent] + rng.integers(5, 60, ent.size),
            lo - rng.integers(0, 5 * 365, ent.size),
        )
        e, k_, iss = ent[first_year], kinds[first_year], issue[first_year]
        # Renewals of licences expiring this year, less likely for risky enterprises.
        exp_e = ent[(self.licence_expiry[ent] >= lo) & (self.licence_expiry[ent] <= hi)]
        renew = rng.random(exp_e.size) < sigmoid(2.0 - 0.6 * self._risk_of(exp_e))
        re = exp_e[renew]
        e = np.concatenate([e, re])
        k_ = np.concatenate([k_, np.array(list(C.LICENCE_TYPES), dtype=object)[np.maximum(self.licence_kind[re], 0)]])
        iss = np.concatenate([iss, self.licence_expiry[re] - rng.integers(0, 30, re.size)])
        keep = iss <= np.minimum(self.end, self.closed[e] - 1)
        e, k_, iss = e[keep], k_[keep], iss[keep]
        expiry = iss + 5 * 365
        lid = self.ids("LIC", e.size, year)
        revoked = np.full(e.size, NO_DAY, dtype=np.int64)
        if self._pending_licence_revocations:
            pe, pd = (np.concatenate(a) for a in zip(*self._pending_licence_revocations))
            last = np.full(self.n, NO_DAY, dtype=np.int64)
            np.minimum.at(last, pe, pd)
            hit = (last[e] >= iss) & (last[e] < expiry)
            revoked[hit] = last[e][hit]
            self._pending_licence_revocations = []
        buf.add(
            "licences",
            licence_id=lid,
            uscc=self.uscc(e),
            licence_type=k_,
            issue_date=iss,
            expiry_date=expiry,
            revoked_date=revoked,
        )
        self.licence_expiry[e] = np.where(revoked != NO_DAY, revoked, expiry)
        self.licence_kind[e] = (
            np.array([list(C.LICENCE_TYPES).index(x) for x in k_], dtype=np.int64) if e.size else self.licence_kind[e]
        )
        lic_commit = rng.random(e.size) < 0.4
        self.commitments(
            e[lic_commit],
            iss[lic_commit] - rng.integers(1, 20, int(lic_commit.sum())),
            "licence_application",
            buf,
            year,
        )

    def commitments(self, e: np.ndarray, day: np.ndarray, matter: str, buf: YearBuffer, year: int) -> None:
        rng = self.rng
        k = e.size
        due = day + rng.integers(90, 365, k)
        verified = due + rng.integers(10, 60, k)
        verified = np.where(verified > self.end, NO_DAY, verified)
        kept = rng.random(k) < sigmoid(2.3 - 0.8 * self._risk_of(e))
        buf.add(
            "credit_commitments",
            commitment_id=self.ids("COM", k, year),
            uscc=self.uscc(e),
            commitment_date=day,
            matter=np.full(k, matter, dtype=object),
            due_date=due,
            verified_date=verified,
            kept=np.where(verified == NO_DAY, -1, kept).astype(np.int8),
        )
        broken = (verified != NO_DAY) & ~kept
        self.logs["broken_commitment"].add(e[broken], verified[broken])

    def finance_records(self, ent, lo, hi, r, buf, year) -> None:
        """Equity pledges and chattel mortgages (size-driven); enforcement of mortgages is risk-driven."""
        p, rng = self.pop, self.rng
        z = p.size[ent]
        corp = np.isin(
            np.array(list(C.LEGAL_FORMS))[p.legal_form[ent]],
            ["llc", "llc_natural_sole", "joint_stock", "foreign_invested"],
        )
        e, d = self.sample_events(ent, 0.012 * corp * np.exp(0.5 * z + 0.1 * r), lo, hi)
        rel = np.where(rng.random(e.size) < 0.7, d + rng.integers(120, 1100, e.size), NO_DAY)
        rel = np.where(rel > self.end, NO_DAY, rel)
        buf.add(
            "equity_pledges",
            record_id=self.ids("PLG", e.size, year),
            uscc=self.uscc(e),
            kind=np.full(e.size, "pledge", dtype=object),
            registered_date=d,
            released_date=rel,
            amount=np.round(10 ** rng.normal(2.0 + 0.4 * p.size[e], 0.5), 2),
        )
        self.logs["pledge"].add(e, d, rel)

        e, d = self.sample_events(ent, 0.02 * np.exp(0.6 * z), lo, hi)
        k = e.size
        bank = rng.random(k) < 0.7
        enforced = np.where(
            rng.random(k) < sigmoid(-3.0 + 0.9 * self._risk_of(e)), d + rng.integers(180, 720, k), NO_DAY
        )
        enforced = np.where(enforced > self.end, NO_DAY, enforced)
        rel = np.where(enforced == NO_DAY, d + rng.integers(365, 1100, k), NO_DAY)
        rel = np.where(rel > self.end, NO_DAY, rel)
        buf.add(
            "chattel_mortgages",
            record_id=self.ids("MTG", k, year),
            uscc=self.uscc(e),
            registered_date=d,
            creditor_type=np.where(bank, "bank", "other").astype(object),
            secured_amount=np.round(10 ** rng.normal(1.8 + 0.4 * p.size[e], 0.5), 2),
            released_date=rel,
            enforced_date=enforced,
        )
        m = enforced != NO_DAY
        self.logs["mortgage_enforced"].add(e[m], enforced[m])

    def awards_and_severe(self, ent, lo, hi, r, buf, year) -> None:
        p, rng = self.pop, self.rng
        e, d = self.sample_events(ent, 0.01 * np.exp(0.7 * p.size[ent] - 0.7 * r), lo, hi)
        k = e.size
        buf.add(
            "awards",
            record_id=self.ids("AWD", k, year),
            uscc=self.uscc(e),
            award_date=d,
            level=rng.choice(list(C.AWARD_LEVELS), k, p=[0.03, 0.12, 0.35, 0.5]).astype(object),
            kind=rng.choice(list(C.AWARD_KINDS), k, p=[0.35, 0.15, 0.1, 0.25, 0.15]).astype(object),
        )
        self.logs["award"].add(e, d)

        hazard = HAZARDOUS[p.industry[ent]]
        e, d = self.sample_events(ent, 0.0015 * np.exp(0.9 * r) * np.where(hazard, 2.5, 1.0), lo, hi)
        k = e.size
        haz = HAZARDOUS[p.industry[e]]
        kind = np.where(
            haz & (rng.random(k) < 0.7),
            "major_safety_accident",
            rng.choice(["quality_dishonesty_list", "ecommerce_dishonesty_list", "prepaid_flight_list"], k),
        )
        end = np.where(
            (kind != "major_safety_accident") & (rng.random(k) < 0.4), d + rng.integers(365, 1100, k), NO_DAY
        )
        end = np.where(end > self.end, NO_DAY, end)
        buf.add(
            "severe_events",
            event_id=self.ids("SEV", k, year),
            uscc=self.uscc(e),
            event_date=d,
            kind=kind.astype(object),
            end_date=end,
        )
        self.logs["severe"].add(e, d)

    # -- inspections -----------------------------------------------------------

    def regulator_view(self, ys: int) -> np.ndarray:
        """The rough risk score regulators used for risk-weighted draws: observable listings and counts only."""
        n, L = self.n, self.logs
        return (
            2.0 * L["abnormal"].active(n, ys)
            + 1.0 * L["unreachable"].active(n, ys)
            + 3.0 * L["serious"].active(n, ys)
            + np.log1p(L["penalty"].count(n, ys - 730, ys))
            + 0.5 * np.log1p(L["complaint"].count(n, ys - 365, ys))
            + 0.8 * np.minimum(L["missed_report"].count(n, ys - 730, ys), 2)
            + 1.0 * L["defaulter"].active(n, ys)
        )

    def spot_checks(self, year: int, p_problem: np.ndarray, buf: YearBuffer) -> None:
        """This year's inspection plans and what they found.

        - random (双随机): per district, 3.5% of enterprises drawn uniformly;
        - risk-weighted: Poisson draw with a ratio set by the regulator's view (4 classes);
        - targeted: suspected false registrations (recent, unpaid capital, crowded address or agent);
        - complaint: substantiated complaints referred for inspection.
        """
        # Long (90 lines): a simulator step; its random draws must stay in this order for the city to be reproducible.
        p, rng, n = self.pop, self.rng, self.n
        ys, ye = year_start(year), min(year_start(year + 1) - 1, self.end)
        plan_day = days(f"{year}-04-01")
        if plan_day > self.end:
            return
        alive = (p.established <= plan_day) & (self.closed > plan_day)
        parts: list[tuple[np.ndarray, np.ndarray, str, np.ndarray, np.ndarray]] = []  # ent, day, kind, plan, prob

        for d, code in enumerate(C.DISTRICTS):
            pool = np.flatnonzero(alive & (p.region == d))
            if pool.size == 0:
                continue
            k = int(np.ceil(0.035 * pool.size))
            chosen = np.sort(rng.choice(pool, size=k, replace=False))
            parts.append(
                (
                    chosen,
                    plan_day + 14 + rng.integers(0, 230, k),
                    "random",
                    np.full(k, f"R{year}-{code}", dtype=object),
                    np.full(k, k / pool.size),
                )
            )

        view = self.regulator_view(ys)
        ratio = np.select([view == 0, view <= 1.0, view <= 2.5], [0.004, 0.03, 0.06], 0.20)
        chosen = np.flatnonzero(alive & (rng.random(n) < ratio))
        parts.append(
            (
                chosen,
                plan_day + 14 + rng.integers(0, 230, chosen.size),
                "random",
                np.full(chosen.size, f"W{year}", dtype=object),
                ratio[chosen],
            )
        )

        recent = alive & (p.established >= plan_day - 365)
        per_address = np.bincount(p.address, weights=recent, minlength=p.n_addresses)[p.address]
        agent_ok = p.agent >= 0
        per_agent = np.zeros(n)
        per_agent[agent_ok] = np.bincount(p.agent[agent_ok], weights=recent[agent_ok])[p.agent[agent_ok]]
        unpaid = ~(p.paid_in_capital > 0)
        suspicion = (
            recent
            * unpaid
            * (np.log1p(per_address) + 0.5 * np.log1p(per_agent) + 0.5 * self.logs["unreachable"].active(n, plan_day))
            + rng.random(n) * 0.5
        )
        k = int(0.004 * alive.sum())
        top = np.argsort(-suspicion, kind="stable")[:k]
        top = np.sort(top[suspicion[top] > 2.5])
        parts.append(
            (
                top,
                plan_day + 60 + rng.integers(0, 200, top.size),
                "targeted",
                np.full(top.size, f"T{year}", dtype=object),
                np.ones(top.size),
            )
        )

        se, sd = self._substantiated
        referred = rng.random(se.size) < 0.25
        parts.append(
            (
                se[referred],
                sd[referred] + rng.integers(10, 40, int(referred.sum())),
                "complaint",
                np.full(int(referred.sum()), f"C{year}", dtype=object),
                np.ones(int(referred.sum())),
            )
        )

        e = np.concatenate([x[0] for x in parts])
        day = np.concatenate([x[1] for x in parts])
        kind = np.concatenate([np.full(x[0].size, x[2], dtype=object) for x in parts])
        plan = np.concatenate([x[3] for x in parts])
        prob = np.concatenate([x[4] for x in parts])
        ok = (day <= ye) & (day < self.closed[e])
        e, day, kind, plan, prob = e[ok], day[ok], kind[ok], plan[ok], prob[ok]
        self.record_checks(year, e, day, kind, plan, prob, p_problem, buf)

    def record_checks(self, year, e, day, kind, plan, prob, p_problem, buf) -> None:
        p, rng = self.pop, self.rng
        k = e.size
        problem = rng.random(k) < p_problem[e]
        fr = p.false_reg[e]
        unreach = self.logs["unreachable"].active(self.n, year_start(year))[e]
        generic = rng.choice(
            ["false_disclosure", "licence_breach", "product_quality", "other_violation", "unreachable"],
            k,
            p=[0.2, 0.25, 0.2, 0.25, 0.1],
        )
        finding = np.where(
            ~problem,
            "none",
            np.where(
                fr & ((kind == "targeted") | (rng.random(k) < 0.5)),
                "false_registration",
                np.where(fr | unreach, "unreachable", generic),
            ),
        ).astype(object)
        buf.add(
            "spot_checks",
            check_id=self.ids("CHK", k, year),
            uscc=self.uscc(e),
            check_date=day,
            kind=kind,
            plan_id=plan,
            inclusion_prob=prob,
            problem_found=problem.astype(np.int8),
            finding=finding,
        )
        self.logs["check_problem"].add(e[problem], day[problem])

        follow = day + rng.integers(10, 40, k)
        m = (finding == "unreachable") & ~unreach
        self.abnormal_entries(e[m], follow[m], "unreachable", np.full(int(m.sum()), NO_DAY), buf, year)
        m = finding == "false_disclosure"
        remedy = np.where(rng.random(int(m.sum())) < 0.6, follow[m] + rng.integers(30, 200, int(m.sum())), NO_DAY)
        self.abnormal_entries(
            e[m], follow[m], "false_disclosure", np.where(remedy > self.end, NO_DAY, remedy), buf, year
        )
        # Confirmed false registrations are revoked (SAMR Order 88) and listed as seriously dishonest.
        m = (finding == "false_registration") & (follow <= self.end)
        fe, fd = e[m], follow[m] + 30
        fe, first = np.unique(fe, return_index=True)
        fd = fd[first]
        fresh = (self.closed[fe] > fd) & (fd <= self.end)
        self.closed[fe[fresh]] = fd[fresh]
        self.status[fe[fresh]] = STATUS_CODES.index("revoked")
        self.serious_entries(fe[fresh], fd[fresh], "false_registration", buf, year)
        m = (
            problem
            & np.isin(finding, ["licence_breach", "product_quality", "other_violation"])
            & (rng.random(k) < 0.4)
            & (follow + 30 <= self.end)
        )
        self.penalties(None, None, None, None, buf, year, forced=(e[m], follow[m] + 30))

    def finish_year(self, buf: YearBuffer, ys: int) -> None:
        for log in self.logs.values():
            log.prune(ys - 3 * 365)
