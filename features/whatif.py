"""What-if by record: an enterprise's indicators and override rules at a date had one of its records been
removed (withdrawn or annulled) or repaired (信用修复), computed from the records by the same pipeline.

Changing a record rather than a model input moves everything the record feeds at once: a removed
penalty lowers the 12- and 36-month counts, the fine amount and the days since the latest penalty; a
repaired serious-list entry stops counting in every indicator that reads the list; an annulled bank
mortgage enforcement lifts the two-grade override it caused. Indicators that count other enterprises
(the address, the legal representative's other enterprises) are computed over the whole city as usual,
so the answer is the row the grading job would have produced.

The record changes themselves live in `features.corrections`.
"""

from __future__ import annotations

import datetime as dt

import ibis

from creditgrade.features.corrections import ACTIONS, Correction, RecordChange, WhatIfError, check_owner, corrected
from creditgrade.features.errors import NotFound
from creditgrade.features.pipeline import feature_table

__all__ = ["ACTIONS", "RecordChange", "WhatIfError", "changed_records", "feature_row", "what_if"]


def changed_records(
    raw: dict[str, ibis.Table], uscc: str, day: dt.date, changes: list[RecordChange]
) -> dict[str, ibis.Table]:
    """The raw tables with `changes` made; each record must exist and belong to the enterprise."""
    for c in changes:
        check_owner(raw, uscc, c)
    return corrected(raw, [Correction(c, uscc, day, f"WHATIF-{n + 1}") for n, c in enumerate(changes)])


def feature_row(raw: dict[str, ibis.Table], day: dt.date, uscc: str) -> dict:
    """One enterprise's row of the feature table as of `day`: identification, indicators, override rules."""
    rows = feature_table(raw, day).filter(ibis._.uscc == uscc).to_pyarrow().to_pylist()
    if not rows:
        raise NotFound(
            f"{uscc} is not on the register as of {day}",
            f"{uscc} 在基准日 {day} 不在登记册上",
        )
    return rows[0]


def what_if(raw: dict[str, ibis.Table], day: dt.date, uscc: str, changes: list[RecordChange]) -> tuple[dict, dict]:
    """(before, after): the enterprise's feature rows as of `day` from its records as they are and with
    `changes` made."""
    if not changes:
        raise WhatIfError("no record to remove or repair given", "未指定要删除或修复的记录")
    return feature_row(raw, day, uscc), feature_row(changed_records(raw, uscc, day, changes), day, uscc)
