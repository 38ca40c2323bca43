"""The web console: regulators, planners and admins use the service in a browser (`/console`).

Mounted by `creditgrade serve` in the same process as the API (`bentoml.asgi_app`), it answers from the
worker's own service — the same graded table, model, history, objection workflow and audit log — so a page and
an API call can never disagree. Pages are rendered on the server (Jinja2, `templates/`), charts are inline SVG
(`charts`), the words come from one catalog in Chinese and English (`messages.yaml`, Chinese by default), and
the only script and style sheet are the console's own (`static/`): no third-party host is contacted.

    /console/login            an API key exchanged for a session cookie (`session`)
    /console/enterprise       search by USCC or by name (prefix, then fuzzy); the enterprise page, its
                              printable credit report and the report as PDF; objections filed and decided
    /console/warnings         this month's early warnings, filtered, exported          (regulator, planner)
    /console/objections       the objection and repair workflow, overdue ones first    (regulator)
    /console/planner          preview, commit, draw, download and verify a spot-check plan (planner)
    /console/month            the month report: migration, grade shares, drift          (regulator, admin)
    /console/model            champion and challenger, promote and roll back            (admin)

Roles nest as in the API (`auth.ROLES`). Every lookup and every decision is written to the audit log like the
API's, under the session's key id. Forms carry a CSRF token; bad input is answered on the page that sent it.
"""

from __future__ import annotations

import logging
import secrets
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import jinja2
from starlette.applications import Starlette
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from creditgrade.features import catalog
from creditgrade.features.contract import ENTERPRISE_STATUSES
from creditgrade.features.errors import CreditgradeError
from creditgrade.features.settings import settings
from creditgrade.models import grades as G
from creditgrade.models.scoring import SCHEME_ORDER
from creditgrade.serving.auth import ApiKey, KeyWatch, allowed
from creditgrade.serving.console import charts, messages
from creditgrade.serving.console.session import COOKIE, LOGIN_COOKIE, LOGIN_SECONDS, Session, Sessions


class _Kinds(Mapping):
    """The workflow's kinds of request (objection, credit repair) in both languages, from `serving.objections`
    when first shown: importing it (SQLAlchemy, the record corrections) is left to the workers, off the path
    of the server's start, whose first process imports this module only to read the service's settings."""

    def _names(self) -> dict:
        from creditgrade.serving.objections import KINDS

        return {k: {"en": en, "zh": zh} for k, (en, zh, _) in KINDS.items()}

    def __getitem__(self, kind: str) -> dict:
        return self._names()[kind]

    def __iter__(self):
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())


BASE = "/console"
HERE = Path(__file__).parent
logger = logging.getLogger("creditgrade.console")

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "cache-control": "no-store",
}
# The pages of the navigation bar and the least role each needs (roles nest: an admin sees them all).
PAGES = (
    ("enterprise", "regulator"),
    ("warnings", "regulator"),
    ("objections", "regulator"),
    ("planner", "planner"),
    ("month", "regulator"),
    ("model", "admin"),
)
NEEDS = dict(PAGES)


class LoginNeeded(Exception):
    pass


class Refused(Exception):
    def __init__(self, needed: str):
        self.needed = needed


class FormRefused(Exception):
    """A POST without the session's CSRF token, or from another site."""


@dataclass
class View:
    """One request as a page sees it: who, in which language, and the service answering."""

    request: Request
    lang: str
    session: Session | None
    svc: Any = None
    notes: list[str] = field(default_factory=list)

    @property
    def t(self) -> Callable[..., str]:
        return messages.translator(self.lang)

    def error(self, exc: CreditgradeError) -> str:
        return exc.zh if self.lang == "zh" else exc.en

    @property
    def caller(self) -> dict:
        key = self.session.key if self.session else None
        return {"key_id": key.id if key else None, "role": key.role if key else None}


