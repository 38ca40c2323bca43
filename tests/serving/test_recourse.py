"""Recourse: the actions the rules allow, each re-derived from the records and graded by the champion."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from creditgrade.features.actions import candidates, load_actions
from creditgrade.features.corrections import Correction, RecordChange
from creditgrade.features.errors import NotFound
from creditgrade.features.whatif import local_records, neighbourhood
from creditgrade.serving.batch import GRADED
from creditgrade.serving.history import History
from creditgrade.serving.month import run_month
from creditgrade.serving.recourse import recourse

DAY = dt.date(2025, 12, 31)
ADVERSE = "d3_abnormal_current > 0 OR d3_penalties_36m > 0 OR d3_serious_current > 0 OR d3_defaulter_current > 0"


def _joined(graded_city) -> str:
    """The graded month-end beside its indicator values, as SQL."""
    graded, features = graded_city.latest / GRADED, graded_city.features
    return (
        f"(SELECT g.uscc, g.register_status, g.grade_shenzhen, g.override_rule, f.* EXCLUDE (uscc, register_status, "
        "override_effect, override_rule, override_zh, override_en, override_source) "
        f"FROM read_parquet('{graded}') g JOIN read_parquet('{features}') f ON f.uscc = g.uscc "
        f"AND f.as_of = DATE '{DAY}')"
    )


@pytest.fixture(scope="module")
def published(graded_city):
    """The month-end grades the recourse starts from."""
    graded = graded_city.latest / GRADED
    return {
        r[0]: r[1:] for r in duckdb.sql(f"SELECT uscc, grade_shenzhen, score FROM read_parquet('{graded}')").fetchall()
    }


@pytest.fixture(scope="module")
def answers(graded_city):
    """Recourse for 20 active enterprises with records that count against them."""
    picked = duckdb.sql(
        f"SELECT uscc FROM {_joined(graded_city)} WHERE register_status = 'active' AND ({ADVERSE}) "
        "ORDER BY hash(uscc) LIMIT 20"
    ).fetchall()
    return {u: recourse(graded_city.clean, DAY, u, graded_city.loaded) for (u,) in picked}


def test_the_grade_now_is_the_published_one_and_no_offered_action_lowers_the_score(answers, published):
    offered = 0
    for uscc, r in answers.items():
        grade, score = published[uscc]
        assert (r.now["grade"], r.now["score"]) == (grade, score), uscc  # recomputed from the neighbourhood
        for s in r.actions:
            assert s.score >= r.now["score"] and s.gain >= 0, (uscc, s)
            assert s.en and s.zh and s.basis_en and s.basis_zh
        if r.smallest:  # the fewest actions reach the next grade up (or better) without lowering the score
            assert r.smallest["score"] >= r.now["score"] and _better_or_same(r.smallest["grade"], r.next_grade)
        if r.everything:
            assert r.everything["score"] >= r.now["score"], uscc
        if not r.actions:
            assert r.message_en and r.message_zh
        offered += len(r.actions)
    assert offered > 0 and any(r.smallest for r in answers.values())  # the check above did not pass vacuously


def _better_or_same(grade: str, than: str) -> bool:
    order = ("A+", "A", "B", "C", "D", "E")
    return order.index(grade) <= order.index(than)


def test_the_predicted_grade_is_what_the_month_end_regrade_gives_once_the_action_is_recorded(
    answers, graded_city, tmp_path
):
    """Each offered action (and one smallest set) recorded as a completed repair, then the whole month rerun:
    the enterprise gets the grade and score the recourse said. Enterprises whose neighbourhoods overlap are
    not taken together (one's repair may change the other's related-party indicators)."""
    change_of = {a.id: a.change for a in load_actions()}
    taken, corrections, seen = {}, [], set()
    for uscc, r in answers.items():
        if r.smallest and len(r.smallest["actions"]) > 1 and not any(len(t[0]) > 1 for t in taken.values()):
            m = r.smallest  # one set of several actions
            plan = (list(zip(m["action_ids"], m["actions"])), m["grade"], m["score"])
        elif r.actions:
            s = r.actions[0]
            plan = ([(s.action, s.record)], s.grade, s.score)
        else:
            continue
        near = set(neighbourhood(graded_city.clean, uscc))
        if near & seen:
            continue
        seen |= near
        taken[uscc] = plan
        for n, (action, record) in enumerate(plan[0]):
            change = RecordChange.parse(change_of[action], record)
            corrections.append(Correction(change, uscc, DAY, f"TEST-{uscc}-{n}"))
        if len(taken) == 4:
            break
    assert len(taken) >= 3, taken  # (on this city: three single actions and one set of two)
    run_month(
        graded_city.clean, DAY, tmp_path / "monthly", graded_city.loaded, corrections=corrections, accept_drift=True
    )
    history = History(tmp_path / "monthly" / "history")
    for uscc, (records, grade, score) in taken.items():
        row = history.of(uscc).iloc[-1]
        assert (row.grade_shenzhen, row.score) == (grade, score), (uscc, records)


def test_an_unknown_enterprise_and_one_with_nothing_to_do(graded_city, published):
    with pytest.raises(NotFound, match="is not on the register"):
        recourse(graded_city.clean, DAY, "91440300MA5DC1YU4Q", graded_city.loaded)
    quiet = duckdb.sql(
        f"SELECT uscc FROM {_joined(graded_city)} WHERE register_status = 'active' AND grade_shenzhen <> 'A+' "
        f"AND override_rule IS NULL AND NOT ({ADVERSE}) ORDER BY uscc LIMIT 20"
    ).fetchall()
    # one with no record open to any action (older records may still be repairable: they are skipped)
    uscc = next(u for (u,) in quiet if not candidates(local_records(graded_city.clean, DAY, u), DAY, u))
    r = recourse(graded_city.clean, DAY, uscc, graded_city.loaded)
    assert not r.actions and r.smallest is None and r.not_offered == 0
    assert (
        r.message_en
        == "nothing in the rules would change this grade now; no record of the enterprise is open to repair or removal"
    )
    assert "目前没有" in r.message_zh
