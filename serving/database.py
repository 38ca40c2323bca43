"""The served month and the grade history in the team database (PostgreSQL), for services on more than one
machine: lookups, batch lookups and history answered from indexed tables instead of the graded folder.

With `CREDITGRADE_LOOKUPS=database` the service reads the newest month loaded here (`DatabaseStore`,
`DatabaseHistory`) from the workflow database at `CREDITGRADE_DATABASE_URL`, which must then be PostgreSQL.
The month's files stay the record: `sync` copies into the database what the published months hold and it
does not — every month's history rows, the corrections of upheld objections and repairs, and the newest
month's graded rows with their indicator values — and `creditgrade month` runs it after publishing (and
`creditgrade sync-database` on demand, e.g. to fill a new database). Each load is one transaction,
so a service sees a month whole or not at all:

    creditgrade_months      one row per month loaded: its graded table's name, model and catalog versions,
                            the indicators' order in `indicators`, the enterprises, when it was loaded
    creditgrade_grades_<as-of>_<n>
                            one month's graded rows (primary key: the USCC; `position`: the row's place in
                            USCC order, as in the lookup file and the name index), the reasons as JSON and
                            the indicator values as one array; the newest two months are kept
    creditgrade_history     every published month of every enterprise and every correction (index: USCC,
                            month); `creditgrade_history_loaded` lists the months and corrections in it

A worker holds one connection and the rows of its last lookup, nothing that grows with the city. The rows
are copied in with COPY from the lookup file (DuckDB renders each batch: the reasons with `to_json`, the
numbers in their shortest exact form), so what is answered equals the files' answers exactly (tested).
"""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from creditgrade.features.errors import CreditgradeError, NotFound
from creditgrade.features.pipeline import META_AS_OF
from creditgrade.features.store import no_progress_bar
from creditgrade.serving.batch import LOOKUP, LOOKUP_INDICATORS
from creditgrade.serving.graded import present, regraded_answers
from creditgrade.serving.history import COLUMNS as HISTORY_COLUMNS
from creditgrade.serving.history import CORRECTIONS, DATES, REGRADED, History, answered

MONTHS = "creditgrade_months"
HISTORY = "creditgrade_history"
LOADED = "creditgrade_history_loaded"
REGRADED_TABLE = "creditgrade_regraded"
RETIRED = "creditgrade_retired"  # graded tables no longer served, dropped at a later load
KEEP = 2  # graded months kept: the one served and the one before (a worker may still be reading it)
BATCH = 65_536  # rows rendered and copied at a time
SKIPPED = ("model_view",)  # the explanations' reuse key: the grading job's, never answered
PG_TYPES = {"string": "text", "large_string": "text", "double": "double precision", "date32[day]": "date"}


class DatabaseUnavailable(CreditgradeError):
    """The team database cannot be reached or does not hold a month: lookups are refused, not guessed."""

    code = "database_unavailable"
    status = 503


def connect(url: str):
    """A psycopg connection (autocommit) to the PostgreSQL database of a SQLAlchemy URL
    (`postgresql+psycopg://user@host:port/db`); a clear error for any other kind of URL."""
    import psycopg
    import sqlalchemy as sa

    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise CreditgradeError(
            f"serving lookups from the database needs PostgreSQL; CREDITGRADE_DATABASE_URL is {parsed.drivername}",
            f"从数据库提供查询需要 PostgreSQL；CREDITGRADE_DATABASE_URL 为 {parsed.drivername}",
            code="bad_setting",
        )
    conninfo = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        return psycopg.connect(conninfo, autocommit=True, application_name="creditgrade")
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailable(
            f"the team database cannot be reached ({parsed.render_as_string()}): {str(exc).strip()}",
            f"无法连接团队数据库（{parsed.render_as_string()}）",
        ) from None


# -- loading ------------------------------------------------------------------------------------


