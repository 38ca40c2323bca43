"""Objections and credit repairs: an append-only workflow that corrects a record and regrades at once."""

from __future__ import annotations

import datetime as dt
import shutil
import threading

import duckdb
import pandas as pd
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from creditgrade.features.corrections import WhatIfError
from creditgrade.features.errors import NotFound
from creditgrade.serving import objections as O
from creditgrade.serving.batch import GRADED
from creditgrade.serving.cli import app
from creditgrade.serving.history import History
from creditgrade.serving.month import run_month

MONTH = dt.date(2025, 10, 31)
runner = CliRunner()


@pytest.fixture(scope="module")
def published(graded_city, tmp_path_factory):
    """One published month and an enterprise moved two grades down by an override with one source record."""
    root = tmp_path_factory.mktemp("objections")
    run_month(graded_city.clean, MONTH, root, graded_city.loaded)
    graded = root / "months" / str(MONTH) / "graded" / GRADED
    row = duckdb.sql(
        f"SELECT uscc, override_source, grade_shenzhen, grade_shenzhen_by_score FROM read_parquet('{graded}') "
        "WHERE register_status = 'active' AND override_effect = 'down2' AND grade_shenzhen <> grade_shenzhen_by_score "
        "ORDER BY uscc LIMIT 1"
    ).fetchall()[0]
    return root, row[0], row[1].split("@")[0], row[2], row[3]


@pytest.fixture(params=["sqlite", "postgresql"])
def eng(request, tmp_path):
    """The workflow database: the embedded default, and a real PostgreSQL server (the team's option) through
    the same code."""
    if request.param == "sqlite":
        yield O.engine(f"sqlite:///{tmp_path / 'workflow.db'}")
        return
    e = O.engine(request.getfixturevalue("postgres_server")())
    assert e.dialect.name == "postgresql"
    yield e
    e.dispose()


def test_an_upheld_objection_removes_the_record_and_regrades_at_once_as_a_full_regrade_would(
    published, graded_city, eng, tmp_path
):
    published_root, uscc, record, grade, by_score = published
    root = tmp_path / "monthly"  # this test's own copy of the published history (it is run on each database)
    shutil.copytree(published_root / "history", root / "history")
    o = O.file(eng, graded_city.clean, uscc, record, "Listed in error", "staff-1", day=MONTH)
    assert o.status == "open" and o.deadline == "2025-11-21"  # 15 working days after a Friday
    d = O.decide(
        eng, o.id, True, "Confirmed by the listing department", "staff-2", day=MONTH,
        data=graded_city.clean, root=root, scoring=graded_city.loaded,
    )  # fmt: skip
    assert d.objection.status == "upheld" and d.before["grade"] == grade
    assert d.after["grade"] == by_score  # the override its record caused is lifted
    rows = History(root / "history").of(uscc)
    assert list(rows.correction.fillna("")) == ["", o.id]
    # The same enterprise in a full-city rerun of the month with the correction in force.
    rerun = tmp_path / "rerun"
    run_month(graded_city.clean, MONTH, rerun, graded_city.loaded, corrections=O.corrections(eng, until=MONTH))
    full = History(rerun / "history").of(uscc).iloc[0]
    corrected = rows.iloc[-1]
    for c in ("grade_shenzhen", "grade_shenzhen_by_score", "score", "override_rule"):
        assert full[c] == corrected[c] or (pd.isna(full[c]) and pd.isna(corrected[c])), c
    # One row's contributions are summed in another order than a city batch's: equal to the last few bits.
    assert full["probability"] == pytest.approx(corrected["probability"], rel=1e-12)
    # Point in time: a month before the decision still sees the record.
    assert O.corrections(eng, until=MONTH - dt.timedelta(days=1)) == []


def test_the_workflow_keeps_every_step_and_only_adds_rows(published, graded_city, eng):
    root, uscc, record, *_ = published
    o = O.file(eng, graded_city.clean, uscc, record, "Wrong date", "staff-1", day=dt.date(2025, 11, 3))
    with pytest.raises(O.ObjectionError, match="already has an open objection"):
        O.file(eng, graded_city.clean, uscc, record, "Again", "staff-9", day=dt.date(2025, 11, 4))
    assert [x.id for x in O.objections(eng, overdue=True, today=dt.date(2025, 12, 31))] == [o.id]
    d = O.decide(eng, o.id, False, "The record is correct", "staff-2", day=dt.date(2025, 11, 5))
    assert d.objection.status == "rejected" and d.after is None and O.corrections(eng) == []
    with pytest.raises(O.ObjectionError, match="already decided") as twice:
        O.decide(eng, o.id, True, "Changed my mind", "staff-3")
    assert twice.value.code == "already_decided" and "已于" in twice.value.zh
    with eng.connect() as con:
        events = con.execute(sa.select(O.EVENTS.c.stage, O.EVENTS.c.actor, O.EVENTS.c.text)).all()
    assert [tuple(e) for e in events] == [
        ("filed", "staff-1", "Wrong date"),
        ("decided", "staff-2", "The record is correct"),
    ]
    assert not O.objections(eng, overdue=True, today=dt.date(2025, 12, 31))  # answered in time


