"""Plots shared by the model report, MLflow and the notebooks (PNG, no display needed)."""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def _save(fig, path: Path) -> Path:
    """Saved whole: the bounding box grows to every label (long indicator names are never clipped)."""
    fig.savefig(path, dpi=110, bbox_inches="tight")
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

    from creditgrade.features import catalog

    names = [f"{catalog.BY_ID[f].en} ({f})" if f in catalog.BY_ID else f for f in features]
    return shap.Explanation(values=phi, base_values=base, data=x, feature_names=names)


def beeswarm_plot(phi, x, expected: float, features, path: Path, max_display: int = 20) -> Path:
    """SHAP summary (beeswarm) of a sample of enterprises: which indicators move risk, and which way."""
    import shap

    state = np.random.get_state()
    np.random.seed(0)  # shap's beeswarm jitters with NumPy's global generator: the same plot every run
    try:
        shap.plots.beeswarm(_explanation(phi, x, expected, features), max_display=max_display, show=False)
    finally:
        np.random.set_state(state)
    fig = plt.gcf()
    fig.set_size_inches(9, 0.35 * max_display + 1.5)
    plt.title("Indicator contributions to risk (log-odds), sample of enterprises")
    return _save(fig, path)


def dimension_importance_plot(mean_abs_points: dict[str, float], path: Path) -> Path:
    """Mean absolute score points per dimension over the city."""
    from creditgrade.features import catalog

    dims = {d.id: d.en for d in catalog.DIMENSIONS}
    fig, ax = plt.subplots(figsize=(6, 3))
    keys = list(mean_abs_points)
    ax.barh([f"{k} {dims.get(k, '')}" for k in keys][::-1], [mean_abs_points[k] for k in keys][::-1], color="#4f81bd")
    ax.set_xlabel("mean |score points| per enterprise")
    ax.set_title("Dimension importance")
    return _save(fig, path)


