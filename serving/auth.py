"""API keys with roles, checked by ASGI middleware in front of the BentoML service.

Keys are stored only as SHA-256 hashes, in a JSON file (`creditgrade keys add` writes it) or in the
environment (`CREDITGRADE_API_KEYS`: `id:role:sha256,...`). Roles nest: a `planner` may do what a
`regulator` may, an `admin` what a `planner` may. A request without a valid key gets 401, one whose
role is too low 403; health, readiness, metrics and the OpenAPI docs stay open. `creditgrade keys
revoke` marks a key revoked in the file (kept for the record); the service stops accepting it within a
second. Keys given in the environment cannot be revoked while the service runs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from creditgrade.features.errors import CreditgradeError, NotFound
from creditgrade.features.settings import settings
from creditgrade.features.store import atomic_file
from creditgrade.serving.limits import Buckets, count_limited, refuse, too_many

ROLES = ("regulator", "planner", "admin")
RELOAD_SECONDS = 1.0  # how often the middleware looks whether the key file changed
OPEN_PATHS = ("/healthz", "/livez", "/readyz", "/metrics", "/docs.json", "/docs", "/", "/favicon.ico")
OPEN_PREFIXES = ("/static_content/", "/console")  # the console checks its own sessions (console.session)
# The least role each route needs; routes not listed need `admin`.
ROUTE_ROLES = {
    "/v1/grade": "regulator",
    "/v1/grades": "regulator",
    "/v1/explain": "regulator",
    "/v1/model": "regulator",
    "/v1/plan": "planner",
    "/v1/falsereg": "planner",
    "/v1/history": "regulator",
    "/v1/warnings": "regulator",
    "/v1/objection/file": "regulator",
    "/v1/objection/decide": "regulator",
    "/v1/objections": "regulator",
    "/v1/recourse": "regulator",
    "/v1/reload": "admin",
}
ROUTE_PREFIX_ROLES = {"/v1/history/": "regulator", "/v1/recourse/": "regulator"}  # GET /v1/…/{uscc}


class ApiKeyError(CreditgradeError):
    """A key file, key or role that cannot be used."""

    code = "api_key"


@dataclass(frozen=True)
class ApiKey:
    id: str
    role: str


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class KeyRing:
    """Hash → (key id, role), for the keys not revoked."""

    def __init__(self, entries: list[dict]):
        self.by_hash: dict[str, ApiKey] = {}
        for e in entries:
            if e.get("revoked"):
                continue
            if e.get("role") not in ROLES:
                raise ApiKeyError(
                    f"API key {e.get('id')!r}: role must be one of {', '.join(ROLES)}; got {e.get('role')!r}",
                    f"API 密钥 {e.get('id')!r}：角色须为 {', '.join(ROLES)} 之一，当前为 {e.get('role')!r}",
                )
            digest = str(e.get("sha256", "")).lower()
            if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
                raise ApiKeyError(
                    f"API key {e.get('id')!r}: sha256 must be 64 hex digits",
                    f"API 密钥 {e.get('id')!r}：sha256 须为64位十六进制",
                )
            self.by_hash[digest] = ApiKey(str(e["id"]), e["role"])

    @classmethod
    def from_env(cls) -> KeyRing:
        """Keys from `CREDITGRADE_API_KEYS`, else the file named by `CREDITGRADE_API_KEYS_FILE` (default
        <home>/data/api_keys.json); no keys at all means every protected route answers 401."""
        s = settings()
        inline = s.api_keys
        if inline:
            entries = []
            for item in filter(None, (s.strip() for s in inline.split(","))):
                parts = item.split(":")
                if len(parts) != 3:
                    raise ApiKeyError(
                        f"CREDITGRADE_API_KEYS: each entry must be id:role:sha256; got {item[:40]!r}",
                        f"CREDITGRADE_API_KEYS：每项须为 id:role:sha256，当前为 {item[:40]!r}",
                    )
                entries.append({"id": parts[0], "role": parts[1], "sha256": parts[2]})
            return cls(entries)
        return cls(load_file(s.api_keys_file)) if s.api_keys_file.exists() else cls([])

    def check(self, key: str | None) -> ApiKey | None:
        if not key:
            return None
        return self.by_hash.get(hash_key(key))


def load_file(path: Path) -> list[dict]:
    try:
        entries = json.loads(Path(path).read_text())
    except json.JSONDecodeError as exc:
        raise ApiKeyError(
            f"API key file {path} is not valid JSON: {exc}", f"API 密钥文件 {path} 不是有效的 JSON：{exc}"
        ) from None
    if not isinstance(entries, list):
        raise ApiKeyError(
            f"API key file {path} must hold a list of {{id, role, sha256}}",
            f"API 密钥文件 {path} 应为 {{id, role, sha256}} 的列表",
        )
    return entries


def add_key(path: Path, key_id: str, role: str) -> str:
    """Create a key, store its hash in `path` and return the key (shown once, never stored)."""
    if role not in ROLES:
        raise ApiKeyError(
            f"role must be one of {', '.join(ROLES)}; got {role!r}",
            f"角色须为 {', '.join(ROLES)} 之一，当前为 {role!r}",
        )
    entries = load_file(path) if Path(path).exists() else []
    if any(e.get("id") == key_id for e in entries):
        raise ApiKeyError(
            f"an API key with id {key_id!r} already exists in {path}", f"{path} 中已有编号为 {key_id!r} 的 API 密钥"
        )
    key = "cg_" + secrets.token_urlsafe(32)
    entries.append({"id": key_id, "role": role, "sha256": hash_key(key), "created": _now()})
    _write(path, entries)
    return key


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _write(path: Path, entries: list[dict]) -> None:
    KeyRing(entries)  # validate before writing
    path = Path(path)
    with atomic_file(path) as tmp:  # readable by its owner only from the first byte
        with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
            f.write(json.dumps(entries, indent=2))


def list_keys(path: Path) -> list[dict]:
    """Every key in the file: id, role, when created and, if so, revoked (never the hash)."""
    entries = load_file(path) if Path(path).exists() else []
    return [{k: e.get(k) for k in ("id", "role", "created", "revoked")} for e in entries]


def revoke_key(path: Path, key_id: str) -> dict:
    """Mark a key revoked (kept in the file for the record); a running service stops accepting it at once."""
    entries = load_file(path) if Path(path).exists() else []
    found = [e for e in entries if e.get("id") == key_id]
    if not found:
        held = ", ".join(str(e.get("id")) for e in entries) or "none"
        raise NotFound(
            f"no API key {key_id!r} in {path}; keys: {held}", f"{path} 中没有 API 密钥 {key_id!r}；现有：{held}"
        )
    if found[0].get("revoked"):
        raise ApiKeyError(
            f"API key {key_id!r} was already revoked on {found[0]['revoked']}",
            f"API 密钥 {key_id!r} 已于 {found[0]['revoked']} 吊销",
        )
    found[0]["revoked"] = _now()
    _write(path, entries)
    return {k: found[0].get(k) for k in ("id", "role", "created", "revoked")}


class KeyWatch:
    """The keys in force: `fixed` ones, else those of the environment or key file, read again when the file
    changes (looked at no more than once a second), so a key added or revoked counts within a second."""

    def __init__(self, fixed: KeyRing | None = None):
        self._fixed = self._keys = fixed
        self._stamp: int | None = None
        self._looked = 0.0

    @property
    def ring(self) -> KeyRing:
        if self._fixed is not None:
            return self._fixed
        now = time.monotonic()
        if self._keys is None or now - self._looked >= RELOAD_SECONDS:
            self._looked = now
            s = settings()
            try:
                stamp = s.api_keys_file.stat().st_mtime_ns if not s.api_keys else 0
            except FileNotFoundError:
                stamp = -1
            if self._keys is None or stamp != self._stamp:
                self._keys, self._stamp = KeyRing.from_env(), stamp
        return self._keys

    def holds(self, key: ApiKey) -> bool:
        """Whether a key of this id and role is still in force (not revoked, role unchanged)."""
        return key in self.ring.by_hash.values()


def required_role(path: str) -> str | None:
    """None for open paths, else the least role the path needs."""
    if path in OPEN_PATHS or path.startswith(OPEN_PREFIXES):
        return None
    for prefix, role in ROUTE_PREFIX_ROLES.items():
        if path.startswith(prefix):
            return role
    return ROUTE_ROLES.get(path.rstrip("/") or "/", "admin")


def allowed(role: str, needed: str) -> bool:
    return ROLES.index(role) >= ROLES.index(needed)


class ApiKeyMiddleware:
    """Pure ASGI middleware: `X-API-Key: <key>` or `Authorization: Bearer <key>`; puts the caller's
    key id and role in `scope['state']['api_key']` for the audit log.

    Keys from the key file are re-read when the file changes (looked at no more than once a second), so a
    key added or revoked takes effect on a running service within a second, without a restart. Every
    refused request (401, 403) is written to the audit log too, with the path (cut to 100 characters)."""

    def __init__(self, app, keys: KeyRing | None = None, audit: Callable[[list[dict]], None] | None = None):
        self.app = app
        self._watch = KeyWatch(keys)
        self._audit = audit
        s = settings()
        self._per_key, self._no_key = Buckets(s.rate_key), Buckets(s.rate_no_key)

    @property
    def keys(self) -> KeyRing:
        return self._watch.ring

    def _refused(self, scope, status: int, caller: ApiKey | None) -> None:
        if self._audit is None:
            return
        self._audit(
            [
                {
                    "endpoint": str(scope.get("path", ""))[:100],
                    "key_id": caller.id if caller else None,
                    "role": caller.role if caller else None,
                    "refused": status,
                }
            ]
        )

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        needed = required_role(scope["path"])
        if needed is None:
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        key = headers.get(b"x-api-key", b"").decode("latin-1").strip()
        if not key:
            auth = headers.get(b"authorization", b"").decode("latin-1")
            key = auth[7:].strip() if auth[:7].lower() == "bearer " else ""
        caller = self.keys.check(key)
        limit, bucket = ("key", self._per_key) if caller is not None else ("no_key", self._no_key)
        wait = bucket.take(caller.id if caller is not None else (scope.get("client") or ("?", 0))[0])
        if wait:  # counted on /metrics, not audited one by one (a flood would fill the log)
            count_limited(limit)
            return await too_many(send, wait)
        try:
            if caller is None:
                self._refused(scope, 401, None)
            elif not allowed(caller.role, needed):
                self._refused(scope, 403, caller)
        except CreditgradeError as exc:  # the refusal could not be audited (AuditUnavailable): say so
            return await refuse(send, int(exc.status), exc.en, exc.zh, exc.code)
        if caller is None:
            return await refuse(send, 401, "missing or invalid API key", "缺少或无效的 API 密钥", "unauthorized")
        if not allowed(caller.role, needed):
            return await refuse(
                send,
                403,
                f"role {caller.role!r} may not use {scope['path']} (needs {needed})",
                f"角色 {caller.role} 无权访问 {scope['path']}（需要 {needed}）",
                "forbidden",
            )
        scope.setdefault("state", {})["api_key"] = caller
        return await self.app(scope, receive, send)
