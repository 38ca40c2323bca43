"""API keys with roles, checked by ASGI middleware in front of the BentoML service.

Keys are stored only as SHA-256 hashes, in a JSON file (`creditgrade keys add` writes it) or in the
environment (`CREDITGRADE_API_KEYS`: `id:role:sha256,...`). Roles nest: a `planner` may do what a
`regulator` may, an `admin` what a `planner` may. A request without a valid key gets 401, one whose
role is too low 403; health, readiness, metrics and the OpenAPI docs stay open.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from creditgrade.features.errors import CreditgradeError
from creditgrade.features.settings import settings

ROLES = ("regulator", "planner", "admin")
OPEN_PATHS = ("/healthz", "/livez", "/readyz", "/metrics", "/docs.json", "/docs", "/", "/favicon.ico")
OPEN_PREFIXES = ("/static_content/",)
# The least role each route needs; routes not listed need `admin`.
ROUTE_ROLES = {
    "/v1/grade": "regulator",
    "/v1/grades": "regulator",
    "/v1/explain": "regulator",
    "/v1/model": "regulator",
    "/v1/plan": "planner",
    "/v1/falsereg": "planner",
    "/v1/reload": "admin",
}


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
    """Hash → (key id, role)."""

    def __init__(self, entries: list[dict]):
        self.by_hash: dict[str, ApiKey] = {}
        for e in entries:
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
    entries.append({"id": key_id, "role": role, "sha256": hash_key(key)})
    KeyRing(entries)  # validate before writing
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(entries, indent=2))
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return key


def required_role(path: str) -> str | None:
    """None for open paths, else the least role the path needs."""
    if path in OPEN_PATHS or path.startswith(OPEN_PREFIXES):
        return None
    return ROUTE_ROLES.get(path.rstrip("/") or "/", "admin")


def allowed(role: str, needed: str) -> bool:
    return ROLES.index(role) >= ROLES.index(needed)


class ApiKeyMiddleware:
    """Pure ASGI middleware: `X-API-Key: <key>` or `Authorization: Bearer <key>`; puts the caller's
    key id and role in `scope['state']['api_key']` for the audit log."""

    def __init__(self, app, keys: KeyRing | None = None):
        self.app = app
        self.keys = keys if keys is not None else KeyRing.from_env()

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
        if caller is None:
            return await _reply(send, 401, "missing or invalid API key", "缺少或无效的 API 密钥")
        if not allowed(caller.role, needed):
            return await _reply(
                send,
                403,
                f"role {caller.role!r} may not use {scope['path']} (needs {needed})",
                f"角色 {caller.role} 无权访问 {scope['path']}（需要 {needed}）",
            )
        scope.setdefault("state", {})["api_key"] = caller
        return await self.app(scope, receive, send)


async def _reply(send, status: int, en: str, zh: str) -> None:
    body = json.dumps({"error": en, "error_zh": zh}, ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