CJK_FONTS = ("WenQuanYi Micro Hei", "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "SimHei")
_CJK_FILES = ("wqy-microhei", "notosanscjk", "notosanssc", "sourcehansans", "simhei")


def chinese_font() -> str:
    """The name of an installed font with Chinese glyphs (`make install` installs WenQuanYi Micro Hei).

    Fonts installed after matplotlib cached its font list are found on disk and added.
    """
    from matplotlib import font_manager as fm

    names = {f.name for f in fm.fontManager.ttflist}
    for name in CJK_FONTS:
        if name in names:
            return name
    for path in fm.findSystemFonts():
        if any(k in Path(path).name.lower() for k in _CJK_FILES):
            fm.fontManager.addfont(path)
            return fm.FontProperties(fname=path).get_name()
    raise RuntimeError(
        "no font with Chinese glyphs is installed (apt-get install fonts-wqy-microhei; `make install` does it)"
    )


WATERFALL_TEXT = {
    "en": {"base": "City base score", "score": "This enterprise", "other": "{n} other indicators", "x": "score points"},
    "zh": {"base": "全市基准分", "score": "本企业得分", "other": "其他{n}项指标", "x": "分值"},
}


def waterfall_plot(
    points, base_points: float, labels, path: Path, title: str, lang: str = "en", max_display: int = 12
) -> Path:
    """One enterprise in score points, the unit its reasons speak in: from the city's base score to the
    enterprise's own (unclipped) score, indicator by indicator; `labels` are the indicators' reasons in
    the user's language (`lang` "en" or "zh"). SHAP's waterfall, relabelled, saved whole (nothing clipped)."""
    import shap

    text = WATERFALL_TEXT[lang]
    # Names are Chinese in either language: the Chinese font is the fallback in English, the first font in Chinese.
    family = [chinese_font(), "DejaVu Sans"] if lang == "zh" else ["DejaVu Sans", chinese_font()]
    with plt.rc_context({"font.family": family, "axes.unicode_minus": False}):
        fig = plt.figure(figsize=(11, 0.45 * max_display + 2.0))  # SHAP draws on the current figure
        explanation = shap.Explanation(
            values=np.asarray(points, dtype=float), base_values=float(base_points), feature_names=list(labels)
        )
        from shap.plots import colors
        from shap.plots._style import style_context

        with style_context(  # red lowers the score, blue raises it: a credit score's colours
            primary_color_positive=colors.blue_rgb,
            primary_color_negative=colors.red_rgb,
            secondary_color_positive=colors.light_blue_rgb,
            secondary_color_negative=colors.light_red_rgb,
        ):
            shap.plots.waterfall(explanation, max_display=max_display, show=False)
        for ax in fig.get_axes():  # SHAP's own words (E[f(X)], f(x), "n other features") in the user's language
            for axis in (ax.xaxis, ax.yaxis):
                labels = [t.get_text() for t in axis.get_ticklabels()]
                relabelled = _relabel(labels, text)
                if relabelled != labels:
                    axis.set_ticks(axis.get_ticklocs(), relabelled)
        fig.get_axes()[0].set_xlabel(text["x"])
        fig.suptitle(title, fontsize=11, y=1.06)
        fig.savefig(path, dpi=110, bbox_inches="tight")
        plt.close(fig)
    return Path(path)


def _relabel(labels: list[str], text: dict[str, str]) -> list[str]:
    """SHAP's tick labels in the user's words: the two-part "E[f(X)] = v" and "f(x) = v" labels become one."""
    if len(labels) == 2 and ("E[f(X)]" in labels[0] or "f(x)" in labels[0]):
        value = labels[1].replace("$", "").replace("=", "").strip()
        if "E[f(X)]" in labels[0]:
            return [f"\n{text['base']} = {value}", ""]
        return [f"{text['score']} = {value}", ""]
    out = []
    for label in labels:
        m = re.fullmatch(r"(\d+) other features", label)
        out.append(text["other"].format(n=m.group(1)) if m else label)
    return out


def expected_problems_plot(per_grade: list[dict], path: Path, title: str = "Expected problems found") -> Path:
    """Per grade: the problems a plan should find beside a uniform random draw of the same size."""
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    grades = [r["grade"] for r in per_grade]
    x = range(len(grades))
    ax.bar([i - 0.2 for i in x], [r["expected_problems"] for r in per_grade], 0.4, label="this plan", color="#c0504d")
    ax.bar([i + 0.2 for i in x], [r["uniform_problems"] for r in per_grade], 0.4, label="uniform draw", color="#7f7f7f")
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
    b.plot(
        [r["cycle"] for r in uniform],
        [r["uniform_per_1000"] for r in uniform],
        ls="--",
        color="grey",
        label="uniform draw",
    )
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
    """Precision (share of true false registrations among the top k) and recall (share of all of them
    found in the top k), per method, against k (log scale)."""
    fig, (prec, rec) = plt.subplots(1, 2, figsize=(10, 3.8))
    for name, m in evaluation["methods"].items():
        prec.plot(evaluation["curve_k"], m["curve"], label=name)
        if "recall_curve" in m:
            rec.plot(evaluation["curve_k"], m["recall_curve"], label=name)
    for ax, what in ((prec, "precision (truth)"), (rec, "recall (truth)")):
        ax.axvline(evaluation["k"], color="grey", ls="--", lw=1)
        ax.set_xscale("log")
        ax.set_xlabel("top k enterprises by score")
        ax.set_ylabel(what)
        ax.set_ylim(0, 1.02)
        ax.legend(fontsize=7)
    prec.set_title("False registrations among the top k")
    rec.set_title("Of all false registrations, found in the top k")
    return _save(fig, path)


def missingness_plot(shares: dict[str, float], dimension_of: dict[str, str], path: Path) -> Path:
    """Share of enterprises with no value, per indicator, coloured by dimension."""
    ids = list(shares)
    dims = sorted(set(dimension_of.values()))
    colours = dict(zip(dims, plt.get_cmap("tab10")(range(10))))
    fig, ax = plt.subplots(figsize=(12, 3.6))
    ax.bar(range(len(ids)), [shares[i] for i in ids], color=[colours[dimension_of[i]] for i in ids])
    ax.set_xticks(range(len(ids)), ids, rotation=90, fontsize=6)
    ax.set_ylabel("share missing")
    ax.set_ylim(0, 1)
    ax.set_title("Missing values per indicator")
    for d in dims:
        ax.bar([], [], color=colours[d], label=d)
    ax.legend(ncol=len(dims), fontsize=8)
    return _save(fig, path)


def distributions_plot(frame, ids: list[str], path: Path, title: str) -> Path:
    """One histogram per indicator (log counts), missing values left out."""
    cols = 6
    rows = -(-len(ids) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(2.2 * cols, 1.8 * rows), squeeze=False)
    for ax, i in zip(axes.ravel(), ids):
        ax.hist(frame[i].dropna(), bins=30, color="#4f81bd", log=True)
        ax.set_title(i, fontsize=7)
        ax.tick_params(labelsize=6)
    for ax in axes.ravel()[len(ids) :]:
        ax.axis("off")
    fig.suptitle(title)
    return _save(fig, path)


def problem_rate_plot(frame, label, weight, ids: list[str], path: Path, bins: int = 5) -> Path:
    """Weighted problem rate of the inspected by each indicator: one bar per value when it has few, else per
    quantile bin (labelled by its upper edge); missing values as their own bar."""
    import numpy as np
    import pandas as pd

    cols = 4
    rows = -(-len(ids) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3 * cols, 2.2 * rows), squeeze=False)
    for ax, i in zip(axes.ravel(), ids):
        v = frame[i]
        if v.nunique() <= bins:  # few distinct values (flags, counts): one bar each
            cut = v.astype("float")
            names = {k: f"{k:g}" for k in cut.dropna().unique()}
        else:
            cut = pd.qcut(v, bins, labels=False, duplicates="drop").astype("float")
            edges = v.groupby(cut).max()
            names = {k: f"≤{edges[k]:.3g}" for k in edges.index}
        group = cut.fillna(-np.inf).to_numpy()
        keys = sorted(np.unique(group))
        rates = [np.average(label[group == k], weights=weight[group == k]) for k in keys]
        ax.bar(["NA" if k == -np.inf else names[k] for k in keys], rates, color="#c0504d")
        ax.set_title(i, fontsize=7)
        ax.tick_params(labelsize=6)
    for ax in axes.ravel()[len(ids) :]:
        ax.axis("off")
    fig.suptitle("Problem rate of inspected enterprises by indicator value (weighted)")
    return _save(fig, path)