def sync(url: str, monthly: Path, progress=None) -> dict:
    """Copy into the database what the published months under `monthly` hold and it does not: each month's
    history rows, each correction, and the newest month's graded rows. Returns what was loaded."""
    progress = progress or (lambda step, done, total: None)
    history = History(Path(monthly) / "history")
    months = history.months()
    loaded = {"months": [], "corrections": [], "graded": None}
    folders = {"correction": history.root / CORRECTIONS, "regraded": history.root / REGRADED}
    files = [(str(m), history.path(m)) for m in months] + [
        (f"{kind}:{p.stem}", p) for kind, folder in folders.items() for p in sorted(folder.glob("*.parquet"))
    ]
    with connect(url) as con:
        _create(con)
        have = dict(con.execute(f"SELECT name, stamp FROM {LOADED}").fetchall())
        for k, (name, path) in enumerate(files):
            stamp = _stamp(path)
            if have.get(name) == stamp:  # loaded, and the file has not been written again since
                continue
            progress("history", k, len(files))
            kind, _, key = name.rpartition(":")
            with con.transaction():
                if kind == "regraded":
                    con.execute(f"DELETE FROM {REGRADED_TABLE} WHERE correction = %s", [key])
                    columns = "(as_of, uscc, correction, corrected_on, graded)"
                    _copy(con, REGRADED_TABLE, _regraded_batches(path), columns)
                else:
                    month_rows = "month = %s AND correction IS NULL" if not kind else "correction = %s"
                    con.execute(f"DELETE FROM {HISTORY} WHERE {month_rows}", [key])
                    _copy(con, HISTORY, _history_batches(path))
                con.execute(f"DELETE FROM {LOADED} WHERE name = %s", [name])
                con.execute(f"INSERT INTO {LOADED} (name, stamp) VALUES (%s, %s)", [name, stamp])
            if kind != "regraded":  # (a correction's regraded rows come with its history rows)
                loaded["corrections" if kind else "months"].append(key)
        if months:
            graded = Path(monthly) / "months" / str(months[-1]) / "graded"
            served = con.execute(f"SELECT as_of, source FROM {MONTHS} ORDER BY as_of DESC LIMIT 1").fetchone()
            if served is None or served[0] < months[-1] or served[1] != _stamp(graded / LOOKUP):
                progress("graded", 0, 1)
                load_graded(con, graded)
                loaded["graded"] = str(months[-1])
    progress("done", 1, 1)
    return loaded


def sync_when_served(monthly: Path, done_en: str, done_zh: str) -> dict | None:
    """`sync` after the files changed (a month published, an objection upheld) when the service answers from
    the database (`CREDITGRADE_LOOKUPS=database`); an error saying what was done and how to finish otherwise."""
    import psycopg

    from creditgrade.features.settings import settings

    s = settings()
    if s.lookups != "database":
        return None
    try:
        return sync(s.database_url, monthly)
    except (CreditgradeError, psycopg.Error) as exc:
        en, zh = (exc.en, exc.zh) if isinstance(exc, CreditgradeError) else (str(exc).strip(), str(exc).strip())
        raise DatabaseUnavailable(
            f"{done_en}, but the team database was not brought up to date ({en}):"
            " run `creditgrade sync-database` once it can be reached",
            f"{done_zh}，但团队数据库未能更新（{zh}）：数据库恢复后请运行 `creditgrade sync-database`",
        ) from None


