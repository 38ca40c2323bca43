"""The team database's copy of the served month and the history (serving/database.py): the same answers as the
files, row for row; loaded whole or not at all; served by the real server with CREDITGRADE_LOOKUPS=database."""

from __future__ import annotations

import datetime as dt
import math
import os

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from creditgrade.features.errors import CreditgradeError
from creditgrade.serving import database as D
from creditgrade.serving.graded import GradedStore, Regraded
from creditgrade.serving.history import REGRADED, History, Lookup

MONTHS = (dt.date(2025, 11, 30), dt.date(2025, 12, 31))


@pytest.fixture(scope="module")
def published(graded_city, tmp_path_factory):
    """Two published months of the test city, and one correction (two enterprises regraded) after them."""
    from creditgrade.serving.month import run_month

    monthly = tmp_path_factory.mktemp("database") / "monthly"
    for day in MONTHS:
        run_month(graded_city.clean, day, monthly, graded_city.loaded, accept_drift=True)
    history = History(monthly / "history")
    graded = GradedStore(monthly / "months" / str(MONTHS[-1]) / "graded")
    rows = graded.table.slice(100, 2).drop_columns(list(graded.indicator_names))
    regraded = rows.set_column(rows.schema.get_field_index("grade_shenzhen"), "grade_shenzhen", pa.array(["E", "E"]))
    history.write_regraded(regraded, "OBJ-TEST-1", dt.date(2026, 1, 9))
    history.write_correction(History.rows(regraded, MONTHS[-1], "OBJ-TEST-1", dt.date(2026, 1, 9)), "OBJ-TEST-1")
    return monthly


@pytest.fixture(scope="module")
def loaded(published, postgres_server):
    url = postgres_server()
    first = D.sync(url, published)
    return url, first


