"""Feed checks before a month is graded: did every source agency send its records this month?

A source agency that stops sending penalties looks, to the model, like a city that became honest. So
before a month-end is graded, each raw table's records dated in the month (by the table's event date)
are counted and compared with what the feed usually sends (`expected_month`: the lower of the same month
a year earlier, for the seasons, and the three months before, for the trend). A table is flagged when
its count fell by more than `max_drop` of that expectation and the fall is too large to be chance
(Poisson lower tail under 0.001, so a feed of a dozen records a month is not flagged for sending
eight). A table that is missing or empty is always flagged.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb
from scipy.stats import poisson

from creditgrade.features import contract as C
from creditgrade.features.store import no_progress_bar

MAX_DROP = 0.5  # a feed that fell by more than this share of its expected month is flagged
P_CHANCE = 0.001


@dataclass(frozen=True)
class FeedCheck:
    """One raw table's records in the month against what it usually sends."""

    table: str
    table_zh: str
    agency_en: str
    agency_zh: str
    rows: int  # records dated in the month
    previous_month: int | None
    same_month_last_year: int | None
    expected: float | None
    flagged: bool
    reason_en: str
    reason_zh: str

    def to_dict(self) -> dict:
        return asdict(self)


def month_end(day: dt.date) -> dt.date:
    """The last day of `day`'s month.

    >>> month_end(dt.date(2024, 2, 10)), month_end(dt.date(2025, 12, 1))
    (datetime.date(2024, 2, 29), datetime.date(2025, 12, 31))
    """
    first_next = dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return first_next - dt.timedelta(days=1)


def months_back(day: dt.date, n: int) -> dt.date:
    """The month-end `n` months before month-end `day`.

    >>> months_back(dt.date(2025, 3, 31), 1), months_back(dt.date(2025, 3, 31), 12)
    (datetime.date(2025, 2, 28), datetime.date(2024, 3, 31))
    """
    index = day.year * 12 + day.month - 1 - n
    return month_end(dt.date(index // 12, index % 12 + 1, 1))


def check_feeds(data: Path, as_of: dt.date, max_drop: float = MAX_DROP) -> list[FeedCheck]:
    """Every contract table's records in the month ending `as_of`, checked against its usual month."""
    first = months_back(as_of, 13)  # the 13 months before this one, then this one
    out = []
    with duckdb.connect(config={"threads": 2}) as con:
        no_progress_bar(con.execute)
        for t in C.TABLES:
            agency = C.AGENCIES[t.agency]
            path = Path(data) / f"{t.name}.parquet"
            monthly: list[int] | None = None
            total = 0
            if path.exists():
                total = con.execute("SELECT count(*) FROM read_parquet(?)", [str(path)]).fetchone()[0]
            if total and t.event_date:
                rows = con.execute(
                    f'SELECT year("{t.event_date}") * 12 + month("{t.event_date}") - 1 AS m, count(*) '
                    f'FROM read_parquet(?) WHERE "{t.event_date}" > ? AND "{t.event_date}" <= ? GROUP BY m',
                    [str(path), first, as_of],
                ).fetchall()
                base = as_of.year * 12 + as_of.month - 1 - 13
                monthly = [0] * 14
                for m, n in rows:
                    monthly[int(m) - base] = int(n)
            flagged, en, zh, expected = _judge(path, total, monthly, max_drop)
            out.append(
                FeedCheck(
                    t.name,
                    t.zh,
                    agency.en,
                    agency.zh,
                    monthly[-1] if monthly else 0,
                    monthly[-2] if monthly else None,
                    monthly[1] if monthly else None,
                    expected,
                    flagged,
                    en,
                    zh,
                )
            )
    return out


def expected_month(monthly: list[int]) -> float:
    """What a feed usually sends in the last month of `monthly` (14 months, oldest first): the lower of
    what it sent in the same month a year earlier and its average over the three months before.

    The same month a year earlier carries the seasons (tax grades published once a year, annual reports
    filed in the first half, abnormal-list entries after the filing deadline); the three months before
    carry the trend (a feed that grows or shrinks over the years). Taking the lower of the two flags only a
    drop that neither explains. When the three months before sent nothing (out of season), last year's
    month alone is the expectation, so an annual feed that does not arrive in its month is still flagged.

    >>> expected_month([0, 500] + [0] * 11 + [0])   # tax grades come in this month each year
    500.0
    >>> expected_month([0, 0] + [500] + [0] * 11)   # ... and not in this one
    0.0
    >>> expected_month([90] * 10 + [30] * 4)    # a steady feed that fell to a third months ago
    30.0
    >>> expected_month([0, 170, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2000, 2000, 0])  # the filing season is over
    170.0
    """
    same = float(monthly[1])
    recent = sum(monthly[-4:-1]) / 3
    return same if recent == 0 else min(same, recent)


def _judge(path: Path, total: int, monthly: list[int] | None, max_drop: float):
    if not path.exists():
        return True, f"table missing: {path}", f"数据表缺失：{path}", None
    if total == 0:
        return True, "table empty: no records at all", "数据表为空：没有任何记录", None
    if monthly is None:
        return False, "no event date to check by", "无事件日期，不按月检查", None
    expected, rows = expected_month(monthly), monthly[-1]
    if expected > 0 and rows < (1 - max_drop) * expected and poisson.cdf(rows, expected) < P_CHANCE:
        fall = 1 - rows / expected
        return (
            True,
            f"{rows:,} records this month against {expected:,.0f} expected (down {fall:.0%})",
            f"本月 {rows:,} 条，预期约 {expected:,.0f} 条（下降 {fall:.0%}）",
            expected,
        )
    return False, "as usual", "正常", expected
