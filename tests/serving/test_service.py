"""The scoring service: lookups, what-ifs, keys and roles, audit log, 4xx for bad input — in process,
and once as a real server over HTTP."""

from __future__ import annotations

import datetime as dt
import json
import os
import time

import httpx
import pyarrow.parquet as pq
import pytest
from starlette.testclient import TestClient

from creditgrade.serving.audit import AuditError, verify
from creditgrade.serving.batch import GRADED
from creditgrade.serving.launch import running_server
from creditgrade.serving.month import run_month
from creditgrade.serving.schemas import (
    DecisionAnswer,
    EnterpriseGrade,
    HistoryAnswer,
    ObjectionRecord,
    ObjectionsAnswer,
    RecourseAnswer,
    WarningsAnswer,
)
from tests.serving.conftest import service_env

KEYS = {"regulator": "reg-secret-1", "planner": "plan-secret-2", "admin": "admin-secret-3"}
MONTHS = (dt.date(2025, 10, 31), dt.date(2025, 11, 30), dt.date(2025, 12, 31))


def _env(graded_city, tmp_path) -> dict[str, str]:
    return service_env(graded_city, tmp_path, {f"{r}-1": (r, k) for r, k in KEYS.items()})


@pytest.fixture(scope="module")
def service(graded_city, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("service")
    for day in MONTHS:  # published months, for the history and early-warning endpoints; the last is served
        # (the test city's December credit commitments are genuinely partial: see docs/monthly-cycle.md)
        run_month(graded_city.clean, day, tmp / "monthly", graded_city.loaded, accept_drift=day == MONTHS[-1])
    saved = {k: os.environ.get(k) for k in _env(graded_city, tmp)}
    os.environ.update(_env(graded_city, tmp))
    from creditgrade.serving.service import CreditGrade

    try:
        with TestClient(CreditGrade.to_asgi()) as client:
            yield client, tmp / "audit.log", tmp / "monthly"
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture(scope="module")
def table(graded_city):
    return pq.read_table(graded_city.latest / GRADED).to_pandas().set_index("uscc")


def post(client, path, body, role="regulator", **kw):
    headers = {"X-API-Key": KEYS[role]} if role else {}
    return client.post(path, json=body, headers=headers, **kw)


def test_lookup_returns_the_graded_row_with_sub_scores_and_reasons(service, table):
    client, *_ = service
    uscc = table.index[5]
    r = post(client, "/v1/grade", {"uscc": uscc})
    assert r.status_code == 200, r.text
    body = r.json()
    row = table.loc[uscc]
    assert body["grades"]["shenzhen"] == row.grade_shenzhen and body["score"] == row.score
    assert [d["id"] for d in body["dimensions"]] == ["D1", "D2", "D3", "D4", "D5"]
    assert all(d["zh"] and d["en"] for d in body["dimensions"])
    assert body["reasons"] and all(x["zh"] and x["en"] for x in body["reasons"])
    assert body["model_version"] == row.model_version


def test_batch_lookup_lists_what_it_did_not_find(service, table):
    client, *_ = service
    wanted = list(table.index[:50]) + ["91440300MA5DC1YU4Q"]
    r = post(client, "/v1/grades", {"usccs": wanted})
    assert r.status_code == 200
    assert [e["uscc"] for e in r.json()["enterprises"]] == wanted[:50]
    assert r.json()["not_found"] == ["91440300MA5DC1YU4Q"]
    assert post(client, "/v1/grades", {"usccs": [table.index[0]] * 1001}).status_code == 413


def test_what_if_matches_the_batch_and_shows_the_change(service, table):
    client, *_ = service
    uscc = table.index[table.override_rule.isna()][3]
    r = post(
        client,
        "/v1/explain",
        {
            "records": [
                {"uscc": uscc},
                {"uscc": uscc, "indicators": {"d3_serious_current": 1}},
                {"indicators": {"d1_age_years": 2.5}},
            ]
        },
    )
    assert r.status_code == 200, r.text
    same, changed, alone = r.json()["results"]
    assert same["probability"] == pytest.approx(table.loc[uscc].probability, abs=1e-9)
    assert same["grades"]["shenzhen"] == table.loc[uscc].grade_shenzhen
    assert changed["changed"] == ["d3_serious_current"] and changed["probability"] >= same["probability"]
    assert alone["uscc"] is None and 0 < alone["probability"] < 1


@pytest.mark.parametrize(
    "path, body, status, says",
    [
        ("/v1/grade", {"uscc": "ABC"}, 400, "length"),
        ("/v1/grade", {"uscc": "91440300MA5DC1YU4X"}, 400, "check character"),
        ("/v1/grade", {"uscc": "91440300MA5DC1YU4Q"}, 404, "no graded enterprise"),
        ("/v1/grade", {"uscc": 12}, 400, "string"),
        ("/v1/grade", {}, 400, "required"),
        ("/v1/explain", {"records": [{"indicators": {"d1_age_years": -1}}]}, 400, "greater than or equal"),
        ("/v1/explain", {"records": [{"indicators": {"no_such_indicator": 1}}]}, 400, "xtra"),
        ("/v1/explain", {"records": []}, 400, "no records"),
        ("/v1/explain", {"records": [{}] * 1001}, 413, "limit"),
    ],
)
def test_bad_input_gets_a_clear_4xx(service, path, body, status, says):
    client, *_ = service
    r = post(client, path, body)
    assert r.status_code == status and says in r.text
    answer = r.json()  # one shape for every refusal, BentoML's validation errors included (serving/openapi.py)
    assert answer["error"] and answer["error_zh"] and answer["code"], answer
    assert all(set(d) == {"loc", "msg", "type"} for d in answer.get("detail", [])), answer


def test_malformed_json_is_a_400_not_a_500(service):
    client, *_ = service
    r = client.post(
        "/v1/grade", content=b'{"uscc": ', headers={"X-API-Key": KEYS["regulator"], "Content-Type": "application/json"}
    )
    assert r.status_code == 400 and "json" in r.text.lower()
    assert r.json()["code"] == "invalid_request" and r.json()["error_zh"]


def test_the_openapi_document_states_the_error_shape_the_server_answers_with(service):
    client, *_ = service
    document = client.get("/docs.json").json()
    shape = document["components"]["schemas"]["ErrorAnswer"]
    assert shape["required"] == ["error", "error_zh", "code"] and "detail" in shape["properties"]
    grade = document["paths"]["/v1/grade"]["post"]["responses"]
    assert {"400", "401", "403", "404", "413", "429", "503"} <= set(grade)
    assert grade["400"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorAnswer"}
    long = post(client, "/v1/grade", {"uscc": "9" * 5000})
    assert long.status_code == 400 and len(long.content) < 1000  # a caller's value is not echoed back whole


def test_keys_and_roles(service, table):
    client, *_ = service
    body = {"uscc": table.index[0]}
    assert post(client, "/v1/grade", body, role=None).status_code == 401
    assert client.post("/v1/grade", json=body, headers={"X-API-Key": "guess"}).status_code == 401
    assert (
        client.post("/v1/grade", json=body, headers={"Authorization": f"Bearer {KEYS['planner']}"}).status_code == 200
    )
    assert post(client, "/v1/reload", {}, role="regulator").status_code == 403
    assert post(client, "/v1/reload", {}, role="planner").status_code == 403
    r = post(client, "/v1/reload", {}, role="admin")
    assert r.status_code == 200 and r.json()["graded_enterprises"] == len(table)
    for open_path in ("/readyz", "/livez", "/docs.json"):  # /metrics needs the real server (test below)
        assert client.get(open_path).status_code == 200, open_path


def test_the_api_page_loads_nothing_from_other_hosts(service):
    client, *_ = service
    page = client.get("/")
    assert page.status_code == 200 and "swagger-ui" in page.text
    assert "googletagmanager" not in page.text and "//" not in page.text.replace("https://github.com/bentoml", "")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert client.get("/static_content/swagger-ui-bundle.js").status_code == 200  # served by the service itself


def test_a_reload_of_a_damaged_champion_is_refused_and_the_model_in_use_keeps_serving(service, table, graded_city):
    client, *_ = service
    from creditgrade.training import tracking

    version = tracking.alias_version(tracking.CHAMPION)
    model = tracking._artifact(tracking.MODEL_NAME, version, "model/model.lgb")
    (stored,) = [p for p in graded_city.mlruns.rglob("model.lgb") if p.read_bytes() == model.read_bytes()]
    text = stored.read_bytes()
    body = {"uscc": table.index[0]}
    before = post(client, "/v1/grade", body).json()
    stored.write_bytes(text[: len(text) // 3])  # truncated: LightGBM would abort the worker reading it
    try:
        r = post(client, "/v1/reload", {}, role="admin")
        after = post(client, "/v1/grade", body)
        ready = client.get("/readyz").status_code
    finally:
        stored.write_bytes(text)
    assert r.status_code == 422 and r.json()["code"] == "model_rejected"
    assert "is not the file that was registered" in r.json()["error"] and "拒绝加载" in r.json()["error_zh"]
    assert after.status_code == 200 and after.json() == before and ready == 200
    assert post(client, "/v1/reload", {}, role="admin").status_code == 200


def test_every_lookup_is_audited_without_person_identifiers(service, table, graded_city):
    client, log, _ = service
    before = verify(log) if log.exists() else 0
    wanted = list(table.index[:3])
    assert post(client, "/v1/grades", {"usccs": wanted}).status_code == 200
    assert post(client, "/v1/grade", {"uscc": "91440300MA5DC1YU4Q"}).status_code == 404
    assert verify(log) == before + 4
    entries = [json.loads(line) for line in log.read_text().splitlines()[-4:]]
    assert [e["uscc"] for e in entries] == wanted + ["91440300MA5DC1YU4Q"]
    assert {e["key_id"] for e in entries} == {"regulator-1"} and {e["role"] for e in entries} == {"regulator"}
    assert all(e["model_version"].startswith("enterprise-credit-risk/") for e in entries)
    assert set(entries[0]) == {
        "time",
        "endpoint",
        "key_id",
        "role",
        "uscc",
        "found",
        "model_version",
        "previous",
        "hash",
    }
    lines = log.read_text().splitlines()
    tampered = log.with_name("tampered.log")
    tampered.write_text("\n".join(lines[:-2] + [lines[-1]]) + "\n")
    with pytest.raises(AuditError, match="chain broken"):
        verify(tampered)


@pytest.mark.slow
def test_the_real_server_answers_over_http(graded_city, service, tmp_path, table):
    _, _, monthly = service
    with running_server(
        "--graded",
        str(graded_city.graded),
        "--workers",
        "2",
        "--audit-log",
        str(tmp_path / "audit.log"),
        env={**_env(graded_city, tmp_path), "CREDITGRADE_MONTHLY": str(monthly)},
    ) as base:
        uscc = table.index[0]
        r = httpx.post(f"{base}/v1/grade", json={"uscc": uscc}, headers={"X-API-Key": KEYS["regulator"]}, timeout=10)
        assert r.status_code == 200 and r.json()["uscc"] == uscc and r.json()["as_of"] == str(MONTHS[-1])
        assert httpx.post(f"{base}/v1/grade", json={"uscc": uscc}, timeout=10).status_code == 401
        scraped = httpx.get(f"{base}/metrics", timeout=10).text
    assert "bentoml" in scraped
    # the published month's drift, feeds and early warnings as gauges, from its month.json
    month = json.loads((monthly / "months" / str(MONTHS[-1]) / "month.json").read_text())
    gauges = {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in scraped.splitlines()
        if line.startswith("creditgrade_")
    }
    assert gauges['creditgrade_score_psi{against="previous_month"}'] == pytest.approx(month["psi_month"])
    assert gauges['creditgrade_score_psi{against="training"}'] == pytest.approx(month["psi_training"])
    csi = {k: v for k, v in gauges.items() if k.startswith("creditgrade_indicator_csi{")}
    assert len(csi) == len(month["drift"]) > 63
    one = month["drift"][0]
    against = one["against"].replace(" ", "_")
    assert csi[f'creditgrade_indicator_csi{{against="{against}",indicator="{one["column"]}"}}'] == pytest.approx(
        one["index"]
    )
    acting = sum(d["level"] == "act" and d["against"] == "training" for d in month["drift"])
    assert gauges['creditgrade_drift_alerts{against="training",level="act"}'] == acting
    assert gauges["creditgrade_feeds_flagged"] == len(month["feeds_flagged"]) >= 1  # December's partial feed
    assert gauges["creditgrade_early_warnings_enterprises"] == month["warnings"]
    assert verify(tmp_path / "audit.log") == 2  # the lookup, and the refused request without a key
    refused = json.loads((tmp_path / "audit.log").read_text().splitlines()[-1])
    assert refused["refused"] == 401 and refused["endpoint"] == "/v1/grade" and refused["key_id"] is None


def test_a_what_if_on_an_unknown_enterprise_is_audited_and_refused(service):
    client, log, _ = service
    before = verify(log) if log.exists() else 0
    r = post(client, "/v1/explain", {"records": [{"uscc": "91440300MA5DC1YU4Q", "indicators": {"d1_age_years": 1}}]})
    assert r.status_code == 404 and "no graded enterprise" in r.text
    assert verify(log) == before + 1
    assert json.loads(log.read_text().splitlines()[-1])["found"] is False


def test_planners_preview_and_draw_a_plan_on_the_served_table(service, graded_city, tmp_path):
    from creditgrade.models.planning.plan import parse_plan
    from creditgrade.serving.planner.plan import preview, verify

    client, log, _ = service
    plan = {"plan_id": "svc-1", "budget": 0.03, "floor": 0.005}
    assert post(client, "/v1/plan", {"plan": plan}).status_code == 403  # regulators cannot plan
    r = post(client, "/v1/plan", {"plan": plan}, role="planner")
    assert r.status_code == 200, r.text
    body = r.json()
    pv = preview(graded_city.latest / GRADED, parse_plan(plan))
    assert body["commitment"] == pv.commitment and body["list"] is None
    assert body["ratio_to_uniform"] > 1 and [g["grade"] for g in body["per_grade"]] == list(pv.probabilities.grades)
    r = post(client, "/v1/plan", {"plan": plan, "seed": "42"}, role="planner")
    listed = r.json()["list"]
    assert r.status_code == 200 and len(listed) > 0
    path = tmp_path / "served.csv"
    import pandas as pd

    pd.DataFrame(listed).to_csv(path, index=False)
    assert verify(path, pv, "42") == []  # what the service drew, anyone re-derives
    r = post(client, "/v1/plan", {"plan": {**plan, "budget": 0.01}}, role="planner")
    assert r.status_code == 400 and "legal minimum" in r.json()["error"] and "3%" in r.json()["error_zh"]
    r = post(client, "/v1/plan", {"plan": {**plan, "grades": {"Z": {"max": 0.1}}}}, role="planner")
    assert r.status_code == 400 and "unknown grade" in r.json()["error"]
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    drawn = [e for e in entries if e.get("endpoint") == "plan" and e.get("seed") == "42"]
    assert drawn and drawn[-1]["commitment"] == pv.commitment and drawn[-1]["drawn"] == len(listed)


def test_planners_get_the_latest_false_registration_list(service, graded_city):
    from creditgrade.serving.falsereg import ranked, write

    client, *_ = service
    root = graded_city.root / "falsereg"  # where _env points the service
    assert post(client, "/v1/falsereg", {"top": 5}, role="planner").status_code == 404
    write(
        ranked(graded_city.features, graded_city.clean, graded_city.days[2], None, top=40),
        root / str(graded_city.days[2]),
    )
    assert post(client, "/v1/falsereg", {"top": 5}).status_code == 403  # regulators cannot
    r = post(client, "/v1/falsereg", {"top": 5}, role="planner")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["enterprises"] == 40 and [x["rank"] for x in body["rows"]] == [1, 2, 3, 4, 5]
    from creditgrade.serving.schemas import FalseRegAnswer

    assert FalseRegAnswer.model_validate(body).rows[0].reasons_en
    assert body["rows"][0]["reasons_zh"] and body["rows"][0]["reasons_en"]
    assert post(client, "/v1/falsereg", {"top": 0}, role="planner").status_code == 400
    assert post(client, "/v1/falsereg", {"top": 5000}, role="planner").status_code == 413


def test_every_answer_is_the_declared_schema_and_the_docs_show_it(service, table):
    """The response models in serving/schemas.py are what the service answers (extra fields or missing ones fail
    here), and /docs.json documents every endpoint's request and response."""
    from creditgrade.serving import schemas as S

    client, *_ = service
    uscc = table.index[table.override_rule.notna()][0]  # one with an override, so that part is checked too
    plain = table.index[table.override_rule.isna()][0]
    answers = [
        (S.EnterpriseGrade, post(client, "/v1/grade", {"uscc": uscc})),
        (S.GradesAnswer, post(client, "/v1/grades", {"usccs": [uscc, plain, "91440300MA5DC1YU4Q"]})),
        (S.ExplainAnswer, post(client, "/v1/explain", {"records": [{"uscc": uscc}, {"indicators": {}}]})),
        (S.ModelInfo, post(client, "/v1/model", {})),
        (
            S.PlanAnswer,
            post(client, "/v1/plan", {"plan": {"plan_id": "s", "budget": 0.05}, "seed": "1"}, role="planner"),
        ),
        (S.ErrorAnswer, post(client, "/v1/grade", {"uscc": "91440300MA5DC1YU4Q"})),
        (S.ErrorAnswer, post(client, "/v1/plan", {"plan": {"plan_id": "s", "budget": 0.01}}, role="planner")),
    ]
    for model, r in answers:
        assert model.model_validate(r.json()), model
    grade = S.EnterpriseGrade.model_validate(answers[0][1].json())
    assert grade.override is not None and grade.override.effect in ("worst", "down2")
    error = S.ErrorAnswer.model_validate(answers[-1][1].json())
    assert error.code == "plan" and "3%" in error.error_zh
    spec = client.get("/docs.json").json()
    for path, model in (
        ("/v1/grade", "EnterpriseGrade"),
        ("/v1/grades", "GradesAnswer"),
        ("/v1/explain", "ExplainAnswer"),
        ("/v1/model", "ModelInfo"),
        ("/v1/plan", "PlanAnswer"),
        ("/v1/falsereg", "FalseRegAnswer"),
    ):
        response = spec["paths"][path]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
        assert response == {"$ref": f"#/components/schemas/{model}"}, (path, response)
        assert spec["components"]["schemas"][model]["title"] == model
    plan_body = json.dumps(spec["paths"]["/v1/plan"]["post"]["requestBody"], ensure_ascii=False)
    assert "不免抽" in plan_body and "budget_count" in plan_body  # the plan model's own fields and descriptions


def test_history_answers_every_month_of_an_enterprise(service):
    client, log, monthly = service
    uscc = pq.read_table(monthly / "history" / f"{MONTHS[-1]}.parquet", columns=["uscc"])["uscc"][0].as_py()
    r = post(client, "/v1/history", {"uscc": uscc})
    assert r.status_code == 200, r.text
    answer = HistoryAnswer.model_validate(r.json())
    assert [m.month for m in answer.months] == [str(m) for m in MONTHS]
    assert all(m.correction is None for m in answer.months)
    got = client.get(f"/v1/history/{uscc}", headers={"X-API-Key": KEYS["regulator"]})
    assert got.status_code == 200 and got.json() == r.json()
    assert client.get(f"/v1/history/{uscc}").status_code == 401
    missing = client.get("/v1/history/91440300MA5DC1YU4Q", headers={"X-API-Key": KEYS["regulator"]})
    assert missing.status_code == 404 and missing.json()["error_zh"]
    assert post(client, "/v1/history", {"uscc": uscc}, role=None).status_code == 401
    r = post(client, "/v1/history", {"uscc": "91440300MA5DC1YU4Q"})
    assert r.status_code == 404 and r.json()["error_zh"]
    assert post(client, "/v1/history", {"uscc": "not-a-code"}).status_code == 400
    audit = log.read_text()
    assert '"endpoint": "history"' in audit and uscc in audit


def test_recourse_answers_what_the_enterprise_can_do(service, table, graded_city):
    client, log, _ = service
    features = pq.read_table(graded_city.features, columns=["uscc", "as_of", "d3_abnormal_current"]).to_pandas()
    listed = set(features[(features.as_of == MONTHS[-1]) & (features.d3_abnormal_current > 0)].uscc)
    active = table[(table.register_status == "active") & table.override_rule.isna() & table.index.isin(listed)]
    uscc = active.index[0]
    r = post(client, "/v1/recourse", {"uscc": uscc})
    assert r.status_code == 200, r.text
    answer = RecourseAnswer.model_validate(r.json())
    assert answer.now.grade == table.loc[uscc].grade_shenzhen and answer.now.score == table.loc[uscc].score
    assert answer.actions or answer.message_en  # something to do, or a sentence saying there is nothing
    assert all(s.score >= answer.now.score for s in answer.actions)
    got = client.get(f"/v1/recourse/{uscc}", headers={"X-API-Key": KEYS["regulator"]})
    assert got.status_code == 200 and got.json() == r.json()
    assert client.get(f"/v1/recourse/{uscc}").status_code == 401
    assert post(client, "/v1/recourse", {"uscc": uscc}, role=None).status_code == 401
    missing = client.get("/v1/recourse/91440300MA5DC1YU4Q", headers={"X-API-Key": KEYS["regulator"]})
    assert missing.status_code == 404 and missing.json()["error_zh"]
    assert post(client, "/v1/recourse", {"uscc": uscc, "scheme": "nine-tier"}).status_code == 404
    assert '"endpoint": "recourse"' in log.read_text()


def test_warnings_answer_the_month_and_filter(service):
    client, *_ = service
    r = post(client, "/v1/warnings", {}, role="planner")
    assert r.status_code == 200, r.text
    answer = WarningsAnswer.model_validate(r.json())
    assert answer.month == str(MONTHS[-1]) and answer.warnings >= len(answer.rows)
    if answer.rows:
        one = answer.rows[0]
        assert one.rules and one.grade_shenzhen_after
        r = post(client, "/v1/warnings", {"district": one.district_en, "limit": 5})
        only = WarningsAnswer.model_validate(r.json())
        assert only.rows and {w.district_en for w in only.rows} == {one.district_en} and len(only.rows) <= 5
    assert post(client, "/v1/warnings", {"as_of": "2024-01-31"}).status_code == 404
    assert post(client, "/v1/warnings", {"limit": 100_000}).status_code == 413


def _served_within(client, uscc, ready, seconds):
    """The enterprise's grade as served, polled until `ready` holds; fails after `seconds`."""
    start = time.monotonic()
    while True:
        r = post(client, "/v1/grade", {"uscc": uscc})
        assert r.status_code == 200, r.text
        answer = EnterpriseGrade.model_validate(r.json())
        if ready(answer):
            return answer
        assert time.monotonic() - start < seconds, f"not served within {seconds} s"
        time.sleep(0.05)


def test_an_objection_filed_and_upheld_over_the_service_regrades_at_once(service):
    client, log, monthly = service
    graded = pq.read_table(monthly / "months" / str(MONTHS[-1]) / "graded" / GRADED).to_pandas()
    moved = graded[(graded.override_effect == "down2") & (graded.grade_shenzhen != graded.grade_shenzhen_by_score)]
    row = moved[moved.register_status == "active"].sort_values("uscc").iloc[0]
    record = row.override_source.split("@")[0]
    body = {"uscc": row.uscc, "record": record, "claim": "Listed in error"}
    r = post(client, "/v1/objection/file", body)
    assert r.status_code == 200, r.text
    filed = ObjectionRecord.model_validate(r.json())
    assert filed.status == "open" and filed.filed_by == "regulator-1" and filed.record == record
    # while open, the record is marked on the grade (still counted): every worker sees it within a second
    served = _served_within(client, row.uscc, lambda g: g.disputed, seconds=2.0)
    assert [(d.id, d.record) for d in served.disputed] == [(filed.id, record)]
    assert served.grades["shenzhen"] == row.grade_shenzhen and served.correction is None
    r = post(client, "/v1/objection/decide", {"id": filed.id, "uphold": True, "reason": "Confirmed"})
    assert r.status_code == 200, r.text
    decided = DecisionAnswer.model_validate(r.json())
    assert decided.objection.status == "upheld" and decided.month == str(MONTHS[-1])
    assert decided.before.grade == row.grade_shenzhen and decided.after.grade == row.grade_shenzhen_by_score
    # the new grade is served within 2 s of the decision, without a restart, and no longer marked disputed
    served = _served_within(client, row.uscc, lambda g: g.correction is not None, seconds=2.0)
    assert served.correction.id == filed.id and served.grades["shenzhen"] == decided.after.grade
    assert served.score == decided.after.score and served.override is None and not served.disputed
    assert served.reasons and all(x.zh and x.en for x in served.reasons)
    history = HistoryAnswer.model_validate(post(client, "/v1/history", {"uscc": row.uscc}).json())
    assert history.months[-1].correction == filed.id and history.months[-1].grade_shenzhen == decided.after.grade
    again = post(client, "/v1/objection/decide", {"id": filed.id, "uphold": False, "reason": "x"})
    assert again.status_code == 400 and again.json()["code"] == "already_decided"
    listed = ObjectionsAnswer.model_validate(post(client, "/v1/objections", {"status": "upheld"}).json())
    assert [o.id for o in listed.objections] == [filed.id]
    assert post(client, "/v1/objections", {}, role=None).status_code == 401
    wrong = post(client, "/v1/objection/file", {**body, "record": "penalties:PEN-NONE"})
    assert wrong.status_code == 404 and wrong.json()["error_zh"]
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    steps = [(e["endpoint"], e.get("objection")) for e in entries if e["endpoint"].startswith("objection_")]
    assert steps == [("objection_file", filed.id), ("objection_decide", filed.id)]


TRACED = """
import json, os
from bentoml._internal.configuration.containers import BentoMLContainer
from creditgrade.serving.service import CreditGrade
CreditGrade.inject_config()
excluded = BentoMLContainer.tracing_excluded_urls.get()
paths = ("/v1/history/X", "/console/", "/healthz")
print(json.dumps({u: excluded.url_disabled(f"http://127.0.0.1:3000{u}") for u in paths}))
"""


def test_the_api_is_left_out_of_the_unexported_tracing_unless_the_operator_traces_it(tmp_path):
    """BentoML's OpenTelemetry middleware spans every request though no trace is exported by default: the API and
    the console are excluded (a quarter of a lookup's time), and an operator's BENTOML_CONFIG can bring them back.
    In child processes: BentoML's configuration is global and read once."""
    import subprocess
    import sys

    config = tmp_path / "bentoml.yaml"
    config.write_text("services:\n  creditgrade:\n    tracing:\n      excluded_urls: ['/healthz']\n")
    seen = []
    for extra in ({}, {"BENTOML_CONFIG": str(config)}):
        env = {k: v for k, v in os.environ.items() if k != "BENTOML_CONFIG"} | extra
        done = subprocess.run([sys.executable, "-c", TRACED], capture_output=True, text=True, timeout=120, env=env)
        assert done.returncode == 0, done.stderr[-2000:]
        seen.append(json.loads(done.stdout.strip().splitlines()[-1]))
    assert seen[0] == {"/v1/history/X": True, "/console/": True, "/healthz": False}
    assert seen[1] == {"/v1/history/X": False, "/console/": False, "/healthz": True}
