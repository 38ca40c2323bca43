"""Plots shared by the model report, MLflow and the notebooks (PNG, no display needed)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


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
    return _save(fig, path)


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
    return _save(fig, path)


def _explanation(phi, x, base, features):
    import shap

    from features import catalog

    names = [f"{catalog.BY_ID[f].en} ({f})" if f in catalog.BY_ID else f for f in features]
    return shap.Explanation(values=phi, base_values=base, data=x, feature_names=names)


def beeswarm_plot(phi, x, expected: float, features, path: Path, max_display: int = 20) -> Path:
    """SHAP summary (beeswarm) of a sample of enterprises: which indicators move risk, and which way."""
    import shap

    shap.plots.beeswarm(_explanation(phi, x, expected, features), max_display=max_display, show=False)
    fig = plt.gcf()
    fig.set_size_inches(9, 0.35 * max_display + 1.5)
    plt.title("Indicator contributions to risk (log-odds), sample of enterprises")
    return _save(fig, path)


def dimension_importance_plot(mean_abs_points: dict[str, float], path: Path) -> Path:
    """Mean absolute score points per dimension over the city."""
    from features import catalog

    dims = {d.id: d.en for d in catalog.DIMENSIONS}
    fig, ax = plt.subplots(figsize=(6, 3))
    keys = list(mean_abs_points)
    ax.barh([f"{k} {dims.get(k, '')}" for k in keys][::-1], [mean_abs_points[k] for k in keys][::-1], color="#4f81bd")
    ax.set_xlabel("mean |score points| per enterprise")
    ax.set_title("Dimension importance")
    return _save(fig, path)


def waterfall_plot(phi_row, x_row, expected: float, features, path: Path, title: str, max_display: int = 12) -> Path:
    """One enterprise: from the city's expected log-odds to its own, indicator by indicator."""
    import shap

    shap.plots.waterfall(_explanation(phi_row, x_row, expected, features), max_display=max_display, show=False)
    fig = plt.gcf()
    fig.set_size_inches(9, 0.4 * max_display + 1.5)
    plt.title(title)
    return _save(fig, path)


def expected_problems_plot(per_grade: list[dict], path: Path, title: str = "Expected problems found") -> Path:
    """Per grade: the problems a plan should find beside a uniform random draw of the same size."""
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    grades = [r["grade"] for r in per_grade]
    x = range(len(grades))
    ax.bar([i - 0.2 for i in x], [r["expected_problems"] for r in per_grade], 0.4, label="this plan",
           color="#c0504d")
    ax.bar([i + 0.2 for i in x], [r["uniform_problems"] for r in per_grade], 0.4, label="uniform draw",
           color="#7f7f7f")
    ax.set_xticks(list(x), grades)
    ax.set_xlabel("grade")
    ax.set_ylabel("expected problems found")
    ax.set_title(title)
    ax.legend()
    return _save(fig, path)


def cycles_plot(rows: list[dict], path: Path) -> Path:
    """The feedback loop per cycle: calibration error of each run, and problems per 1,000 checks vs uniform."""
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.6))
    for run, colour in (("weighted", "#4f81bd"), ("unweighted", "#c0504d")):
        mine = [r for r in rows if r["run"] == run]
        a.plot([r["cycle"] for r in mine], [r["calibration_error"] for r in mine], marker="o", color=colour, label=run)
        b.plot([r["cycle"] for r in mine], [r["per_1000"] for r in mine], marker="o", color=colour, label=run)
    uniform = [r for r in rows if r["run"] == "weighted"]
    b.plot([r["cycle"] for r in uniform], [r["uniform_per_1000"] for r in uniform], ls="--", color="grey",
           label="uniform draw")
    a.set_xlabel("cycle (month)")
    a.set_ylabel("calibration error vs truth (whole city)")
    a.set_ylim(bottom=0)
    b.set_xlabel("cycle (month)")
    b.set_ylabel("problems found per 1,000 checks")
    b.set_ylim(bottom=0)
    a.legend()
    b.legend()
    return _save(fig, path)


def precision_at_k_plot(evaluation: dict, path: Path) -> Path:
    """Share of true false registrations among the top k, per method, against k (log scale)."""
    fig, ax = plt.subplots(figsize=(6, 3.8))
    for name, m in evaluation["methods"].items():
        ax.plot(evaluation["curve_k"], m["curve"], label=name)
    ax.axvline(evaluation["k"], color="grey", ls="--", lw=1)
    ax.set_xscale("log")
    ax.set_xlabel("top k enterprises by score")
    ax.set_ylabel("precision (truth)")
    ax.set_ylim(0, 1.02)
    ax.set_title("False registrations among the top k")
    ax.legend()
    return _save(fig, path)
