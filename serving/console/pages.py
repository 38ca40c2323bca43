"""The console's pages: what each one reads from the worker's service and hands to its template.

Each handler checks the caller (`Console.answer`), does its work in a worker thread (lookups, plans and
regrades are blocking calls), and renders one template; bad input comes back on the same page with the
catalog's message and a 4xx status.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from creditgrade.features.errors import CreditgradeError
from creditgrade.features.settings import settings
from creditgrade.models import grades as G
from creditgrade.serving.console import charts
from creditgrade.serving.console.app import BASE, NEEDS, View, problem, scheme_of, temporary_folder
from creditgrade.serving.console.records import record_tables, records
from creditgrade.serving.names import looks_like_uscc, name_index

if TYPE_CHECKING:
    from creditgrade.serving.console.app import Console

PLAN_FOLDER = re.compile(r"^[A-Za-z0-9_.-]{1,120}$")
DOWNLOADS = {"list.csv": "text/csv; charset=utf-8", "list.parquet": "application/vnd.apache.parquet",
             "plan.json": "application/json"}  # fmt: skip
MONTH_PLOTS = ("grade_shares", "score_shift", "drift")  # the migration is drawn on the page itself
MODEL_PLOTS = ("calibration", "grade_rates")
MODEL_METRICS = ("test_auc", "test_gini", "test_ks", "test_brier", "test_rows", "psi_fit_test",
                 "shenzhen_worst_grade_lift", "fit_rows", "tune_rows")  # fmt: skip
WARNINGS_SHOWN = 200


def _png(data: bytes) -> Response:
    return Response(data, media_type="image/png", headers={"cache-control": "private, max-age=300"})


class Pages:
    def __init__(self, console: Console):
        self.c = console

    def routes(self) -> list[Route]:
        return [
            Route("/enterprise", self.search),
            Route("/enterprise/{uscc}", self.enterprise),
            Route("/enterprise/{uscc}/report", self.report),
            Route("/enterprise/{uscc}/report.pdf", self.report_pdf),
            Route("/enterprise/{uscc}/objection", self.file_objection, methods=["POST"]),
            Route("/objections", self.objections),
            Route("/objections/{id}/decide", self.decide, methods=["POST"]),
            Route("/warnings", self.warnings),
            Route("/warnings/export.{kind}", self.warnings_export),
            Route("/planner", self.planner, methods=["GET", "POST"]),
            Route("/planner/plans/{folder}/{file}", self.plan_download),
            Route("/month", self.month),
            Route("/month/{as_of}/{plot}.png", self.month_plot),
            Route("/model", self.model, methods=["GET", "POST"]),
            Route("/model/{version:int}/{plot}.png", self.model_plot),
        ]

    # -- home ----------------------------------------------------------------------------------

    async def home(self, request: Request) -> Response:
        async def build(view: View) -> Response:
            info = view.svc._info()
            return self.c.render(view, "home.html", info=info)

        return await self.c.answer(request, "regulator", build)

    # -- enterprise ----------------------------------------------------------------------------

    async def search(self, request: Request) -> Response:
        async def build(view: View) -> Response:
            q = request.query_params.get("q", "").strip()[:60]
            return await run_in_threadpool(self._search, view, q)

        return await self.c.answer(request, NEEDS["enterprise"], build)

    def _search(self, view: View, q: str) -> Response:
        svc, t = view.svc, view.t
        if not q:
            return self.c.render(view, "search.html", q=q, hits=None, error=None)
        if looks_like_uscc(q):
            from creditgrade.serving.service import check_uscc

            try:
                code = check_uscc(q, svc.store.known)
            except CreditgradeError as exc:
                return self.c.render(view, "search.html", status=400, q=q, hits=None, error=view.error(exc))
            found, missing = svc.store.find([code])
            if not missing:
                return RedirectResponse(f"{BASE}/enterprise/{code}", status_code=303)
            self._looked(view, code, False)
            return self.c.render(view, "search.html", status=404, q=q, hits=[], error=t("search.no_uscc", uscc=code))
        index = name_index(svc.store)
        positions, exact = index.search(q)
        rows = svc.store.rows(positions) if len(positions) else []
        self.c._audit(view, "search", rows=len(rows))
        return self.c.render(view, "search.html", q=q, hits=rows, prefix=exact, error=None)

    def _looked(self, view: View, code: str, found: bool) -> None:
        view.svc.audit_lookups(view.caller, "console:enterprise", [code], [] if found else [code])

    def enterprise_data(self, view: View, uscc: str, scheme_name: str | None) -> dict[str, Any]:
        """Everything the enterprise page and its report show (the lookup audited like the API's)."""
        from creditgrade.serving import objections
        from creditgrade.serving.service import check_uscc, not_graded

        svc, t, lang = view.svc, view.t, view.lang
        scheme = scheme_of(scheme_name)
        code = check_uscc(uscc, svc.store.known)
        found, missing = svc.store.find([code])
        self._looked(view, code, not missing)
        if missing:
            raise not_graded(code)
        row = svc._answers(found)[0]
        grade = row["grades"][scheme.name]
        rank = scheme.grades.index(grade)
        months = svc._lookup().months(code, svc._history_con())
        column = f"grade_{scheme.name}"
        scores = [m["score"] for m in months] or [row["score"]]
        low, high = min(scores) - 30, max(scores) + 30
        history_chart = charts.line(
            [(m["month"][:7] + ("*" if m.get("correction") else ""), m["score"], m[column]) for m in months],
            t("enterprise.history_chart"), low, high,
        )  # fmt: skip
        yes_no = {True: (t("word.yes"), t("word.yes")), False: (t("word.no"), t("word.no"))}
        tables: dict[str, list] = {}
        reasons = []
        for r in row["reasons"]:
            behind = []
            for table in record_tables(r["indicator"]):
                if table not in tables:
                    tables[table] = records(svc.settings.records, code, (table,), row["as_of"], yes_no)
                behind.extend(tables[table])
            reasons.append({**r, "records": behind})
        disputes = objections.objections(svc._workflow(), uscc=code)
        try:
            recourse, recourse_error = svc.recourse_for(code, scheme.name), None
        except CreditgradeError as exc:  # the page still shows the grade; the section says why it is missing
            recourse, recourse_error = None, exc.zh if lang == "zh" else str(exc)
        dims = [(d[lang], float(d["points"])) for d in row["dimensions"]]
        return {
            "row": row,
            "code": code,
            "scheme": scheme,
            "grade": grade,
            "face": charts.face(grade, rank, len(scheme.grades), t("enterprise.face", grade=grade)),
            "dimension_chart": charts.bars(dims, t("enterprise.dimension_chart")),
            "history": months,
            "history_chart": history_chart,
            "column": column,
            "reasons": reasons,
            "record_choices": sorted({rec.id for recs in tables.values() for rec in recs if rec.fileable}),
            "disputes": disputes,
            "recourse": recourse,
            "recourse_error": recourse_error,
            "printed": dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
        }

    async def enterprise(self, request: Request) -> Response:
        async def build(view: View) -> Response:
            data = await run_in_threadpool(
                self.enterprise_data, view, request.path_params["uscc"], request.query_params.get("scheme")
            )
            filed = request.query_params.get("filed")
            return self.c.render(view, "enterprise.html", filed=filed, error=None, claim="", **data)

        return await self.c.answer(request, NEEDS["enterprise"], build)

    async def report(self, request: Request) -> Response:
        async def build(view: View) -> Response:
            data = await run_in_threadpool(
                self.enterprise_data, view, request.path_params["uscc"], request.query_params.get("scheme")
            )
            return self.c.render(view, "report.html", **data)

        return await self.c.answer(request, NEEDS["enterprise"], build)

    async def report_pdf(self, request: Request) -> Response:
        from creditgrade.serving.console.pdf import credit_report

        async def build(view: View) -> Response:
            def make() -> tuple[bytes, str]:
                data = self.enterprise_data(view, request.path_params["uscc"], request.query_params.get("scheme"))
                return credit_report(data, view.t, view.lang), data["code"]

            pdf, code = await run_in_threadpool(make)
            return Response(
                pdf,
                media_type="application/pdf",
                headers={"content-disposition": f'attachment; filename="credit-report-{code}.pdf"',
                         "cache-control": "no-store"},
            )  # fmt: skip

        return await self.c.answer(request, NEEDS["enterprise"], build)

    async def file_objection(self, request: Request) -> Response:
        from creditgrade.serving import objections

        async def build(view: View) -> Response:
            form = await self.c.form(view)
            uscc = request.path_params["uscc"]
            record = str(form.get("record_other") or form.get("record") or "").strip()[:120]
            claim = str(form.get("claim") or "").strip()[:2000]
            kind = str(form.get("kind") or "objection")

            def work() -> Response:
                svc = view.svc
                from creditgrade.serving.service import check_uscc

                try:
                    if kind not in objections.KINDS:
                        raise problem("error.kind", kind=kind[:24])
                    if not record:
                        raise problem("error.record_empty")
                    if not claim:
                        raise problem("error.claim_empty")
                    code = check_uscc(uscc, svc.store.known)
                    who = view.caller["key_id"] or "unknown"
                    o = objections.file(svc._workflow(), svc.settings.records, code, record, claim, who, kind=kind)
                except CreditgradeError as exc:
                    data = self.enterprise_data(view, uscc, None)
                    return self.c.render(
                        view, "enterprise.html", status=int(exc.status), filed=None, error=view.error(exc),
                        claim=claim, **data,
                    )  # fmt: skip
                svc.audit.append([{"endpoint": "console:objection_file", **view.caller, "uscc": code,
                                   "objection": o.id}])  # fmt: skip
                return RedirectResponse(f"{BASE}/enterprise/{code}?filed={o.id}", status_code=303)

            return await run_in_threadpool(work)

        return await self.c.answer(request, NEEDS["objections"], build)

    # -- objections ----------------------------------------------------------------------------

    async def objections(self, request: Request) -> Response:
        from creditgrade.serving import objections

        async def build(view: View) -> Response:
            status = request.query_params.get("status") or None
            if status not in (None, "open", "upheld", "rejected"):
                raise problem("error.status", status=status[:24])
            overdue = request.query_params.get("overdue") == "1"

            def work():
                rows = objections.objections(view.svc._workflow(), status=status, overdue=overdue)
                late = objections.objections(view.svc._workflow(), status="open", overdue=True)
                return rows, late

            rows, late = await run_in_threadpool(work)
            self.c._audit(view, "objections", rows=len(rows))
            return self.c.render(view, "objections.html", rows=rows, late=late, chosen=status, overdue=overdue)

        return await self.c.answer(request, NEEDS["objections"], build)

    async def decide(self, request: Request) -> Response:
        from creditgrade.serving import objections

        async def build(view: View) -> Response:
            form = await self.c.form(view)
            choice = str(form.get("decision") or "")
            reason = str(form.get("reason") or "").strip()[:2000]
            oid = request.path_params["id"][:40]

            def work() -> Response:
                svc = view.svc
                if choice not in ("uphold", "reject"):
                    raise problem("error.decision")
                if not reason:
                    raise problem("error.reason_empty")
                d = objections.decide(
                    svc._workflow(), oid, choice == "uphold", reason, view.caller["key_id"] or "unknown",
                    data=svc.settings.records, root=svc.settings.monthly, scoring=svc.scoring,
                )  # fmt: skip
                svc.audit.append([{"endpoint": "console:objection_decide", **view.caller, "uscc": d.objection.uscc,
                                   "objection": d.objection.id, "decision": d.objection.status}])  # fmt: skip
                return self.c.render(view, "decided.html", decision=d)

            return await run_in_threadpool(work)

        return await self.c.answer(request, NEEDS["objections"], build)

    # -- early warnings ------------------------------------------------------------------------

    def _warnings(self, view: View, request: Request):
        from creditgrade.serving.month import month_warnings

        q = request.query_params
        as_of = q.get("as_of") or None
        try:
            day = dt.date.fromisoformat(as_of) if as_of else None
        except ValueError:
            raise problem("error.date", value=as_of[:24]) from None  # type: ignore[index]
        district, industry = q.get("district") or None, q.get("industry") or None
        month, everyone = month_warnings(view.svc.settings.monthly, day)
        _, frame = month_warnings(view.svc.settings.monthly, month, district=district, industry=industry)
        return month, everyone, frame, district, industry

    async def warnings(self, request: Request) -> Response:
        async def build(view: View) -> Response:
            month, everyone, frame, district, industry = await run_in_threadpool(self._warnings, view, request)
            lang = view.lang
            districts = sorted(set(everyone[f"district_{lang}"].dropna()))
            industries = sorted(set(everyone[f"industry_{lang}"].dropna()))
            rows = frame.head(WARNINGS_SHOWN).to_dict("records")
            self.c._audit(view, "warnings", month=str(month), rows=len(rows))
            return self.c.render(
                view, "warnings.html", month=str(month), rows=rows, total=len(frame), districts=districts,
                industries=industries, district=district, industry=industry,
                query=request.url.query,
            )  # fmt: skip

        return await self.c.answer(request, "regulator", build)

    async def warnings_export(self, request: Request) -> Response:
        from creditgrade.serving.month import export_warnings

        async def build(view: View) -> Response:
            kind = request.path_params["kind"]
            if kind not in ("csv", "parquet"):
                raise problem("error.no_export", kind=kind[:10], status=404)

            def work() -> tuple[bytes, str]:
                month, _, frame, _, _ = self._warnings(view, request)
                with temporary_folder() as tmp:
                    path = export_warnings(frame, Path(tmp) / f"warnings-{month}.{kind}")
                    return path.read_bytes(), f"warnings-{month}.{kind}"

            body, name = await run_in_threadpool(work)
            self.c._audit(view, "warnings_export", file=name)
            media = "text/csv; charset=utf-8" if kind == "csv" else "application/vnd.apache.parquet"
            return Response(body, media_type=media, headers={"content-disposition": f'attachment; filename="{name}"'})

        return await self.c.answer(request, "regulator", build)

    # -- planner -------------------------------------------------------------------------------

    async def planner(self, request: Request) -> Response:
        from creditgrade.serving.console import planner

        async def build(view: View) -> Response:
            if request.method == "GET":
                return self.c.render(view, "planner.html", form=planner.defaults(), result=None, error=None)
            form = await self.c.form(view)
            fields = planner.fields(form)
            upload = form.get("published")
            upload_bytes = await upload.read() if isinstance(upload, UploadFile) else b""
            upload_name = upload.filename if isinstance(upload, UploadFile) else None

            def work() -> Response:
                try:
                    result = planner.act(view, fields, upload_bytes, upload_name)
                except CreditgradeError as exc:
                    return self.c.render(
                        view, "planner.html", status=int(exc.status), form=fields, result=None, error=view.error(exc)
                    )
                return self.c.render(view, "planner.html", form=fields, result=result, error=None)

            return await run_in_threadpool(work)

        return await self.c.answer(request, NEEDS["planner"], build)

    async def plan_download(self, request: Request) -> Response:
        async def build(view: View) -> Response:
            folder, file = request.path_params["folder"], request.path_params["file"]
            path = settings().console / "plans" / folder / file
            if not PLAN_FOLDER.match(folder) or file not in DOWNLOADS or not path.is_file():
                raise problem("error.no_download", name=f"{folder[:60]}/{file[:20]}", status=404)
            self.c._audit(view, "plan_download", file=f"{folder}/{file}")
            return Response(
                path.read_bytes(), media_type=DOWNLOADS[file],
                headers={"content-disposition": f'attachment; filename="{folder}-{file}"'},
            )  # fmt: skip

        return await self.c.answer(request, NEEDS["planner"], build)

    # -- month ---------------------------------------------------------------------------------

    def _months(self, view: View) -> list[str]:
        root = view.svc.settings.monthly / "months"
        return sorted(p.parent.name for p in root.glob("*/month.json")) if root.exists() else []

    async def month(self, request: Request) -> Response:
        async def build(view: View) -> Response:
            months = self._months(view)
            if not months:
                raise problem("error.no_months", status=404)
            as_of = request.query_params.get("as_of") or months[-1]
            if as_of not in months:
                raise problem("error.month", month=as_of[:24], known=", ".join(months), status=404)
            folder = view.svc.settings.monthly / "months" / as_of
            summary = json.loads((folder / "month.json").read_text("utf-8"))
            fair_file = folder / "equal_treatment.json"  # months published before the report have none
            fairness = json.loads(fair_file.read_text("utf-8")) if fair_file.exists() else None
            matrix = summary["migration"]["matrix"]
            order = list(G.SCHEMES["shenzhen"].grades)
            before = [g for g in order + ["new"] if g in matrix]
            after = [g for g in order + ["gone"] if any(g in r for r in matrix.values())]
            t = view.t
            heat = charts.heatmap(
                [t("month.new") if g == "new" else g for g in before],
                [t("month.gone") if g == "gone" else g for g in after],
                [[matrix[b].get(a, 0) for a in after] for b in before],
                t("month.migration"),
            )
            total = sum(summary["grades"].values()) or 1
            shares = [(g, n, n / total) for g, n in summary["grades"].items()]
            self.c._audit(view, "month", month=as_of)
            return self.c.render(
                view, "month.html", months=months, as_of=as_of, summary=summary, heat=heat, shares=shares,
                plots=MONTH_PLOTS, fairness=fairness,
            )  # fmt: skip

        return await self.c.answer(request, NEEDS["month"], build)

    async def month_plot(self, request: Request) -> Response:
        async def build(view: View) -> Response:
            as_of, plot = request.path_params["as_of"], request.path_params["plot"]
            if as_of not in self._months(view) or plot not in MONTH_PLOTS:
                raise problem("error.no_plot", plot=plot[:20], status=404)
            path = view.svc.settings.monthly / "months" / as_of / "report" / f"{plot}.png"
            if not path.exists():
                raise problem("error.no_plot", plot=plot, status=404)
            return _png(path.read_bytes())

        return await self.c.answer(request, NEEDS["month"], build)

    # -- model ---------------------------------------------------------------------------------

    async def model(self, request: Request) -> Response:
        from creditgrade.serving.console import models

        async def build(view: View) -> Response:
            done = error = None
            if request.method == "POST":
                form = await self.c.form(view)
                try:
                    done = await run_in_threadpool(models.act, view, form)
                except CreditgradeError as exc:
                    error = view.error(exc)
            board = await run_in_threadpool(models.board)
            status = 400 if error else 200
            return self.c.render(view, "model.html", status=status, board=board, done=done, error=error,
                                 metrics=MODEL_METRICS, plots=MODEL_PLOTS, info=view.svc._info())  # fmt: skip

        return await self.c.answer(request, NEEDS["model"], build)

    async def model_plot(self, request: Request) -> Response:
        from creditgrade.training import tracking

        async def build(view: View) -> Response:
            plot = request.path_params["plot"]
            if plot not in MODEL_PLOTS:
                raise problem("error.no_plot", plot=plot[:20], status=404)
            return _png(await run_in_threadpool(tracking.report_plot, request.path_params["version"], plot))

        return await self.c.answer(request, NEEDS["model"], build)
