"""The grade history's lookup layout: the same months as the month files, one enterprise at a time."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from creditgrade.models.scoring import SCHEME_ORDER
from creditgrade.serving import history as H

MONTHS = [dt.date(2025, 1, 31), dt.date(2025, 2, 28), dt.date(2025, 3, 31)]


def _month(usccs: list[str], month: dt.date, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    n = len(usccs)
    graded = {
        "uscc": usccs,
        "register_status": ["active"] * n,
        "probability": rng.random(n),
        "score": rng.random(n) * 1000,
        **{f"grade_{s}": rng.choice(["A", "B", "C"], n).tolist() for s in SCHEME_ORDER},
        "grade_shenzhen_by_score": rng.choice(["A", "B"], n).tolist(),
        "override_rule": [None] * n,
        "override_source": [None] * n,
        "model_version": ["m@1"] * n,
        "catalog_version": ["c1"] * n,
    }
    return H.History.rows(pa.table(graded), month)


@pytest.fixture
def published(tmp_path, monkeypatch):
    """Three months of 500 enterprises (one new each month)."""
    history = H.History(tmp_path / "history")
    codes = [f"91440300{i:09d}X" for i in range(503)]
    for k, month in enumerate(MONTHS):
        history.write(_month(codes[: 500 + k], month, k), month)
    return history


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert list(a.month.astype(str).str[:10]) == list(b.month.astype(str).str[:10])
    for c in ("grade_shenzhen", "score", "probability", "correction"):
        assert list(a[c].fillna("-")) == list(b[c].fillna("-")), c


def test_the_lookup_answers_what_the_month_files_hold(published):
    published.write_lookup(per_step=97)  # built in six ranges of USCCs
    lookup = H.Lookup(published)
    for uscc in ["91440300000000000X", "91440300000000250X", "91440300000000499X", "91440300000000501X"]:
        _same(lookup.of(uscc), published.of(uscc))
    assert len(lookup.of("91440300000000000X")) == 3 and len(lookup.of("91440300000000501X")) == 1
    assert lookup.of("91440300999999999X").empty and lookup.of("00000000000000000X").empty
    assert lookup._batches is not None  # answered from the lookup file, not the month files
    assert [b.num_rows for b in lookup._batches] == [97 * 3] * 5 + [3 * 500 + 3 - 97 * 3 * 5]  # a batch a range
    assert lookup.of("91440300000000096X").month.tolist() == [str(m) for m in MONTHS]  # the last of a batch
    assert lookup.of("91440300000000097X").month.tolist() == [str(m) for m in MONTHS]  # the first of the next
    assert lookup.of("91440300000000000").empty and lookup.of("91440300000000000XX").empty  # cut or longer


def test_a_month_published_after_the_lookup_is_seen_and_corrections_follow_their_month(published):
    lookup = H.Lookup(published, every=0.0)
    uscc = "91440300000000007X"
    assert len(lookup.of(uscc)) == 3 and lookup._batches is None  # no lookup file yet: the month files
    published.write_lookup()
    fixed = _month([uscc], MONTHS[1], 9)
    fixed = H.History.rows(
        pa.table({c: fixed[c] for c in fixed.column_names if c not in ("month", "correction", "corrected_on")}),
        MONTHS[1],
        correction="OBJ-20250310-00001",
        corrected_on=dt.date(2025, 3, 10),
    )
    published.write_correction(fixed, "OBJ-20250310-00001")
    rows = lookup.of(uscc)
    assert lookup._batches is not None
    assert list(rows.correction.fillna("")) == ["", "", "OBJ-20250310-00001", ""]  # after February, before March
    _same(rows, published.of(uscc))
    april = dt.date(2025, 4, 30)
    published.write(_month(["91440300000000007X"], april, 4), april)  # a month newer than the lookup file
    rows = lookup.of(uscc)
    assert lookup._batches is None and str(rows.month.iloc[-1])[:10] == "2025-04-30"  # the month files, not stale


def test_a_new_month_and_an_enterprise_gone_or_new_are_in_the_rewritten_lookup(published):
    published.write_lookup(per_step=97)
    april = dt.date(2025, 4, 30)
    codes = [f"91440300{i:09d}X" for i in range(1, 505)]  # one enterprise gone, two new
    published.write(_month(codes, april, 4), april)
    lookup = H.Lookup(published, every=0.0)
    assert len(lookup.of("91440300000000001X")) == 4 and lookup._batches is None  # stale: the month files
    published.write_lookup(per_step=97)
    for uscc in ["91440300000000000X", "91440300000000001X", "91440300000000504X"]:
        _same(lookup.of(uscc), published.of(uscc))
    assert lookup._batches is not None and H._lookup_months(published.root / H.LOOKUP) == [*MONTHS, april]


def test_the_lookup_file_is_written_whole(published, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("disk full")

    published.write_lookup()
    before = (published.root / H.LOOKUP).read_bytes()
    monkeypatch.setattr(pa.ipc.RecordBatchFileWriter, "write_batch", broken)
    with pytest.raises(OSError, match="disk full"):
        published.write_lookup()
    assert (published.root / H.LOOKUP).read_bytes() == before
    assert [p.name for p in published.root.iterdir() if p.name.startswith(".")] == []  # no partial file left
