"""The pipeline end to end: panels, the written file, and DuckDB ↔ PySpark parity."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import replace

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from creditgrade.features import catalog
from creditgrade.features.city.simulate import CityConfig, simulate_city
from creditgrade.features.indicators import REGISTRY, aggregate, definitions, within
from creditgrade.features.ingest import ingest
from creditgrade.features.overrides import OVERRIDE_COLUMNS
from creditgrade.features.pipeline import (
    FEATURE_IDS,
    META_VERSION,
    FeatureError,
    build_features,
    connect,
    feature_table,
    gathered_steps,
    indicator_table,
    load_raw,
    parse_dates,
    read_features,
)
from tests.features.town import AS_OF, write_town

TOWN_DAY = dt.date.fromisoformat(AS_OF)


@pytest.fixture(scope="module")
def small_city(tmp_path_factory):
    root = tmp_path_factory.mktemp("small")
    simulate_city(CityConfig(enterprises=3000, seed=21), root / "raw")
    ingest(root / "raw", root / "clean")
    return root / "clean"


def test_a_panel_of_dates_is_one_file_stamped_with_the_catalog_version(small_city, tmp_path):
    out = tmp_path / "panel.parquet"
    summary = build_features(small_city, parse_dates(["2024-12-31", "2023-12-31"]), out)
    table = read_features(out)
    assert table.schema.metadata[META_VERSION].decode() == catalog.version()
    frame = table.to_pandas()
    assert sorted(frame.as_of.astype(str).unique()) == ["2023-12-31", "2024-12-31"]
    assert summary.rows == frame.groupby(frame.as_of.astype(str)).size().to_dict()
    assert not frame.duplicated(["uscc", "as_of"]).any()
    assert list(frame.columns[8 : 8 + len(FEATURE_IDS)]) == list(FEATURE_IDS)
    assert list(frame.columns[8 + len(FEATURE_IDS) :]) == list(OVERRIDE_COLUMNS)
    assert all(table.schema.field(i).type == pa.float64() for i in FEATURE_IDS), "every indicator is a float64"
    assert not list(tmp_path.glob(".*partial*")), "no partial file left behind"


def test_feature_tables_of_another_catalog_version_are_refused(small_city, tmp_path):
    out = tmp_path / "f.parquet"
    build_features(small_city, [dt.date(2024, 12, 31)], out)
    with pytest.raises(FeatureError, match="catalog version"):
        read_features(out, expect_version="000000000000")


def _claims() -> list[str]:
    return [d.id for d in definitions().values() if d.kind == "aggregate" and d.rows is not None]


@pytest.mark.parametrize("day", ["2021-06-30", "2023-12-31", "2025-03-31"])
def test_narrowing_a_view_to_the_rows_its_aggregates_can_count_changes_no_value(small_city, day, tmp_path):
    """An aggregate's `rows` claims that no other row of its view can change its value: grouping only the rows some
    aggregate of the view can count must give every indicator the same value, on the whole table and on the claims
    alone (where every view is narrowed), at several dates and on the town's hand-made edge cases."""
    claims = _claims()
    assert len(claims) >= 30, "the claims cover the windowed counts"
    for folder, as_of in ((small_city, dt.date.fromisoformat(day)), (write_town(tmp_path / "town"), TOWN_DAY)):
        raw = load_raw(connect(), folder)
        for only in (None, claims):
            narrowed = indicator_table(raw, as_of, only=only).to_pandas().set_index("uscc").sort_index()
            whole = indicator_table(raw, as_of, only=only, narrow=False).to_pandas().set_index("uscc").sort_index()
            pd.testing.assert_frame_equal(narrowed, whole, check_exact=True)


def test_only_indicators_with_a_no_records_value_claim_rows_and_no_helper_does():
    """A narrowed enterprise gets its `no_records` value: an indicator that is missing without records (None) would
    turn into missing where its rows gave a value, as `d2_last_report_on_time` would (0 from its rows)."""
    for d in definitions().values():
        if d.rows is not None:
            assert catalog.BY_ID[d.id].no_records is not None, f"{d.id} claims rows but has no no_records value"

    def _a_helper(t, asof, entry):
        return t.x.sum()

    with pytest.raises(ValueError, match="cannot claim rows"):
        aggregate("penalties", rows=within("decision_date"))(_a_helper)
    assert "_a_helper" not in REGISTRY


def test_a_wrong_claim_of_rows_is_caught(small_city, monkeypatch):
    """The check above can fail: an aggregate that claims fewer rows than it counts changes its value."""
    definitions()
    wrong = replace(REGISTRY["d4_complaints_36m"], rows=lambda t, asof, entry: asof.within(t.received_date, 30))
    monkeypatch.setitem(REGISTRY, "d4_complaints_36m", wrong)
    raw = load_raw(connect(), small_city)
    only = ["d4_complaints_36m"]
    narrowed = indicator_table(raw, dt.date(2024, 12, 31), only=only).to_pandas().set_index("uscc").sort_index()
    whole = indicator_table(raw, dt.date(2024, 12, 31), only=only, narrow=False).to_pandas().set_index("uscc")
    assert (narrowed.d4_complaints_36m < whole.sort_index().d4_complaints_36m).any()


def test_bad_dates_are_refused_with_the_format():
    with pytest.raises(FeatureError, match="YYYY-MM-DD"):
        parse_dates(["31/12/2024"])


@pytest.fixture(scope="module")
def spark():
    pyspark = pytest.importorskip("pyspark.sql", reason="PySpark is not installed")
    os.environ.setdefault("PYSPARK_PYTHON", os.sys.executable)
    session = (
        pyspark.SparkSession.builder.master("local[2]")
        .appName("creditgrade-parity")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", "2g")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def _both(folder, spark, day) -> tuple[pd.DataFrame, pd.DataFrame]:
    duck = feature_table(load_raw(connect("duckdb"), folder), day).to_pandas()
    sp = feature_table(load_raw(connect("pyspark", spark), folder), day).to_pandas()
    return duck.set_index("uscc").sort_index(), sp.set_index("uscc").sort_index()


def _assert_same(duck: pd.DataFrame, sp: pd.DataFrame) -> None:
    assert duck.index.equals(sp.index)
    for col in FEATURE_IDS:
        a, b = duck[col].to_numpy(float), sp[col].to_numpy(float)
        assert np.array_equal(a, b, equal_nan=True), f"{col}: values differ (to the bit: libm's log10 on both)"
    for col in OVERRIDE_COLUMNS:
        assert duck[col].fillna("").equals(sp[col].fillna("")), f"{col}: override summaries differ"


@pytest.mark.slow
def test_duckdb_and_pyspark_agree_on_the_town_and_no_spark_step_gathers_it_into_one_partition(tmp_path, spark):
    """Every window is partitioned (by enterprise, address, person...), so no query of the pipeline sends all
    rows to one partition: at national scale such a step would run on one executor, whatever the cluster."""
    _assert_same(*_both(write_town(tmp_path / "town"), spark, dt.date(2024, 12, 31)))
    assert spark._jsparkSession.sharedState().statusStore().executionsList().size() > 0, "no query was seen"
    assert gathered_steps(spark) == []


# Every indicator and override column of a simulated city, DuckDB against Spark, to the bit, at two month-ends:
# tests/serving/test_spark.py (the month-end run on both engines compares the feature files).