def load_graded(con, folder: Path) -> str:
    """Load a graded folder's rows (its lookup file) as its month's table, in one transaction: the new table
    filled and indexed, then named in `creditgrade_months` (replacing a load of the same month); the tables of
    a replaced load and of months beyond the newest KEEP retired (dropped at a later load). Returns the table's
    name."""
    path = Path(folder) / LOOKUP
    if not path.exists():
        raise NotFound(f"{path} does not exist: grade the month first", f"{path} 不存在：请先完成该月分级")
    table = pa.ipc.open_file(pa.memory_map(str(path))).read_all()
    meta = table.schema.metadata or {}
    indicators = [c for c in meta.get(LOOKUP_INDICATORS, b"").decode().split(",") if c]
    graded = [f for f in table.schema if f.name not in indicators and f.name not in SKIPPED]
    if table.num_rows == 0:
        raise CreditgradeError(f"{path} holds no enterprises", f"{path} 不含任何企业")
    as_of = table.column("as_of")[0].as_py()
    _create(con)
    with con.transaction():
        name = f"creditgrade_grades_{as_of:%Y%m%d}_{int(time.time() * 1000)}"
        columns = ["position bigint NOT NULL"]
        for f in graded:
            kind = "json" if f.name == "reasons" else PG_TYPES.get(str(f.type))
            if kind is None:
                raise CreditgradeError(
                    f"{path}: column {f.name} has type {f.type}, which the database copy does not know",
                    f"{path}：列 {f.name} 的类型 {f.type} 无法写入数据库",
                )
            columns.append(f"{f.name} {kind}")
        columns.append("indicators double precision[] NOT NULL")
        con.execute(f"CREATE TABLE {name} ({', '.join(columns)})")
        _copy(con, name, _graded_batches(table, [f.name for f in graded], indicators))
        con.execute(f"ALTER TABLE {name} ADD PRIMARY KEY (uscc)")
        con.execute(f"CREATE UNIQUE INDEX ON {name} (position)")
        con.execute(f"ANALYZE {name}")
        old = con.execute(f"SELECT grades_table FROM {MONTHS} WHERE as_of = %s", [as_of]).fetchone()
        con.execute(f"DELETE FROM {MONTHS} WHERE as_of = %s", [as_of])
        con.execute(
            f"INSERT INTO {MONTHS} (as_of, grades_table, model_version, catalog_version, indicator_names,"
            " enterprises, loaded_at, source) VALUES (%s, %s, %s, %s, %s, %s, clock_timestamp(), %s)",
            [
                as_of,
                name,
                table.column("model_version")[0].as_py(),
                table.column("catalog_version")[0].as_py(),
                indicators,
                table.num_rows,
                _stamp(path),
            ],
        )
        retired = [old[0]] if old else []
        retired += [
            r[0]
            for r in con.execute(f"SELECT grades_table FROM {MONTHS} ORDER BY as_of DESC OFFSET %s", [KEEP]).fetchall()
        ]
        con.execute(
            f"DELETE FROM {MONTHS} WHERE as_of NOT IN (SELECT as_of FROM {MONTHS} ORDER BY as_of DESC LIMIT %s)", [KEEP]
        )
        # A table no longer served is dropped at a later load, a minute on at least: the workers still reading it
        # see the new month within a second (`DatabaseStore.stamp`) and are never answered "no such table".
        for (gone,) in con.execute(
            f"DELETE FROM {RETIRED} WHERE retired_at < clock_timestamp() - interval '1 minute' RETURNING name"
        ).fetchall():
            con.execute(f"DROP TABLE IF EXISTS {gone}")
        for name_retired in retired:
            con.execute(f"INSERT INTO {RETIRED} (name, retired_at) VALUES (%s, clock_timestamp())", [name_retired])
    return name


def _stamp(path: Path) -> str:
    """What says a file was written again: its size and modification time (every file here is written whole
    under a temporary name and renamed, so a rewrite always changes them)."""
    st = Path(path).stat()
    return f"{st.st_size}:{st.st_mtime_ns}"


