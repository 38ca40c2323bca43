"""The planner page's steps, in the order the law's lottery needs them (docs/spot-check-planner.md):

    preview   the plan's expected problems per grade against a uniform draw of the same size, and its commitment
    commit    the commitment published (written to the console's plan register and the audit log) — before the seed
    draw      the list drawn with the public seed, written whole (CSV, Parquet, plan.json) for download
    verify    a published list (uploaded) re-derived from the plan, the inputs and the seed

The form gives shares as percentages; every figure is checked here with the catalog's words before the plan's
own checks (`models.planning.plan`) run.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from pathlib import Path
from typing import Any

from starlette.datastructures import FormData

from creditgrade.features.errors import CreditgradeError
from creditgrade.features.settings import settings
from creditgrade.features.store import atomic_file
from creditgrade.models import grades as G
from creditgrade.serving.console import charts
from creditgrade.serving.console.app import View, problem, scheme_of, temporary_folder

TEXT_FIELDS = ("plan_id", "scheme", "mode", "budget", "ratios", "floor", "checked_within_months", "best_grade",
               "seed", "action")  # fmt: skip
RATIO = re.compile(r"^\s*([A-Za-z+]{1,4})\s*[:=：]?\s*([0-9.]+)\s*%?\s*$")
SEED_LIMIT = 200


def defaults() -> dict[str, Any]:
    return {
        "plan_id": f"plan-{dt.date.today():%Y%m}",
        "scheme": "shenzhen",
        "mode": "budget",
        "budget": "3",
        "ratios": "A+ 0.5, A 1, B 3, C 6, D 10, E 20",
        "floor": "0.5",
        "checked_within_months": "0",
        "best_grade": "drawn",
        "strata": ["district"],
        "seed": "",
        "action": "preview",
    }


def fields(form: FormData) -> dict[str, Any]:
    out: dict[str, Any] = {k: str(form.get(k) or "").strip()[:400] for k in TEXT_FIELDS}
    out["strata"] = [s for s in form.getlist("strata") if s in ("district", "industry")]
    return out


def percent(text: str, name: str) -> float:
    """A percentage typed in the form as a share; the catalog's message names the field when it is not one."""
    if not text:
        raise problem("error.empty", field=name)
    try:
        value = float(text.rstrip("%").strip())
    except ValueError:
        raise problem("error.number", field=name, value=text[:24]) from None
    if not 0 <= value <= 100:
        raise problem("error.percent", field=name, value=text[:24])
    return value / 100


def plan_of(f: dict[str, Any], t) -> dict[str, Any]:
    """The plan the form describes, as PLAN.yaml would hold it."""
    scheme = scheme_of(f["scheme"])
    plan: dict[str, Any] = {
        "plan_id": f["plan_id"] or "",
        "scheme": scheme.name,
        "floor": percent(f["floor"], t("planner.floor")),
        "strata": f["strata"],
        "best_grade": f["best_grade"] if f["best_grade"] in ("drawn", "complaints_only") else "drawn",
    }
    months = f["checked_within_months"] or "0"
    if not months.isdigit():
        raise problem("error.whole", field=t("planner.checked_within"), value=months[:24])
    plan["exclude"] = {"checked_within_months": int(months)}
    if f["mode"] == "ratios":
        plan["ratios"] = ratios(f["ratios"], scheme, t)
    elif f["mode"] == "budget":
        plan["budget"] = percent(f["budget"], t("planner.budget"))
    else:
        raise problem("error.mode")
    return plan


def ratios(text: str, scheme: G.GradeScheme, t) -> dict[str, float]:
    if not text.strip():
        raise problem("error.empty", field=t("planner.ratios"))
    out = {}
    for part in re.split(r"[,，;；\n]+", text.strip()):
        if not part.strip():
            continue
        m = RATIO.match(part)
        if not m:
            raise problem("error.ratio_form", part=part.strip()[:24])
        grade, value = m.group(1).upper(), m.group(2)
        if grade not in scheme.grades:
            raise problem("error.grade", grade=grade, scheme=scheme.name, known=", ".join(scheme.grades))
        out[grade] = percent(value, t("planner.ratio_of", grade=grade))
    return out


