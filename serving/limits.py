"""The service bounded under abuse: request bodies, request rates, and what the metrics are labelled by.

- **Bodies.** A request whose `Content-Length` is over `CREDITGRADE_MAX_BODY` is answered 413 before its
  body is read; one without a length (chunked) is cut off with 413 as soon as it passes the limit.
- **Bodies are JSON.** A POST whose `Content-Type` is anything but `application/json` is answered 415 before
  it is parsed (BentoML answered a multipart type without a boundary with 500); the console's forms
  (`/console/...`) are HTML forms, parsed by the console itself.
- **Rates.** Token buckets per client address (`CREDITGRADE_RATE_ADDRESS` a second), per API key
  (`CREDITGRADE_RATE_KEY`), and a stricter one for requests that bring no valid key
  (`CREDITGRADE_RATE_NO_KEY`, so that a flood of guesses costs neither memory nor the audit log much);
  over a limit: 429 with `Retry-After`. Each worker keeps its own buckets (the limits hold per worker),
  and a bucket holds two seconds' worth, so a burst is allowed, a flood is not. Rate-limited requests are
  counted on `/metrics` (`creditgrade_rate_limited_total{limit}`), not written one by one to the audit log.
- **Metric labels.** BentoML labels its request metrics with the raw path, so every distinct unknown path
  (and every USCC of `GET /v1/history/{uscc}`) grew `/metrics` and the workers' memory without bound. The
  labels are now route templates: the service's own routes as they are, `/v1/history/{uscc}`, and
  `/{unknown}` for the rest.
"""

from __future__ import annotations

import copy
import functools
import json
import time
from collections import OrderedDict

from creditgrade.features.settings import settings

MAX_BUCKETS = 10_000  # buckets kept per kind (least recently used dropped): memory stays bounded too


@functools.cache
def _limited():
    """Created on first use, in the worker (after BentoML has set up its multiprocess metrics directory)."""
    import prometheus_client as prom

    return prom.Counter("creditgrade_rate_limited", "Requests answered 429, by the limit they passed", ["limit"])


def count_limited(limit: str) -> None:
    _limited().labels(limit).inc()


class Buckets:
    """Token buckets by key: `rate` a second, holding up to `2 × rate`."""

    def __init__(self, rate: float, clock=time.monotonic):
        self.rate, self.capacity, self.clock = float(rate), 2.0 * rate, clock
        self._held: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, key: str) -> float:
        """0 if `key` may go now (a token taken), else the seconds until it may."""
        now = self.clock()
        tokens, then = self._held.pop(key, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - then) * self.rate)
        wait = 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.rate
        self._held[key] = (tokens - 1.0 if wait == 0.0 else tokens, now)
        if len(self._held) > MAX_BUCKETS:
            self._held.popitem(last=False)
        return wait


FORM_PREFIX = "/console/"


class Limits:
    """ASGI middleware (outermost of the service's own): body size and the per-address rate. The per-key
    rate is taken by the key middleware once it knows the key (`Limits.for_key`)."""

    def __init__(self, app):
        self.app = app
        s = settings()
        self.max_body = s.max_body
        self.by_address = Buckets(s.rate_address)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        address = (scope.get("client") or ("?", 0))[0]
        wait = self.by_address.take(address)
        if wait:
            count_limited("address")
            return await too_many(send, wait)
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            return await too_large(send, self.max_body)
        if scope.get("method") in ("POST", "PUT", "PATCH"):
            kind = headers.get(b"content-type")
            form = scope["path"].startswith(FORM_PREFIX)  # the console's forms and its planner's upload
            if kind is not None and not form and kind.split(b";")[0].strip().lower() != b"application/json":
                return await not_json(send, kind)
            if length is None:
                receive = _capped(receive, self.max_body)
        try:
            return await self.app(scope, receive, send)
        except BodyTooLarge:
            return await too_large(send, self.max_body)


class BodyTooLarge(Exception):
    pass


def _capped(receive, limit: int):
    seen = 0

    async def counted():
        nonlocal seen
        message = await receive()
        if message.get("type") == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge
        return message

    return counted


async def too_many(send, wait: float) -> None:
    seconds = max(1, int(wait + 0.999))
    await refuse(
        send,
        429,
        f"too many requests: try again in {seconds} s",
        f"请求过于频繁：请 {seconds} 秒后重试",
        "rate_limited",
        [(b"retry-after", str(seconds).encode())],
    )


async def too_large(send, limit: int) -> None:
    await refuse(
        send,
        413,
        f"the request body is larger than {limit:,} bytes",
        f"请求体超过 {limit:,} 字节",
        "too_large",
    )


async def not_json(send, kind: bytes) -> None:
    shown = kind.decode("latin-1")[:60]
    await refuse(
        send,
        415,
        f"the service reads JSON bodies only (Content-Type: application/json); got {shown!r}",
        f"服务只接受 JSON 请求体（Content-Type: application/json），收到 {shown!r}",
        "unsupported_media_type",
    )


async def refuse(send, status: int, en: str, zh: str, code: str, headers=()) -> None:
    """A refusal from a middleware, in the shape the endpoints answer with (`schemas.ErrorAnswer`)."""
    body = json.dumps({"error": en, "error_zh": zh, "code": code}, ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


# -- metric labels ---------------------------------------------------------------------------------

UNKNOWN = "/{unknown}"


def route_template(path: str, routes: frozenset[str], prefixes: dict[str, str]) -> str:
    """The label a request's metrics get: a known route as it is, a templated one by its template
    (`prefixes`: path prefix → template), anything else one label.

    >>> r = frozenset({"/v1/grade", "/readyz"})
    >>> [route_template(p, r, {"/v1/history/": "/v1/history/{uscc}"}) for p in
    ...  ("/v1/grade", "/v1/history/91440300MA5DC1YU4Q", "/wp-admin.php")]
    ['/v1/grade', '/v1/history/{uscc}', '/{unknown}']
    """
    if path in routes:
        return path
    for prefix, template in prefixes.items():
        if path.startswith(prefix):
            return template
    return UNKNOWN


def label_metrics_by_route(routes: frozenset[str], prefixes: dict[str, str]) -> None:
    """Make BentoML's request metrics (its outermost middleware) label by `route_template`: the middleware
    sees a copy of the request with the templated path, and the request goes on with its own."""
    from bentoml._internal.server.http.instruments import RunnerTrafficMetricsMiddleware as M

    if getattr(M, "_creditgrade_routes", False):
        return
    original = M.__call__

    async def labelled(self, scope, receive, send):
        path = scope.get("path", "")
        label = route_template(path, routes, prefixes) if scope.get("type", "").startswith("http") else path
        if label == path:
            return await original(self, scope, receive, send)
        if not self._is_setup:
            self._setup()  # before the copy: the metrics are made once, on the middleware itself
        inner = self.app
        relabelled = copy.copy(self)  # this request's view of the middleware: its app gets the real request

        async def real(_scope, r, s):
            return await inner(scope, r, s)

        relabelled.app = real
        return await original(relabelled, {**scope, "path": label}, receive, send)

    M.__call__ = labelled
    M._creditgrade_routes = True
