"""Point-in-time views of the raw tables, as of one date.

Every view keeps only records dated on or before the as-of date, and resolves
what was known then: a listing is current if it had not ended by then, a court
case counts as lost only once judged, a complaint as substantiated only once
resolved, a record repaired by then (信用修复) stops counting. Pure Ibis
expressions, so the same code runs on DuckDB and on PySpark.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import ibis
from ibis import _

CLOSED_STATES = ("revoked", "struck_off", "ordered_closed", "suspended")
SPECIAL_LISTS = ("quality_dishonesty_list", "ecommerce_dishonesty_list", "prepaid_flight_list")
REPAIRABLE = {
    "penalties": "penalty_id",
    "abnormal_list": "record_id",
    "serious_violations": "record_id",
    "judgment_defaulters": "record_id",
}


@dataclass(frozen=True)
class AsOf:
    """The as-of date and the window arithmetic every indicator uses; `engine`, the backend's name, for the
    one function engines compute differently (`log10`)."""

    day: dt.date
    engine: str = "duckdb"

    @property
    def date(self) -> ibis.expr.types.DateScalar:
        return ibis.date(self.day.year, self.day.month, self.day.day)

    def within(self, col, days: int):
        """col in (as_of − days, as_of]."""
        return (col > self.date - ibis.interval(days=days)) & (col <= self.date)

    def known(self, col):
        """A date that has happened by the as-of date (null stays false)."""
        return col.notnull() & (col <= self.date)

    def running(self, start, end):
        """Started by the as-of date and not ended by it."""
        return (start <= self.date) & (end.isnull() | (end > self.date))

    def days_since(self, col):
        return self.date.delta(col, unit="day")

    def money(self, col, where):
        """The sum of an amount in yuan over the rows where `where` holds (null where none does), added in whole
        fen: integers add exactly in any order, while a sum of doubles depends on the order the engine adds the
        rows in (DuckDB's threads, Spark's partitions, a view narrowed or not), so the total could differ in the
        last bit between engines and runs, and with it the indicator."""
        return (col * 100).round().cast("int64").sum(where=where) / 100

    def log10(self, col):
        """log10 as C's libm computes it on every engine. DuckDB calls libm; Java's Math.log10 (Spark) differs
        in the last bit for some values, so on Spark it is computed by Arrow (libm) in a vectorised Python UDF:
        the same indicator values to the bit, so the same grades, whichever engine ran."""
        return _libm_log10(col) if self.engine == "pyspark" else col.log10()

    @property
    def last_report_due(self) -> int:
        """The latest report year whose 30 June deadline has passed by the as-of date."""
        return self.day.year - 1 if (self.day.month, self.day.day) >= (6, 30) else self.day.year - 2


@ibis.udf.scalar.pandas
def _libm_log10(x: float) -> float:  # pragma: no cover - runs in Spark's Python workers
    import pyarrow as pa
    import pyarrow.compute as pc

    return pc.log10(pa.array(x, from_pandas=True)).to_pandas()  # NaN in, null in, null out


def _unrepaired(table: ibis.Table, name: str, repairs: ibis.Table, asof: AsOf) -> ibis.Table:
    key = REPAIRABLE[name]
    done = repairs.filter((repairs.repaired_table == name) & asof.known(repairs.repair_date))
    done = done.select(repaired_id=done.repaired_record_id).distinct()
    return table.anti_join(done, table[key] == done.repaired_id)


def sources(raw: dict[str, ibis.Table], asof: AsOf) -> dict[str, ibis.Table]:
    """Point-in-time views keyed by name; 'graded' holds the enterprises on the register at the as-of date."""
    # Long (61 lines): one point-in-time view per raw table, declared together so a reader sees them all.
    d = asof.date
    ent = raw["enterprises"]
    registered = ent.filter(ent.established_date <= d).mutate(est_day=_.established_date.epoch_days())
    closed_by = registered.closed_date.notnull() & (registered.closed_date <= d)
    # On the register at the as-of date: active, or closed in a state that stays on the register
    # (revoked, struck off, ordered closed or to stop business) — those are graded too, by override.
    graded = registered.filter(~closed_by | registered.status.isin(CLOSED_STATES))
    graded = graded.mutate(
        register_status=ibis.ifelse(graded.closed_date.notnull() & (graded.closed_date <= d), graded.status, "active")
    )
    repairs = raw["credit_repairs"].filter(_.repair_date <= d)

    reports = raw["annual_reports"]
    due = reports.filter(reports.report_year <= asof.last_report_due)
    due = due.mutate(
        filed_by=asof.known(due.filed_date),
        late=asof.known(due.filed_date) & ~due.filed_on_time,
        years_back=asof.last_report_due - due.report_year,
    )  # 0 for the latest year due
    filed = due.filter(_.filed_by)
    # rank 0 is the latest report (Ibis row numbers start at 0)
    filed = filed.mutate(rank=ibis.row_number().over(group_by="uscc", order_by=ibis.desc("report_year")))

    cases = raw["court_cases"].filter(_.filing_date <= d)
    cases = cases.mutate(lost_by=asof.known(cases.judgment_date) & cases.lost.fill_null(False))
    complaints = raw["complaints"].filter(_.received_date <= d)
    complaints = complaints.mutate(resolved_by=asof.known(complaints.resolved_date))
    commitments = raw["credit_commitments"].filter(_.commitment_date <= d)
    commitments = commitments.filter(asof.known(commitments.verified_date))

    return {
        "registered": registered,
        "graded": graded,
        "registration_changes": raw["registration_changes"].filter(_.change_date <= d),
        "shareholdings": raw["shareholdings"].filter(asof.running(_.start_date, _.end_date)),
        "reports_due": due,
        "reports_filed": filed,
        "latest_report": filed.filter(_.rank == 0),
        "previous_report": filed.filter(_.rank == 1),
        "licences": raw["licences"].filter(_.issue_date <= d),
        "abnormal_list": _unrepaired(raw["abnormal_list"].filter(_.entry_date <= d), "abnormal_list", repairs, asof),
        "serious_violations": _unrepaired(
            raw["serious_violations"].filter(_.entry_date <= d), "serious_violations", repairs, asof
        ),
        "penalties": _unrepaired(raw["penalties"].filter(_.decision_date <= d), "penalties", repairs, asof),
        "judgment_defaulters": _unrepaired(
            raw["judgment_defaulters"].filter(_.listed_date <= d), "judgment_defaulters", repairs, asof
        ),
        "spot_checks": raw["spot_checks"].filter(_.check_date <= d),
        "complaints": complaints,
        "court_cases": cases,
        "tax_credit": raw["tax_credit"].filter(_.published_date <= d),
        "equity_pledges": raw["equity_pledges"].filter(_.registered_date <= d),
        "chattel_mortgages": raw["chattel_mortgages"].filter(_.registered_date <= d),
        "awards": raw["awards"].filter(_.award_date <= d),
        "credit_commitments": commitments,
        "credit_repairs": repairs,
        "severe_events": raw["severe_events"].filter(_.event_date <= d),
    }
