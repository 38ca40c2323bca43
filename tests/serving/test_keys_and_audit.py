"""Keys listed and revoked (a running service stops accepting a revoked key within seconds), refused
requests audited, a truncated or recomputed audit log detected, a torn last line recovered, and no lookup
answered when the log cannot be appended to."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest
from typer.testing import CliRunner

from creditgrade.serving import auth
from creditgrade.serving.audit import AuditError, AuditLog, AuditUnavailable, head_path, verify
from creditgrade.serving.auth import ApiKeyMiddleware, add_key, list_keys, revoke_key
from creditgrade.serving.cli import app
from creditgrade.serving.launch import running_server

runner = CliRunner()


def test_keys_are_listed_without_hashes_and_revoked_for_the_record(tmp_path):
    path = tmp_path / "keys.json"
    add_key(path, "unit-a", "regulator")
    add_key(path, "unit-b", "planner")
    r = runner.invoke(app, ["keys", "revoke", "--id", "unit-a", "--file", str(path)])
    assert r.exit_code == 0 and "revoked" in r.output, r.output
    keys = {k["id"]: k for k in list_keys(path)}
    assert keys["unit-a"]["revoked"] and not keys["unit-b"]["revoked"] and keys["unit-b"]["created"]
    assert "sha256" not in keys["unit-a"]
    assert len(auth.KeyRing(json.loads(path.read_text())).by_hash) == 1  # the revoked key no longer opens
    r = runner.invoke(app, ["keys", "list", "--file", str(path)])
    assert r.exit_code == 0 and "unit-a" in r.output and "unit-b" in r.output
    for key_id, says in (("unit-a", "already revoked"), ("nobody", "no API key 'nobody'")):
        r = runner.invoke(app, ["keys", "revoke", "--id", key_id, "--file", str(path)])
        assert r.exit_code != 0 and says in r.output


def _call(middleware, path: str, key: str | None) -> int:
    statuses = []

    async def receive():
        return {"type": "http.request", "body": b""}

    async def send(message):
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    headers = [(b"x-api-key", key.encode())] if key else []
    asyncio.run(middleware({"type": "http", "path": path, "headers": headers}, receive, send))
    return statuses[0]


def test_the_middleware_sees_a_revocation_at_once_and_audits_every_refusal(tmp_path, monkeypatch):
    path = tmp_path / "keys.json"
    monkeypatch.delenv("CREDITGRADE_API_KEYS", raising=False)
    monkeypatch.setenv("CREDITGRADE_API_KEYS_FILE", str(path))
    monkeypatch.setattr(auth, "RELOAD_SECONDS", 0.0)
    reg = add_key(path, "unit-a", "regulator")

    async def ok(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    refused: list[dict] = []
    m = ApiKeyMiddleware(ok, audit=refused.extend)
    assert _call(m, "/v1/grade", reg) == 200
    assert _call(m, "/v1/reload", reg) == 403
    assert _call(m, "/v1/grade", None) == 401
    revoke_key(path, "unit-a")
    assert _call(m, "/v1/grade", reg) == 401
    assert [(e["refused"], e["key_id"], e["endpoint"]) for e in refused] == [
        (403, "unit-a", "/v1/reload"),
        (401, None, "/v1/grade"),
        (401, None, "/v1/grade"),
    ]
    assert _call(m, "/readyz", None) == 200 and len(refused) == 3  # open paths are neither checked nor audited


def test_a_truncated_or_emptied_log_no_longer_verifies(tmp_path, monkeypatch):
    monkeypatch.delenv("CREDITGRADE_AUDIT_HEAD", raising=False)
    monkeypatch.delenv("CREDITGRADE_AUDIT_KEY", raising=False)
    path = tmp_path / "audit.log"
    log = AuditLog(path)
    for n in range(5):
        log.append([{"endpoint": "grade", "uscc": f"u{n}"}])
    assert verify(path) == 5 and json.loads(head_path(path).read_text())["entries"] == 5
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:3]))  # the last two entries cut off: the chain that is left is intact
    with pytest.raises(AuditError, match="truncated — the published head says 5 entries") as cut:
        verify(path)
    assert "被截断" in cut.value.zh
    path.write_text("")
    with pytest.raises(AuditError, match="truncated"):
        verify(path)


def test_a_signed_head_cannot_be_forged_without_the_key(tmp_path, monkeypatch):
    monkeypatch.setenv("CREDITGRADE_AUDIT_KEY", "a secret kept off this machine")
    monkeypatch.setenv("CREDITGRADE_AUDIT_HEAD", str(tmp_path / "elsewhere" / "head.json"))  # its folder made
    path = tmp_path / "audit.log"
    log = AuditLog(path)
    for n in range(4):
        log.append([{"endpoint": "grade", "uscc": f"u{n}"}])
    assert verify(path) == 4 and not (tmp_path / "audit.log.head").exists()
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:2]))
    third = json.loads(lines[1])["hash"]
    (tmp_path / "elsewhere" / "head.json").write_text(json.dumps({"entries": 2, "hash": third, "mac": "0" * 64}))
    with pytest.raises(AuditError, match="signature does not match"):
        verify(path)


def test_a_chain_recomputed_without_the_key_does_not_verify(tmp_path, monkeypatch):
    monkeypatch.setenv("CREDITGRADE_AUDIT_KEY", "the key")
    monkeypatch.delenv("CREDITGRADE_AUDIT_HEAD", raising=False)
    path = tmp_path / "audit.log"
    log = AuditLog(path)
    for n in range(3):
        log.append([{"endpoint": "grade", "uscc": f"u{n}"}])
    assert verify(path) == 3
    # an attacker edits the second entry and recomputes every hash after it (and the head), without the key
    records = [json.loads(line) for line in path.read_text().splitlines()]
    records[1]["uscc"] = "someone else"
    previous = "0" * 64
    for r in records:
        body = {k: v for k, v in r.items() if k not in ("previous", "hash", "mac")}
        r["previous"] = previous
        r["hash"] = previous = (
            __import__("hashlib")
            .sha256((previous + json.dumps(body, ensure_ascii=False, sort_keys=True)).encode())
            .hexdigest()
        )
    path.write_text("".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in records))
    with pytest.raises(AuditError, match="line 2: the entry.s signature does not match"):
        verify(path)
    for r in records:
        r.pop("mac")
    path.write_text("".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in records))
    head_path(path).write_text(json.dumps({"entries": 3, "hash": records[-1]["hash"], "mac": None}))
    with pytest.raises(AuditError, match="signature does not match"):  # unsigned entries: the head gives it away
        verify(path)


def test_a_torn_last_line_is_quarantined_and_the_chain_continues(tmp_path, monkeypatch):
    monkeypatch.delenv("CREDITGRADE_AUDIT_HEAD", raising=False)
    monkeypatch.delenv("CREDITGRADE_AUDIT_KEY", raising=False)
    path = tmp_path / "audit.log"
    log = AuditLog(path)
    log.append([{"endpoint": "grade", "uscc": "u0"}, {"endpoint": "grade", "uscc": "u1"}])
    with open(path, "a") as f:
        f.write('{"endpoint": "grade", "time": "2026-')  # a write cut short by a crash
    log.append([{"endpoint": "grade", "uscc": "u2"}])
    entries = [json.loads(line) for line in path.read_text().splitlines()]
    assert [e.get("uscc") or e.get("event") for e in entries] == ["u0", "u1", "torn_line_quarantined", "u2"]
    (quarantined,) = tmp_path.glob("audit.log.torn-*")
    assert quarantined.read_text() == '{"endpoint": "grade", "time": "2026-'
    assert entries[2]["quarantine"] == quarantined.name and entries[2]["bytes"] == len(quarantined.read_text())
    assert verify(path) == 4


def test_nothing_is_answered_unaudited_when_the_log_cannot_be_written(tmp_path, monkeypatch):
    monkeypatch.delenv("CREDITGRADE_AUDIT_HEAD", raising=False)
    path = tmp_path / "audit" / "audit.log"
    log = AuditLog(path)
    log.append([{"endpoint": "grade", "uscc": "u0"}])
    path.unlink()
    with pytest.raises(AuditUnavailable, match="was deleted") as refused:
        log.append([{"endpoint": "grade", "uscc": "u1"}])
    assert refused.value.status == 503 and "审计日志不可写入" in refused.value.zh
    path.write_text("")  # another file at the path: not the one this log holds
    with pytest.raises(AuditUnavailable, match="replaced by another file"):
        log.append([{"endpoint": "grade", "uscc": "u1"}])
    (tmp_path / "audit" / "audit.log").unlink()
    __import__("shutil").rmtree(tmp_path / "audit")  # the folder too (with the head beside the log)
    with pytest.raises(AuditUnavailable, match="was deleted"):
        log.append([{"endpoint": "grade", "uscc": "u1"}])


@pytest.mark.slow
def test_a_running_service_refuses_a_revoked_key_within_seconds(graded_city, tmp_path):
    keys, audit = tmp_path / "keys.json", tmp_path / "audit.log"
    key = add_key(keys, "unit-a", "regulator")
    env = {"CREDITGRADE_MLRUNS": str(graded_city.mlruns), "CREDITGRADE_API_KEYS": ""}
    args = ["--graded", str(graded_city.latest), "--keys", str(keys), "--audit-log", str(audit), "--workers", "1"]
    import pyarrow.parquet as pq

    uscc = pq.read_table(graded_city.latest / "graded.parquet", columns=["uscc"])["uscc"][0].as_py()
    with running_server(*args, env=env) as base:
        ask = lambda: httpx.post(f"{base}/v1/grade", json={"uscc": uscc}, headers={"X-API-Key": key}, timeout=10)  # noqa: E731
        assert ask().status_code == 200
        revoke_key(keys, "unit-a")
        start = time.monotonic()
        while ask().status_code != 401:
            assert time.monotonic() - start < 3, "the revoked key was still accepted after 3 s"
            time.sleep(0.1)
        waited = time.monotonic() - start
        entries = [json.loads(line) for line in audit.read_text().splitlines()]
        # the log deleted under the running service: nothing answered unaudited, and not ready
        other = add_key(keys, "unit-b", "regulator")
        time.sleep(1.1)  # the key file is looked at once a second
        audit.rename(tmp_path / "moved.log")
        refused = httpx.post(f"{base}/v1/grade", json={"uscc": uscc}, headers={"X-API-Key": other}, timeout=10)
        history = httpx.get(f"{base}/v1/history/{uscc}", headers={"X-API-Key": other}, timeout=10)
        unknown = httpx.post(f"{base}/v1/grade", json={"uscc": uscc}, timeout=10)  # a refusal is not audited either
        ready = httpx.get(f"{base}/readyz", timeout=10).status_code
    assert waited < 3
    assert verify(tmp_path / "moved.log") == len(entries)
    assert entries[0]["uscc"] == uscc and entries[-1]["refused"] == 401
    assert refused.status_code == history.status_code == unknown.status_code == 503 and ready == 503
    assert refused.json()["code"] == "audit_unavailable" and "was deleted" in refused.json()["error"]