class Console:
    """The ASGI app mounted at /console; `service()` gives the worker's service instance (`CreditGrade`)."""

    def __init__(self, service: Callable[[], Any]):
        from creditgrade.serving.console import pages

        self.service = service
        self.keys = KeyWatch()
        self._sessions: Sessions | None = None
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(HERE / "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.globals.update(
            base=BASE,
            pages=PAGES,
            allowed=allowed,
            schemes=SCHEME_ORDER,
            charts=charts,
            scheme_names=G.SCHEMES,
            statuses=ENTERPRISE_STATUSES,
            indicator_name=indicator_name,
            kinds=_Kinds(),
        )  # names the domain already holds in both languages are taken from it, not written again
        self.env.filters["pct"] = lambda v, digits=1: "—" if v is None else f"{100 * v:.{digits}f}%"
        self.env.filters["num"] = lambda v, digits=0: "—" if v is None else f"{v:,.{digits}f}"
        self.pages = pages.Pages(self)
        routes = [
            Route("/", self.pages.home),
            Route("/login", self.login, methods=["GET", "POST"]),
            Route("/logout", self.logout, methods=["POST"]),
            Route("/lang/{to}", self.switch_language),
            *self.pages.routes(),
            Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
        ]
        self.app = Starlette(routes=routes, exception_handlers={404: self.not_found})

    async def __call__(self, scope, receive, send):
        await self.app(scope, receive, send)

    @property
    def sessions(self) -> Sessions:
        if self._sessions is None:
            s = settings()
            self._sessions = Sessions(s.console, s.console_minutes)
        return self._sessions

    # -- who is asking -----------------------------------------------------------------------

    def view(self, request: Request) -> View:
        session = self.sessions.read(request.cookies.get(COOKIE))
        if session is not None and not self.keys.holds(session.key):
            session = None  # its key was revoked or changed role since the login
        return View(request, messages.language(request.cookies.get("cg_lang")), session)

    def guard(self, request: Request, needed: str) -> View:
        """The view of a signed-in caller whose role reaches `needed`; LoginNeeded or Refused otherwise."""
        view = self.view(request)
        if view.session is None:
            raise LoginNeeded
        if not allowed(view.session.key.role, needed):
            self._audit(view, request.url.path, refused=403)
            raise Refused(needed)
        view.svc = self.service()
        view.svc._fresh()
        return view

    async def form(self, view: View) -> FormData:
        """A POSTed form, refused unless it carries the session's CSRF token and comes from this site."""
        request = view.request
        origin = request.headers.get("origin")
        if origin and origin != f"{request.url.scheme}://{request.url.netloc}":
            raise FormRefused
        form = await request.form(max_files=1, max_fields=200)
        if view.session is None or not view.session.checks(form.get("csrf")):  # type: ignore[arg-type]
            raise FormRefused
        return form

    def _audit(self, view: View, endpoint: str, **entry) -> None:
        self.service().audit.append([{"endpoint": f"console:{endpoint}"[:100], **view.caller, "uscc": None, **entry}])

    # -- answers -----------------------------------------------------------------------------

    def render(self, view: View, template: str, status: int = 200, **context) -> HTMLResponse:
        t = view.t
        session = view.session
        html = self.env.get_template(template).render(
            t=t,
            lang=view.lang,
            other=next(lang for lang in messages.LANGS if lang != view.lang),
            session=session,
            role=session.key.role if session else None,
            csrf=session.csrf if session else "",
            here=view.request.url.path + (f"?{view.request.url.query}" if view.request.url.query else ""),
            notes=view.notes,
            **context,
        )
        return HTMLResponse(html, status_code=status, headers=HEADERS)

    def refused_page(self, view: View, status: int, message: str) -> HTMLResponse:
        return self.render(view, "refused.html", status=status, message=message)

    async def answer(self, request: Request, needed: str, build: Callable) -> Response:
        """Run a page: `build(view)` (sync, in a worker thread) with the caller checked; refusals and errors as
        pages, never a stack trace."""
        try:
            view = self.guard(request, needed)
        except LoginNeeded:
            return RedirectResponse(f"{BASE}/login?{urlencode({'next': request.url.path})}", status_code=303)
        except Refused as exc:
            view = self.view(request)
            t = view.t
            return self.refused_page(
                view, 403, t("refused.role", role=view.session.key.role, needed=t(f"role.{exc.needed}"))
            )  # type: ignore[union-attr]
        try:
            return await build(view)
        except FormRefused:
            return self.refused_page(view, 403, view.t("refused.form"))
        except CreditgradeError as exc:
            return self.refused_page(view, int(exc.status), view.error(exc))
        except Exception:  # noqa: BLE001 - logged with a reference; the page says no more than that
            ref = secrets.token_hex(4)
            logger.exception("console page %s failed (reference %s)", request.url.path, ref)
            try:
                return self.refused_page(view, 500, view.t("error.internal", ref=ref))
            except Exception:  # noqa: BLE001 - even the error page failed: the reference alone, as text
                logger.exception("console error page failed (reference %s)", ref)
                return Response(f"500 ({ref})", status_code=500, media_type="text/plain")

    async def not_found(self, request: Request, exc: Exception) -> HTMLResponse:
        view = self.view(request)
        return self.refused_page(view, 404, view.t("error.no_page"))

    # -- login, logout, language -------------------------------------------------------------

    async def login(self, request: Request) -> Response:
        view = self.view(request)
        t = view.t
        target = safe_next(request.query_params.get("next"))
        error = None
        status = 200
        if request.method == "POST":
            form = await request.form(max_files=0, max_fields=10)
            target = safe_next(str(form.get("next") or ""))
            if not self.sessions.login_checks(request.cookies.get(LOGIN_COOKIE), str(form.get("csrf") or "")):
                error, status = t("login.expired"), 403
            else:
                key = self.keys.ring.check(str(form.get("key") or "").strip())
                if key is None:
                    self._audit(view, "login", refused=401)
                    error, status = t("login.wrong"), 401
                else:
                    return self._signed_in(request, key, target)
        cookie, token = self.sessions.login_token()
        response = self.render(view, "login.html", status=status, error=error, login_token=token, target=target)
        response.set_cookie(
            LOGIN_COOKIE, cookie, max_age=LOGIN_SECONDS, path=BASE, httponly=True, samesite="strict",
            secure=_https(request),
        )  # fmt: skip
        return response

    def _signed_in(self, request: Request, key: ApiKey, target: str) -> Response:
        value, session = self.sessions.start(key)
        view = View(request, messages.language(request.cookies.get("cg_lang")), session)
        self._audit(view, "login")
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(
            COOKIE, value, max_age=self.sessions.seconds, path=BASE, httponly=True, samesite="strict",
            secure=_https(request),
        )  # fmt: skip
        response.delete_cookie(LOGIN_COOKIE, path=BASE)
        return response

    async def logout(self, request: Request) -> Response:
        view = self.view(request)
        if view.session is not None:
            try:
                await self.form(view)
            except FormRefused:
                return self.refused_page(view, 403, view.t("refused.form"))
            self.sessions.end(view.session)
            self._audit(view, "logout")
        response = RedirectResponse(f"{BASE}/login", status_code=303)
        response.delete_cookie(COOKIE, path=BASE)
        return response

    async def switch_language(self, request: Request) -> Response:
        to = messages.language(request.path_params["to"])
        response = RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
        response.set_cookie("cg_lang", to, max_age=365 * 86400, path=BASE, samesite="strict", secure=_https(request))
        return response