def correlation_plot(frame, ids: list[str], path: Path) -> Path:
    """Spearman correlations between indicators."""
    corr = frame[ids].corr(method="spearman").to_numpy()
    fig, ax = plt.subplots(figsize=(9, 8))
    image = ax.imshow(corr, cmap="RdBu_r", vmin=-1, vmax=1)
    ax.set_xticks(range(len(ids)), ids, rotation=90, fontsize=5)
    ax.set_yticks(range(len(ids)), ids, fontsize=5)
    fig.colorbar(image, ax=ax, shrink=0.7)
    ax.set_title("Spearman correlation between indicators")
    return _save(fig, path)


def roc_ks_plot(models: dict, path: Path) -> Path:
    """ROC curves and KS (cumulative share of problems vs of the rest, by descending risk), weighted, one line
    per model; `models` maps a name to (y, p, w)."""
    import numpy as np

    fig, (roc, ks) = plt.subplots(1, 2, figsize=(9, 4))
    for name, (y, p, w) in models.items():
        order = np.argsort(-np.asarray(p), kind="stable")
        y, w = np.asarray(y)[order], np.asarray(w)[order]
        tpr = np.cumsum(w * y) / (w * y).sum()
        fpr = np.cumsum(w * (1 - y)) / (w * (1 - y)).sum()
        roc.plot(fpr, tpr, label=name)
        share = np.cumsum(w) / w.sum()
        ks.plot(share, tpr - fpr, label=f"{name} (KS {np.max(tpr - fpr):.3f})")
    roc.plot([0, 1], [0, 1], color="grey", ls="--", lw=1)
    roc.set_xlabel("false-positive rate")
    roc.set_ylabel("true-positive rate")
    roc.set_title("ROC (validation, weighted)")
    ks.set_xlabel("share inspected, riskiest first")
    ks.set_ylabel("TPR − FPR")
    ks.set_title("KS")
    roc.legend()
    ks.legend()
    return _save(fig, path)


def calibration_overlay_plot(curves: dict[str, list[dict]], path: Path) -> Path:
    """Calibration curves (`creditgrade.models.evaluation.calibration_curve`) of several models on one chart."""
    fig, ax = plt.subplots(figsize=(4.8, 4.5))
    top = 0.01
    for name, curve in curves.items():
        pred, obs = [c["predicted"] for c in curve], [c["observed"] for c in curve]
        ax.plot(pred, obs, marker="o", label=name)
        top = max([top, *pred, *obs])
    ax.plot([0, top], [0, top], color="grey", ls="--", lw=1, label="perfect")
    ax.set_xlabel("predicted problem probability")
    ax.set_ylabel("observed problem rate")
    ax.set_title("Calibration (validation, weighted)")
    ax.legend()
    return _save(fig, path)


def migration_plot(matrix, path: Path, title: str) -> Path:
    """A grade-migration matrix (pandas crosstab: rows from, columns to) as a heatmap with counts."""
    with bilingual():
        return _migration_plot(matrix, path, title)


def _migration_plot(matrix, path: Path, title: str) -> Path:
    counts = matrix.to_numpy()
    fig, ax = plt.subplots(figsize=(1 + 0.7 * counts.shape[1], 1 + 0.6 * counts.shape[0]))
    ax.imshow(np.log1p(counts), cmap="Blues")
    for (r, c), v in np.ndenumerate(counts):
        ax.text(c, r, f"{v:,}", ha="center", va="center", fontsize=7)
    ax.set_xticks(range(counts.shape[1]), [str(c) for c in matrix.columns])
    ax.set_yticks(range(counts.shape[0]), [str(r) for r in matrix.index])
    ax.set_xlabel(str(matrix.columns.name or "to"))
    ax.set_ylabel(str(matrix.index.name or "from"))
    ax.set_title(title)
    return _save(fig, path)