def register() -> Path:
    return settings().console / "plans"


def _committed(commitment: str) -> Path:
    return register() / "commitments" / f"{commitment}.json"


def act(view: View, f: dict[str, Any], upload: bytes, upload_name: str | None) -> dict[str, Any]:
    """Preview the plan, then do what the form's button asked (commit, draw, verify); what the page shows."""
    from creditgrade.models.planning.plan import parse_plan
    from creditgrade.serving.planner.plan import preview, read_list, verify, write_plan

    svc, t = view.svc, view.t
    config = parse_plan(plan_of(f, t))
    s = svc.settings
    pv = preview(svc._graded_file(), config, checks=s.checks, inspectors=s.inspectors)
    summary = pv.summary()
    grades = [g.grade for g in summary.per_grade]
    chart = charts.grouped(
        grades,
        {t("planner.this_plan"): [g.expected_problems for g in summary.per_grade],
         t("planner.uniform"): [g.uniform_problems for g in summary.per_grade]},
        t("planner.chart"),
    )  # fmt: skip
    result: dict[str, Any] = {"summary": summary, "chart": chart, "action": f["action"] or "preview", "drawn": None,
                              "folder": None, "head": [], "differences": None}  # fmt: skip
    committed = _committed(pv.commitment)
    result["committed"] = json.loads(committed.read_text()) if committed.exists() else None
    action = result["action"]
    entry = {"plan_id": config.plan_id, "commitment": pv.commitment, "model_version": svc.scoring.label}
    if action == "commit":
        if result["committed"] is None:
            record = {**entry, "plan_hash": pv.plan_hash, "inputs_hash": pv.inputs_hash,
                      "published_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                      "published_by": view.caller["key_id"], "plan": config.to_dict()}  # fmt: skip
            committed.parent.mkdir(parents=True, exist_ok=True)
            with atomic_file(committed) as tmp:
                tmp.write_text(json.dumps(record, ensure_ascii=False, indent=2), encoding="utf-8")
            result["committed"] = record
        svc.audit.append([{"endpoint": "console:plan_commit", **view.caller, "uscc": None, **entry}])
    elif action in ("draw", "verify"):
        seed = f["seed"]
        if not seed:
            raise problem("error.seed")
        if len(seed) > SEED_LIMIT:
            raise problem("error.seed_long", limit=SEED_LIMIT)
        if action == "draw":
            if result["committed"] is None:
                raise problem("error.not_committed", status=409)
            folder = f"{_slug(config.plan_id)}-{pv.commitment[:12]}-{hashlib.sha256(seed.encode()).hexdigest()[:8]}"
            out = register() / folder
            drawn = write_plan(pv, seed, out, overwrite=True)
            result.update(drawn=drawn, folder=folder, head=read_list(out).head(20).to_dict("records"))
            svc.audit.append(
                [{"endpoint": "console:plan_draw", **view.caller, "uscc": None, **entry, "seed": seed,
                  "drawn": drawn.drawn}]
            )  # fmt: skip
        else:
            if not upload:
                raise problem("error.upload")
            suffix = Path(upload_name or "").suffix.lower()
            if suffix not in (".csv", ".parquet"):
                raise problem("error.upload_kind", name=(upload_name or "")[:60])
            with temporary_folder() as tmp:
                path = Path(tmp) / f"published{suffix}"
                path.write_bytes(upload)
                try:
                    differences = verify(path, pv, seed)
                except CreditgradeError:
                    raise  # the planner's own refusals keep their words
                except Exception as exc:  # noqa: BLE001 - an upload that is not a list: say so on the page
                    raise problem(
                        "error.upload_unreadable", name=(upload_name or "")[:60], why=type(exc).__name__
                    ) from None
            result["differences"] = [d[1] if view.lang == "zh" else d[0] for d in differences]
            svc.audit.append(
                [{"endpoint": "console:plan_verify", **view.caller, "uscc": None, **entry, "seed": seed,
                  "same": not differences}]
            )  # fmt: skip
    elif action != "preview":
        raise problem("error.action")
    return result


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text)[:60].strip("-") or "plan"
