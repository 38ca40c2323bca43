"""The command line end to end on a small city, and its messages for bad input."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from creditgrade.serving.cli import app

runner = CliRunner()


def _city_with_features(tmp_path, enterprises: int, seed: int):
    """A simulated city ingested, with the year-ends 2022–2024 a training run needs: (raw, clean, feature file)."""
    raw, clean, table = tmp_path / "raw", tmp_path / "clean", tmp_path / "f.parquet"
    dates = [arg for d in ("2022-12-31", "2023-12-31", "2024-12-31") for arg in ("--as-of", d)]
    for args in (
        ["simulate", "--enterprises", str(enterprises), "--seed", str(seed), "--out", str(raw)],
        ["ingest", str(raw), "--out", str(clean)],
        ["features", "--data", str(clean), *dates, "--out", str(table)],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
    return raw, clean, table


@pytest.mark.slow
def test_simulate_ingest_and_stats(tmp_path):
    raw, clean = tmp_path / "raw", tmp_path / "clean"
    result = runner.invoke(
        app, ["simulate", "--enterprises", "2000", "--seed", "2", "--out", str(raw), "--dirty-rate", "0.01"]
    )
    assert result.exit_code == 0, result.output
    assert (raw / "manifest.json").exists()
    result = runner.invoke(app, ["ingest", str(raw), "--out", str(clean)])
    assert result.exit_code == 0, result.output
    assert "✓" in result.output and "✗" not in result.output
    assert (clean / "quarantine.parquet").exists() and (clean / "ingest_report.json").exists()
    result = runner.invoke(app, ["stats", str(clean), "--truth", str(raw), "--extraction-date", "2025-12-31"])
    assert result.exit_code == 0, result.output
    assert "Annual reports" in result.output  # ranges are asserted at 50k (tests/features/city)
    table = tmp_path / "features.parquet"
    result = runner.invoke(
        app, ["features", "--data", str(clean), "--as-of", "2024-12-31", "--as-of", "2025-06-30", "--out", str(table)]
    )
    assert result.exit_code == 0, result.output
    assert table.exists() and "D3" in result.output


def test_bad_input_ends_with_one_clear_message(tmp_path):
    result = runner.invoke(app, ["simulate", "--enterprises", "10", "--out", str(tmp_path / "x")])
    assert result.exit_code == 2 and "at least 100" in result.output and "错误：企业数至少为100" in result.output
    assert "Traceback" not in result.output
    (tmp_path / "empty").mkdir()
    result = runner.invoke(
        app, ["ingest", str(tmp_path / "empty"), "--out", str(tmp_path / "o"), "--extraction-date", "2025-12-31"]
    )
    assert result.exit_code == 2 and "required table 'enterprises'" in result.output
    result = runner.invoke(
        app, ["ingest", str(tmp_path / "empty"), "--out", str(tmp_path / "o"), "--extraction-date", "31/12/2025"]
    )
    assert result.exit_code == 2 and "YYYY-MM-DD" in result.output
    result = runner.invoke(
        app,
        ["features", "--data", str(tmp_path / "empty"), "--as-of", "2024-12-31", "--out", str(tmp_path / "f.parquet")],
    )
    assert result.exit_code == 2 and "raw table 'enterprises'" in result.output


@pytest.mark.slow
def test_train_registers_and_models_can_be_promoted_and_rolled_back(tmp_path, monkeypatch):
    monkeypatch.setenv("CREDITGRADE_MLRUNS", str(tmp_path / "mlruns"))
    raw, clean, table = _city_with_features(tmp_path, enterprises=12000, seed=4)
    for _ in range(2):
        result = runner.invoke(
            app, ["train", "--features", str(table), "--data", str(clean), "--as-of", "2024-12-31", "--truth", str(raw)]
        )
        assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "the truth's AUC on the same rows" in text and "registered" in text
    assert "fitted on 2022-12-31" in text and "tuned on 2023-12-31" in text
    assert "Calibration per grade, test period" in text
    listing = runner.invoke(app, ["models", "list"])
    assert "champion" in listing.output and "challenger" in listing.output
    assert runner.invoke(app, ["models", "promote"]).exit_code == 0
    assert "version 1" in runner.invoke(app, ["models", "rollback"]).output
    result = runner.invoke(app, ["train", "--features", str(table), "--data", str(clean), "--as-of", "2022-12-31"])
    assert result.exit_code == 2 and "needs the panel to hold the test date" in " ".join(result.output.split())


@pytest.mark.slow
def test_the_model_report_is_logged_with_its_plots(tmp_path, monkeypatch):
    import mlflow

    from creditgrade.training import tracking

    monkeypatch.setenv("CREDITGRADE_MLRUNS", str(tmp_path / "mlruns"))
    _, clean, table = _city_with_features(tmp_path, enterprises=8000, seed=6)
    result = runner.invoke(app, ["train", "--features", str(table), "--data", str(clean), "--as-of", "2024-12-31"])
    assert result.exit_code == 0, result.output
    tracking.configure()
    run = mlflow.search_runs(experiment_names=[tracking.EXPERIMENT]).iloc[0]
    names = {a.path for a in mlflow.MlflowClient().list_artifacts(run.run_id, "report")}
    assert {
        "report/model_report.md",
        "report/model_report.html",
        "report/calibration.png",
        "report/grade_rates.png",
        "report/risk_model_state.json",
    } <= names
