"""The city's statistics beside the published ranges they must fall in.

Computed from the tables themselves (DuckDB over the Parquet files), so the same
table can be printed for any city that follows the contract; figures that need
the simulator's truth are left out when there is none.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
from sklearn.metrics import roc_auc_score

from creditgrade.features.errors import NotFound


@dataclass(frozen=True)
class Statistic:
    key: str
    en: str
    zh: str
    value: float
    low: float | None
    high: float | None
    source: str

    @property
    def in_range(self) -> bool | None:
        if self.low is None and self.high is None:
            return None
        return (self.low is None or self.value >= self.low) and (self.high is None or self.value <= self.high)


def _extraction_date(folder: Path) -> str:
    manifest = folder / "manifest.json"
    if manifest.exists():
        return json.loads(manifest.read_text())["extraction_date"]
    raise NotFound(
        f"{manifest} not found: the extraction date of {folder} is unknown",
        f"未找到 {manifest}：无法确定 {folder} 的数据提取日期",
    )


def city_statistics(
    folder: Path, extraction_date: str | None = None, truth_folder: Path | None = None
) -> list[Statistic]:
    """Statistics of the city in `folder`; truth-based figures too when `truth_folder`/truth exists."""
    # Long (139 lines): one statistic after another, each a query beside its published range: a table, read
    # top to bottom.
    folder = Path(folder)
    truth_folder = Path(truth_folder) if truth_folder is not None else folder
    x = extraction_date or _extraction_date(folder)
    con = duckdb.connect()
    for name in ("enterprises", "annual_reports", "abnormal_list", "penalties", "spot_checks"):
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{folder / (name + '.parquet')}')")
    one = lambda sql: con.execute(sql).fetchone()[0]  # noqa: E731
    alive = f"established_date <= DATE '{x}' AND (closed_date IS NULL OR closed_date > DATE '{x}')"
    con.execute(f"CREATE VIEW active AS SELECT uscc FROM enterprises WHERE {alive}")
    n_alive = one("SELECT count(*) FROM active")
    n_all = one("SELECT count(*) FROM enterprises")
    stats = [
        Statistic(
            "annual_report_filing",
            "Annual reports filed (latest year due)",
            "年报报送率（最近应报年度）",
            one(
                "SELECT avg(filed::INT) FROM annual_reports WHERE report_year = "
                "(SELECT max(report_year) FROM annual_reports)"
            ),
            0.85,
            0.94,
            "DOMAIN §2: filing 85–94%",
        ),
        Statistic(
            "unreachable_share",
            "Active enterprises listed unreachable at their address",
            "在营企业中被列为住所无法联系的比例",
            one(f"""SELECT count(DISTINCT uscc) FROM abnormal_list WHERE uscc IN (SELECT uscc FROM active)
                          AND entry_reason = 'unreachable' AND entry_date <= DATE '{x}'
                          AND (exit_date IS NULL OR exit_date > DATE '{x}')""")
            / n_alive,
            0.05,
            0.09,
            "DOMAIN §2: 7.3% unreachable in a 2015 random sample",
        ),
        Statistic(
            "random_problem_rate",
            "Problem rate of random checks (inverse-probability weighted)",
            "双随机抽查问题发现率（按入选概率加权）",
            one(
                "SELECT sum(problem_found::INT / inclusion_prob) / sum(1 / inclusion_prob) "
                "FROM spot_checks WHERE kind = 'random'"
            ),
            0.15,
            0.25,
            "DOMAIN §2: about 20% in one district's spot checks",
        ),
        Statistic(
            "false_disclosure_rate",
            "Random checks finding false disclosure (weighted)",
            "抽查发现公示信息隐瞒真实情况的比例（加权）",
            one(
                "SELECT sum((finding = 'false_disclosure')::INT / inclusion_prob) / sum(1 / inclusion_prob) "
                "FROM spot_checks WHERE kind = 'random'"
            ),
            0.02,
            0.06,
            "DOMAIN §2: about 4% false or concealed disclosures",
        ),
        Statistic(
            "min_random_draw_ratio",
            "Smallest yearly uniform random draw (share of active enterprises)",
            "每年不定向随机抽查比例（最小值）",
            _min_draw_ratio(con),
            0.03,
            1.0,
            "DOMAIN §1: legal floor 3%",
        ),
        Statistic(
            "any_penalty_share",
            "Enterprises with any administrative penalty on record",
            "有行政处罚记录的企业比例",
            one("SELECT count(DISTINCT uscc) FROM penalties") / n_all,
            0.05,
            0.20,
            "assumption: a few % penalised a year over 6 years",
        ),
        Statistic(
            "micro_share",
            "Reporting enterprises with fewer than 10 employees",
            "从业人数少于10人的企业比例",
            one(
                "SELECT avg((employees < 10)::INT) FROM annual_reports WHERE employees IS NOT NULL AND "
                "report_year = (SELECT max(report_year) FROM annual_reports)"
            ),
            0.65,
            0.92,
            "most enterprises are micro (DOMAIN §1: most sit in tiny sizes)",
        ),
        Statistic(
            "active_enterprises", "Active enterprises at extraction", "提取日在营企业数", n_alive, None, None, "count"
        ),
        Statistic(
            "abnormal_share",
            "Active enterprises on the abnormal list (any reason)",
            "在营企业经营异常名录占比",
            one(f"""SELECT count(DISTINCT uscc) FROM abnormal_list WHERE entry_date <= DATE '{x}'
                          AND (exit_date IS NULL OR exit_date > DATE '{x}')
                          AND uscc IN (SELECT uscc FROM active)""")
            / n_alive,
            None,
            None,
            "information",
        ),
    ]
    truth = truth_folder / "truth"
    if (truth / "false_registration.parquet").exists():
        stats.append(
            Statistic(
                "false_registration_share",
                "False registrations (simulator truth)",
                "虚假登记企业比例（模拟真值）",
                one(
                    "SELECT avg(is_false_registration::INT) "
                    f"FROM read_parquet('{truth / 'false_registration.parquet'}')"
                ),
                0.015,
                0.03,
                "DOMAIN §3 and issue: about 2%",
            )
        )
    if (truth / "problem_probability.parquet").exists():
        stats.append(
            Statistic(
                "bayes_auc",
                "Best achievable AUC of uniform random checks (truth)",
                "抽查结果可达最优AUC（模拟真值）",
                _bayes_auc(con, truth / "problem_probability.parquet"),
                0.78,
                0.90,
                "issue #2: realistic range 0.78–0.90",
            )
        )
    return stats


def _min_draw_ratio(con: duckdb.DuckDBPyConnection) -> float:
    rows = con.execute("""
        WITH plans AS (SELECT year(check_date) AS y, plan_id, min(inclusion_prob) AS p, count(*) AS k
                       FROM spot_checks WHERE kind = 'random' AND plan_id LIKE 'R%' GROUP BY ALL)
        SELECT y, sum(k) / sum(k / p) FROM plans GROUP BY y ORDER BY y""").fetchall()
    return min(r[1] for r in rows) if rows else 0.0


def _bayes_auc(con: duckdb.DuckDBPyConnection, truth_path: Path) -> float:
    df = con.execute(f"""
        SELECT c.problem_found, t.p_problem FROM spot_checks c
        JOIN read_parquet('{truth_path}') t ON t.uscc = c.uscc AND t.year = year(c.check_date)
        WHERE c.kind = 'random' AND c.plan_id LIKE 'R%'""").fetchnumpy()
    y = np.asarray(df["problem_found"], dtype=bool)
    if y.all() or not y.any():
        return float("nan")
    return float(roc_auc_score(y, np.asarray(df["p_problem"])))