def _create(con) -> None:
    history = ", ".join(f"{c} {_history_type(c)}" for c in HISTORY_COLUMNS)
    con.execute(
        f"CREATE TABLE IF NOT EXISTS {MONTHS} (as_of date PRIMARY KEY, grades_table text NOT NULL, model_version"
        " text, catalog_version text, indicator_names text[] NOT NULL, enterprises bigint NOT NULL,"
        " loaded_at timestamptz NOT NULL, source text NOT NULL)"
    )
    con.execute(f"CREATE TABLE IF NOT EXISTS {HISTORY} ({history})")
    con.execute(f"CREATE INDEX IF NOT EXISTS {HISTORY}_uscc ON {HISTORY} (uscc, month)")
    con.execute(
        f"CREATE TABLE IF NOT EXISTS {REGRADED_TABLE} (as_of date NOT NULL, uscc text NOT NULL, correction text NOT"
        " NULL, corrected_on date NOT NULL, graded json NOT NULL, loaded_at timestamptz NOT NULL DEFAULT"
        " clock_timestamp())"
    )
    con.execute(f"CREATE TABLE IF NOT EXISTS {RETIRED} (name text PRIMARY KEY, retired_at timestamptz NOT NULL)")
    con.execute(
        f"CREATE TABLE IF NOT EXISTS {LOADED} (name text PRIMARY KEY, stamp text NOT NULL, loaded_at timestamptz"
        " NOT NULL DEFAULT now())"
    )


def _history_type(column: str) -> str:
    if column in DATES:
        return "date"
    return "double precision" if column in ("probability", "score") else "text"


def _graded_batches(table: pa.Table, graded: list[str], indicators: list[str]):
    """The graded rows as COPY's CSV, a batch at a time: the position in USCC order, the graded columns (the
    reasons as JSON) and the indicators as a PostgreSQL array literal, numbers in their shortest exact form."""
    shown = ["to_json(reasons)::VARCHAR AS reasons" if c == "reasons" else f'"{c}"' for c in graded]
    values = ", ".join(f'"{c}"' for c in indicators)
    array = f"'{{' || array_to_string(list_transform([{values}], lambda x: coalesce(x::VARCHAR, 'NULL')), ',') || '}}'"
    positioned = table.append_column("position", pa.array(np.arange(table.num_rows, dtype=np.int64)))
    yield from _rendered(positioned, f"SELECT position, {', '.join(shown)}, {array} AS indicators FROM part")


def _regraded_batches(path: Path):
    """A correction's whole graded rows (`History.write_regraded`), each as JSON beside its keys."""
    rows = pq.read_table(path).drop_columns(list(SKIPPED))
    yield from _rendered(rows, "SELECT as_of, uscc, correction, corrected_on, to_json(part)::VARCHAR FROM part")


def _rendered(rows: pa.Table, sql: str):
    """`sql` over the table `rows` (named `part` in it) in DuckDB, one thread, as COPY's CSV a batch at a time."""
    con = duckdb.connect(config={"threads": 1})
    no_progress_bar(con.execute)
    con.register("part", rows)
    try:
        for batch in con.sql(sql).to_arrow_reader(BATCH):
            yield _csv(batch)
    finally:
        con.close()


def _history_batches(path: Path):
    for batch in pq.ParquetFile(path).iter_batches(BATCH, columns=HISTORY_COLUMNS):
        yield _csv(batch)


def _csv(batch: pa.RecordBatch) -> bytes:
    out = io.BytesIO()
    pacsv.write_csv(batch, out, pacsv.WriteOptions(include_header=False, quoting_style="needed"))
    return out.getvalue()


def _copy(con, table: str, chunks, columns: str = "") -> None:
    with con.cursor() as cur, cur.copy(f"COPY {table} {columns} FROM STDIN (FORMAT csv)") as copy:
        for chunk in chunks:
            copy.write(chunk)


# -- serving ------------------------------------------------------------------------------------


