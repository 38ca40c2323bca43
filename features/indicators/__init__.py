"""Indicator definitions: one small named function per indicator, its name the catalog id.

Three kinds, registered by decorator:
- `aggregate(source, rows=...)`: `fn(t, asof, entry)`, an aggregate over one enterprise's rows of a point-in-time
  view (`creditgrade.features.pit.sources`), e.g. `(t.severity == "serious").sum()`. `rows(t, asof, entry)`, where
  given, says which rows can count at all (`within("received_date")`: those dated in the indicator's window):
  when every aggregate of a view says so, the view is narrowed to those rows before it is grouped, as a
  hand-written query would. An enterprise left with no rows gets the catalog's `no_records` value, so rows
  outside the claim must give exactly that (or nothing): only indicators with a `no_records` value may claim
  rows, helpers may not, and every indicator is computed with and without narrowing on a simulated city and
  the town and must agree to the bit (`tests/features/test_pipeline.py`);
- `column`: `fn(w, asof, entry)`, a column of the wide table (the enterprise's attributes and the
  indicators computed before it), e.g. a ratio or a window over enterprises;
- `table`: `fn(src, wide, asof, entry)`, a table (uscc, value) built from several views, for network
  indicators.
`entry` is the indicator's catalog entry: its look-back window (`entry.window_days`) and named thresholds
(`entry.params`) are read from there, never written in the code (a test fails on a number in a
definition). Names starting with `_` are helpers (entry None): computed, used, then dropped.
`tests/features/test_indicators.py` proves the registry and the catalog match one to one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

Kind = Literal["aggregate", "column", "table"]


@dataclass(frozen=True)
class Definition:
    id: str
    kind: Kind
    source: str | None
    fn: Callable
    rows: Callable | None = None  # aggregates: (t, asof, entry) → the rows that can count; None: all of them


REGISTRY: dict[str, Definition] = {}


def _register(kind: Kind, source: str | None, fn: Callable, rows: Callable | None = None) -> Callable:
    if fn.__name__ in REGISTRY:
        raise ValueError(f"indicator {fn.__name__!r} is defined twice")
    if rows is not None and fn.__name__.startswith("_"):
        raise ValueError(
            f"helper {fn.__name__!r} cannot claim rows: it has no catalog entry (window, no-records value)"
        )
    REGISTRY[fn.__name__] = Definition(fn.__name__, kind, source, fn, rows)
    return fn


def aggregate(source: str, rows: Callable | None = None) -> Callable[[Callable], Callable]:
    return lambda fn: _register("aggregate", source, fn, rows)


def within(date: str) -> Callable:
    """`rows` of an aggregate that counts only rows whose `date` lies in its catalog window."""
    return lambda t, asof, entry: asof.within(t[date], entry.window_days)


def column(fn: Callable) -> Callable:
    return _register("column", None, fn)


def table(fn: Callable) -> Callable:
    return _register("table", None, fn)


def definitions() -> dict[str, Definition]:
    """Every definition, importing the modules that register them."""
    from creditgrade.features.indicators import (  # noqa: F401
        cases,
        evaluations,
        false_registration,
        negative,
        operation,
        registration,
    )

    return REGISTRY
