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


BAND = ("#1f5fa8", "#c2410c", "#f5c9a8")  # sold, forecast line, its interval


def forecast_band(title: str, labels: list[str], sold: list[float], mean: list[float],
                  lo: list[float], hi: list[float], names: tuple[str, str, str],
                  fmt=lambda v: f"{v:g}") -> str:  # type: ignore[no-untyped-def]
    """Recent days' units sold as bars, then the forecast's days: its interval as a band
    and its mean as a line (``labels``: every day, the sold ones first)."""
    n = len(labels)
    past = len(sold)
    top = max([*sold, *hi, 0])
    ticks = _ticks(top)
    scale = (H - TOP - BOTTOM) / (ticks[-1] or 1)
    step = (W - LEFT - RIGHT) / max(n, 1)

    def x(i: int) -> float:
        return LEFT + (i + 0.5) * step

    def y(v: float) -> float:
        return H - BOTTOM - v * scale

    out = [f'<svg class="chart" viewBox="0 0 {W} {H + 24}" role="img"'
           f' aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
           f"<title>{escape(title)}</title>"]
    for t in ticks:
        out.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{y(t):.1f}" y2="{y(t):.1f}"'
                   ' stroke="#e0e0e0"/>')
        out.append(f'<text x="{LEFT - 6}" y="{y(t) + 4:.1f}" text-anchor="end"'
                   f' font-size="11">{escape(fmt(t))}</text>')
    for i, v in enumerate(sold):
        out.append(f'<rect class="bar sold" x="{x(i) - step * 0.4:.1f}" y="{y(v):.1f}"'
                   f' width="{step * 0.8:.1f}" height="{v * scale:.1f}" fill="{BAND[0]}">'
                   f"<title>{escape(labels[i])} · {escape(names[0])}: {escape(fmt(v))}"
                   "</title></rect>")
    if mean:
        xs = [x(past + k) for k in range(len(mean))]
        upper = " ".join(f"{a:.1f},{y(v):.1f}" for a, v in zip(xs, hi, strict=True))
        lower = " ".join(f"{a:.1f},{y(v):.1f}" for a, v in reversed(list(zip(xs, lo,
                                                                               strict=True))))
        out.append(f'<polygon class="band" points="{upper} {lower}" fill="{BAND[2]}">'
                   f"<title>{escape(names[2])}</title></polygon>")
        line = " ".join(f"{a:.1f},{y(v):.1f}" for a, v in zip(xs, mean, strict=True))
        out.append(f'<polyline class="forecast" points="{line}" fill="none"'
                   f' stroke="{BAND[1]}" stroke-width="2.5"/>')
        for k, v in enumerate(mean):
            out.append(f'<circle cx="{xs[k]:.1f}" cy="{y(v):.1f}" r="3" fill="{BAND[1]}">'
                       f"<title>{escape(labels[past + k])} · {escape(names[1])}:"
                       f" {escape(fmt(v))} ({escape(fmt(lo[k]))} – {escape(fmt(hi[k]))})"
                       "</title></circle>")
    every = max(1, n // 10)
    for i, label in enumerate(labels):
        if i % every == 0:
            out.append(f'<text x="{x(i):.1f}" y="{H - BOTTOM + 16}" text-anchor="middle"'
                       f' font-size="11">{escape(label)}</text>')
    at = LEFT
    for name, color in zip(names, (BAND[0], BAND[1], BAND[2]), strict=True):
        out.append(f'<rect x="{at}" y="{H + 4}" width="12" height="12" fill="{color}"/>'
                   f'<text x="{at + 16}" y="{H + 14}" font-size="12">{escape(name)}</text>')
        at += 24 + 9 * len(name) + (8 * len(name) if not name.isascii() else 0)
    out.append("</svg>")
    return "".join(out)
