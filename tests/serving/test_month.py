"""`creditgrade month`: two consecutive month-ends, the history, early warnings, drift, refusals, whole-or-nothing."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from creditgrade.features.errors import NotFound
from creditgrade.serving import month as month_job
from creditgrade.serving.batch import GRADED
from creditgrade.serving.cli import app
from creditgrade.serving.history import History, enterprise_history
from creditgrade.serving.month import MonthError, month_warnings, run_month

# October and November: in the simulated city December's credit commitments are only partly in (a commitment
# precedes its licence by up to 20 days, and next year's licences are not simulated), which the feed check
# rightly flags for this city (test_refusals... uses that).
FIRST, SECOND = dt.date(2025, 10, 31), dt.date(2025, 11, 30)
runner = CliRunner()


@pytest.fixture(scope="module")
def two_months(graded_city, tmp_path_factory):
    root = tmp_path_factory.mktemp("monthly")
    runs = [run_month(graded_city.clean, day, root, graded_city.loaded) for day in (FIRST, SECOND)]
    return root, runs


def _digest(folder):
    names = ["month.json", "warnings.parquet", f"graded/{GRADED}", "report/month_report.md", "report/migration.png"]
    return {n: hashlib.sha256((folder / n).read_bytes()).hexdigest() for n in names}


def test_the_second_month_is_compared_with_the_first(two_months, graded_city):
    root, (first, second) = two_months
    assert first.previous is None and first.migration is None and first.warnings == 0
    assert second.previous == str(FIRST) and second.model_version == graded_city.loaded.label
    m = second.migration
    before = pq.read_table(root / "months" / str(FIRST) / "graded" / GRADED, columns=["uscc"]).num_rows
    kept = sum(n for row in m["matrix"].values() for c, n in row.items() if c != "gone") - m["entered"]
    assert kept + m["left"] == before  # every enterprise of last month is accounted for
    assert second.psi_month is not None and second.psi_month < 0.1  # one month of a stable city
    assert second.psi_training is not None  # the champion carries its training city's distribution
    folder = root / "months" / str(SECOND)
    for name in ("month_report.md", "month_report.html", "grade_shares.png", "migration.png", "score_shift.png"):
        assert (folder / "report" / name).stat().st_size > 0, name
    report = (folder / "report" / "month_report.md").read_text(encoding="utf-8")
    for heading in ("Grade migration", "Indicator drift", "Feeds this month", "Early warnings by rule", "等级迁移"):
        assert heading in report
    assert "published (Pingshan 2024)" in report
    # Equal treatment: the champion's calibration per group beside this month's inspection per group.
    for heading in ("Equal treatment: calibration per group on the test period", "Equal treatment this month"):
        assert heading in report
    fair = json.loads((folder / "equal_treatment.json").read_text(encoding="utf-8"))
    assert fair["calibration"] and fair["model_version"] == graded_city.loaded.label
    districts = [r for r in fair["treatment"] if r["grouping"] == "district"]
    operating = pq.read_table(folder / "graded" / GRADED, columns=["register_status"]).to_pandas()
    assert sum(r["enterprises"] for r in districts) == (operating.register_status == "active").sum()
    assert second.equal_treatment["plan"] == "equal-treatment-default" and second.equal_treatment["tolerance"] == 0.25
    flagged = {(f["grouping"], f["group"]) for f in second.equal_treatment["flagged"]}
    assert flagged == {(r["grouping"], r["group"]) for r in fair["treatment"] + fair["calibration"] if r["flag"]}


def test_the_history_holds_every_published_month_of_an_enterprise(two_months):
    root, _ = two_months
    history = History(root / "history")
    assert history.months() == [FIRST, SECOND]
    graded = pq.read_table(
        root / "months" / str(SECOND) / "graded" / GRADED, columns=["uscc", "grade_shenzhen", "score"]
    )
    uscc = graded["uscc"][0].as_py()
    rows = enterprise_history(history, uscc)
    assert list(rows.month.astype(str).str[:10]) == [str(FIRST), str(SECOND)]
    assert rows.iloc[-1].grade_shenzhen == graded["grade_shenzhen"][0].as_py()
    assert rows.iloc[-1].score == pytest.approx(graded["score"][0].as_py())
    assert rows.correction.isna().all()
    assert "legal_rep" not in " ".join(rows.columns)  # no person identifier in the history
    with pytest.raises(NotFound, match="no published month"):
        enterprise_history(history, "91440300MA5AY4CLX2")


def test_early_warnings_are_listed_with_what_changed(two_months):
    root, (_, second) = two_months
    day, frame = month_warnings(root)
    assert day == SECOND and len(frame) == second.warnings == sum(1 for _ in frame.uscc)
    assert sum(second.warnings_by_rule.values()) >= len(frame)
    if len(frame):
        assert set(frame.columns) >= {"uscc", "name", "district_en", "rules", "changes", "probability_after"}
        assert all(len(r) for r in frame.rules)
        assert (frame.probability_after - frame.probability_before).is_monotonic_decreasing
        one = frame.district_en.iloc[0]
        _, only = month_warnings(root, SECOND, district=one)
        assert len(only) and (only.district_en == one).all()


def test_a_rerun_writes_the_same_files_and_a_failed_run_leaves_the_months_as_they_were(
    two_months, graded_city, monkeypatch
):
    root, _ = two_months
    folder = root / "months" / str(SECOND)
    before = _digest(folder)
    history = (root / "history" / f"{SECOND}.parquet").read_bytes()
    run_month(graded_city.clean, SECOND, root, graded_city.loaded)
    assert _digest(folder) == before
    assert (root / "history" / f"{SECOND}.parquet").read_bytes() == history

    def broken(*args, **kwargs):
        raise RuntimeError("killed while comparing")

    monkeypatch.setattr(month_job, "_compare", broken)
    with pytest.raises(RuntimeError):
        run_month(graded_city.clean, SECOND, root, graded_city.loaded)
    assert _digest(folder) == before
    assert (root / "history" / f"{SECOND}.parquet").read_bytes() == history
    assert not [p for p in (root / "months").iterdir() if p.name.startswith(".")]


def test_refusals_name_the_problem_and_write_nothing(two_months, graded_city, tmp_path):
    root, _ = two_months
    listing = sorted(p.name for p in (root / "months").iterdir())
    with pytest.raises(MonthError, match="not a month-end"):
        run_month(graded_city.clean, dt.date(2025, 11, 15), root, graded_city.loaded)
    with pytest.raises(MonthError, match="earlier than the last published month 2025-11-30; pass --correction"):
        run_month(graded_city.clean, dt.date(2025, 9, 30), root, graded_city.loaded)
    assert sorted(p.name for p in (root / "months").iterdir()) == listing

    cut = tmp_path / "clean"
    shutil.copytree(graded_city.clean, cut)
    penalties = pq.read_table(cut / "penalties.parquet")
    early = pc.less_equal(penalties["decision_date"], pa.scalar(dt.date(2025, 10, 31), penalties["decision_date"].type))
    pq.write_table(penalties.filter(early), cut / "penalties.parquet")  # November's penalties never arrived
    fresh = tmp_path / "fresh"
    with pytest.raises(MonthError, match="penalties from Law-enforcement departments") as refused:
        run_month(cut, SECOND, fresh, graded_city.loaded)
    assert "--accept-drift" in refused.value.en and "各行政执法部门" in refused.value.zh
    assert not fresh.exists() or not any(fresh.rglob("*.parquet"))
    run = run_month(cut, SECOND, fresh, graded_city.loaded, accept_drift=True, dry_run=True)
    assert run.dry_run and run.accepted_drift and [f["table"] for f in run.feeds_flagged] == ["penalties"]
    assert not fresh.exists() or not any(fresh.rglob("*.parquet"))  # a dry run publishes nothing

    (cut / "court_cases.parquet").unlink()
    with pytest.raises(MonthError, match="court_cases .People's courts.: table missing") as missing:
        run_month(cut, SECOND, fresh, graded_city.loaded, accept_drift=True)
    assert missing.value.code == "feed_missing"


def test_the_month_history_and_warnings_commands(two_months, graded_city, tmp_path, monkeypatch):
    root, _ = two_months
    monkeypatch.setenv("CREDITGRADE_MLRUNS", str(graded_city.mlruns))
    monkeypatch.setenv("CREDITGRADE_MONTHLY", str(root))
    r = runner.invoke(app, ["month", "--data", str(graded_city.clean), "--as-of", str(SECOND), "--dry-run"])
    assert r.exit_code == 0, r.output
    assert "dry run" in r.output and "early warnings" in r.output and "against 2025-10-31" in r.output
    r = runner.invoke(app, ["month", "--data", str(graded_city.clean), "--as-of", "2025-11-15"])
    assert r.exit_code != 0 and "not a month-end" in r.output and "不是月末" in r.output
    uscc = pq.read_table(root / "history" / f"{SECOND}.parquet", columns=["uscc"])["uscc"][0].as_py()
    r = runner.invoke(app, ["history", uscc])
    assert r.exit_code == 0, r.output
    assert str(FIRST) in r.output and str(SECOND) in r.output
    out = tmp_path / "warnings.csv"
    r = runner.invoke(app, ["warnings", "--out", str(out)])
    assert r.exit_code == 0, r.output
    header = out.read_text(encoding="utf-8").splitlines()[0]
    assert "changes_en" in header and "changes_zh" in header and "rules" in header
    r = runner.invoke(app, ["warnings", "--out", str(tmp_path / "w.xlsx")])
    assert r.exit_code != 0 and ".csv or .parquet" in r.output
    r = runner.invoke(app, ["month", "--data", str(graded_city.clean), "--as-of", str(SECOND), "--tolerance", "0"])
    assert r.exit_code != 0 and "tolerance must be a share above 0" in r.output and "公平性容忍度" in r.output


def test_the_equal_treatment_command_writes_the_report_whole(two_months, graded_city, tmp_path, monkeypatch):
    root, _ = two_months
    monkeypatch.setenv("CREDITGRADE_MLRUNS", str(graded_city.mlruns))
    plan = tmp_path / "plan.yaml"
    plan.write_text("plan_id: by-district\nbudget: 0.05\nstrata: [district]\n", encoding="utf-8")
    out = tmp_path / "fair"
    graded = root / "months" / str(SECOND) / "graded"
    args = ["equal-treatment", "--graded", str(graded), "--data", str(graded_city.clean), "--out", str(out)]
    r = runner.invoke(app, [*args, "--plan", str(plan), "--tolerance", "0.1"])
    assert r.exit_code == 0, r.output
    assert "plan by-district, tolerance ±10%" in r.output and "flagged" in r.output
    report = json.loads((out / "equal_treatment.json").read_text(encoding="utf-8"))
    assert report["plan"] == "by-district" and report["tolerance"] == 0.1
    assert "Equal treatment this month" in (out / "equal_treatment.md").read_text(encoding="utf-8")
    assert "<table>" in (out / "equal_treatment.html").read_text(encoding="utf-8")
    r = runner.invoke(app, ["equal-treatment", "--graded", str(tmp_path / "none"), "--data", str(graded_city.clean)])
    assert r.exit_code != 0 and "run `creditgrade grade` first" in r.output
