"""The scoring service (BentoML 1.4): grade lookups and score-and-explain for regulators.

Started by `creditgrade serve`. At start-up each worker loads the `champion` model from the MLflow
registry (the native LightGBM booster, for contributions) and the latest graded table from the
grading job's DuckDB database. Validation → model → response; the features are computed elsewhere.

    POST /v1/grade    {"uscc": "..."}                    one enterprise's grade, sub-scores, reasons
    POST /v1/grades   {"usccs": ["...", ...]}            up to 1,000 at once
    POST /v1/explain  {"records": [{"uscc": "...", "indicators": {"d3_penalties_12m": 0}}]}
                      score and explain submitted indicator values (what-if), up to 1,000 records
    POST /v1/model    {}                                  the model and table being served
    POST /v1/reload   {}                                  admin: load the current champion and table
    POST /v1/plan     {"plan": {...PLAN.yaml...}, "seed": "..."}   planner: expected problems and the
                      commitment (without a seed), or the drawn list with inspectors (with one)
    POST /v1/falsereg {"top": 100}                       planner: the latest false-registration list
    POST /v1/history  {"uscc": "..."}                    an enterprise's published months and corrections
    GET  /v1/history/{uscc}                              the same
    POST /v1/recourse {"uscc": "...", "scheme": "shenzhen"}  what the rules allow the enterprise to do to lift
                      its grade: each action's grade and date, the fewest that reach the next grade
    GET  /v1/recourse/{uscc}                             the same, in the Shenzhen scheme
    POST /v1/warnings {"as_of": "...", "district": "...", "industry": "...", "limit": 100}
                      a month's early warnings with what changed
    POST /v1/objection/file   {"uscc", "record": "TABLE:ID", "claim", "kind": "objection"|"repair"}
    POST /v1/objection/decide {"id", "uphold": true|false, "reason"}   an upheld one regrades at once
    POST /v1/objections       {"status", "overdue", "uscc"}              the workflow's list

The web console (`creditgrade.serving.console`) is mounted at /console in the same process.

Requests and responses are declared in `creditgrade.serving.schemas`. Every call needs an API key
(`X-API-Key` or `Authorization: Bearer`); every lookup is written to the audit log. A refusal is one
`CreditgradeError`, answered by one handler (`answers`) with its status and both texts. Health (/livez,
/readyz), Prometheus metrics (/metrics) and the OpenAPI docs (/docs.json) come from BentoML and stay open.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import inspect
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Optional

import bentoml
import numpy as np
import orjson
import pandas as pd
from starlette.responses import Response
from stdnum import exceptions as stdnum_errors
from stdnum.cn import uscc as stdnum_uscc

from creditgrade.features.errors import CreditgradeError, NotFound, TooLarge
from creditgrade.features.settings import settings
from creditgrade.models.boosters import ModelRejected
from creditgrade.models.scoring import SCHEME_ORDER
from creditgrade.serving import metrics
from creditgrade.serving.accept import one_connection_per_wakeup
from creditgrade.serving.audit import AuditLog, WorkerAudit
from creditgrade.serving.auth import OPEN_PATHS, ApiKeyMiddleware
from creditgrade.serving.console.app import Console
from creditgrade.serving.graded import DIMENSIONS, GradedStore, Regraded, served_folder
from creditgrade.serving.history import REGRADED
from creditgrade.serving.limits import Limits, label_metrics_by_route
from creditgrade.serving.openapi import OneErrorShape, answer_models
from creditgrade.serving.pages import OwnPages
from creditgrade.serving.schemas import (
    EXPLAIN_LIMIT,
    LOOKUP_LIMIT,
    DecisionAnswer,
    EnterpriseGrade,
    ExplainAnswer,
    FalseRegAnswer,
    GradesAnswer,
    HistoryAnswer,
    ModelInfo,
    ObjectionRecord,
    ObjectionsAnswer,
    PlanAnswer,
    PlanBody,
    RecourseAnswer,
    WarningsAnswer,
    WhatIf,
    documented_bounds,
)


def reply(payload: dict) -> Response:
    """JSON straight to bytes (orjson: UTF-8, no escaping of Chinese), skipping a second validation pass."""
    return Response(orjson.dumps(payload, option=orjson.OPT_SERIALIZE_NUMPY), media_type="application/json")


def answers(endpoint: Callable) -> Callable:
    """The service's one handler of refusals: a CreditgradeError raised by an endpoint becomes its HTTP status
    with the message in English and Chinese and the machine code (`schemas.ErrorAnswer`)."""

    def refuse(exc: CreditgradeError, ctx: bentoml.Context) -> Response:
        ctx.response.status_code = int(exc.status)
        return reply(exc.to_dict())

    if inspect.iscoroutinefunction(endpoint):

        @functools.wraps(endpoint)
        async def run_async(self, *args, **kwargs):
            try:
                return await endpoint(self, *args, **kwargs)
            except CreditgradeError as exc:
                return refuse(exc, kwargs["ctx"])

        return run_async

    @functools.wraps(endpoint)
    def run(self, *args, **kwargs):
        try:
            return endpoint(self, *args, **kwargs)
        except CreditgradeError as exc:
            return refuse(exc, kwargs["ctx"])

    return run


def _missing(v) -> bool:
    """A missing scalar (None, NaN, NaT); a list never is."""
    return not isinstance(v, (list, tuple, dict, np.ndarray)) and bool(pd.isna(v))


def within_limit(count: int, limit: int, en: str, zh: str) -> None:
    if count > limit:
        raise TooLarge(f"{count} {en} in one request; the limit is {limit}", f"单次请求 {count} {zh}，上限为 {limit}")


def not_graded(code: str) -> NotFound:
    return NotFound(f"no graded enterprise has USCC {code}", f"未找到统一社会信用代码为 {code} 的已分级企业")


def check_uscc(uscc: str, known: Callable[[str], bool] = lambda code: False) -> str:
    """The USCC, stripped and upper-cased; CreditgradeError naming the failed check otherwise. A code whose
    check character fails but that is `known` (allow-listed at ingest) is accepted."""
    code = uscc.strip().upper()
    uscc = uscc if len(uscc) <= 24 else uscc[:20] + "…"  # what is echoed back: never a caller's megabyte
    try:
        stdnum_uscc.validate(code)
    except stdnum_errors.InvalidLength:
        raise CreditgradeError(
            f"invalid USCC {uscc!r}: length must be 18 characters",
            f"统一社会信用代码 {uscc!r} 无效：长度须为18位",
            code="invalid_uscc",
        ) from None
    except stdnum_errors.InvalidFormat:
        raise CreditgradeError(
            f"invalid USCC {uscc!r}: characters outside the code's alphabet",
            f"统一社会信用代码 {uscc!r} 无效：含非法字符",
            code="invalid_uscc",
        ) from None
    except stdnum_errors.InvalidChecksum:
        if known(code):
            return code
        raise CreditgradeError(
            f"invalid USCC {uscc!r}: the check character does not match",
            f"统一社会信用代码 {uscc!r} 无效：校验码不符",
            code="invalid_uscc",
        ) from None
    except stdnum_errors.ValidationError as exc:
        raise CreditgradeError(
            f"invalid USCC {uscc!r}: {exc}", f"统一社会信用代码 {uscc!r} 无效", code="invalid_uscc"
        ) from None
    return code


logger = logging.getLogger("creditgrade.service")
one_connection_per_wakeup()  # in each worker, before uvicorn serves: connections spread over the workers
WORKER: dict[str, Any] = {}  # this worker process's service instance


def get_by_uscc(answer: str, in_thread: bool = False):
    """A bare ASGI app for `GET /v1/<route>/{uscc}`, answering as the service's method `answer(uscc, caller)`
    does for the POST route it mirrors (the worker's service instance). `in_thread`: a slow answer (a
    recourse recomputes indicators) runs off the event loop, as BentoML runs a synchronous endpoint."""

    async def app(scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        if scope["method"] not in ("GET", "HEAD"):
            status, body = 405, orjson.dumps({"error": "use GET", "error_zh": "请使用 GET"})
        else:
            key = scope.get("state", {}).get("api_key")
            caller = {"key_id": key.id, "role": key.role} if key else {"key_id": None, "role": None}
            uscc = scope["path"].rstrip("/").rsplit("/", 1)[-1]
            method = getattr(WORKER["service"], answer)
            try:
                found = await asyncio.to_thread(method, uscc, caller) if in_thread else method(uscc, caller)
                status, body = 200, orjson.dumps(found, option=orjson.OPT_SERIALIZE_NUMPY)
            except CreditgradeError as exc:
                status, body = int(exc.status), orjson.dumps(exc.to_dict())
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


# `GET /v1/history/{uscc}`: the lookup is a millisecond, so no framework in front of it.
history_app = get_by_uscc("_history")
recourse_app = get_by_uscc("_recourse", in_thread=True)


console_app = Console(lambda: WORKER["service"])

# BentoML puts OpenTelemetry's ASGI middleware in front of every request even when no trace is exported (its
# default: no exporter, sample rate 0). Its spans went nowhere and cost about a quarter of a history lookup's
# time (GET /v1/history/{uscc} at 32 clients, side by side: 906-1193 req/s with it, 1292-1581 without). The API
# and the console are left out of it; to trace them, configure an exporter and set
# `services.creditgrade.tracing.excluded_urls` in the file BENTOML_CONFIG names (docs/hardening.md).
UNTRACED = ["/v1/", "/console"]


@bentoml.asgi_app(console_app, path="/console")
@bentoml.asgi_app(recourse_app, path="/v1/recourse")
@bentoml.asgi_app(history_app, path="/v1/history")
@bentoml.service(
    name="creditgrade",
    workers=settings().workers,
    traffic={"timeout": 60},
    resources={"cpu": str(os.cpu_count() or 1)},
    tracing={"excluded_urls": UNTRACED},
)
class CreditGrade:
    def __init__(self) -> None:
        from creditgrade.training import tracking

        tracking.configure()
        self._tracking = tracking
        self.settings = settings()
        self.root = self.settings.graded
        self.audit = AuditLog(self.settings.audit_log)
        self._lock = threading.Lock()
        self._months_looked = time.monotonic()
        self._refused_stamp: float | None = None  # a reload other workers asked for that this one refused
        self._load()
        self._lookup().refresh()  # the history lookup file opened now, not by the worker's first request
        WORKER["service"] = self  # for the bare ASGI route (`history_app`): one service per worker process
        gc.freeze()  # what was loaded lives as long as the worker: keep it out of the collector's way
        # A batch of 1,000 answers makes ~100 k short-lived objects: at Python's default thresholds (700, 10, 10)
        # the collector ran ~28 times a batch (3.4 ms a batch on average) and its older-generation passes made
        # the slowest batches (p99 153 ms against a median of 87, in one process); at these it ran none.
        gc.set_threshold(50_000, 20, 100)

    def __is_ready__(self) -> bool:
        """Ready (`/readyz` 200) only while the audit log can be appended to: no lookup may go unaudited."""
        return self.audit.problem() is None

    # -- state -------------------------------------------------------------------------------

    def _load(self) -> None:
        """Load the champion and the newest graded table and swap them in; on any failure (ModelRejected,
        a table that cannot be read) nothing is swapped and the error is raised."""
        try:
            scoring = self._tracking.load(self._tracking.CHAMPION, isolated=True)
            scoring.model.config = scoring.model.config.with_threads(1)  # one per worker
            if self.settings.lookups == "database":  # the team database's newest month (serving/database.py)
                from creditgrade.serving.database import DatabaseStore, matching_folder

                store = DatabaseStore(self.settings.database_url)
                folder = store.folder = matching_folder(self.root, self.settings.monthly, store.as_of)
            else:
                folder = served_folder(self.root, self.settings.monthly)
                store = GradedStore(folder)
        except CreditgradeError:
            raise
        except Exception as exc:  # noqa: BLE001 - whatever it was, the serving state stays as it is
            raise ModelRejected(
                f"the champion or the graded table could not be loaded ({type(exc).__name__}: {exc})",
                "冠军模型或分级结果无法加载",
            ) from None
        self.scoring, self.store, self.folder, self.loaded_at = scoring, store, folder, time.time()
        if self.settings.lookups == "database":
            from creditgrade.serving.database import DatabaseRegraded

            self.regraded = DatabaseRegraded(self.store)
        else:
            self.regraded = Regraded(self.settings.monthly / "history" / REGRADED, self.store.as_of)
        self.months_seen = self._months_stamp()
        summary = metrics.month_summary(self.settings.monthly)
        if summary is not None:
            metrics.show(summary)  # the month's drift and warnings as gauges on /metrics

    def _months_stamp(self):
        """What changes when a month is published: the months folder, and the database's newest month when
        lookups are served from it."""
        try:
            files = (self.settings.monthly / "months").stat().st_mtime_ns
        except FileNotFoundError:
            files = None
        stamp = getattr(self.store, "stamp", None)
        return (files, stamp()) if stamp is not None else files

    def _marker(self):
        return self.root / ".reload"

    def reload_everywhere(self) -> None:
        """Load the current champion and table in this worker (raising, and keeping the old state, if they
        cannot be loaded), then have the other workers follow (`_fresh`, the marker file)."""
        with self._lock:
            self._load()
        self._marker().parent.mkdir(parents=True, exist_ok=True)
        self._marker().touch()  # the other workers follow, now that the new state is known to load

    def _fresh(self) -> None:
        """Reload when an admin asked any worker to (the marker file is newer than this worker's state), or when
        a month was published since (looked at most once a second)."""
        try:
            stamp = self._marker().stat().st_mtime
        except FileNotFoundError:
            stamp = 0.0
        now = time.monotonic()
        published = False
        if now - self._months_looked >= 1.0:
            self._months_looked = now
            published = self._months_stamp() != self.months_seen
        if (stamp > self.loaded_at and stamp != self._refused_stamp) or published:
            with self._lock:
                if (
                    stamp > self.loaded_at and stamp != self._refused_stamp
                ) or self._months_stamp() != self.months_seen:
                    try:
                        self._load()
                    except CreditgradeError as exc:  # keep serving what was loaded; not tried again for this ask
                        self._refused_stamp = stamp
                        self.months_seen = self._months_stamp()
                        logger.error("reload refused, still serving %s: %s", self.scoring.label, exc.en)

    def _caller(self, ctx: bentoml.Context) -> dict:
        key = ctx.request.scope.get("state", {}).get("api_key")
        return {"key_id": key.id, "role": key.role} if key else {"key_id": None, "role": None}

    def _audit(self, ctx: bentoml.Context, endpoint: str, codes: list[str], missing: list[str]) -> None:
        self.audit_lookups(self._caller(ctx), endpoint, codes, missing)

    def audit_lookups(self, caller: dict, endpoint: str, codes: list[str], missing: list[str]) -> None:
        """One audit entry per USCC looked up (found or not), by the API or the console."""
        absent = set(missing)
        self.audit.append(
            [
                {
                    "endpoint": endpoint,
                    **caller,
                    "uscc": c,
                    "found": c not in absent,
                    "model_version": self.scoring.label,
                }
                for c in codes
            ]
        )

    def _answers(self, positions: np.ndarray) -> list[dict]:
        """The graded rows as answered: an enterprise regraded since the month was published by its correction,
        and every row with the records under an open objection or repair marked."""
        disputes = self._disputes()
        out = []
        for row in self.store.rows(positions):
            row = self.regraded.row(row["uscc"]) or row
            out.append({**row, "disputed": disputes.of(row["uscc"])})
        return out

    def _disputes(self):
        if getattr(self, "_open", None) is None:
            from creditgrade.serving import objections

            self._open = objections.OpenDisputes(self._workflow())
        return self._open

    # -- endpoints ---------------------------------------------------------------------------

    @bentoml.api(route="/v1/grade")
    @answers
    async def grade(self, uscc: str, ctx: bentoml.Context) -> EnterpriseGrade:
        """One enterprise's grade in every scheme, probability, score, five dimension sub-scores, the override
        rules that moved its grade, and top-5 reasons (Chinese and English)."""
        self._fresh()
        code = check_uscc(uscc, self.store.known)
        found, missing = self.store.find([code])
        self._audit(ctx, "grade", [code], missing)
        if missing:
            raise not_graded(code)
        return reply(self._answers(found)[0])

    @bentoml.api(route="/v1/grades")
    @answers
    async def grades(
        self, usccs: Annotated[list[str], documented_bounds(max_items=LOOKUP_LIMIT)], ctx: bentoml.Context
    ) -> GradesAnswer:
        """Up to 1,000 enterprises at once; USCCs not found are listed under `not_found`."""
        self._fresh()
        within_limit(len(usccs), LOOKUP_LIMIT, "USCCs", "个代码")
        codes = [check_uscc(u, self.store.known) for u in usccs]
        found, missing = self.store.find(codes)
        self._audit(ctx, "grades", codes, missing)
        return reply({"enterprises": self._answers(found), "not_found": missing})

    @bentoml.api(route="/v1/explain")
    @answers
    async def explain(
        self,
        records: Annotated[list[WhatIf], documented_bounds(min_items=1, max_items=EXPLAIN_LIMIT)],
        ctx: bentoml.Context,
    ) -> ExplainAnswer:
        """Score and explain indicator records with the champion model (what-if)."""
        self._fresh()
        within_limit(len(records), EXPLAIN_LIMIT, "records", "条记录")
        if not records:
            raise CreditgradeError("no records given", "未提供记录")
        features = self.scoring.model.features
        codes = [check_uscc(r.uscc, self.store.known) if r.uscc is not None else None for r in records]
        asked = [c for c in codes if c is not None]
        found, missing = self.store.find(asked)
        self._audit(ctx, "explain", asked, missing)
        if missing:
            raise not_graded(missing[0])
        x = np.full((len(records), len(features)), np.nan)
        rules: list[Optional[str]] = []
        effects: list[Optional[str]] = []
        position = dict(zip(asked, found.tolist()))
        for i, (rec, code) in enumerate(zip(records, codes)):
            rule = effect = None
            if code is not None:
                current = self.store.indicators(position[code])
                x[i] = [current.get(f, np.nan) for f in features]
                rule = self.store.column("override_rule", position[code])
                effect = self.store.column("override_effect", position[code])
            given = rec.indicators.model_dump(include=rec.indicators.model_fields_set)
            for name, value in given.items():
                x[i, features.index(name)] = np.nan if value is None else value
            rules.append(rule)
            effects.append(effect)
        r = self.scoring.score(x)
        final = self.scoring.overridden(r.grades, effects)
        reasons = r.reasons.to_pylist()
        out = [
            {
                "uscc": rec.uscc,
                "probability": float(r.probability[i]),
                "score": float(r.score[i]),
                "grades_by_score": {s: str(r.grades[s][i]) for s in SCHEME_ORDER},
                "grades": {s: str(final[s][i]) for s in SCHEME_ORDER},
                "override_rule": rules[i],
                "dimensions": [
                    {"id": d.id, "zh": d.zh, "en": d.en, "points": round(float(r.points[d.id].iloc[i]), 2)}
                    for d in DIMENSIONS
                ],
                "base_points": round(r.base_points, 2),
                "reasons": reasons[i],
                "changed": sorted(rec.indicators.model_fields_set),
            }
            for i, rec in enumerate(records)
        ]
        return reply({"results": out, "model_version": self.scoring.label})

    @bentoml.api(route="/v1/model")
    def model(self) -> ModelInfo:
        """The model version, catalog version, grade schemes and graded table being served."""
        self._fresh()
        return reply(self._info())

    def _info(self) -> dict[str, Any]:
        return {
            "model_version": self.scoring.label,
            "run_id": self.scoring.run_id,
            "catalog_version": self.scoring.model.catalog_version_,
            "graded_as_of": self.store.as_of,
            "graded_enterprises": len(self.store),
            "graded_model_version": self.store.model_version,
            "schemes": {k: s.to_dict() for k, s in self.scoring.schemes.items()},
        }

    @bentoml.api(route="/v1/plan")
    @answers
    def plan(self, plan: PlanBody, ctx: bentoml.Context, seed: Optional[str] = None) -> PlanAnswer:
        """Planner: a spot-check plan on the graded table being served. Without a seed: every grade's
        expected inspections and problems against a uniform draw, and the commitment to publish; with
        the seed: the drawn list (with inspectors when the service has a directory)."""
        from creditgrade.models.planning.plan import parse_plan
        from creditgrade.serving.planner.plan import draw, preview

        self._fresh()
        config = parse_plan(plan)
        pv = preview(self._graded_file(), config, checks=self.settings.checks, inspectors=self.settings.inspectors)
        listed = draw(pv, seed).to_pylist() if seed is not None else None
        self.audit.append(
            [
                {
                    "endpoint": "plan",
                    **self._caller(ctx),
                    "uscc": None,
                    "plan_id": config.plan_id,
                    "commitment": pv.commitment,
                    "seed": seed,
                    "drawn": None if listed is None else len(listed),
                    "model_version": self.scoring.label,
                }
            ]
        )
        return reply({**pv.summary().to_dict(), "seed": seed, "list": listed})

    @bentoml.api(route="/v1/falsereg")
    @answers
    def falsereg(self, ctx: bentoml.Context, top: int = 100) -> FalseRegAnswer:
        """Planner: the top of the latest targeted-check list of suspected false registrations
        (`creditgrade falsereg list`), with scores, clusters and reasons."""
        import pyarrow.parquet as pq

        root = self.settings.falsereg
        found = sorted(p for p in root.glob("*/list.parquet") if not p.parent.name.startswith("."))
        if top < 1:
            raise CreditgradeError("top must be at least 1", "top 须不小于1")
        within_limit(top, LOOKUP_LIMIT, "enterprises", "户企业")
        if not found:
            raise NotFound(
                "no false-registration list yet: run `creditgrade falsereg list`",
                "尚无虚假登记核查名单：请先运行 `creditgrade falsereg list`",
            )
        table = pq.read_table(found[-1])
        rows = table.slice(0, top).to_pylist()
        for r in rows:
            r["as_of"] = str(r["as_of"])
        self.audit.append(
            [{"endpoint": "falsereg", **self._caller(ctx), "uscc": None, "list": str(found[-1]), "rows": len(rows)}]
        )
        return reply({"list": str(found[-1].parent.name), "enterprises": table.num_rows, "rows": rows})

    @bentoml.api(route="/v1/history")
    @answers
    async def history(self, uscc: str, ctx: bentoml.Context) -> HistoryAnswer:
        """An enterprise's published grades month by month, with the corrections of upheld objections and
        repairs (one row group of the lookup file read per call; its footer held, not the months). Also
        `GET /v1/history/{uscc}`."""
        return reply(self._history(uscc, self._caller(ctx)))

    def _history(self, uscc: str, caller: dict) -> dict:
        code = check_uscc(uscc, self.store.known)
        months = self._lookup().months(code, self._history_con())
        self.audit.append(
            [
                {
                    "endpoint": "history",
                    **caller,
                    "uscc": code,
                    "found": bool(months),
                    "model_version": self.scoring.label,
                }
            ]
        )
        if not months:
            raise NotFound(f"{code} is in no published month", f"已发布的月份中没有 {code}")
        return {"uscc": code, "months": months}

    def _graded_file(self) -> Path:
        """The served month's graded table, which plans are drawn from."""
        if self.folder is None:
            raise NotFound(
                f"the graded folder of {self.store.as_of} is not on this machine: plans are drawn from it",
                f"本机没有 {self.store.as_of} 的分级结果目录：抽查计划须据此生成",
            )
        return self.folder / "graded.parquet"

    def _lookup(self):
        if self.settings.lookups == "database":
            from creditgrade.serving.database import DatabaseHistory

            return DatabaseHistory(self.store)
        if getattr(self, "_history_lookup", None) is None:
            from creditgrade.serving.history import History, Lookup

            self._history_lookup = Lookup(History(self.settings.monthly / "history"))
        return self._history_lookup

    def _history_con(self):
        if getattr(self, "_duck", None) is None:
            import duckdb

            self._duck = duckdb.connect(config={"threads": 1})
        return self._duck

    @bentoml.api(route="/v1/warnings")
    @answers
    async def warnings(
        self,
        ctx: bentoml.Context,
        as_of: Optional[str] = None,
        district: Optional[str] = None,
        industry: Optional[str] = None,
        limit: int = 100,
    ) -> WarningsAnswer:
        """Regulators and planners: a month's early warnings (default the latest), optionally for one district
        or industry, riskiest rise first, with what changed in each record."""
        import datetime as dt

        from creditgrade.serving.month import month_warnings

        within_limit(limit, LOOKUP_LIMIT, "rows", "行")
        day = dt.date.fromisoformat(as_of) if as_of else None
        month, frame = month_warnings(self.settings.monthly, day, district=district, industry=industry)
        rows = frame.head(limit).to_dict("records")
        for r in rows:
            r["rules"] = list(r["rules"])
            r["changes"] = [dict(c) for c in r["changes"]]
            for k, v in r.items():
                if _missing(v):
                    r[k] = None
        self.audit.append(
            [{"endpoint": "warnings", **self._caller(ctx), "uscc": None, "month": str(month), "rows": len(rows)}]
        )
        return reply({"month": str(month), "warnings": len(frame), "rows": rows})

    def _workflow(self):
        if getattr(self, "_engine", None) is None:
            from creditgrade.serving import objections

            self._engine = objections.engine(self.settings.database_url)
        return self._engine

    @bentoml.api(route="/v1/objection/file")
    @answers
    def objection_file(
        self, uscc: str, record: str, claim: str, ctx: bentoml.Context, kind: str = "objection"
    ) -> ObjectionRecord:
        """Regulator: file an objection against one of an enterprise's records (`TABLE:ID`), or a credit-repair
        application for it (`kind: repair`); the caller's key id is recorded as who filed it."""
        from creditgrade.serving import objections

        code = check_uscc(uscc, self.store.known)
        who = self._caller(ctx)["key_id"] or "unknown"
        o = objections.file(self._workflow(), self.settings.records, code, record, claim, who, kind=kind)
        self.audit.append([{"endpoint": "objection_file", **self._caller(ctx), "uscc": code, "objection": o.id}])
        return reply(o.to_dict())

    @bentoml.api(route="/v1/objection/decide")
    @answers
    def objection_decide(self, id: str, uphold: bool, reason: str, ctx: bentoml.Context) -> DecisionAnswer:
        """Regulator: uphold or reject; an upheld one corrects the record from today and regrades the enterprise
        at once with the served model (the new grade is in the answer and in `/v1/history`)."""
        from creditgrade.serving import objections

        who = self._caller(ctx)["key_id"] or "unknown"
        d = objections.decide(
            self._workflow(), id, uphold, reason, who,
            data=self.settings.records, root=self.settings.monthly, scoring=self.scoring,
        )  # fmt: skip
        o = d.objection
        self.audit.append(
            [
                {
                    "endpoint": "objection_decide",
                    **self._caller(ctx),
                    "uscc": o.uscc,
                    "objection": o.id,
                    "decision": o.status,
                }
            ]
        )
        return reply({"objection": o.to_dict(), "month": d.month, "before": d.before, "after": d.after})

    @bentoml.api(route="/v1/objections")
    @answers
    def objections_list(
        self, ctx: bentoml.Context, status: Optional[str] = None, overdue: bool = False, uscc: Optional[str] = None
    ) -> ObjectionsAnswer:
        """Regulator: objections and repair applications (open, upheld, rejected; overdue ones)."""
        from creditgrade.serving import objections

        rows = objections.objections(self._workflow(), status=status, overdue=overdue, uscc=uscc)
        self.audit.append([{"endpoint": "objections", **self._caller(ctx), "uscc": uscc, "rows": len(rows)}])
        return reply({"objections": [o.to_dict() for o in rows]})

    @bentoml.api(route="/v1/recourse")
    @answers
    def recourse(self, uscc: str, ctx: bentoml.Context, scheme: str = "shenzhen") -> RecourseAnswer:
        """Regulator: what the rules allow the enterprise to do to lift its grade — each action (repairs once
        their waiting period has run, leaving a list once the cause is corrected, …) with the grade it reaches
        and when it becomes possible, and the fewest actions that reach the next grade up; recomputed from
        its records with the served model and the workflow's corrections. Also `GET /v1/recourse/{uscc}`."""
        return reply(self._recourse(uscc, self._caller(ctx), scheme))

    def _recourse(self, uscc: str, caller: dict, scheme: str = "shenzhen") -> dict:
        code = check_uscc(uscc, self.store.known)
        r = self.recourse_for(code, scheme)
        self.audit.append(
            [
                {
                    "endpoint": "recourse",
                    **caller,
                    "uscc": code,
                    "actions": len(r.actions),
                    "model_version": self.scoring.label,
                }
            ]
        )
        return r.to_dict()

    def recourse_for(self, code: str, scheme: str = "shenzhen"):
        """The `serving.recourse.Recourse` of a served enterprise at the served month-end, with the workflow's
        corrections in force (not audited: the callers audit)."""
        import datetime as dt

        from creditgrade.serving import objections
        from creditgrade.serving.recourse import recourse

        if not self.store.known(code):
            raise not_graded(code)
        day = dt.date.fromisoformat(self.store.as_of)
        in_force = objections.corrections(self._workflow(), until=day, uscc=code)
        return recourse(self.settings.records, day, code, self.scoring, corrections=in_force, scheme=scheme)

    @bentoml.api(route="/v1/reload")
    @answers
    def reload(self, ctx: bentoml.Context) -> ModelInfo:
        """Admin: load the current champion and the latest graded table, in every worker. The new champion is
        checked first (its files' SHA-256, then parsed and scored in a child process); if it fails, this
        answers why (422) and every worker keeps serving the model it has."""
        before = self.scoring.label
        try:
            self.reload_everywhere()
        except CreditgradeError as exc:
            self.audit.append(
                [
                    {
                        "endpoint": "reload",
                        **self._caller(ctx),
                        "uscc": None,
                        "model_version": before,
                        "refused": exc.code,
                    }
                ]
            )
            raise
        self.audit.append(
            [{"endpoint": "reload", **self._caller(ctx), "uscc": None, "model_version": self.scoring.label}]
        )
        return reply(self._info())


CreditGrade.add_asgi_middleware(OneErrorShape, answers=answer_models(CreditGrade))
CreditGrade.add_asgi_middleware(OwnPages)
CreditGrade.add_asgi_middleware(Limits)
CreditGrade.add_asgi_middleware(ApiKeyMiddleware, audit=WorkerAudit())
label_metrics_by_route(
    frozenset([*(api.route for api in CreditGrade.apis.values()), *OPEN_PATHS]),
    {
        "/v1/history/": "/v1/history/{uscc}",
        "/v1/recourse/": "/v1/recourse/{uscc}",
        "/static_content/": "/static_content/{file}",
        "/console/enterprise/": "/console/enterprise/{uscc}",
        "/console/": "/console/{page}",
    },
)
