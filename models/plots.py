"""Plots shared by the model report, MLflow and the notebooks (PNG, no display needed)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def calibration_plot(curve: list[dict], path: Path, title: str = "Calibration (validation, weighted)") -> Path:
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    pred = [c["predicted"] for c in curve]
    obs = [c["observed"] for c in curve]
    top = max(pred + obs + [0.01]) * 1.05
    ax.plot([0, top], [0, top], color="grey", lw=1, ls="--", label="perfect")
    ax.plot(pred, obs, marker="o", label="model")
    ax.set_xlabel("predicted problem probability")
    ax.set_ylabel("observed problem rate")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


def grade_rates_plot(tables: dict[str, list[dict]], path: Path, city_rate: float) -> Path:
    """Observed problem rate per grade for each scheme, with the city average."""
    fig, axes = plt.subplots(1, len(tables), figsize=(4 * len(tables), 3.6), squeeze=False)
    for ax, (name, rows) in zip(axes[0], tables.items()):
        grades = [r["grade"] for r in rows]
        rates = [r["problem_rate"] or 0 for r in rows]
        ax.bar(grades, rates, color="#c0504d")
        ax.axhline(city_rate, color="grey", ls="--", lw=1)
        for x, r in enumerate(rows):
            ax.annotate(f"{r['share']:.1%}", (x, (r["problem_rate"] or 0)), ha="center", va="bottom", fontsize=7)
        ax.set_title(name)
        ax.set_ylabel("problem rate (weighted)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)