def test_bad_filings_and_decisions_are_refused_with_the_reason(published, graded_city, eng):
    root, uscc, record, *_ = published
    other = duckdb.sql(
        f"SELECT penalty_id, uscc FROM read_parquet('{graded_city.clean / 'penalties.parquet'}') "
        f"WHERE uscc <> '{uscc}' LIMIT 1"
    ).fetchall()[0]
    with pytest.raises(WhatIfError, match=f"is not one of {uscc}'s records"):
        O.file(eng, graded_city.clean, uscc, f"penalties:{other[0]}", "x", "s")
    with pytest.raises(NotFound, match="no record PEN-NONE in penalties"):
        O.file(eng, graded_city.clean, uscc, "penalties:PEN-NONE", "x", "s")
    with pytest.raises(WhatIfError, match="cannot be repaired"):
        O.file(eng, graded_city.clean, other[1], "complaints:X", "x", "s", kind="repair")
    with pytest.raises(O.ObjectionError, match="claim is empty"):
        O.file(eng, graded_city.clean, uscc, record, "  ", "s")
    with pytest.raises(NotFound, match="no objection or repair OBJ-X"):
        O.decide(eng, "OBJ-X", True, "r", "s")
    o = O.file(eng, graded_city.clean, uscc, record, "x", "s", day=dt.date(2025, 11, 10))
    with pytest.raises(O.ObjectionError, match="would precede the filing"):
        O.decide(eng, o.id, True, "r", "s", day=dt.date(2025, 11, 9))
    with pytest.raises(O.ObjectionError, match="reason"):
        O.decide(eng, o.id, True, " ", "s")
    assert O.get(eng, o.id).status == "open"


def test_two_workers_deciding_at_once_cannot_both_succeed(published, graded_city, eng):
    _, uscc, record, *_ = published
    o = O.file(eng, graded_city.clean, uscc, record, "x", "s", day=dt.date(2025, 11, 10))
    outcomes = []

    def decide(uphold):
        try:
            O.decide(eng, o.id, uphold, "r", f"worker-{uphold}", day=dt.date(2025, 11, 11))
            outcomes.append("ok")
        except O.ObjectionError as e:
            outcomes.append(e.code)

    threads = [threading.Thread(target=decide, args=(u,)) for u in (True, False)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["already_decided", "ok"]
    with eng.connect() as con:
        decided = con.execute(sa.select(sa.func.count()).where(O.EVENTS.c.stage == "decided")).scalar()
    assert decided == 1


def test_workers_filing_at_once_each_get_the_next_number_and_a_record_is_disputed_once(graded_city, eng):
    """Eight filings at once (as 64 clients of two workers send them): every one is numbered, no number is
    given twice or skipped, and of two filings against one record exactly one is accepted."""
    pens = duckdb.sql(
        f"SELECT uscc, penalty_id FROM read_parquet('{graded_city.clean / 'penalties.parquet'}') "
        "ORDER BY penalty_id LIMIT 7"
    ).fetchall()
    asked = [*pens, pens[0]]  # the first record twice
    outcomes: list = []
    gate = threading.Barrier(len(asked))

    def one(uscc, pen):
        gate.wait()
        try:
            outcomes.append(O.file(eng, graded_city.clean, uscc, f"penalties:{pen}", "x", "s", day=MONTH).id)
        except O.ObjectionError as e:
            outcomes.append(str(e))

    threads = [threading.Thread(target=one, args=a) for a in asked]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = sorted(o for o in outcomes if o.startswith("OBJ-"))
    assert ids == [f"OBJ-20251031-{n:05d}" for n in range(1, 8)], outcomes
    refused = [o for o in outcomes if not o.startswith("OBJ-")]
    assert len(refused) == 1 and f"penalties:{pens[0][1]} already has an open objection" in refused[0], outcomes


def test_the_objection_commands(published, graded_city, tmp_path, monkeypatch):
    root, uscc, record, grade, by_score = published
    monkeypatch.setenv("CREDITGRADE_MLRUNS", str(graded_city.mlruns))
    monkeypatch.setenv("CREDITGRADE_MONTHLY", str(root))
    monkeypatch.setenv("CREDITGRADE_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    data = ["--data", str(graded_city.clean)]
    r = runner.invoke(
        app, ["objection", "file", uscc, "--record", record, "--claim", "Listed in error", "--by", "s1", *data]
    )
    assert r.exit_code == 0, r.output
    oid = r.output.split(":")[0].strip()
    r = runner.invoke(app, ["objection", "list", "--status", "open"])
    assert r.exit_code == 0 and oid in r.output
    latest = History(root / "history").of(uscc).iloc[-1].grade_shenzhen  # as published, or as last corrected
    r = runner.invoke(app, ["objection", "decide", oid, "--uphold", "--reason", "Confirmed", "--by", "s2", *data])
    assert r.exit_code == 0, r.output
    assert f"grade {latest} → {by_score}" in r.output
    r = runner.invoke(app, ["objection", "decide", oid, "--reject", "--reason", "x", "--by", "s3", *data])
    assert r.exit_code != 0 and "already decided" in r.output
    r = runner.invoke(app, ["history", uscc])
    assert r.exit_code == 0 and "OBJ-" in r.output  # the correction row (the id is cut to the test console's width)
