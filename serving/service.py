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

Every call needs an API key (`X-API-Key` or `Authorization: Bearer`); every lookup is written to the
audit log. Health (/livez, /readyz), Prometheus metrics (/metrics) and the OpenAPI docs (/docs.json)
come from BentoML and stay open.
"""

from __future__ import annotations

import dataclasses
import gc
import os
import threading
import time
from http import HTTPStatus
from pathlib import Path
from typing import Any, Optional

import bentoml
import numpy as np
import orjson
from starlette.responses import Response
from pydantic import BaseModel, ConfigDict, Field, create_model
from stdnum import exceptions as stdnum_errors
from stdnum.cn import uscc as stdnum_uscc

from features import catalog
from serving.audit import AuditLog
from serving.auth import ApiKeyMiddleware
from serving.batch import SCHEME_ORDER, score_and_explain
from serving.graded import DIMENSIONS, GradedStore, latest_folder
from models import grades as G
from features.overrides import RULES

LOOKUP_LIMIT = 1000
EXPLAIN_LIMIT = 1000
GRADED_ENV = "CREDITGRADE_GRADED"
CHECKS_ENV, INSPECTORS_ENV = "CREDITGRADE_CHECKS", "CREDITGRADE_INSPECTORS"
FALSEREG_ENV = "CREDITGRADE_FALSEREG"
WORKERS = int(os.environ.get("CREDITGRADE_WORKERS", os.cpu_count() or 1))

Indicators = create_model(
    "Indicators", __config__=ConfigDict(extra="forbid"),
    **{i.id: (Optional[float], Field(None, ge=i.minimum, le=i.maximum, description=f"{i.en} / {i.zh} ({i.unit})"))
       for i in catalog.INDICATORS})


class WhatIf(BaseModel):
    """Indicator values to score: those given replace the enterprise's current values (when `uscc` is
    given) or stand alone (the others count as missing); null means missing."""

    model_config = ConfigDict(extra="forbid")
    uscc: Optional[str] = Field(None, description="Start from this enterprise's current indicator values.")
    indicators: Indicators = Field(default_factory=Indicators)  # type: ignore[valid-type]


def reply(payload: dict) -> Response:
    """JSON straight to bytes (orjson: UTF-8, no escaping of Chinese), skipping a second validation pass."""
    return Response(orjson.dumps(payload, option=orjson.OPT_SERIALIZE_NUMPY), media_type="application/json")


class ClientError(Exception):
    def __init__(self, status: HTTPStatus, en: str, zh: str):
        super().__init__(en)
        self.status, self.en, self.zh = status, en, zh


def within_limit(count: int, limit: int, en: str, zh: str) -> None:
    if count > limit:
        raise ClientError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"{count} {en} in one request; the limit is {limit}",
                          f"单次请求 {count} {zh}，上限为 {limit}")


def not_graded(code: str) -> ClientError:
    return ClientError(HTTPStatus.NOT_FOUND, f"no graded enterprise has USCC {code}",
                       f"未找到统一社会信用代码为 {code} 的已分级企业")


def check_uscc(uscc: str, known=lambda code: False) -> str:
    """The USCC, stripped and upper-cased; ClientError naming the failed check otherwise. A code whose
    check character fails but that is `known` (allow-listed at ingest) is accepted."""
    code = uscc.strip().upper()
    try:
        stdnum_uscc.validate(code)
    except stdnum_errors.InvalidLength:
        raise ClientError(HTTPStatus.BAD_REQUEST, f"invalid USCC {uscc!r}: length must be 18 characters",
                          f"统一社会信用代码 {uscc!r} 无效：长度须为18位") from None
    except stdnum_errors.InvalidFormat:
        raise ClientError(HTTPStatus.BAD_REQUEST, f"invalid USCC {uscc!r}: characters outside the code's alphabet",
                          f"统一社会信用代码 {uscc!r} 无效：含非法字符") from None
    except stdnum_errors.InvalidChecksum:
        if known(code):
            return code
        raise ClientError(HTTPStatus.BAD_REQUEST, f"invalid USCC {uscc!r}: the check character does not match",
                          f"统一社会信用代码 {uscc!r} 无效：校验码不符") from None
    except stdnum_errors.ValidationError as exc:
        raise ClientError(HTTPStatus.BAD_REQUEST, f"invalid USCC {uscc!r}: {exc}",
                          f"统一社会信用代码 {uscc!r} 无效") from None
    return code


def _optional_path(env: str) -> Optional[Path]:
    return Path(os.environ[env]) if os.environ.get(env) else None


@bentoml.service(name="creditgrade", workers=WORKERS, traffic={"timeout": 60},
                 resources={"cpu": str(os.cpu_count() or 1)})
class CreditGrade:
    def __init__(self) -> None:
        from training import tracking

        tracking.configure()
        self._tracking = tracking
        self.root = Path(os.environ.get(GRADED_ENV, "data/graded"))
        self.audit = AuditLog()
        self._lock = threading.Lock()
        self._load()
        gc.freeze()  # what was loaded lives as long as the worker: keep it out of the collector's way

    # -- state -------------------------------------------------------------------------------

    def _load(self) -> None:
        loaded = self._tracking.load(self._tracking.CHAMPION)
        loaded.model.config = dataclasses.replace(loaded.model.config, num_threads=1)  # one per worker
        folder = latest_folder(self.root)
        store = GradedStore(folder)
        self.loaded, self.store, self.folder, self.loaded_at = loaded, store, folder, time.time()

    def _marker(self) -> Path:
        return self.root / ".reload"

    def _fresh(self) -> None:
        """Reload when an admin asked any worker to (the marker file is newer than this worker's state)."""
        try:
            stamp = self._marker().stat().st_mtime
        except FileNotFoundError:
            return
        if stamp > self.loaded_at:
            with self._lock:
                if stamp > self.loaded_at:
                    self._load()

    def _caller(self, ctx: bentoml.Context) -> dict:
        key = ctx.request.scope.get("state", {}).get("api_key")
        return {"key_id": key.id, "role": key.role} if key else {"key_id": None, "role": None}

    def _audit(self, ctx: bentoml.Context, endpoint: str, codes: list[str], missing: list[str]) -> None:
        """One audit entry per USCC looked up (found or not)."""
        caller, absent = self._caller(ctx), set(missing)
        self.audit.append([{"endpoint": endpoint, **caller, "uscc": c, "found": c not in absent,
                            "model_version": self.loaded.label} for c in codes])

    def _error(self, ctx: bentoml.Context, exc: ClientError) -> Response:
        ctx.response.status_code = exc.status
        return reply({"error": exc.en, "error_zh": exc.zh})

    # -- endpoints ---------------------------------------------------------------------------

    @bentoml.api(route="/v1/grade")
    async def grade(self, uscc: str, ctx: bentoml.Context) -> dict[str, Any]:
        """One enterprise's grade in every scheme, probability, score, five dimension sub-scores and
        top-5 reasons (Chinese and English)."""
        self._fresh()
        try:
            code = check_uscc(uscc, self.store.known)
            found, missing = self.store.find([code])
            self._audit(ctx, "grade", [code], missing)
            if missing:
                raise not_graded(code)
            return reply(self.store.rows(found)[0])
        except ClientError as exc:
            return self._error(ctx, exc)

    @bentoml.api(route="/v1/grades")
    async def grades(self, usccs: list[str], ctx: bentoml.Context) -> dict[str, Any]:
        """Up to 1,000 enterprises at once; USCCs not found are listed under `not_found`."""
        self._fresh()
        try:
            within_limit(len(usccs), LOOKUP_LIMIT, "USCCs", "个代码")
            codes = [check_uscc(u, self.store.known) for u in usccs]
            found, missing = self.store.find(codes)
            self._audit(ctx, "grades", codes, missing)
            return reply({"enterprises": self.store.rows(found), "not_found": missing})
        except ClientError as exc:
            return self._error(ctx, exc)

    @bentoml.api(route="/v1/explain")
    async def explain(self, records: list[WhatIf], ctx: bentoml.Context) -> dict[str, Any]:
        """Score and explain indicator records with the champion model (what-if)."""
        self._fresh()
        try:
            within_limit(len(records), EXPLAIN_LIMIT, "records", "条记录")
            if not records:
                raise ClientError(HTTPStatus.BAD_REQUEST, "no records given", "未提供记录")
            features = self.loaded.model.features
            codes = [check_uscc(r.uscc, self.store.known) if r.uscc is not None else None for r in records]
            asked = [c for c in codes if c is not None]
            found, missing = self.store.find(asked)
            self._audit(ctx, "explain", asked, missing)
            if missing:
                raise not_graded(missing[0])
            x = np.full((len(records), len(features)), np.nan)
            overrides: list[Optional[str]] = []
            position = dict(zip(asked, found.tolist()))
            for i, (rec, code) in enumerate(zip(records, codes)):
                rule = None
                if code is not None:
                    current = self.store.indicators(position[code])
                    x[i] = [current.get(f, np.nan) for f in features]
                    rule = self.store.column("override_rule", position[code])
                given = rec.indicators.model_dump(include=rec.indicators.model_fields_set)
                for name, value in given.items():
                    x[i, features.index(name)] = np.nan if value is None else value
                overrides.append(rule)
            r = score_and_explain(self.loaded, x)
            reasons = r["reasons"].to_pylist()
            out = []
            for i, rec in enumerate(records):
                by_score = {s: str(r["grades"][s][i]) for s in SCHEME_ORDER}
                effects = tuple(sorted({RULES[x].effect for x in overrides[i].split("; ")})) if overrides[i] else ()
                final = {s: str(G.apply_overrides([by_score[s]], [effects], self.loaded.schemes[s])[0])
                         for s in SCHEME_ORDER}
                out.append({"uscc": rec.uscc, "probability": float(r["probability"][i]),
                            "score": float(r["score"][i]), "grades_by_score": by_score, "grades": final,
                            "override_rule": overrides[i],
                            "dimensions": [{"id": d.id, "zh": d.zh, "en": d.en,
                                            "points": round(float(r["points"][d.id].iloc[i]), 2)} for d in DIMENSIONS],
                            "base_points": round(r["base_points"], 2), "reasons": reasons[i],
                            "changed": sorted(rec.indicators.model_fields_set)})
            return reply({"results": out, "model_version": self.loaded.label})
        except ClientError as exc:
            return self._error(ctx, exc)

    @bentoml.api(route="/v1/model")
    def model(self) -> dict[str, Any]:
        """The model version, catalog version, grade schemes and graded table being served."""
        self._fresh()
        return self._info()

    def _info(self) -> dict[str, Any]:
        return {"model_version": self.loaded.label, "run_id": self.loaded.run_id,
                "catalog_version": self.loaded.model.catalog_version_,
                "graded_as_of": self.store.as_of, "graded_enterprises": len(self.store),
                "graded_model_version": self.store.model_version,
                "schemes": {k: s.to_dict() for k, s in self.loaded.schemes.items()}}

    @bentoml.api(route="/v1/plan")
    def plan(self, plan: dict[str, Any], ctx: bentoml.Context, seed: Optional[str] = None) -> dict[str, Any]:
        """Planner: a spot-check plan on the graded table being served. Without a seed: every grade's
        expected inspections and problems against a uniform draw, and the commitment to publish; with
        the seed: the drawn list (with inspectors when the service has a directory)."""
        from serving.planner.config import PlanError, parse_plan
        from serving.planner.plan import draw, preview

        self._fresh()
        try:
            config = parse_plan(plan)
            pv = preview(self.folder / "graded.parquet", config, checks=_optional_path(CHECKS_ENV),
                         inspectors=_optional_path(INSPECTORS_ENV))
            summary = pv.summary()
            listed = draw(pv, seed).to_pylist() if seed is not None else None
        except PlanError as exc:
            return self._error(ctx, ClientError(HTTPStatus.BAD_REQUEST, str(exc).split(" / ")[0],
                                                str(exc).split(" / ")[-1]))
        self.audit.append([{"endpoint": "plan", **self._caller(ctx), "uscc": None, "plan_id": config.plan_id,
                            "commitment": pv.commitment, "seed": seed,
                            "drawn": None if listed is None else len(listed), "model_version": self.loaded.label}])
        return reply({**summary, "seed": seed, "list": listed})

    @bentoml.api(route="/v1/falsereg")
    def falsereg(self, ctx: bentoml.Context, top: int = 100) -> dict[str, Any]:
        """Planner: the top of the latest targeted-check list of suspected false registrations
        (`creditgrade falsereg list`), with scores, clusters and reasons."""
        import pyarrow.parquet as pq

        root = Path(os.environ.get(FALSEREG_ENV, "data/falsereg"))
        found = sorted(p for p in root.glob("*/list.parquet") if not p.parent.name.startswith("."))
        try:
            if top < 1:
                raise ClientError(HTTPStatus.BAD_REQUEST, "top must be at least 1", "top 须不小于1")
            within_limit(top, LOOKUP_LIMIT, "enterprises", "户企业")
            if not found:
                raise ClientError(HTTPStatus.NOT_FOUND, "no false-registration list yet: run `creditgrade falsereg list`",
                                  "尚无虚假登记核查名单")
        except ClientError as exc:
            return self._error(ctx, exc)
        table = pq.read_table(found[-1])
        rows = table.slice(0, top).to_pylist()
        for r in rows:
            r["as_of"] = str(r["as_of"])
        self.audit.append([{"endpoint": "falsereg", **self._caller(ctx), "uscc": None, "list": str(found[-1]),
                            "rows": len(rows)}])
        return reply({"list": str(found[-1].parent.name), "enterprises": table.num_rows, "rows": rows})

    @bentoml.api(route="/v1/reload")
    def reload(self, ctx: bentoml.Context) -> dict[str, Any]:
        """Admin: load the current champion and the latest graded table, in every worker."""
        self._marker().parent.mkdir(parents=True, exist_ok=True)
        self._marker().touch()
        with self._lock:
            self._load()
        self.audit.append([{"endpoint": "reload", **self._caller(ctx), "uscc": None,
                            "model_version": self.loaded.label}])
        return self._info()


CreditGrade.add_asgi_middleware(ApiKeyMiddleware)
