"""The per-enterprise waterfall: score points, the user's language, every glyph drawn."""

from __future__ import annotations

import warnings

import matplotlib.pyplot as plt
import numpy as np
import pytest

from creditgrade.features import catalog
from creditgrade.models import plots


@pytest.fixture
def figure(monkeypatch):
    """The figure a plot function draws, kept open after it is saved."""
    kept = {}
    monkeypatch.setattr(plots.plt, "close", lambda fig: kept.setdefault("fig", fig))
    yield kept
    plt.close("all")


def _texts(fig) -> list[str]:
    fig.canvas.draw()
    out = [t.get_text() for t in fig.findobj(match=lambda a: hasattr(a, "get_text"))]
    for ax in fig.get_axes():
        out += [t.get_text() for t in ax.get_xticklabels() + ax.get_yticklabels()]
    return out


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_waterfall_speaks_in_score_points_and_the_user_s_language(lang, figure, tmp_path):
    ids = ["d3_penalties_12m", "d1_age_years", "d4_complaints_12m", "d5_tax_grade"]
    values = [3.0, 0.4, 1.0, 4.0]
    labels = [catalog.BY_ID[i].reason(v, lang) for i, v in zip(ids, values)]
    points = np.array([-21.5, -8.25, -3.0, 6.0])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = plots.waterfall_plot(points, 640.0, labels, tmp_path / "w.png", "title 标题", lang)
        texts = _texts(figure["fig"])
    assert png.stat().st_size > 10_000
    missing = [str(w.message) for w in caught if "missing from" in str(w.message)]
    assert not missing, missing  # every Chinese character has a glyph
    joined = "\n".join(texts)
    for label in labels:
        assert label in joined
    words = plots.WATERFALL_TEXT[lang]
    assert f"{words['base']} = 640" in joined and f"{words['score']} = {640.0 + points.sum():g}" in joined
    assert "E[f(X)]" not in joined and "f(x)" not in joined
    assert "+6" in joined and "−21.5" in joined.replace("-", "−")  # contributions in points, not log-odds