class DatabaseStore:
    """The newest month in the database, answering as `serving.graded.GradedStore` does: `find` gives the rows'
    positions in USCC order (the same as the lookup file's, so the name index of the month's folder applies),
    `rows` the answers. The rows found are held (per thread) for the `rows`, `indicators` and `column` calls that
    follow, so a lookup is one query."""

    def __init__(self, url: str, folder: Path | None = None):
        self.url, self.folder = url, folder
        self._lock = threading.Lock()
        self._local = threading.local()
        self._con = connect(url)
        month = self._query(
            f"SELECT as_of, grades_table, model_version, indicator_names, enterprises, loaded_at FROM {MONTHS}"
            " ORDER BY as_of DESC LIMIT 1",
            [],
            missing_ok=True,
        )
        if not month:
            raise DatabaseUnavailable(
                "the team database holds no graded month: run `creditgrade sync-database`",
                "团队数据库中尚无分级结果：请运行 `creditgrade sync-database`",
            )
        as_of, self._table, self.model_version, names, self._count, self.loaded_at = month[0]
        self.as_of, self.indicator_names = str(as_of), tuple(names)
        self._columns = None

    def stamp(self):
        """What says a newer month was loaded: the newest month and when it was loaded (None if unreachable)."""
        try:
            return tuple(self._query(f"SELECT max(as_of), max(loaded_at) FROM {MONTHS}", [])[0])
        except DatabaseUnavailable:
            return None

    def __len__(self) -> int:
        return int(self._count)

    def find(self, usccs: list[str]) -> tuple[np.ndarray, list[str]]:
        rows = self._select("uscc = ANY(%s)", list(usccs))
        by_code = {r["uscc"]: r for r in rows}
        self._local.rows = {r["position"]: r for r in rows}
        found = [by_code[u]["position"] for u in usccs if u in by_code]
        return np.array(found, dtype=np.int64), [u for u in usccs if u not in by_code]

    def known(self, uscc: str) -> bool:
        return len(self.find([uscc])[0]) == 1

    def rows(self, positions) -> list[dict]:
        return [present(r) for r in self._held(positions)]

    def indicators(self, position: int) -> dict[str, float]:
        values = self._held([position])[0]["indicators"]
        return {k: float("nan") if v is None else float(v) for k, v in zip(self.indicator_names, values)}

    def column(self, name: str, position: int):
        return self._held([position])[0][name]

    def identity(self) -> dict:
        """The served month's identity, as `serving.names.identity` gives it for the month's lookup file."""
        ends = self._query(
            f"SELECT uscc FROM {self._table} WHERE position IN (0, %s) ORDER BY position", [len(self) - 1]
        )
        return {
            "as_of": self.as_of,
            "model_version": self.model_version,
            "rows": len(self),
            "first": ends[0][0],
            "last": ends[-1][0],
        }

    def names(self) -> pa.Array:
        """Every enterprise's name in position order (for a name index built in memory)."""
        rows = self._query(f"SELECT name FROM {self._table} ORDER BY position", [])
        return pa.array([r[0] for r in rows], pa.string())

    def _held(self, positions) -> list[dict]:
        held = getattr(self._local, "rows", {})
        wanted = [int(p) for p in positions]
        absent = [p for p in wanted if p not in held]
        if absent:
            held = {**held, **{r["position"]: r for r in self._select("position = ANY(%s)", absent)}}
            self._local.rows = held
        return [held[p] for p in wanted]

    def _select(self, where: str, values: list) -> list[dict]:
        if self._columns is None:
            found = self._query(
                "SELECT column_name FROM information_schema.columns WHERE table_name = %s ORDER BY ordinal_position",
                [self._table],
            )
            self._columns = [r[0] for r in found]
        rows = self._query(f"SELECT * FROM {self._table} WHERE {where}", [values])
        return [dict(zip(self._columns, r)) for r in rows]

    def _query(self, sql: str, params: list, missing_ok: bool = False) -> list[tuple]:
        """Run a query, connecting again once if the connection was lost (a database restarted); the service
        answers 503 while the database cannot be reached."""
        import psycopg

        for attempt in (0, 1):
            try:
                with self._lock:
                    return self._con.execute(sql, params).fetchall()
            except psycopg.errors.UndefinedTable:
                if missing_ok:
                    return []
                raise DatabaseUnavailable(
                    f"the served month's table {self._table} is gone from the team database (a newer month was"
                    " loaded): the service reloads within a second",
                    "团队数据库中正在提供的月份表已被替换：服务将在一秒内重新加载",
                ) from None
            except psycopg.OperationalError:
                if attempt:
                    raise DatabaseUnavailable("the team database cannot be reached", "无法连接团队数据库") from None
                with self._lock:
                    self._con.close()
                    self._con = connect(self.url)
        raise AssertionError("unreachable")


