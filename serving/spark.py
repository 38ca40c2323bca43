"""The month-end grading on Spark (`creditgrade month --engine spark`): the path past one machine.

    indicators (the same Ibis definitions, on PySpark; every window partitioned) → range-partitioned by USCC
    → each partition graded on an executor (`mapInArrow`: the champion broadcast once as data, last month's
    explanations read for the partition's USCC range) and written as part files → the driver streams the
    parts in USCC order into the month's feature file and graded folder, written exactly as the
    single-machine path writes them (`batch.write_graded_folder`)

Grading is row by row (a row's grade, score and reasons come from its own values and the model), so a city
graded in partitions is the city graded whole: the graded table is byte-identical (tested on a small city
with Spark local[2] in `make test`). The driver reads one partition's parts and one row group at a time.

Local mode by default (`CREDITGRADE_SPARK_MASTER`, default local[<cores>]); on a cluster, the month's folder
must be on a file system every executor and the driver mount at the same path (the part files are written
there), and the rest of Spark's settings are the cluster's (`session_conf`; docs/scale-out.md, "Deployment
recipe"). Training stays on
one machine: a year of random inspections is a few million rows even nationally (docs/scale-out.md).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
import os
import sys
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from creditgrade.features.corrections import Correction, corrected
from creditgrade.features.pipeline import META_AS_OF, META_VERSION, connect, feature_table, load_raw
from creditgrade.features.settings import settings
from creditgrade.features.store import atomic_file, atomic_folder
from creditgrade.models.scoring import ScoringModel
from creditgrade.serving.batch import (
    GRADED,
    LOOKUP_BATCH,
    REUSED_META,
    ROW_GROUP,
    GradingError,
    GradingSummary,
    RowGroups,
    check_catalog,
    feature_columns,
    grade_rows,
    previous_graded,
    read_explained,
    write_graded_folder,
)

Progress = Callable[[str, int, int], None]
ROWS_PER_PARTITION = 200_000  # enterprises graded by one task: ≈ 1.4 GB of its Python worker at 10 M
MANIFEST = "partition int, rows long, first string, last string, reused long, duplicates long, duplicate string"


def spark_session(master: str | None = None):
    """A SparkSession for the month-end run on `master` (default the setting CREDITGRADE_SPARK_MASTER) with
    `session_conf`; everything else comes from Spark's own configuration (`spark-defaults.conf` in
    SPARK_CONF_DIR), as a cluster's administrator sets it."""
    from pyspark.sql import SparkSession

    master = master or settings().spark_master
    if local(master):
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # local mode reads the executors' Python here
    builder = SparkSession.builder.master(master).appName("creditgrade-month")
    for key, value in session_conf(master).items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def local(master: str) -> bool:
    """Whether `master` runs the tasks in this machine's driver JVM (`local`, `local[4]`, `local[*]`)."""
    return master == "local" or master.startswith("local[")


def session_conf(master: str) -> dict[str, str]:
    """The settings the run fixes, whatever Spark's configuration says: UTC, Arrow, one thread per task for
    LightGBM, OpenMP and numba (a task is a core; oversubscribed threads ran 15× slower on this machine), the
    driver's heap (CREDITGRADE_SPARK_DRIVER_MEMORY) and a G1 that returns it. In local mode the executors are
    this Python and the web UI is off; on a cluster the executors' Python (`spark.pyspark.python`, e.g. a
    venv-pack archive) and the UI are the cluster's configuration (docs/scale-out.md, "Deployment recipe")."""
    conf = {
        "spark.ui.showConsoleProgress": "false",  # the run's own progress bar says where it is
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.executorEnv.OMP_NUM_THREADS": "1",
        "spark.executorEnv.NUMBA_NUM_THREADS": "1",
        "spark.driver.memory": settings().spark_driver_memory,
        # G1 returns the heap it no longer uses when the JVM idles (the driver's steps between Spark's jobs),
        # keeping at most 30% of it free: in local mode the driver's Python and the JVM share the machine's memory.
        "spark.driver.extraJavaOptions": (
            "-XX:+UseG1GC -XX:G1PeriodicGCInterval=5000 -XX:MinHeapFreeRatio=10 -XX:MaxHeapFreeRatio=30"
        ),
    }
    if local(master):
        conf |= {"spark.ui.enabled": "false", "spark.pyspark.python": sys.executable}
    return conf


def running() -> bool:
    """Whether this process already has a Spark session (one a run must not stop)."""
    from pyspark import SparkContext

    return SparkContext._active_spark_context is not None


