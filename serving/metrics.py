"""The published month's monitoring figures as Prometheus gauges on the service's `/metrics`.

A month-end run (`serving/month.py`) writes its figures to `month.json`; every worker shows the latest
published month's here, so the drift alerts reach whatever scrapes the service (and its alert rules):

    creditgrade_month_as_of_seconds                       the month served (its last day, Unix seconds)
    creditgrade_score_psi{against}                         the score's PSI against the previous month / training
    creditgrade_indicator_csi{indicator, against}          every indicator's CSI
    creditgrade_indicator_drift_level{indicator, against}  0 stable, 1 watch, 2 act
    creditgrade_drift_alerts{against, level}               indicators at watch / act
    creditgrade_feeds_flagged                              raw feeds that dropped (accepted with --accept-drift)
    creditgrade_early_warnings{rule}                       enterprises warned, by rule
    creditgrade_early_warnings_enterprises                 enterprises warned

`against` is `previous_month` or `training`. BentoML's workers share one multiprocess registry, so the
gauges take the most recent value any worker wrote (every worker writes the same month's figures), and
each month writes every label it wrote before (an indicator's CSI is there every month), so no series
is left stale from an earlier month.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from pathlib import Path

from creditgrade.models.monitoring import WARNING_RULES

LEVELS = {"stable": 0, "watch": 1, "act": 2}
AGAINST = ("previous_month", "training")


@functools.cache
def _gauges() -> dict:
    """Created once per process, after BentoML has set up its multiprocess directory (in the worker)."""
    import prometheus_client as prom

    def gauge(name: str, text: str, labels: tuple[str, ...] = ()):
        return prom.Gauge(name, text, labels, multiprocess_mode="mostrecent")

    return {
        "as_of": gauge("creditgrade_month_as_of_seconds", "The published month served (its last day, Unix time)"),
        "psi": gauge("creditgrade_score_psi", "The score's PSI against the previous month or training", ("against",)),
        "csi": gauge("creditgrade_indicator_csi", "An indicator's CSI", ("indicator", "against")),
        "level": gauge(
            "creditgrade_indicator_drift_level",
            "An indicator's drift: 0 stable, 1 watch, 2 act",
            ("indicator", "against"),
        ),
        "alerts": gauge("creditgrade_drift_alerts", "Indicators at watch or act", ("against", "level")),
        "feeds": gauge("creditgrade_feeds_flagged", "Raw feeds that dropped this month"),
        "warnings": gauge("creditgrade_early_warnings", "Enterprises warned this month, by rule", ("rule",)),
        "warned": gauge("creditgrade_early_warnings_enterprises", "Enterprises warned this month"),
    }


def month_summary(monthly: Path) -> dict | None:
    """The latest published month's `month.json` under `monthly/months`, or None when none is published."""
    found = sorted(p for p in Path(monthly).glob("months/*/month.json") if not p.parent.name.startswith("."))
    return json.loads(found[-1].read_text()) if found else None


def show(summary: dict) -> None:
    """Set every gauge from a month's summary."""
    g = _gauges()
    day = dt.date.fromisoformat(summary["as_of"])
    g["as_of"].set(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp())
    for against, key in (("previous_month", "psi_month"), ("training", "psi_training")):
        value = summary.get(key)
        g["psi"].labels(against).set(float("nan") if value is None else value)
    counts = {(a, lv): 0 for a in AGAINST for lv in ("watch", "act")}
    for d in summary.get("drift", []):
        against = d["against"].replace(" ", "_")
        g["csi"].labels(d["column"], against).set(d["index"])
        g["level"].labels(d["column"], against).set(LEVELS.get(d["level"], float("nan")))
        if d["level"] in ("watch", "act"):
            counts[against, d["level"]] += 1
    for (against, lv), n in counts.items():
        g["alerts"].labels(against, lv).set(n)
    g["feeds"].set(len(summary.get("feeds_flagged", [])))
    for rule in WARNING_RULES:
        g["warnings"].labels(rule).set(summary.get("warnings_by_rule", {}).get(rule, 0))
    g["warned"].set(summary.get("warnings", 0))