def cluster_plot(members: list[str], links: list[tuple[str, str]], path: Path, title: str) -> Path:
    """A registration cluster as a small graph: enterprises (circles) joined through the shared person,
    address, phone or agent (squares, labelled by kind only — never by whose it is)."""
    import numpy as np

    nodes = list(dict.fromkeys([*members, *(k for _, k in links)]))
    angle = np.linspace(0, 2 * np.pi, len(nodes), endpoint=False)
    pos = {n: (np.cos(a), np.sin(a)) for n, a in zip(nodes, angle)}
    fig, ax = plt.subplots(figsize=(6, 6))
    for e, k in links:
        ax.plot([pos[e][0], pos[k][0]], [pos[e][1], pos[k][1]], color="grey", lw=0.8, zorder=1)
    for n in nodes:
        is_ent = n in members
        ax.scatter(
            *pos[n],
            s=260 if is_ent else 160,
            marker="o" if is_ent else "s",
            color="#4f81bd" if is_ent else "#c0504d",
            zorder=2,
        )
        ax.annotate(
            n[-6:] if is_ent else n.split(":")[0],
            pos[n],
            fontsize=6,
            ha="center",
            va="center",
            color="white" if is_ent else "black",
            zorder=3,
        )
    ax.set_title(title)
    ax.axis("off")
    return _save(fig, path)


def bilingual():
    """Text in English and Chinese on one plot: Latin glyphs from DejaVu, Chinese from the CJK font."""
    return plt.rc_context({"font.family": ["DejaVu Sans", chinese_font()], "axes.unicode_minus": False})


def grade_shares_plot(shares: dict[str, dict[str, float]], published: dict[str, float], path: Path, title: str) -> Path:
    """Grade shares (%) month by month (`shares`: month → grade → share), the published shares dashed."""
    with bilingual():
        return _grade_shares_plot(shares, published, path, title)


def _grade_shares_plot(shares, published, path: Path, title: str) -> Path:
    months = list(shares)
    grades = list(published)
    fig, ax = plt.subplots(figsize=(max(5, 1 + 0.6 * len(months)), 3.6))
    for i, g in enumerate(grades):
        color = plt.cm.RdYlGn_r(i / max(len(grades) - 1, 1))
        ax.plot(months, [100 * shares[m].get(g, 0.0) for m in months], marker="o", color=color, label=g)
        ax.axhline(100 * published[g], color=color, linestyle="--", linewidth=0.8)
    ax.set_yscale("symlog", linthresh=1)
    ax.set_ylabel("share of operating enterprises, % (dashed: published)")
    ax.set_title(title)
    ax.legend(ncol=len(grades), fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.15))
    ax.tick_params(axis="x", labelrotation=45)
    return _save(fig, path)


def score_shift_plot(before, after, labels: tuple[str, str], path: Path, title: str) -> Path:
    """Two score distributions (0–1000; each a `models.monitoring.Distribution`) overlaid as step histograms."""
    with bilingual():
        return _score_shift_plot(before, after, labels, path, title)


def _score_shift_plot(before, after, labels, path: Path, title: str) -> Path:
    fig, ax = plt.subplots(figsize=(6, 3.2))
    bins = np.linspace(0, 1000, 81).tolist()
    for d, label in zip((before, after), labels):
        ax.hist(d.values, bins=bins, weights=d.counts, histtype="step", density=True, label=label)
    ax.set_xlabel("score (higher = lower risk)")
    ax.set_ylabel("density")
    ax.set_title(title)
    ax.legend(fontsize=8)
    return _save(fig, path)


def drift_plot(drift, path: Path, title: str, watch: float, act: float, top: int = 15) -> Path:
    """The largest stability indices (a frame with column and index), with the watch and act lines."""
    with bilingual():
        return _drift_plot(drift, path, title, watch, act, top)


def _drift_plot(drift, path: Path, title: str, watch: float, act: float, top: int) -> Path:
    rows = drift.head(top).iloc[::-1]
    fig, ax = plt.subplots(figsize=(6, 0.6 + 0.28 * max(len(rows), 1)))
    colors = ["#c0392b" if v >= act else "#e67e22" if v >= watch else "#7f8c8d" for v in rows["index"]]
    ax.barh(rows["column"], rows["index"], color=colors)
    ax.axvline(watch, color="#e67e22", linestyle="--", linewidth=0.8)
    ax.axvline(act, color="#c0392b", linestyle="--", linewidth=0.8)
    ax.set_xlabel("stability index (CSI)")
    ax.set_title(title)
    return _save(fig, path)
