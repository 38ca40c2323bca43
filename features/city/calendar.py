"""Day numbers (days since 1970-01-01) — the simulator's vectorised dates."""

from __future__ import annotations

import datetime as dt

import numpy as np

EPOCH = dt.date(1970, 1, 1)
NO_DAY = np.iinfo(np.int64).max  # "never" inside the simulator; written as a missing value


def days(iso: str) -> int:
    """Day number of an ISO date: days('1970-01-02') == 1."""
    return (dt.date.fromisoformat(iso) - EPOCH).days


def year_start(year: int) -> int:
    return (dt.date(year, 1, 1) - EPOCH).days


def to_date(day: int) -> dt.date:
    return EPOCH + dt.timedelta(days=int(day))
