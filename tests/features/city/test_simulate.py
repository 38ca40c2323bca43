"""The simulated city: reproducible, calibrated against the published ranges, hard like a real one."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from sklearn.metrics import roc_auc_score
from stdnum.cn import uscc as stdnum_uscc

from creditgrade.features import contract as C
from creditgrade.features.city.calibration import city_statistics
from creditgrade.features.city.simulate import CityConfig, simulate_city
from creditgrade.features.errors import CreditgradeError
from creditgrade.features.ingest import ingest


def checksums(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_same_seed_gives_byte_identical_files(tmp_path):
    a = simulate_city(CityConfig(enterprises=3000, seed=3, dirty_rate=0.01), tmp_path / "a")
    simulate_city(CityConfig(enterprises=3000, seed=3, dirty_rate=0.01), tmp_path / "b")
    simulate_city(CityConfig(enterprises=3000, seed=4), tmp_path / "c")
    assert checksums(tmp_path / "a") == checksums(tmp_path / "b")
    assert checksums(tmp_path / "a")["enterprises.parquet"] != checksums(tmp_path / "c")["enterprises.parquet"]
    assert set(a["rows"]) == set(C.TABLES_BY_NAME)


def test_bad_configuration_is_refused():
    with pytest.raises(CreditgradeError, match="at least 100"):
        CityConfig(enterprises=10)
    with pytest.raises(CreditgradeError, match="dirty_rate"):
        CityConfig(enterprises=1000, dirty_rate=0.5)


@pytest.mark.slow
def test_city_statistics_fall_inside_every_published_range(city_50k):
    stats = city_statistics(city_50k)
    checked = [s for s in stats if s.in_range is not None]
    assert len(checked) >= 9
    outside = [f"{s.key}={s.value:.4f} not in [{s.low}, {s.high}]" for s in checked if not s.in_range]
    assert outside == []


@pytest.mark.slow
def test_every_table_is_typed_by_the_contract_and_has_five_years(city_50k):
    for t in C.TABLES:
        schema = pq.read_schema(city_50k / f"{t.name}.parquet")
        assert schema.names == t.column_names, t.name
    con = duckdb.connect()
    for t in C.TABLES:
        if t.name in ("enterprises", "shareholdings"):
            continue
        lo, hi = con.execute(
            f"SELECT min(year({t.event_date})), max(year({t.event_date})) FROM '{city_50k}/{t.name}.parquet'"
        ).fetchone()
        assert hi - lo >= 4, (t.name, lo, hi)  # at least five calendar years of dated history


@pytest.mark.slow
def test_usccs_are_unique_valid_and_shenzhen(city_50k):
    codes = pq.read_table(city_50k / "enterprises.parquet", columns=["uscc"]).column("uscc").to_pylist()
    assert len(set(codes)) == len(codes)
    assert all(stdnum_uscc.is_valid(c) for c in codes)
    assert all(c.startswith("914403") for c in codes)


@pytest.mark.slow
def test_networks_exist_as_in_a_real_register(city_50k):
    con = duckdb.connect()
    ent = f"'{city_50k}/enterprises.parquet'"
    biggest_address = con.execute(f"SELECT max(n) FROM (SELECT count(*) n FROM {ent} GROUP BY address_id)").fetchone()[
        0
    ]
    busiest_person = con.execute(f"SELECT max(n) FROM (SELECT count(*) n FROM {ent} GROUP BY legal_rep_id)").fetchone()[
        0
    ]
    groups = con.execute(
        f"SELECT count(*) FROM '{city_50k}/shareholdings.parquet' WHERE holder_kind = 'enterprise'"
    ).fetchone()[0]
    assert biggest_address >= 20 and busiest_person >= 5 and groups > 100


@pytest.mark.slow
def test_false_registrations_are_confirmed_only_by_checks_that_found_them(city_50k):
    con = duckdb.connect()
    confirmed = con.execute(f"""
        SELECT c.uscc, f.is_false_registration FROM '{city_50k}/spot_checks.parquet' c
        JOIN '{city_50k}/truth/false_registration.parquet' f USING (uscc)
        WHERE c.finding = 'false_registration'""").fetchall()
    total_false = con.execute(
        f"SELECT sum(is_false_registration::INT) FROM '{city_50k}/truth/false_registration.parquet'"
    ).fetchone()[0]
    assert confirmed and all(flag for _, flag in confirmed)
    assert 0 < len({u for u, _ in confirmed}) < total_false  # labels are scarce, as in reality


@pytest.mark.slow
def test_risk_weighted_draws_bias_the_naive_estimate(city_50k):
    """Checked enterprises are riskier than the city: weighting by 1/inclusion probability corrects it."""
    con = duckdb.connect()
    truth = con.execute(
        f"SELECT avg(p_problem) FROM '{city_50k}/truth/problem_probability.parquet' WHERE year = 2025"
    ).fetchone()[0]
    naive, weighted = con.execute(f"""
        SELECT avg(problem_found::INT), sum(problem_found::INT / inclusion_prob) / sum(1 / inclusion_prob)
        FROM '{city_50k}/spot_checks.parquet' WHERE kind = 'random' AND year(check_date) = 2025""").fetchone()
    assert naive - truth > 0.03
    assert abs(weighted - truth) < abs(naive - truth) / 2


@pytest.mark.slow
def test_no_single_signal_carries_most_of_the_risk(city_50k):
    """Single obvious signals rank random checks far worse than the truth does."""
    con = duckdb.connect()
    d = str(city_50k)
    rows = con.execute(f"""
        SELECT c.problem_found::INT AS y, t.p_problem,
          (SELECT count(*) FROM '{d}/abnormal_list.parquet' a WHERE a.uscc = c.uscc AND a.entry_date < c.check_date
             AND (a.exit_date IS NULL OR a.exit_date > c.check_date)) AS listed,
          (SELECT count(*) FROM '{d}/penalties.parquet' p WHERE p.uscc = c.uscc
             AND p.decision_date BETWEEN c.check_date - INTERVAL 730 DAY AND c.check_date) AS penalties,
          (SELECT count(*) FROM '{d}/complaints.parquet' q WHERE q.uscc = c.uscc
             AND q.received_date BETWEEN c.check_date - INTERVAL 365 DAY AND c.check_date) AS complaints
        FROM '{d}/spot_checks.parquet' c
        JOIN '{d}/truth/problem_probability.parquet' t ON t.uscc = c.uscc AND t.year = year(c.check_date)
        WHERE c.plan_id LIKE 'R%' AND year(c.check_date) >= 2023""").fetchnumpy()
    bayes = roc_auc_score(rows["y"], rows["p_problem"])
    assert 0.78 <= bayes <= 0.90
    for signal in ("listed", "penalties", "complaints"):
        assert roc_auc_score(rows["y"], rows[signal]) < bayes - 0.08, signal


@pytest.mark.slow
def test_ingest_of_a_dirty_city_quarantines_exactly_the_injected_faults(dirty_city, tmp_path):
    report = ingest(dirty_city, tmp_path / "clean")
    assert report.reconciles
    con = duckdb.connect()
    faults = con.execute(
        f'SELECT "table", row_number, "column", kind FROM \'{dirty_city}/truth/injected_faults.parquet\''
    ).fetchall()
    kinds = {k for *_, k in faults}
    assert kinds == {
        "missing_required",
        "bad_type",
        "bad_code",
        "future_date",
        "out_of_range",
        "bad_uscc",
        "unknown_enterprise",
        "duplicate",
        "inconsistent_row",
    }
    # Events of an enterprise whose register row was faulty point at no accepted enterprise.
    register = pq.read_table(dirty_city / "truth" / "false_registration.parquet").column("uscc").to_pylist()
    lost = {register[r - 1] for t, r, _, k in faults if t == "enterprises" and k != "duplicate"}
    expected = {(t, r) for t, r, _, _ in faults}
    for t in C.TABLES:
        if t.name == "enterprises":
            continue
        usccs = pq.read_table(dirty_city / f"{t.name}.parquet", columns=["uscc"]).column("uscc").to_pylist()
        expected |= {(t.name, i + 1) for i, u in enumerate(usccs) if u in lost}
    quarantined = con.execute(
        f"SELECT DISTINCT \"table\", row_number FROM '{tmp_path}/clean/quarantine.parquet'"
    ).fetchall()
    assert set(quarantined) == expected
    rule_of = {
        "missing_required": "missing_required",
        "bad_type": "bad_type",
        "bad_code": "bad_code",
        "future_date": "future_date",
        "out_of_range": "below_minimum",
        "bad_uscc": "bad_uscc",
        "unknown_enterprise": "unknown_enterprise",
        "duplicate": "duplicate_key",
        "inconsistent_row": "inconsistent_row",
    }
    rules = {
        (t, r, c, rule)
        for t, r, c, rule in con.execute(
            f'SELECT "table", row_number, "column", rule FROM \'{tmp_path}/clean/quarantine.parquet\''
        ).fetchall()
    }
    by_row = {}
    for t, r, _c, rule in rules:
        by_row.setdefault((t, r), set()).add(rule)
    for t, r, c, k in faults:
        assert rule_of[k] in by_row[(t, r)], (t, r, c, k)
