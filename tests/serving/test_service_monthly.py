"""The service's monthly endpoints: an enterprise's history (with corrections) and the early warnings."""

from __future__ import annotations

import datetime as dt
import os

import pyarrow.parquet as pq
import pytest
from starlette.testclient import TestClient

from creditgrade.serving.auth import hash_key
from creditgrade.serving.month import run_month
from creditgrade.serving.schemas import HistoryAnswer, WarningsAnswer

KEYS = {"regulator": "reg-secret-m", "planner": "plan-secret-m"}
FIRST, SECOND = dt.date(2025, 10, 31), dt.date(2025, 11, 30)


@pytest.fixture(scope="module")
def monthly_service(graded_city, tmp_path_factory):
    root = tmp_path_factory.mktemp("monthly-service")
    for day in (FIRST, SECOND):
        run_month(graded_city.clean, day, root, graded_city.loaded)
    env = {
        "CREDITGRADE_GRADED": str(root / "months" / str(SECOND)),
        "CREDITGRADE_MONTHLY": str(root),
        "CREDITGRADE_MLRUNS": str(graded_city.mlruns),
        "CREDITGRADE_AUDIT_LOG": str(root / "audit.log"),
        "CREDITGRADE_API_KEYS": ",".join(f"{r}-1:{r}:{hash_key(k)}" for r, k in KEYS.items()),
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    from creditgrade.serving.service import CreditGrade

    try:
        with TestClient(CreditGrade.to_asgi()) as client:
            yield client, root
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def post(client, path, body, role="regulator"):
    return client.post(path, json=body, headers={"X-API-Key": KEYS[role]} if role else {})


def test_history_answers_every_month_of_an_enterprise(monthly_service):
    client, root = monthly_service
    uscc = pq.read_table(root / "history" / f"{SECOND}.parquet", columns=["uscc"])["uscc"][0].as_py()
    r = post(client, "/v1/history", {"uscc": uscc})
    assert r.status_code == 200, r.text
    answer = HistoryAnswer.model_validate(r.json())
    assert [m.month for m in answer.months] == [str(FIRST), str(SECOND)]
    assert all(m.correction is None for m in answer.months)
    assert post(client, "/v1/history", {"uscc": uscc}, role=None).status_code == 401
    r = post(client, "/v1/history", {"uscc": "91440300MA5DC1YU4Q"})
    assert r.status_code == 404 and r.json()["error_zh"]
    assert post(client, "/v1/history", {"uscc": "not-a-code"}).status_code == 400
    audit = (root / "audit.log").read_text()
    assert '"endpoint": "history"' in audit and uscc in audit


def test_warnings_answer_the_month_and_filter(monthly_service):
    client, _ = monthly_service
    r = post(client, "/v1/warnings", {}, role="planner")
    assert r.status_code == 200, r.text
    answer = WarningsAnswer.model_validate(r.json())
    assert answer.month == str(SECOND) and answer.warnings >= len(answer.rows)
    if answer.rows:
        one = answer.rows[0]
        assert one.rules and one.grade_shenzhen_after
        r = post(client, "/v1/warnings", {"district": one.district_en, "limit": 5})
        only = WarningsAnswer.model_validate(r.json())
        assert only.rows and {w.district_en for w in only.rows} == {one.district_en} and len(only.rows) <= 5
    assert post(client, "/v1/warnings", {"as_of": "2024-01-31"}).status_code == 404
    assert post(client, "/v1/warnings", {"limit": 100_000}).status_code == 413
