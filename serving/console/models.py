"""The model page's data and its two acts: champion and challenger from the MLflow registry with their
test-period figures; promote and roll back, each confirmed on the form and written to the audit log.

A promotion takes effect in the service at once: the new champion is loaded (and checked) by this worker and
the other workers follow (`CreditGrade._load`, the reload marker). If the new champion cannot be loaded, the
alias is given back and the page says why; the service keeps serving the model it had.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData

from creditgrade.features.errors import CreditgradeError
from creditgrade.serving.console.app import View, problem


def board() -> list[dict[str, Any]]:
    """Every registered version, newest first, with its aliases and its run's metrics."""
    from creditgrade.training import tracking

    out = []
    for v in tracking.versions():
        out.append({**v, "metrics": tracking.run_metrics(v["version"])})
    return out


def act(view: View, form: FormData) -> dict[str, Any]:
    from creditgrade.training import tracking

    svc = view.svc
    action = str(form.get("action") or "")
    if action not in ("promote", "rollback"):
        raise problem("error.action")
    if form.get("confirm") != "yes":
        raise problem("error.confirm")
    before = tracking.alias_version(tracking.CHAMPION)
    previous = tracking.alias_version(tracking.PREVIOUS)
    if action == "promote":
        asked = str(form.get("version") or "")
        if not asked.isdigit():
            raise problem("error.version", value=asked[:12])
        after = tracking.promote(int(asked))
    else:
        after = tracking.rollback()
    try:
        with svc._lock:
            svc._load()
    except CreditgradeError as exc:  # give the aliases back: the registry says what is served
        if before is not None:
            tracking.set_alias(tracking.CHAMPION, before)
        if previous is not None:
            tracking.set_alias(tracking.PREVIOUS, previous)
        svc.audit.append([{"endpoint": f"console:{action}", **view.caller, "uscc": None, "version": after,
                           "refused": exc.code}])  # fmt: skip
        raise
    svc._marker().parent.mkdir(parents=True, exist_ok=True)
    svc._marker().touch()  # the other workers load it too
    svc.audit.append(
        [{"endpoint": f"console:{action}", **view.caller, "uscc": None, "before": before, "version": after,
          "model_version": svc.scoring.label}]
    )  # fmt: skip
    return {"action": action, "before": before, "after": after}
