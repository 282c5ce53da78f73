"""Charts as SVG drawn on the server (no script, no library to vendor): grouped bars of a
period beside the same period a week before. Each chart is an ``<svg role="img">`` with a
title naming what it shows; the figures are also in the table beside it (and its CSV)."""

from __future__ import annotations

from html import escape

W, H = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 64, 12, 16, 40
COLORS = ("#1f5fa8", "#b3b3b3")  # this period, the week before (3:1+ on white)


def _ticks(top: float) -> list[float]:
    """Round tick values from 0 to at least ``top`` (4-6 of them)."""
    if top <= 0:
        return [0.0, 1.0]
    step = 1.0
    while top / step > 5:
        for mult in (2, 2.5, 2):
            step *= mult
            if top / step <= 5:
                break
    while top / step < 2 and step > 1e-9:
        step /= 2
    n = int(-(-top // step))
    return [i * step for i in range(n + 1)]


def bars(title: str, labels: list[str], series: list[tuple[str, list[float]]],
         fmt=lambda v: f"{v:g}") -> str:  # type: ignore[no-untyped-def]
    """Grouped bars: one group per label, one bar per series (at most two), a legend."""
    top = max([v for _, values in series for v in values] + [0])
    ticks = _ticks(top)
    scale = (H - TOP - BOTTOM) / (ticks[-1] or 1)
    group = (W - LEFT - RIGHT) / max(len(labels), 1)
    bar = group * 0.8 / max(len(series), 1)
    out = [f'<svg class="chart" viewBox="0 0 {W} {H + 24}" role="img"'
           f' aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
           f"<title>{escape(title)}</title>"]
    for t in ticks:
        y = H - BOTTOM - t * scale
        out.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"'
                   ' stroke="#e0e0e0"/>')
        out.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end"'
                   f' font-size="11">{escape(fmt(t))}</text>')
    every = max(1, len(labels) // 12)
    for i, label in enumerate(labels):
        x0 = LEFT + i * group + group * 0.1
        for j, (name, values) in enumerate(series):
            v = values[i]
            h = v * scale
            out.append(f'<rect class="bar s{j}" x="{x0 + j * bar:.1f}" y="{H - BOTTOM - h:.1f}"'
                       f' width="{bar:.1f}" height="{h:.1f}" fill="{COLORS[j % 2]}">'
                       f"<title>{escape(label)} · {escape(name)}: {escape(fmt(v))}</title></rect>")
        if i % every == 0:
            out.append(f'<text x="{LEFT + (i + 0.5) * group:.1f}" y="{H - BOTTOM + 16}"'
                       f' text-anchor="middle" font-size="11">{escape(label)}</text>')
    x = LEFT
    for j, (name, _) in enumerate(series):
        out.append(f'<rect x="{x}" y="{H + 4}" width="12" height="12" fill="{COLORS[j % 2]}"/>'
                   f'<text x="{x + 16}" y="{H + 14}" font-size="12">{escape(name)}</text>')
        x += 24 + 9 * len(name) + (8 * len(name) if not name.isascii() else 0)
    out.append("</svg>")
    return "".join(out)