class DatabaseRegraded:
    """Enterprises regraded after their month was published, from `creditgrade_regraded`, as
    `serving.graded.Regraded` answers them from the files: looked at again at most once every `every` seconds,
    read again only when a correction was loaded."""

    def __init__(self, store: DatabaseStore, every: float = 1.0):
        self.store, self.every = store, every
        self._lock = threading.Lock()
        self._looked, self._stamp, self._rows = -1e9, None, {}

    def row(self, uscc: str) -> dict | None:
        now = time.monotonic()
        if now - self._looked >= self.every:
            with self._lock:
                if now - self._looked >= self.every:
                    self._refresh()
                    self._looked = time.monotonic()
        return self._rows.get(uscc)

    def _refresh(self) -> None:
        q = self.store._query
        stamp = q(f"SELECT count(*), max(loaded_at) FROM {REGRADED_TABLE} WHERE as_of = %s", [self.store.as_of], True)
        if stamp == self._stamp:
            return
        found = q(f"SELECT graded FROM {REGRADED_TABLE} WHERE as_of = %s", [self.store.as_of], True)
        self._rows, self._stamp = regraded_answers(r for (r,) in found), stamp


def matching_folder(graded: Path, monthly: Path, as_of: str) -> Path | None:
    """The graded folder of the month the database serves, where this machine has it (the month's name index
    and the plans' table are read from it); None where it has not, or holds another month."""
    from creditgrade.serving.graded import served_folder

    candidates = [Path(monthly) / "months" / as_of / "graded", Path(graded) / as_of]
    try:
        candidates.append(served_folder(graded, monthly))
    except NotFound:
        pass
    for folder in candidates:
        try:
            meta = pa.ipc.open_file(pa.memory_map(str(folder / LOOKUP))).schema.metadata or {}
        except (OSError, pa.ArrowInvalid):
            continue
        if meta.get(META_AS_OF, b"").decode() == as_of:
            return folder
    return None


class DatabaseHistory:
    """An enterprise's published months from `creditgrade_history`, as `serving.history.Lookup.months` answers
    them: oldest first, each month's corrections after it."""

    def __init__(self, store: DatabaseStore):
        self.store = store

    def months(self, uscc: str, con=None) -> list[dict]:
        rows = self.store._query(
            f"SELECT {', '.join(HISTORY_COLUMNS)} FROM {HISTORY} WHERE uscc = %s"
            ' ORDER BY month, corrected_on NULLS FIRST, correction COLLATE "C" NULLS FIRST',
            [uscc],
            missing_ok=True,
        )
        return [answered(dict(zip(HISTORY_COLUMNS, r))) for r in rows]

    def refresh(self) -> None:
        """Nothing to open ahead (the files' lookup maps its file here)."""


def describe(url: str) -> dict:
    """What the database holds, for the CLI: the months loaded and the history's months and corrections."""
    with connect(url) as con:
        _create(con)
        months = con.execute(
            f"SELECT as_of, enterprises, model_version, loaded_at FROM {MONTHS} ORDER BY as_of"
        ).fetchall()
        loaded = [r[0] for r in con.execute(f"SELECT name FROM {LOADED} ORDER BY name")]
    return {
        "graded": [
            {"as_of": str(a), "enterprises": n, "model_version": v, "loaded_at": str(t)} for a, n, v, t in months
        ],
        "history": loaded,
    }