def _same(a, b) -> bool:
    """Equal, NaN equal to NaN, nested."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b and type(a) is type(b)


def test_sync_loads_what_the_files_hold_once(loaded, published):
    url, first = loaded
    assert first["months"] == [str(m) for m in MONTHS]
    assert first["corrections"] == ["OBJ-TEST-1"] and first["graded"] == str(MONTHS[-1])
    assert D.sync(url, published) == {"months": [], "corrections": [], "graded": None}  # nothing new: nothing done
    for path in (
        History(published / "history").path(MONTHS[0]),
        published / "months" / str(MONTHS[-1]) / "graded" / "lookup.arrow",
    ):  # written again (a month republished as a correction)
        st = path.stat()
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert D.sync(url, published) == {"months": [str(MONTHS[0])], "corrections": [], "graded": str(MONTHS[-1])}
    with D.connect(url) as con:
        rows = con.execute(f"SELECT count(*) FROM {D.HISTORY} WHERE month = %s", [MONTHS[0]]).fetchone()[0]
    assert rows == pq.read_metadata(History(published / "history").path(MONTHS[0])).num_rows  # replaced, not added
    held = D.describe(url)
    assert [g["as_of"] for g in held["graded"]] == [str(MONTHS[-1])]


def test_every_row_answered_as_the_files_answer(loaded, published):
    url, _ = loaded
    files = GradedStore(published / "months" / str(MONTHS[-1]) / "graded")
    db = D.DatabaseStore(url)
    assert (db.as_of, db.model_version, db.indicator_names, len(db)) == (
        files.as_of,
        files.model_version,
        files.indicator_names,
        len(files),
    )
    codes = files.table.column("uscc").to_pylist()
    rng = np.random.default_rng(0)
    asked = [*rng.permutation(codes).tolist(), "91440300MA5FAKE00D"]  # every enterprise, shuffled, and an unknown
    at_db, missing_db = db.find(asked)
    at_files, missing_files = files.find(asked)
    assert missing_db == missing_files == ["91440300MA5FAKE00D"]
    assert at_db.tolist() == at_files.tolist()  # the same positions: the folder's name index applies
    mismatched = [a["uscc"] for a, b in zip(db.rows(at_db), files.rows(at_files)) if not _same(a, b)]
    assert mismatched == []
    for p in at_files[:300]:
        assert _same(db.indicators(int(p)), files.indicators(int(p)))
        assert db.column("override_effect", int(p)) == files.column("override_effect", int(p))
    assert pc.sum(pc.is_null(files.table.column("d1_paid_in_ratio"))).as_py() > 0  # missing values were compared
    assert db.names().to_pylist() == files.names().to_pylist()
    assert db.identity() == files.identity()  # so the month's name index applies to both


def test_history_and_corrections_as_the_files_answer(loaded, published):
    url, _ = loaded
    db = D.DatabaseStore(url)
    history, lookup = D.DatabaseHistory(db), Lookup(History(published / "history"))
    codes = GradedStore(published / "months" / str(MONTHS[-1]) / "graded").table.column("uscc").to_pylist()
    corrected = codes[100]
    for code in [*codes[::40], corrected, "91440300MA5FAKE00D"]:
        assert history.months(code) == lookup.months(code), code
    assert [m["correction"] for m in history.months(corrected)] == [None, None, "OBJ-TEST-1"]
    files = Regraded(published / "history" / REGRADED, db.as_of)
    assert _same(D.DatabaseRegraded(db).row(corrected), files.row(corrected))
    assert D.DatabaseRegraded(db).row(corrected)["grades"]["shenzhen"] == "E"
    assert D.DatabaseRegraded(db).row(codes[0]) is None


def test_a_failed_load_leaves_the_served_month_whole(loaded, published, monkeypatch):
    url, _ = loaded
    before = D.DatabaseStore(url)
    stamp = before.stamp()
    tables = "SELECT count(*) FROM information_schema.tables WHERE table_name LIKE 'creditgrade_grades_%'"
    with D.connect(url) as con:
        count = con.execute(tables).fetchone()[0]
    real = D._graded_batches

    def broken(*args):
        batches = real(*args)
        yield next(batches)  # the first rows go in, then the copy breaks
        raise OSError("disk gone")

    monkeypatch.setattr(D, "_graded_batches", broken)
    with pytest.raises(OSError), D.connect(url) as con:
        D.load_graded(con, published / "months" / str(MONTHS[-1]) / "graded")
    after = D.DatabaseStore(url)
    assert (after._table, after.loaded_at, len(after)) == (before._table, before.loaded_at, len(before))
    with D.connect(url) as con:
        assert con.execute(tables).fetchone()[0] == count  # no half-filled table left behind
    monkeypatch.setattr(D, "_graded_batches", real)
    with D.connect(url) as con:  # loaded again: a new table; the one replaced is kept a while for its readers
        D.load_graded(con, published / "months" / str(MONTHS[-1]) / "graded")
        assert con.execute(tables).fetchone()[0] == count + 1
        assert (before._table,) in con.execute(f"SELECT name FROM {D.RETIRED}").fetchall()
    again = D.DatabaseStore(url)
    assert again._table != before._table and before.stamp() != stamp  # a worker serving `before` sees it changed
    code = GradedStore(published / "months" / str(MONTHS[-1]) / "graded").table.column("uscc")[5].as_py()
    assert again.rows(again.find([code])[0]) == before.rows(before.find([code])[0])  # both still answer


def test_a_lost_connection_is_opened_again(loaded):
    url, _ = loaded
    db = D.DatabaseStore(url)
    code = db._query(f"SELECT uscc FROM {db._table} LIMIT 1", [])[0][0]
    with D.connect(url) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'creditgrade'"
            " AND pid <> pg_backend_pid()"
        )
    assert len(db.find([code])[0]) == 1  # answered on a new connection


def test_only_postgresql_is_served_from(tmp_path):
    with pytest.raises(CreditgradeError, match="needs PostgreSQL"):
        D.connect(f"sqlite:///{tmp_path / 'workflow.db'}")


def test_lookups_setting_is_checked(monkeypatch):
    from creditgrade.features.settings import settings

    monkeypatch.setenv("CREDITGRADE_LOOKUPS", "Database")
    assert settings().lookups == "database"
    monkeypatch.setenv("CREDITGRADE_LOOKUPS", "redis")
    with pytest.raises(CreditgradeError, match="CREDITGRADE_LOOKUPS must be one of files, database"):
        settings()


def test_the_real_server_answers_from_the_database(loaded, published, graded_city, tmp_path):
    """`creditgrade serve` with CREDITGRADE_LOOKUPS=database: a lookup, a batch and a history as the files answer
    them (JSON), the correction answered at once, and no month files on the service's side: its monthly folder
    is empty, so every answer came from the database."""
    import httpx
    import orjson

    from creditgrade.serving.auth import hash_key
    from creditgrade.serving.launch import running_server
    from tests.serving.conftest import service_env

    url, _ = loaded
    env = {
        **service_env(graded_city, tmp_path, {"db-reg": ("regulator", "db-secret")}),
        "CREDITGRADE_LOOKUPS": "database",
        "CREDITGRADE_DATABASE_URL": url,
        "CREDITGRADE_GRADED": str(tmp_path / "no-graded"),
        "CREDITGRADE_API_KEYS": f"db-reg:regulator:{hash_key('db-secret')},db-plan:planner:{hash_key('db-plan')}",
    }
    files = GradedStore(published / "months" / str(MONTHS[-1]) / "graded")
    lookup = Lookup(History(published / "history"))
    codes = files.table.column("uscc").to_pylist()
    corrected = codes[100]
    expected = {r["uscc"]: orjson.loads(orjson.dumps(r)) for r in files.rows(np.arange(len(files)))}
    headers = {"X-API-Key": "db-secret"}
    with running_server("--workers", "2", env=env) as base, httpx.Client(base_url=base, timeout=60) as http:
        one = http.post("/v1/grade", json={"uscc": codes[7]}, headers=headers)
        assert one.status_code == 200, one.text
        assert one.json() == {**expected[codes[7]], "disputed": []}
        asked = [*codes[:500], "91440300MA5FAKE00D"]
        batch = http.post("/v1/grades", json={"usccs": asked}, headers=headers).json()
        assert batch["not_found"] == ["91440300MA5FAKE00D"]
        by_code = {r["uscc"]: r for r in batch["enterprises"]}
        assert by_code[corrected]["grades"]["shenzhen"] == "E"  # the upheld correction, from the database
        assert by_code[corrected]["correction"] == {"id": "OBJ-TEST-1", "on": "2026-01-09"}
        assert by_code[codes[101]]["grades"]["shenzhen"] == "E"  # the correction's second enterprise
        assert all(by_code[c] == {**expected[c], "disputed": []} for c in codes[:500] if c not in codes[100:102])
        for code in (codes[3], corrected):
            months = http.get(f"/v1/history/{code}", headers=headers).json()["months"]
            assert months == orjson.loads(orjson.dumps(lookup.months(code)))
        model = http.post("/v1/model", json={}, headers=headers).json()
        assert (model["graded_as_of"], model["graded_enterprises"]) == (str(MONTHS[-1]), len(files))
        plan = http.post(
            "/v1/plan",
            json={"plan": {"plan_id": "p", "budget": 0.03, "floor": 0.005}},
            headers={"X-API-Key": "db-plan"},
        )
        assert plan.status_code == 404 and "not on this machine" in plan.json()["error"]
