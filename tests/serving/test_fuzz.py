"""The running service probed from its own OpenAPI document: schemathesis generates requests for every
operation, with no key and with a key of each role, and checks every answer against the document (no 5xx, the
status documented, the body matching its schema); and no operation answers anyone below the role it needs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow
EXAMPLES = int(os.environ.get("CREDITGRADE_FUZZ_EXAMPLES", "15"))

# The least role each operation needs, stated here rather than read from the service: a new operation fails
# this test until its role is decided.
NEEDS = {
    ("post", "/v1/grade"): "regulator",
    ("post", "/v1/grades"): "regulator",
    ("post", "/v1/explain"): "regulator",
    ("post", "/v1/model"): "regulator",
    ("post", "/v1/history"): "regulator",
    ("get", "/v1/history/{uscc}"): "regulator",
    ("post", "/v1/warnings"): "regulator",
    ("post", "/v1/objection/file"): "regulator",
    ("post", "/v1/objection/decide"): "regulator",
    ("post", "/v1/objections"): "regulator",
    ("post", "/v1/plan"): "planner",
    ("post", "/v1/falsereg"): "planner",
    ("post", "/v1/reload"): "admin",
}
ROLES = ("regulator", "planner", "admin")
OPEN = {"/healthz", "/livez", "/readyz", "/metrics", "/docs.json", "/", "/docs"}


def _operations(document: dict) -> set[tuple[str, str]]:
    return {
        (method, path)
        for path, item in document["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete") and path not in OPEN
    }


def test_every_operation_refuses_callers_below_its_role(live):
    document = httpx.get(f"{live.base}/docs.json", timeout=10).json()
    assert _operations(document) == set(NEEDS), "an operation without a stated role, or a role for none"
    with httpx.Client(base_url=live.base, timeout=30) as http:
        for (method, path), needs in sorted(NEEDS.items()):
            if path == "/v1/reload":
                continue  # asked below only by those who may not: an admin's reload is tested in test_service
            url = path.replace("{uscc}", "91440300MA5DC1YU4Q")

            def ask(headers, method=method, url=url):
                return http.get(url, headers=headers) if method == "get" else http.post(url, json={}, headers=headers)

            assert ask({}).status_code == 401, path
            assert ask({"X-API-Key": "not-a-key"}).status_code == 401, path
            for role in ROLES:
                status = ask({"X-API-Key": live.keys[role]}).status_code
                if ROLES.index(role) < ROLES.index(needs):
                    assert status == 403, (path, role, status)
                else:
                    assert status not in (401, 403), (path, role, status)
        for role in ("regulator", "planner"):
            assert http.post("/v1/reload", json={}, headers={"X-API-Key": live.keys[role]}).status_code == 403


@pytest.mark.parametrize("role", [None, *ROLES])
def test_schemathesis_finds_no_server_error_and_no_mismatch_with_the_document(live, role, tmp_path):
    st = Path(sys.executable).parent / "st"
    headers = ["--header", f"X-API-Key: {live.keys[role]}"] if role else []
    argv = [
        str(st),
        "run",
        f"{live.base}/docs.json",
        "--checks",
        "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
        "--max-examples",
        str(EXAMPLES),
        "--exclude-path",
        "/v1/reload",  # reloading the model under the other suites is tested on its own
        "--seed",
        "1",
        "--report",
        "junit",
        "--report-dir",
        str(tmp_path),
        *headers,
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=900, cwd=tmp_path)
    said = done.stdout[-30000:] + done.stderr[-2000:]
    assert done.returncode == 0, said
    assert "No issues found" in said or " passed" in said, said
    reports = list(tmp_path.glob("*.xml"))
    assert reports and "<testcase" in reports[0].read_text(), json.dumps([str(p) for p in tmp_path.iterdir()])
