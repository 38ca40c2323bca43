"""One error shape, and an OpenAPI document that says so.

The service's own refusals answer `{error, error_zh, code}` (`schemas.ErrorAnswer`). BentoML answers a body
that fails validation with `{error, detail: [{type, loc, msg}]}`, some of its own refusals with a list
(`[{error}]`), an unknown route with plain text, and documents all of them as `{error, detail: string}`: a
client written from the document, or a schema-driven fuzzer, finds the server saying something else.

`OneErrorShape` (ASGI middleware) rewrites every error answer that is not already in the service's shape into
it — BentoML's message kept, the Chinese added, a code from the status, the validation issues kept as
`detail` — and answers `/docs.json` with BentoML's document corrected: every operation lists the refusals it
can answer (400, 401, 403, 404, 413, 415, 422, 429, 500, 503), each with `ErrorAnswer`; answers are the
pydantic models' own schemas; `GET /v1/history/{uscc}` (a bare ASGI route BentoML does not list) is
documented; and the version is 3.1, the dialect of the pydantic schemas inside it.
"""

from __future__ import annotations

import copy
from http import HTTPStatus

import orjson

from creditgrade.serving.schemas import ErrorAnswer

# What each refusal means, for a status whose body came from BentoML or Starlette rather than the service.
GENERIC = {
    400: ("invalid_request", "请求不符合接口定义"),
    401: ("unauthorized", "未提供有效的 API 密钥"),
    403: ("forbidden", "该密钥的角色无权访问此接口"),
    404: ("not_found", "没有这个地址"),
    405: ("method_not_allowed", "该地址不接受此请求方法"),
    413: ("too_large", "请求体过大"),
    415: ("unsupported_media_type", "不支持的请求内容类型"),
    422: ("unprocessable", "请求无法处理"),
    429: ("rate_limited", "请求过于频繁，请稍后再试"),
    500: ("internal", "服务内部错误，请查看服务日志"),
    503: ("unavailable", "服务暂不可用"),
}
PATH_GETS = {
    "/v1/history/{uscc}": ("/v1/history", "uscc"),
    "/v1/recourse/{uscc}": ("/v1/recourse", "uscc"),
}  # GET route -> (the POST it mirrors, its parameter)
DOCUMENTED = (400, 401, 403, 404, 413, 415, 422, 429, 500, 503)  # what every operation may answer


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"HTTP {status}"


def reshaped(status: int, body: bytes) -> bytes | None:
    """`body` (an error answer) in the service's shape; None when it already is."""
    try:
        found = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        found = body.decode("utf-8", "replace").strip() or None
    if isinstance(found, list) and len(found) == 1 and isinstance(found[0], dict):
        found = found[0]  # BentoML wraps some of its refusals in a list
    if isinstance(found, dict) and {"error", "error_zh", "code"} <= found.keys():
        return None
    phrase = _phrase(status)
    code, zh = GENERIC.get(status, (f"http_{status}", phrase))
    error = found.get("error") if isinstance(found, dict) else found
    answer = {"error": str(error or phrase), "error_zh": zh, "code": code}
    detail = found.get("detail") if isinstance(found, dict) else None
    if isinstance(detail, list):
        issues = [
            {"loc": list(d.get("loc", [])), "msg": str(d.get("msg", "")), "type": str(d.get("type", ""))}
            for d in detail
            if isinstance(d, dict)
        ]
        answer["detail"] = issues
        if issues:
            first = issues[0]
            where = ".".join(str(p) for p in first["loc"]) or "body"
            answer["error"] += f" — {where}: {first['msg']}"
            answer["error_zh"] += f"（{where}：{first['msg']}）"
    return orjson.dumps(answer)


def answer_models(service) -> dict[str, type]:
    """Route -> the pydantic model its endpoint answers with (its return annotation)."""
    import typing

    found = {}
    for api in service.apis.values():
        model = typing.get_type_hints(api.func).get("return")
        if isinstance(model, type) and hasattr(model, "model_json_schema"):
            found[api.route] = model
    return found


def corrected(document: dict, answers: dict[str, type] | None = None) -> dict:
    """BentoML's OpenAPI document with the answers the server really gives: the errors, and for each route in
    `answers` the schema of its pydantic answer model (BentoML flattens the top level of an answer and loses
    its optional fields' `null`)."""
    doc = copy.deepcopy(document)
    # The schemas inside are pydantic's, JSON Schema 2020-12 (a number as `exclusiveMinimum`, `"type": "null"`
    # in `anyOf`): OpenAPI 3.1's dialect, not the 3.0 BentoML declares.
    doc["openapi"] = "3.1.0"
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    for name in ("InvalidArgument", "NotFound", "InternalServerError"):
        schemas.pop(name, None)
    for route, model in [("", ErrorAnswer), *(answers or {}).items()]:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}", mode="serialization")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
        post = doc.setdefault("paths", {}).get(route, {}).get("post")
        if post is not None:
            ok = {"application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}}
            post["responses"]["200"] = {"description": "Successful Response", "content": ok}
    paths = doc["paths"]
    for route, (same_as, name) in PATH_GETS.items():
        post = paths.get(same_as, {}).get("post")
        if post is not None:  # a bare ASGI route BentoML does not know of: documented as the POST it mirrors
            paths[route] = {
                "get": {
                    "operationId": f"{post.get('operationId', same_as)}__get",
                    "description": f"As `POST {same_as}`, with `{name}` in the path.",
                    "tags": post.get("tags", []),
                    "parameters": [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}],
                    "responses": {"200": post["responses"]["200"]},
                }
            }
    for item in paths.values():
        for method, operation in item.items():
            if method not in ("get", "post", "put", "patch", "delete") or not isinstance(operation, dict):
                continue
            responses = operation.setdefault("responses", {})
            for status in DOCUMENTED:
                responses[str(status)] = {
                    "description": _phrase(status),
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorAnswer"}}},
                }
            for status in [s for s in responses if s.isdigit() and int(s) >= 400 and int(s) not in DOCUMENTED]:
                responses.pop(status)
    return doc


class OneErrorShape:
    """ASGI middleware: every error answer in the service's shape; `/docs.json` corrected to match."""

    def __init__(self, app, answers: dict[str, type] | None = None):
        self.app, self.answers = app, answers

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] == "HEAD" or scope["path"].startswith("/console"):
            return await self.app(scope, receive, send)  # the console answers its errors as pages
        document = scope["path"] == "/docs.json" and scope["method"] == "GET"
        held: dict = {}
        chunks: list[bytes] = []

        async def sending(message):
            if message["type"] == "http.response.start":
                if document or message["status"] >= 400:
                    held["start"] = message
                    return None
                return await send(message)
            if message["type"] == "http.response.body" and "start" in held:
                chunks.append(message.get("body", b""))
                if message.get("more_body"):
                    return None
                start, body = held.pop("start"), b"".join(chunks)
                if document and start["status"] == 200:
                    new = orjson.dumps(corrected(orjson.loads(body), self.answers))
                else:
                    new = reshaped(start["status"], body) if not document else None
                if new is None:
                    await send(start)
                    return await send({"type": "http.response.body", "body": body})
                headers = [
                    (k, v) for k, v in start.get("headers", []) if k.lower() not in (b"content-length", b"content-type")
                ]
                headers += [(b"content-type", b"application/json"), (b"content-length", str(len(new)).encode())]
                await send({**start, "headers": headers})
                return await send({"type": "http.response.body", "body": new})
            return await send(message)

        await self.app(scope, receive, sending)