def stop(spark) -> None:
    """Stop a Spark session this run started, and its JVM: in local mode the driver's heap is returned before
    the steps that run on the driver alone. Stopping twice is harmless."""
    from pyspark import SparkContext

    if SparkContext._active_spark_context is not None:
        spark.stop()
    gateway = SparkContext._gateway
    if gateway is None:
        return
    gateway.shutdown()
    proc = getattr(gateway, "proc", None)
    if proc is not None:  # the JVM exits when its standard input closes
        proc.stdin.close()
        try:
            proc.wait(timeout=60)
        except Exception:
            proc.kill()
    SparkContext._gateway = SparkContext._jvm = None


def grade_month(
    data: Path,
    day: dt.date,
    work: Path,
    scoring: ScoringModel,
    features_out: Path,
    graded_out: Path,
    *,
    spark=None,
    previous: Path | None = None,
    corrections: Sequence[Correction] = (),
    progress: Progress | None = None,
    partitions: int | None = None,
) -> GradingSummary:
    """The month's feature file (`features_out`) and graded folder (`graded_out`, written whole), computed on
    Spark from the ingested city `data`; part files go under `work` (removed after). `previous`: last month's
    graded folder, whose explanations are kept for the enterprises the model sees unchanged."""
    progress = progress or (lambda step, done, total: None)
    check_catalog(scoring)
    spark = spark or spark_session()
    con = connect("pyspark", spark)
    records = corrected(load_raw(con, Path(data)), [c for c in corrections if c.day <= day])
    progress("indicators", 0, 3)
    expr = feature_table(records, day)
    con._run_pre_execute_hooks(expr)  # registers the in-memory tables the expression uses
    frame = spark.sql(con.compile(expr))
    parts = Path(work) / ".parts"
    parts.mkdir(parents=True, exist_ok=True)
    n = partitions or _partitions(Path(data), spark.sparkContext.defaultParallelism)
    model = spark.sparkContext.broadcast(model_data(scoring))
    job = functools.partial(
        _grade_partition,
        model=model,
        day=day,
        parts=str(parts),
        previous=str(Path(previous) / GRADED) if previous is not None else None,
    )
    progress("grade partitions", 1, 3)
    try:
        manifest = frame.repartitionByRange(n, "uscc").mapInArrow(job, MANIFEST).collect()
    except Exception as e:  # py4j's error: the JVM's message is its text
        if "UNABLE_TO_ACQUIRE_MEMORY" not in str(e) and "OutOfMemoryError" not in str(e):
            raise
        heap = spark.sparkContext.getConf().get("spark.driver.memory", "?")
        raise GradingError(
            f"Spark ran out of memory grading {day} (driver heap {heap}; in local mode the tasks share it): set "
            "CREDITGRADE_SPARK_DRIVER_MEMORY higher (e.g. 8g for 2 M enterprises on 2 cores), or on a cluster "
            "spark.executor.memory",
            f"Spark 在评定 {day} 时内存不足（driver 堆 {heap}；本地模式下各任务共用）：请调高 "
            "CREDITGRADE_SPARK_DRIVER_MEMORY（如 2 核、200 万户用 8g），集群上调高 spark.executor.memory",
        ) from None
    done = sorted((m for m in manifest if m.rows), key=lambda m: m.partition)
    duplicates = sum(m.duplicates for m in done)
    if duplicates:
        example = next(m.duplicate for m in done if m.duplicates)
        raise GradingError(
            f"the indicators of {day} hold {duplicates} duplicate USCC(s), e.g. {example}",
            f"基准日 {day} 的指标有 {duplicates} 个重复的统一社会信用代码，如 {example}",
        )
    for a, b in zip(done, done[1:]):
        if not a.last < b.first:
            raise GradingError(
                f"partitions {a.partition} and {b.partition} overlap in USCC order", "分区的统一社会信用代码范围重叠"
            )
    progress("assemble", 2, 3)
    spark.sparkContext._jvm.System.gc()  # the JVM idles while the driver assembles: its heap goes back first
    _write_features(features_out, [parts / f"features-{m.partition:05d}.arrow" for m in done], day)
    previous_table = previous_graded(previous) if previous is not None else None
    with atomic_folder(graded_out, overwrite=True) as tmp:
        summary = write_graded_folder(tmp, _graded_parts(parts, done), scoring, day, previous_table)
    for p in parts.iterdir():
        p.unlink()
    parts.rmdir()
    progress("done", 3, 3)
    return summary


def model_data(scoring: ScoringModel) -> bytes:
    """The champion as the executors receive it: its state and grade schemes as JSON (the registry's own
    files, as data: nothing an executor loads can run code)."""
    return json.dumps(
        {
            "name": scoring.name,
            "version": scoring.version,
            "run_id": scoring.run_id,
            "state": scoring.model.to_dict(),
            "schemes": {k: v.to_dict() for k, v in scoring.schemes.items()},
        }
    ).encode()


