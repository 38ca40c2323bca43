"""Data commands: simulate a city, ingest raw tables, city statistics, the indicator table, generated docs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Optional

import typer

from creditgrade.features.errors import CreditgradeError, NotFound
from creditgrade.serving.cli import render
from creditgrade.serving.cli.app import app, console, data_dir, progress_bar


def parse_day(value: str, what: str = "date") -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CreditgradeError(
            f"{what} must be YYYY-MM-DD; got {value!r}",
            f"{what} 须为 YYYY-MM-DD 格式，当前为 {value!r}",
            code="bad_date",
        ) from None


@app.command()
def simulate(
    enterprises: int = typer.Option(20_000, help="Enterprises in the city (Shenzhen 2021: 2,230,000)."),
    seed: int = typer.Option(0, help="Random seed; the same seed gives byte-identical files."),
    out: Optional[Path] = typer.Option(None, help="Output folder (written whole or not at all); default <data>/city."),
    start_year: int = typer.Option(2020),
    end_year: int = typer.Option(2025),
    dirty_rate: float = typer.Option(0.0, help="Share of rows per table given one injected fault (0–0.2)."),
    overwrite: bool = typer.Option(False, help="Replace an existing output folder."),
) -> None:
    """Simulate a city's raw registry and enforcement records (模拟城市), with its ground truth."""
    from creditgrade.features.city.calibration import city_statistics
    from creditgrade.features.city.simulate import CityConfig, describe, simulate_city

    out = out or data_dir() / "city"
    config = CityConfig(enterprises, seed, start_year, end_year, dirty_rate)
    with progress_bar("simulate") as update:
        manifest = simulate_city(config, out, overwrite=overwrite, progress=update)
    console.print(f"Simulated {describe(manifest)} → {out}")
    if dirty_rate == 0:
        render.statistics(city_statistics(out))
    else:
        console.print("Statistics are printed after ingest (the raw tables hold injected faults).")


@app.command()
def ingest(
    src: Path = typer.Argument(..., help="Folder with one file per contract table (.parquet, folder, or .csv)."),
    out: Path = typer.Option(..., help="Folder for accepted tables, quarantine.parquet and ingest_report.json."),
    extraction_date: Optional[str] = typer.Option(None, help="YYYY-MM-DD; default: the source's manifest.json."),
    allow_uscc: Optional[Path] = typer.Option(None, help="File of legal USCCs that fail the checksum, one a line."),
    overwrite: bool = typer.Option(False, help="Replace an existing output folder."),
) -> None:
    """Validate raw tables against the data contract; bad rows go to quarantine (数据接入与隔离)."""
    from creditgrade.features.ingest import IngestError
    from creditgrade.features.ingest import ingest as run_ingest

    when = parse_day(extraction_date, "extraction date") if extraction_date else None
    allow: list[str] = []
    if allow_uscc is not None:
        if not allow_uscc.exists():
            raise NotFound(f"allow-list file {allow_uscc} does not exist", f"白名单文件 {allow_uscc} 不存在")
        allow = [line.strip() for line in allow_uscc.read_text().splitlines() if line.strip()]
    with progress_bar("ingest") as update:
        report = run_ingest(src, out, extraction_date=when, allow_uscc=allow, overwrite=overwrite, progress=update)
    render.ingest_report(report)
    if not report.reconciles:
        raise IngestError(
            "rows read ≠ rows accepted + rows quarantined for some table; see the table above",
            "有数据表的读入行数 ≠ 接收行数 + 隔离行数；见上表",
            code="ingest_unbalanced",
        )


@app.command()
def stats(
    folder: Path = typer.Argument(..., help="A city folder (simulated or ingested)."),
    truth: Optional[Path] = typer.Option(None, help="Folder holding the simulator's truth/ (default: FOLDER)."),
    extraction_date: Optional[str] = typer.Option(None, help="YYYY-MM-DD; default: manifest.json."),
) -> None:
    """Print the city's statistics beside the published ranges (城市统计与公开范围对照)."""
    from creditgrade.features.city.calibration import city_statistics

    if not folder.is_dir():
        raise NotFound(f"city folder {folder} does not exist", f"城市数据目录 {folder} 不存在")
    render.statistics(city_statistics(folder, extraction_date, truth_folder=truth))


@app.command()
def features(
    data: Path = typer.Option(..., help="An ingested city folder (one Parquet file per contract table)."),
    as_of: list[str] = typer.Option(..., help="YYYY-MM-DD; repeat for a panel of several dates."),
    out: Path = typer.Option(..., help="Parquet file for the indicator table."),
    backend: str = typer.Option("duckdb", help="duckdb (embedded) or pyspark."),
) -> None:
    """Compute the 63 indicators, the false-registration features and the override rules met, as of each date
    (指标计算)."""
    from creditgrade.features.pipeline import FeatureError, build_features, parse_dates
    from creditgrade.features.profile import dimension_profiles

    if backend not in ("duckdb", "pyspark"):
        raise FeatureError(
            f"backend must be 'duckdb' or 'pyspark'; got {backend!r}",
            f"计算引擎须为 duckdb 或 pyspark，当前为 {backend!r}",
        )
    days = parse_dates(as_of)
    with progress_bar("features") as update:
        built = build_features(data, days, out, backend=backend, progress=update)
    rows = ", ".join(f"{d}: {n:,}" for d, n in built.rows.items())
    console.print(f"Indicator table → {out} (catalog {built.catalog_version}; enterprises {rows})")
    render.dimensions(*dimension_profiles(out))


@app.command()
def docs(check: bool = typer.Option(False, help="Only check that docs/ is in step with the code.")) -> None:
    """Regenerate the documents that are derived from code (docs/data-contract.md, docs/indicators.md)."""
    from creditgrade.features.docs import RENDERERS, write_docs
    from creditgrade.features.settings import settings

    folder = settings().home / "docs"
    stale = write_docs(folder, check=check)
    if check and stale:
        raise CreditgradeError(
            f"out of step with the code: {', '.join(stale)}; run `creditgrade docs`",
            f"文档与代码不一致：{', '.join(stale)}；请运行 `creditgrade docs`",
            code="docs_stale",
        )
    console.print(f"docs in step: {', '.join(RENDERERS)} ({folder})")