def indicator_name(column: str, lang: str) -> str:
    try:
        found = catalog.indicator(column)
    except KeyError:
        return ""
    return found.zh if lang == "zh" else found.en


def safe_next(target: str | None) -> str:
    """Where to go after a login or a language switch: a console path only (never another site)."""
    if not target or not target.startswith(BASE) or target.startswith("//") or "\\" in target:
        return f"{BASE}/"
    return quote(target, safe="/?=&%:-_.~+")


def _https(request: Request) -> bool:
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"


def problem(key: str, code: str = "bad_input", status: int = 400, **values) -> CreditgradeError:
    """A refusal worded by the catalog, in both languages (the page shows the reader's)."""
    exc = CreditgradeError(
        messages.translator("en")(key, **values), messages.translator("zh")(key, **values), code=code
    )
    exc.status = status  # type: ignore[misc]
    return exc


def scheme_of(name: str | None) -> G.GradeScheme:
    """The grade scheme asked for (default Shenzhen's); an unknown one is refused with the known ones named."""
    name = name or "shenzhen"
    if name not in G.SCHEMES:
        raise problem("error.scheme", name=name[:24], known=", ".join(G.SCHEMES))
    return G.SCHEMES[name]


def temporary_folder() -> tempfile.TemporaryDirectory:
    return tempfile.TemporaryDirectory(prefix="creditgrade-console-")


__all__ = ["BASE", "Console", "View"]
