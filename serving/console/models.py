"""The model page's data and its two acts: champion and challenger from the MLflow registry with their
test-period figures and calibration per group (equal treatment); promote and roll back, each confirmed on the
form and written to the audit log; a promotion warns of every group the new champion is calibrated worse for.

The page reads the registry at most every ten seconds (at once after an act on this worker), so an alias
moved by the command line or another worker shows within ten seconds. A promotion takes effect in the service
at once: the new champion is loaded (and checked) by this worker and the other workers follow
(`CreditGrade.reload_everywhere`, as `POST /v1/reload`). If the new champion cannot be loaded, the alias is
given back and the page says why; the service keeps serving the model it had.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from starlette.datastructures import FormData

from creditgrade.features.errors import CreditgradeError
from creditgrade.serving.console.app import View, problem

BOARD_SECONDS = 10.0  # the registry is read again at most this often (at once after a promotion or rollback here)
_BOARD: dict[str, Any] = {"at": -BOARD_SECONDS, "rows": []}
_LOCK = threading.Lock()


def board() -> list[dict[str, Any]]:
    """Every registered version, newest first, with its aliases and its run's metrics (a registry read is a
    dozen SQLite queries through MLflow: held for BOARD_SECONDS)."""
    from creditgrade.training import tracking

    with _LOCK:
        if time.monotonic() - _BOARD["at"] >= BOARD_SECONDS:
            rows = [{**v, "metrics": tracking.run_metrics(v["version"])} for v in tracking.versions()]
            for row in rows:  # the champion's and challenger's calibration per group (equal treatment)
                if row["aliases"]:
                    try:
                        found = tracking.evaluation(row["version"]) or {}
                    except CreditgradeError as exc:  # a changed file is said so, never shown as figures
                        found = {"equal_treatment": {"refused": {"en": exc.en, "zh": exc.zh}}}
                    row["equal_treatment"] = found.get("equal_treatment") or {}
            worse = _worse(rows, tracking.CHALLENGER, tracking.CHAMPION)
            for row in rows:
                row["worse_than_champion"] = worse if tracking.CHALLENGER in row["aliases"] else []
            _BOARD.update(at=time.monotonic(), rows=rows)
        return _BOARD["rows"]


def _worse(rows: list[dict[str, Any]], challenger: str, champion: str) -> list[dict]:
    """The groups the challenger is calibrated worse for than the champion, from the tables the board has just
    read (as `tracking.worse_for_groups`, without reading them again)."""
    from creditgrade.models.equity import worse_groups

    by_alias = {alias: row for row in rows for alias in row["aliases"]}
    mine, theirs = by_alias.get(challenger), by_alias.get(champion)
    if mine is None or theirs is None or mine is theirs:
        return []
    groups = [(row.get("equal_treatment") or {}).get("groups") or [] for row in (mine, theirs)]
    return worse_groups(*groups) if all(groups) else []


def _forget() -> None:
    with _LOCK:
        _BOARD["at"] = -BOARD_SECONDS


def act(view: View, form: FormData) -> dict[str, Any]:
    from creditgrade.training import tracking

    svc = view.svc
    _forget()
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
        worse = tracking.worse_for_groups(int(asked))
        after = tracking.promote(int(asked))
    else:
        worse = []
        after = tracking.rollback()
    try:
        svc.reload_everywhere()
    except CreditgradeError as exc:  # give the aliases back: the registry says what is served
        if before is not None:
            tracking.set_alias(tracking.CHAMPION, before)
        if previous is not None:
            tracking.set_alias(tracking.PREVIOUS, previous)
        svc.audit.append([{"endpoint": f"console:{action}", **view.caller, "uscc": None, "version": after,
                           "refused": exc.code}])  # fmt: skip
        raise
    svc.audit.append(
        [{"endpoint": f"console:{action}", **view.caller, "uscc": None, "before": before, "version": after,
          "model_version": svc.scoring.label}]
    )  # fmt: skip
    _forget()
    return {"action": action, "before": before, "after": after, "worse": worse}