@functools.lru_cache(maxsize=2)
def _executor_model(data: bytes) -> ScoringModel:
    """The champion, built once per executor process from `model_data`, one thread per task."""
    from creditgrade.models import grades as G
    from creditgrade.models.risk import RiskModel

    d = json.loads(data)
    model = RiskModel.from_dict(d["state"])
    model.config = model.config.with_threads(1)
    schemes = {k: G.GradeScheme.from_dict(v) for k, v in d["schemes"].items()}
    return ScoringModel(d["name"], d["version"], d["run_id"], model, schemes)


def _grade_partition(batches: Iterator[pa.RecordBatch], *, model, day, parts, previous) -> Iterator[pa.RecordBatch]:
    """One partition, on an executor: its feature rows sorted by USCC and written as a part file, graded
    (`batch.grade_rows`), the graded rows and indicator values written as part files; one manifest row."""
    from pyspark import TaskContext

    partition = TaskContext.get().partitionId()
    rows = pa.Table.from_batches(list(batches))
    if rows.num_rows == 0:
        yield _manifest(partition, 0, "", "", 0, 0, "")
        return
    rows = rows.sort_by("uscc")
    usccs = rows.column("uscc")
    first, last = usccs[0].as_py(), usccs[-1].as_py()
    counts = pa.compute.value_counts(usccs)
    repeated = counts.filter(pa.compute.greater(counts.field("counts"), 1))
    if len(repeated):
        yield _manifest(partition, rows.num_rows, first, last, 0, len(repeated), repeated[0]["values"].as_py())
        return
    scoring = _executor_model(model.value)
    explained = read_explained(previous, between=(first, last)) if previous is not None else None
    graded, indicators = grade_rows(rows.select(feature_columns(scoring)), scoring, day, previous=explained)
    out = Path(parts)
    _write_ipc(rows, out / f"features-{partition:05d}.arrow")
    _write_ipc(graded, out / f"graded-{partition:05d}.arrow")
    _write_ipc(indicators, out / f"indicators-{partition:05d}.arrow")
    reused = int((graded.schema.metadata or {}).get(REUSED_META, b"0"))
    yield _manifest(partition, rows.num_rows, first, last, reused, 0, "")


def _manifest(partition, rows, first, last, reused, duplicates, duplicate) -> pa.RecordBatch:
    return pa.RecordBatch.from_pydict(
        {
            "partition": pa.array([partition], pa.int32()),
            "rows": pa.array([rows], pa.int64()),
            "first": [first],
            "last": [last],
            "reused": pa.array([reused], pa.int64()),
            "duplicates": pa.array([duplicates], pa.int64()),
            "duplicate": [duplicate],
        }
    )


def _write_ipc(table: pa.Table, path: Path) -> None:
    """A part file, written under a temporary name and renamed: a retried task replaces it whole."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")  # unique across hosts (retried, speculative tasks)
    options = pa.ipc.IpcWriteOptions(compression="lz4")
    with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, table.schema, options=options) as out:
        out.write_table(table, max_chunksize=LOOKUP_BATCH)
    os.replace(tmp, path)


def _read_ipc(path: Path) -> pa.Table:
    with pa.OSFile(str(path), "rb") as source:
        return pa.ipc.open_file(source).read_all()


def _graded_parts(parts: Path, done) -> Iterator[tuple[pa.Table, pa.Table]]:
    for m in done:
        yield (
            _read_ipc(parts / f"graded-{m.partition:05d}.arrow"),
            _read_ipc(parts / f"indicators-{m.partition:05d}.arrow"),
        )


def _write_features(out: Path, files: list[Path], day: dt.date) -> None:
    """The month's feature file from the partitions' feature rows, in USCC order, stamped like
    `features.pipeline.build_features` stamps it (catalog version, as-of date)."""
    from creditgrade.features import catalog

    metadata = {META_VERSION: catalog.version().encode(), META_AS_OF: str(day).encode()}
    with atomic_file(out) as tmp, RowGroups(tmp, "parquet", ROW_GROUP) as writer:
        for path in files:
            writer.add(_read_ipc(path).replace_schema_metadata(metadata))


def _partitions(data: Path, parallelism: int) -> int:
    """Partitions for the city: about ROWS_PER_PARTITION enterprises each, at least one per core."""
    rows = pq.ParquetFile(data / "enterprises.parquet").metadata.num_rows
    return max(math.ceil(rows / ROWS_PER_PARTITION), parallelism)
