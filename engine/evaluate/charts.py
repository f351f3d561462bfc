"""Horizontal bar charts as image files for the Markdown report: PNG with matplotlib, else a plain SVG.

matplotlib (Agg backend, no display needed) is the chosen dependency; the SVG writer keeps the
report working in an install without it. The Review page draws the same figures with Altair.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Sequence

_BAR = "#4c78a8"
_BAND = "#54a24b"


def _matplotlib():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt


def bar_chart(path: Path, title: str, labels: Sequence[str], values: Sequence[float | None], *,
              xlabel: str = "", xmax: float | None = None, band: tuple[float, float] | None = None) -> Path:
    """Write a horizontal bar chart (one bar per label, top to bottom) and return the file written.

    `path` is given without a suffix; .png is written with matplotlib, .svg without it. `band`
    shades a target range (e.g. the readability grades the audience should get).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    shown = [v if v is not None else 0.0 for v in values]
    labels = [_short(label) for label in labels]
    plt = _matplotlib()
    if plt is None:
        return _svg_bar_chart(path.with_suffix(".svg"), title, labels, shown, xlabel, xmax, band)
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(labels) + 1.3), dpi=110)
    try:
        if band is not None:
            ax.axvspan(band[0], band[1], color=_BAND, alpha=0.18, label="target band")
            ax.legend(loc="lower right", fontsize=8)
        positions = list(range(len(labels)))[::-1]
        ax.barh(positions, shown, color=_BAR)
        ax.set_yticks(positions, labels, fontsize=9)
        for y, value in zip(positions, values):
            ax.text((value or 0.0), y, f" {value:.2f}" if value is not None else " n/a", va="center", fontsize=8)
        if xmax is not None:
            ax.set_xlim(0, xmax * 1.08)
        ax.set_xlabel(xlabel, fontsize=9)
        ax.set_title(title, fontsize=11)
        fig.tight_layout()
        out = path.with_suffix(".png")
        fig.savefig(out)
    finally:
        plt.close(fig)
    return out


def _short(label: str, limit: int = 38) -> str:
    return label if len(label) <= limit else label[:limit - 1] + "\u2026"


def _svg_bar_chart(path: Path, title: str, labels: Sequence[str], values: Sequence[float], xlabel: str,
                   xmax: float | None, band: tuple[float, float] | None) -> Path:
    left, width, row = 260, 380, 24
    top = 36
    height = top + row * len(labels) + 40
    scale_max = xmax or max([*values, *(band or ()), 1e-9])
    x = lambda v: left + width * min(max(v, 0.0), scale_max) / scale_max  # noqa: E731
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 60}" height="{height}" '
             'font-family="sans-serif" font-size="12">',
             f'<text x="10" y="20" font-size="14">{escape(title)}</text>']
    if band is not None:
        parts.append(f'<rect x="{x(band[0]):.1f}" y="{top - 4}" width="{x(band[1]) - x(band[0]):.1f}" '
                     f'height="{row * len(labels) + 4}" fill="{_BAND}" fill-opacity="0.18"/>')
    for i, (label, value) in enumerate(zip(labels, values)):
        y = top + i * row
        parts.append(f'<text x="{left - 6}" y="{y + 14}" text-anchor="end">{escape(label)}</text>')
        parts.append(f'<rect x="{left}" y="{y + 2}" width="{x(value) - left:.1f}" height="{row - 8}" fill="{_BAR}"/>')
        parts.append(f'<text x="{x(value) + 4:.1f}" y="{y + 14}">{value:.2f}</text>')
    parts.append(f'<text x="{left}" y="{height - 12}">{escape(xlabel)}</text></svg>')
    path.write_text("\n".join(parts), encoding="utf-8")
    return path
