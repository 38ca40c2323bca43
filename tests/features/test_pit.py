"""The window arithmetic every indicator uses (`creditgrade.features.pit.AsOf`)."""

from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd

from creditgrade.features.pit import AsOf


def test_money_sums_are_the_same_to_the_bit_in_any_order():
    """0.1 + 0.2 + 0.3 is 0.6000000000000001 one way and 0.6 the other as doubles: an engine adding an enterprise's
    amounts in another order (threads, partitions) would change its indicator in the last bit. In fen they add
    exactly, so every order gives the decimal total."""
    amounts = [0.1, 0.2, 0.3]
    assert sum(amounts) != sum(reversed(amounts)), "the doubles do depend on the order here"
    asof = AsOf(dt.date(2025, 12, 31))
    totals = set()
    for order in (amounts, list(reversed(amounts)), sorted(amounts)):
        t = ibis.memtable(pd.DataFrame({"uscc": "X", "amount": order, "counted": True}))
        totals.add(ibis.duckdb.connect().execute(t.aggregate(total=asof.money(t.amount, t.counted))).total[0])
    assert totals == {0.6}


def test_money_is_missing_where_no_row_counts():
    asof = AsOf(dt.date(2025, 12, 31))
    t = ibis.memtable(pd.DataFrame({"amount": [10.0, 20.0], "counted": [False, False]}))
    assert pd.isna(ibis.duckdb.connect().execute(t.aggregate(total=asof.money(t.amount, t.counted))).total[0])
