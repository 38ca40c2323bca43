"""Feed checks: a source that stops sending is flagged before a month is graded; ordinary months are not."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from creditgrade.features import contract as C
from creditgrade.features.feeds import check_feeds, month_end, months_back


def _city(folder, per_month: dict[str, list[int]] | None = None, months: int = 14):
    """Every contract table with only its event date: 30 records a month (or `per_month[table]`, oldest first)."""
    folder.mkdir(parents=True, exist_ok=True)
    last = dt.date(2025, 12, 31)
    ends = [months_back(last, n) for n in range(months - 1, -1, -1)]
    for t in C.TABLES:
        counts = (per_month or {}).get(t.name, [30] * months)
        days = [end - dt.timedelta(days=int(k % 20)) for end, n in zip(ends, counts) for k in range(n)]
        column = t.event_date or "uscc"
        pq.write_table(pa.table({column: pa.array(days, pa.date32())}), folder / f"{t.name}.parquet")
    return folder


def test_month_arithmetic():
    assert month_end(dt.date(2024, 2, 1)) == dt.date(2024, 2, 29)
    assert months_back(dt.date(2025, 1, 31), 1) == dt.date(2024, 12, 31)
    assert months_back(dt.date(2025, 12, 31), 12) == dt.date(2024, 12, 31)


def test_an_ordinary_month_flags_nothing_and_names_every_agency(tmp_path):
    checks = check_feeds(_city(tmp_path / "c"), dt.date(2025, 12, 31))
    assert [c.table for c in checks] == [t.name for t in C.TABLES]
    assert not [c.table for c in checks if c.flagged]
    assert all(c.agency_en and c.agency_zh for c in checks)
    assert {c.rows for c in checks} == {30}


def test_a_feed_that_stopped_is_flagged_with_its_agency_but_a_small_noisy_one_is_not(tmp_path):
    n = 14
    city = _city(
        tmp_path / "c",
        {"penalties": [300] * (n - 1) + [40], "awards": [12] * (n - 1) + [7], "court_cases": [50] * (n - 1) + [0]},
    )
    flagged = {c.table: c for c in check_feeds(city, dt.date(2025, 12, 31)) if c.flagged}
    assert set(flagged) == {"penalties", "court_cases"}
    assert flagged["penalties"].agency_en.startswith("Law-enforcement")
    assert "down 87%" in flagged["penalties"].reason_en and "下降" in flagged["penalties"].reason_zh
    assert flagged["court_cases"].agency_zh == "人民法院"


def test_a_seasonal_feed_is_compared_with_the_same_month_a_year_earlier(tmp_path):
    # Tax grades come once a year, in April: nothing in December is as usual, nothing in April is not.
    months = [months_back(dt.date(2025, 12, 31), k) for k in range(13, -1, -1)]
    counts = [500 if m.month == 4 else 0 for m in months]
    city = _city(tmp_path / "c", {"tax_credit": counts})
    assert not [c for c in check_feeds(city, dt.date(2025, 12, 31)) if c.flagged]
    late = [500 if m.month == 4 and m.year == 2024 else 0 for m in months]
    city = _city(tmp_path / "late", {"tax_credit": late})
    flagged = [c.table for c in check_feeds(city, dt.date(2025, 4, 30)) if c.flagged]
    assert flagged == ["tax_credit"]


def test_a_missing_or_empty_table_is_always_flagged(tmp_path):
    city = _city(tmp_path / "c")
    (city / "penalties.parquet").unlink()
    pq.write_table(pa.table({"award_date": pa.array([], pa.date32())}), city / "awards.parquet")
    flagged = {c.table: c for c in check_feeds(city, dt.date(2025, 12, 31)) if c.flagged}
    assert set(flagged) == {"penalties", "awards"}
    assert flagged["penalties"].reason_en.startswith("table missing")
    assert flagged["awards"].reason_en.startswith("table empty")
    assert flagged["penalties"].expected is None


@pytest.mark.parametrize("bad", ["nowhere"])
def test_unknown_agency_is_refused_by_the_contract(bad):
    t = C.TABLES[0]
    with pytest.raises(ValueError, match="agency"):
        C.Table(t.name, t.en, t.zh, t.columns, t.key, event_date=t.event_date, agency=bad)
