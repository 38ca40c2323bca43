"""The service's store: rows found in the mapped lookup file across its record batches, whatever the USCCs' widths."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pytest

from creditgrade.features.overrides import OVERRIDE_COLUMNS
from creditgrade.serving import batch, graded
from creditgrade.serving.graded import GradedStore, fixed_width


def _write(folder, usccs: list[str]) -> None:
    n = len(usccs)
    graded = pa.table(
        {
            "uscc": usccs,
            "score": np.arange(n, dtype=np.float64),
            **{c: pa.nulls(n, pa.string()) for c in OVERRIDE_COLUMNS},
            "model_version": ["risk/1"] * n,
            "as_of": pa.array([dt.date(2025, 12, 31)] * n, pa.date32()),
        }
    )
    indicators = pa.table({"uscc": usccs, "d1_age_years": np.arange(n) / 10, "d3_penalties_12m": [None] * n})
    folder.mkdir()
    batch.write_lookup(graded, indicators, folder / batch.LOOKUP)


@pytest.mark.parametrize("width", ["fixed", "mixed"])
def test_lookups_find_every_row_across_batches_and_report_the_rest(tmp_path, monkeypatch, width):
    monkeypatch.setattr(batch, "LOOKUP_BATCH", 7)  # 50 rows: 8 record batches
    usccs = sorted(f"9144030{i:03d}{'X' * (i % 3 if width == 'mixed' else 0)}ABCDEF" for i in range(50))
    _write(tmp_path / "month", usccs)
    store = GradedStore(tmp_path / "month")
    assert len(store) == 50 and store.as_of == "2025-12-31" and store.model_version == "risk/1"
    assert len(store.table.column("uscc").chunks) == 8
    asked = [usccs[49], "nope", usccs[0], usccs[23], usccs[6], usccs[7], "9144030ZZZ"]
    found, missing = store.find(asked)
    assert found.tolist() == [49, 0, 23, 6, 7] and missing == ["nope", "9144030ZZZ"]
    rows = batch.take_rows(store.table, found)  # what `rows` renders, in the order asked
    assert rows.column("uscc").to_pylist() == [usccs[i] for i in (49, 0, 23, 6, 7)]
    assert rows.column("score").to_pylist() == [49.0, 0.0, 23.0, 6.0, 7.0]
    every = batch.take_rows(store.table, np.arange(50)[::-1])  # more than a few rows: taken, not sliced
    assert len(every) > batch.FEW_TAKEN and every.column("uscc").to_pylist() == usccs[::-1]
    values = store.indicators(23)
    assert values["d1_age_years"] == pytest.approx(2.3) and np.isnan(values["d3_penalties_12m"])
    assert store.known(usccs[13]) and not store.known(usccs[13] + "0")
    monkeypatch.setattr(graded, "MANY", 2)  # many asked of each batch: searched at once where the widths allow
    asked = [*usccs[::-1], "nope", usccs[13] + "0", "9144030ZZZ"]
    found, missing = store.find(asked)
    assert found.tolist() == list(range(49, -1, -1)) and missing == ["nope", usccs[13] + "0", "9144030ZZZ"]
    assert all(k is not False for k in store._keys)  # every batch was read as fixed-width keys (or found mixed)


def test_fixed_width_keys_are_read_in_place_or_declined():
    keys = fixed_width(pa.array(["AB1", "AB2", "AC0", "B00"]))
    assert keys is not None and keys.tolist() == [b"AB1", b"AB2", b"AC0", b"B00"]
    assert np.searchsorted(keys, np.array([b"AC0", b"AB3"], dtype=keys.dtype)).tolist() == [2, 2]
    assert fixed_width(pa.array(["AB1", "AB2", "AC0"]).slice(1, 2)).tolist() == [b"AB2", b"AC0"]  # an offset
    assert fixed_width(pa.array(["AB1", "AB2"], pa.large_string())).tolist() == [b"AB1", b"AB2"]
    assert fixed_width(pa.array(["AB", "ABC"])) is None  # mixed widths: searched with bisect
    assert fixed_width(pa.array(["AB\x00", "AC\x00"])) is None  # numpy would drop the trailing NUL
    assert fixed_width(pa.array(["AB1", None])) is None
    assert fixed_width(pa.array([], pa.string())) is None
