"""The console's charts, drawn on the server as inline SVG: no script, no third-party library, printable.

Each chart is an `<svg role="img">` with a `<title>` (its accessible name) and presentation attributes only
(the console's Content-Security-Policy allows no inline style). Colours follow the grade's place in its scheme:
green for the best grade, red for the worst.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

PALETTE = ("#2e7d32", "#689f38", "#f9a825", "#ef6c00", "#d84315", "#b71c1c", "#880e4f", "#4a148c")
INK, GRID, MUTED = "#212121", "#e0e0e0", "#757575"
SERIES = ("#1565c0", "#9e9e9e", "#ef6c00")


def grade_colour(rank: int, count: int) -> str:
    """Green (best, rank 0) to red (worst, rank count-1)."""
    if count <= 1:
        return PALETTE[0]
    return PALETTE[round(rank * 5 / (count - 1))]


def _svg(width: int, height: int, title: str, body: str) -> Markup:
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" class="chart"><title>{escape(title)}</title>{body}</svg>'
    )


def _text(x: float, y: float, text: str, anchor: str = "start", size: int = 12, fill: str = INK) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" fill="{fill}">{escape(text)}</text>'
    )


def face(grade: str, rank: int, count: int, label: str) -> Markup:
    """Qianhai's face icon: a smile for the best grades, a level mouth in the middle, a frown for the worst."""
    colour = grade_colour(rank, count)
    bend = 1 - 2 * rank / max(count - 1, 1)  # +1 smile … -1 frown
    mouth_y, control = 40, 40 + 14 * bend
    return _svg(
        64,
        64,
        label,
        f'<circle cx="32" cy="32" r="30" fill="{colour}"/>'
        '<circle cx="22" cy="25" r="4" fill="#ffffff"/><circle cx="42" cy="25" r="4" fill="#ffffff"/>'
        f'<path d="M18 {mouth_y} Q32 {control:.1f} 46 {mouth_y}" stroke="#ffffff" stroke-width="4" '
        'fill="none" stroke-linecap="round"/>',
    )


def bars(items: Sequence[tuple[str, float]], title: str, unit: str = "", width: int = 560) -> Markup:
    """Horizontal bars, one per item, with the value written at the bar's end (negative values to the left)."""
    row, left, pad = 28, 170, 60
    height = row * len(items) + 16
    values = [v for _, v in items] or [0.0]
    low, high = min(0.0, *values), max(0.0, *values)
    span = (high - low) or 1.0
    scale = (width - left - 2 * pad) / span
    zero = left + pad + (-low) * scale
    body = [f'<line x1="{zero:.1f}" y1="4" x2="{zero:.1f}" y2="{height - 8}" stroke="{GRID}"/>']
    for i, (label, value) in enumerate(items):
        y = 8 + i * row
        x, w = (zero, value * scale) if value >= 0 else (zero + value * scale, -value * scale)
        colour = "#c62828" if value < 0 else "#1565c0"
        body.append(f'<rect x="{x:.1f}" y="{y}" width="{max(w, 1):.1f}" height="{row - 10}" fill="{colour}"/>')
        body.append(_text(left - 6, y + row / 2, label, "end"))
        end = x + w + 4 if value >= 0 else x - 4
        body.append(_text(end, y + row / 2, f"{value:,.1f}{unit}", "start" if value >= 0 else "end"))
    return _svg(width, height, title, "".join(body))


