"""`creditgrade month --engine spark`: the month-end run as partitioned Spark jobs writes, byte for byte, the
files the single-machine run writes, and no step of it gathers the city into one partition."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil

import pyarrow.parquet as pq
import pytest

from creditgrade.features.pipeline import gathered_steps
from creditgrade.serving import spark as spark_job
from creditgrade.serving.batch import database_checksum
from creditgrade.serving.month import MonthError, run_month

FIRST, SECOND = dt.date(2025, 10, 31), dt.date(2025, 11, 30)
WHERE_WRITTEN = {"month.json", "report/month_report.md", "report/month_report.html"}  # they name the folder
NOT_REPRODUCIBLE = {"graded/creditgrade.duckdb"}  # DuckDB's block layout varies: compared by `database_checksum`


@pytest.fixture(scope="module")
def spark():
    pytest.importorskip("pyspark.sql", reason="PySpark is not installed")
    if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
        pytest.skip("no Java runtime for Spark (make java installs Debian's openjdk-17-jre-headless)")
    os.environ.setdefault("PYSPARK_PYTHON", os.sys.executable)
    session = spark_job.spark_session("local[2]")
    session.conf.set("spark.sql.shuffle.partitions", "4")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def both(graded_city, spark, tmp_path_factory):
    """Two consecutive months run on one machine and on Spark (partitions of about 1,000 enterprises)."""
    root = tmp_path_factory.mktemp("engines")
    one, many = root / "duckdb", root / "spark"
    rows = spark_job.ROWS_PER_PARTITION
    spark_job.ROWS_PER_PARTITION = 1000
    try:
        runs = {
            "duckdb": [run_month(graded_city.clean, d, one, graded_city.loaded) for d in (FIRST, SECOND)],
            "spark": [
                run_month(graded_city.clean, d, many, graded_city.loaded, engine="spark", spark=spark)
                for d in (FIRST, SECOND)
            ],
        }
    finally:
        spark_job.ROWS_PER_PARTITION = rows
    return one, many, runs


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("day", [FIRST, SECOND])
def test_the_month_on_spark_writes_the_single_machine_files_byte_for_byte(both, day):
    one, many, _ = both
    a, b = one / "months" / str(day), many / "months" / str(day)
    files = sorted(str(p.relative_to(a)) for p in a.rglob("*") if p.is_file())
    assert files == sorted(str(p.relative_to(b)) for p in b.rglob("*") if p.is_file())
    same = [f for f in files if f not in WHERE_WRITTEN | NOT_REPRODUCIBLE | {"features.parquet"}]
    assert "graded/graded.parquet" in same and "graded/lookup.arrow" in same and "warnings.parquet" in same
    assert "graded/explained.arrow" in same  # next month's reuse reads it
    assert {f: _sha(a / f) for f in same} == {f: _sha(b / f) for f in same}
    assert database_checksum(a / "graded") == database_checksum(b / "graded")
    assert _sha(one / "history" / f"{day}.parquet") == _sha(many / "history" / f"{day}.parquet")
    features = pq.read_table(a / "features.parquet")
    spark_features = pq.read_table(b / "features.parquet").select(features.column_names)
    assert spark_features.cast(features.schema).equals(features)  # the same rows, values and order

    def summary(folder):  # the month's findings, without where it was written
        run = json.loads((folder / "month.json").read_text(encoding="utf-8"))
        return {k: v for k, v in run.items() if k != "folder"}

    assert summary(a) == summary(b)
    report = (a / "report" / "month_report.md").read_text(encoding="utf-8").replace(str(one), "<root>")
    assert report == (b / "report" / "month_report.md").read_text(encoding="utf-8").replace(str(many), "<root>")


def test_the_second_month_on_spark_reuses_last_months_explanations_as_one_machine_does(both):
    _, _, runs = both
    assert runs["spark"][1].explanations_reused == runs["duckdb"][1].explanations_reused > 0
    assert runs["spark"][1].enterprises == runs["duckdb"][1].enterprises > 1000  # more rows than one partition


def test_no_step_of_the_month_on_spark_gathers_the_city_into_one_partition(both, spark):
    assert gathered_steps(spark) == []


def test_an_unknown_engine_is_refused_by_name(graded_city, tmp_path):
    with pytest.raises(MonthError, match="engine must be one of duckdb, spark"):
        run_month(graded_city.clean, FIRST, tmp_path, graded_city.loaded, engine="dask")


def test_a_dry_run_on_spark_writes_its_parts_beside_the_months_and_publishes_nothing(graded_city, spark, tmp_path):
    run = run_month(graded_city.clean, FIRST, tmp_path, graded_city.loaded, engine="spark", spark=spark, dry_run=True)
    assert run.dry_run and run.enterprises > 0
    left = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert not any(p.suffix in {".parquet", ".arrow", ".duckdb"} for p in left), left
    assert not list((tmp_path / "months").iterdir())  # the dry run's folder (executors' parts) is gone


def test_on_a_cluster_the_executors_python_and_web_ui_are_the_clusters_to_set():
    local, cluster = spark_job.session_conf("local[2]"), spark_job.session_conf("yarn")
    assert local["spark.pyspark.python"] == os.sys.executable and local["spark.ui.enabled"] == "false"
    assert "spark.pyspark.python" not in cluster and "spark.ui.enabled" not in cluster
    for conf in (local, cluster):  # fixed whatever the cluster's defaults: a task is a core, times in UTC
        assert conf["spark.executorEnv.OMP_NUM_THREADS"] == "1" and conf["spark.sql.session.timeZone"] == "UTC"
    assert spark_job.local("local") and spark_job.local("local[*]") and not spark_job.local("spark://host:7077")
