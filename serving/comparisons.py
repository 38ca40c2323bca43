"""The month's comparisons as queries on the engine that graded it: DuckDB on one machine, Spark past it
(the same Ibis expressions on either backend).

    a graded month's files → distributions of each indicator and of the score (GROUP BY value), grades by
    grade, the migration matrix (an outer join grouped by both grades), the enterprises the early-warning
    rules hit (a join, the rules in the query) → what the driver receives: counts, and the warned rows

The driver never holds the city's rows, so its memory does not grow with the city: the stability indices,
deciles and PSIs are computed from the counts (`models.monitoring.Distribution`), to the bit what they are
from the rows themselves (tested).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa

from creditgrade.models.evaluation import psi_of
from creditgrade.models.grades import GradeScheme
from creditgrade.models.monitoring import WARNING_RULES, Distribution

OPERATING = "active"


@dataclass(frozen=True)
class Month:
    """One graded month on the engine: its graded rows (uscc, register_status, probability, score, grades)
    and, where its feature file is kept, its indicator values (uscc and the model's columns)."""

    graded: ibis.Table
    x: ibis.Table | None = None

    @classmethod
    def read(cls, con: ibis.BaseBackend, graded: Path, features: Path | None = None) -> Month:
        """A month from its graded table (or history file) and feature file, read where they lie."""
        return cls(
            con.read_parquet(str(Path(graded).resolve())),
            con.read_parquet(str(Path(features).resolve())) if features is not None else None,
        )

    @property
    def operating(self) -> ibis.Table:
        return self.graded.filter(self.graded.register_status == OPERATING)


def distributions(month: Month, columns: list[str]) -> dict[str, Distribution]:
    """The distribution of each indicator in `columns` over the month's operating enterprises."""
    x = month.x.semi_join(month.operating.select("uscc"), "uscc")
    x = x.select("uscc", **{c: x[c].cast("float64") for c in columns})
    counts = x.pivot_longer(list(columns), names_to="column", values_to="value")
    table = counts.group_by(["column", "value"]).agg(n=ibis._.count()).to_pyarrow()
    return _split(table, "column", list(columns))


def scores(month: Month) -> dict[str, Distribution]:
    """The distribution of the score over the operating enterprises ('operating') and over all ('all')."""
    g = month.graded
    counted = g.group_by(operating=g.register_status == OPERATING, value=g.score).agg(n=ibis._.count())
    table = counted.to_pyarrow()
    live = table.filter(pa.compute.equal(table["operating"], True))
    return {
        "operating": Distribution.counted(_floats(live["value"]), live["n"].to_numpy()),
        "all": Distribution.counted(_floats(table["value"]), table["n"].to_numpy()),
    }


def grade_counts(month: Month, column: str) -> dict[str, int]:
    """How many operating enterprises hold each grade of `column`."""
    table = month.operating.group_by(grade=month.operating[column]).agg(n=ibis._.count()).to_pyarrow()
    return dict(zip(table["grade"].to_pylist(), table["n"].to_pylist()))


def migration(before: Month, after: Month, column: str = "grade_shenzhen", psi_score: float | None = None) -> dict:
    """Grade migration between two gradings: the matrix of counts (rows: the earlier grade, columns: the later;
    'new' / 'gone' for enterprises entering or leaving the register), how many moved, entered and left, and
    the PSI of the later scores (all enterprises) against the earlier (`psi_score`, when already known)."""
    b = before.graded.select("uscc", was=before.graded[column])
    a = after.graded.select(uscc_after="uscc", now=after.graded[column])
    both = b.outer_join(a, b.uscc == a.uscc_after)
    pairs = both.select(was=both.was.fill_null("new"), now=both.now.fill_null("gone"))
    table = pairs.group_by(["was", "now"]).agg(n=ibis._.count()).to_pyarrow().to_pylist()
    table.sort(key=lambda r: (r["was"], r["now"]))  # the matrix's rows and columns in sorted order, as crosstab
    matrix: dict[str, dict[str, int]] = {}
    for r in table:
        matrix.setdefault(r["was"], {})[r["now"]] = r["n"]
    return {
        "column": column,
        "matrix": matrix,
        "moved": sum(r["n"] for r in table if r["was"] != r["now"] and r["was"] != "new" and r["now"] != "gone"),
        "entered": sum(r["n"] for r in table if r["was"] == "new"),
        "left": sum(r["n"] for r in table if r["now"] == "gone"),
        "psi_score": psi_of(scores(before)["all"], scores(after)["all"]) if psi_score is None else psi_score,
    }


def warned(before: Month, after: Month, scheme: GradeScheme, column: str = "grade_shenzhen") -> pd.DataFrame:
    """Enterprises on both months' registers, operating now, whose risk rose sharply (`WARNING_RULES`): one row
    each with the probabilities and grades before and after and the rules met, by the rise in probability."""
    order = [(g, i) for i, g in enumerate(scheme.grades)]
    worst = [scheme.grades[-1], scheme.scored_grades[-1]]
    b = before.graded.select("uscc", probability_before="probability", g_before=before.graded[column])
    a = after.operating.select(uscc_after="uscc", probability_after="probability", g_after=after.graded[column])
    both = b.join(a, b.uscc == a.uscc_after)
    rules = {
        "down2": (both.g_after.cases(*order) - both.g_before.cases(*order)) >= 2,
        "doubled": both.probability_after >= 2 * both.probability_before,
        "worst": both.g_after.isin(worst) & ~both.g_before.isin(worst),
    }
    hit = both.mutate(**{r: rule.fill_null(False) for r, rule in rules.items()})
    hit = hit.filter(hit.down2 | hit.doubled | hit.worst)
    frame = hit.select(
        "uscc",
        "probability_before",
        "probability_after",
        *rules,
        **{f"{column}_before": hit.g_before, f"{column}_after": hit.g_after},
    ).to_pandas()
    frame["rules"] = [[r for r in WARNING_RULES if row[r]] for row in frame[list(rules)].to_dict("records")]
    frame["rise"] = frame.probability_after - frame.probability_before
    frame = frame.sort_values(["rise", "uscc"], ascending=[False, True], kind="stable")
    columns = ["uscc", "probability_before", f"{column}_before", "probability_after", f"{column}_after", "rules"]
    return frame[columns].reset_index(drop=True)


def rows_of(table: ibis.Table, usccs, columns: list[str]) -> pd.DataFrame:
    """`columns` of the rows of `table` whose USCC is in `usccs` (a few: the warned), indexed by USCC."""
    if not len(usccs):
        return pd.DataFrame(columns=columns, index=pd.Index([], name="uscc"))
    wanted = ibis.memtable(pa.table({"uscc": pa.array(list(usccs), pa.string())}))
    return table.semi_join(wanted, "uscc").select("uscc", *columns).to_pandas().set_index("uscc")


def _split(table: pa.Table, key: str, keys: list[str]) -> dict[str, Distribution]:
    frame = pd.DataFrame({key: table[key].to_numpy(), "value": _floats(table["value"]), "n": table["n"].to_numpy()})
    parts = dict(iter(frame.groupby(key, sort=False)))
    empty = frame.iloc[:0]
    return {k: Distribution.counted(parts.get(k, empty)["value"], parts.get(k, empty)["n"]) for k in keys}


def _floats(column: pa.ChunkedArray) -> np.ndarray:
    return column.cast(pa.float64()).to_numpy(zero_copy_only=False)  # nulls become NaN