def line(points: Sequence[tuple[str, float, str]], title: str, low: float, high: float, width: int = 560) -> Markup:
    """A line over months (label, value, annotation written above the point), the y axis from `low` to `high`."""
    height, left, right, top, bottom = 220, 44, 36, 24, 36
    n = len(points)
    step = (width - left - right) / max(n - 1, 1)
    span = (high - low) or 1.0

    def y(v: float) -> float:
        return top + (high - v) / span * (height - top - bottom)

    body = []
    for tick in (low, (low + high) / 2, high):
        body.append(f'<line x1="{left}" y1="{y(tick):.1f}" x2="{width - right}" y2="{y(tick):.1f}" stroke="{GRID}"/>')
        body.append(_text(left - 4, y(tick) + 4, f"{tick:,.0f}", "end", 11, MUTED))
    xs = [left + i * step if n > 1 else (left + width - right) / 2 for i in range(n)]
    if n > 1:
        path = " ".join(f"{'M' if i == 0 else 'L'}{xs[i]:.1f} {y(v):.1f}" for i, (_, v, _a) in enumerate(points))
        body.append(f'<path d="{path}" stroke="#1565c0" stroke-width="2" fill="none"/>')
    for x, (label, v, note) in zip(xs, points):
        body.append(f'<circle cx="{x:.1f}" cy="{y(v):.1f}" r="4" fill="#1565c0"/>')
        body.append(_text(x, y(v) - 8, note, "middle", 12))
        body.append(_text(x, height - bottom + 16, label, "middle", 11, MUTED))
    return _svg(width, height, title, "".join(body))


def grouped(categories: Sequence[str], series: dict[str, Sequence[float]], title: str, width: int = 560) -> Markup:
    """Vertical bars per category, one per series side by side, with a legend (e.g. this plan vs a uniform draw)."""
    height, left, top, bottom = 240, 48, 28, 40
    names = list(series)
    high = max([v for vs in series.values() for v in vs] + [0.0]) or 1.0
    group = (width - left - 8) / max(len(categories), 1)
    bar = group * 0.8 / max(len(names), 1)

    def y(v: float) -> float:
        return top + (1 - v / high) * (height - top - bottom)

    body = [f'<line x1="{left}" y1="{y(0):.1f}" x2="{width - 8}" y2="{y(0):.1f}" stroke="{MUTED}"/>']
    body.append(_text(left - 4, y(high) + 4, f"{high:,.1f}", "end", 11, MUTED))
    for i, cat in enumerate(categories):
        x0 = left + i * group + group * 0.1
        for j, name in enumerate(names):
            v = float(series[name][i])
            body.append(
                f'<rect x="{x0 + j * bar:.1f}" y="{y(v):.1f}" width="{bar - 2:.1f}" '
                f'height="{max(y(0) - y(v), 0):.1f}" fill="{SERIES[j % len(SERIES)]}"/>'
            )
        body.append(_text(x0 + group * 0.4, height - bottom + 16, cat, "middle"))
    for j, name in enumerate(names):
        x = left + j * 170
        body.append(f'<rect x="{x}" y="6" width="12" height="12" fill="{SERIES[j % len(SERIES)]}"/>')
        body.append(_text(x + 16, 16, name, "start", 12))
    return _svg(width, height, title, "".join(body))


def heatmap(rows: Sequence[str], cols: Sequence[str], counts: Sequence[Sequence[int]], title: str) -> Markup:
    """A migration matrix: last month's grade down, this month's across, darker for more enterprises."""
    cell, left, top = 56, 56, 40
    width, height = left + cell * len(cols) + 8, top + cell * len(rows) + 8
    high = max([c for r in counts for c in r] + [1])
    body = []
    for j, c in enumerate(cols):
        body.append(_text(left + j * cell + cell / 2, top - 10, c, "middle"))
    for i, r in enumerate(rows):
        body.append(_text(left - 8, top + i * cell + cell / 2 + 4, r, "end"))
        for j in range(len(cols)):
            n = counts[i][j]
            shade = 1 - (n / high) ** 0.5 if n else 1.0
            level = int(255 * shade)
            fill = f"#{level:02x}{min(255, level + 20):02x}ff"
            body.append(
                f'<rect x="{left + j * cell}" y="{top + i * cell}" width="{cell - 2}" height="{cell - 2}" '
                f'fill="{fill}" stroke="{GRID}"/>'
            )
            ink = "#ffffff" if shade < 0.5 else INK
            body.append(_text(left + j * cell + cell / 2, top + i * cell + cell / 2 + 4, f"{n:,}", "middle", 11, ink))
    return _svg(width, height, title, "".join(body))
